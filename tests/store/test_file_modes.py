"""Every file the desk writes holds personal data: 0600, its folders 0700 (hardening item 13)."""

from __future__ import annotations

import contextlib
import os
import stat
from datetime import datetime
from pathlib import Path

from onestop.paths import write_atomically
from onestop.services.desk import Desk


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_desk_database_and_its_wal_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask that made 0644 files
    try:
        db = tmp_path / "new-folder" / "desk.sqlite"
        desk = Desk.initialise(
            db,
            unit_eid="000.00.14.H56",
            commune_code="16279",
            commune_name="Xã Mường Lát",
            province_code="38",
            clock=lambda: datetime(2026, 11, 20, 10, 0),
        )
        try:
            assert _mode(db.parent) == 0o700
            for suffix in ("", "-wal", "-shm"):
                f = Path(str(db) + suffix)
                if f.exists():
                    assert _mode(f) == 0o600, f
        finally:
            desk.close()
    finally:
        os.umask(old)


def test_an_old_world_readable_desk_is_tightened_on_open(tmp_path: Path) -> None:
    db = tmp_path / "desk.sqlite"
    Desk.initialise(db, unit_eid="000.00.14.H56", commune_code="16279", province_code="38").close()
    os.chmod(db, 0o644)
    Desk.open(db).close()
    assert _mode(db) == 0o600


def test_exports_are_written_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "slip.pdf"
        write_atomically(out, b"%PDF-1.7")
        assert _mode(out) == 0o600
    finally:
        os.umask(old)


def test_the_private_mode_never_touches_a_link_target_or_a_device(tmp_path: Path) -> None:
    """``--db /dev/null`` once made /dev/null 0600 for the whole machine: only our own regular
    files are tightened, never what a link points to or a device."""
    from onestop.store.engine import Store

    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"")
    os.chmod(target, 0o644)
    link = tmp_path / "desk.sqlite"
    link.symlink_to(target)
    with contextlib.suppress(Exception):  # whether it opens does not matter: the modes do
        Store(link).close()
    assert _mode(target) == 0o644
    before = _mode(Path("/dev/null"))
    with contextlib.suppress(Exception):
        Store(Path("/dev/null")).close()
    assert _mode(Path("/dev/null")) == before
