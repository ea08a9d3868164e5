"""Locks, file modes and paths on every platform a commune has (issue 18): the Windows branches
are chosen by pure functions tested here; what can run here runs for real."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from onestop.store import filelock
from onestop.store.engine import _private_file


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("win32", "msvcrt"), ("linux", "fcntl"), ("darwin", "fcntl"), ("freebsd14", "fcntl")],
)
def test_each_platform_locks_with_its_own_call(platform: str, expected: str) -> None:
    assert filelock.backend(platform) == expected


def test_a_lock_held_by_another_process_is_refused_then_released_when_it_dies(
    tmp_path: Path,
) -> None:
    lock = tmp_path / "desk.sqlite.sync.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from onestop.store.filelock import exclusive\n"
            f"with exclusive(Path({str(lock)!r})) as got:\n"
            "    print(got, flush=True); time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        started = time.monotonic()
        with filelock.exclusive(lock, wait=0.2) as got:
            assert got is False
        assert time.monotonic() - started >= 0.2
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
    with filelock.exclusive(lock) as got:  # a killed holder leaves nothing locked
        assert got is True


def test_windows_keeps_the_profile_acl_and_changes_no_mode(tmp_path: Path) -> None:
    """The Windows branch of the private-file rule: folder and empty file are made, but no mode
    is set (Windows has none; the inherited NTFS ACL of the profile folder protects the desk)."""
    old = tmp_path / "old" / "desk.sqlite"
    old.parent.mkdir()
    old.write_bytes(b"")
    os.chmod(old, 0o644)
    _private_file(old, posix=False)
    assert stat.S_IMODE(old.stat().st_mode) == 0o644
    new = tmp_path / "new" / "desk.sqlite"
    _private_file(new, posix=False)
    assert new.exists() and new.stat().st_size == 0
    _private_file(old)  # and POSIX tightens it
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def test_default_locations_come_from_platformdirs_not_a_posix_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from onestop.config import config_file_path, default_db_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ONESTOP_CONFIG_FILE", raising=False)
    if sys.platform.startswith("linux"):
        assert default_db_path() == tmp_path / "data" / "onestop" / "desk.sqlite"
        assert config_file_path() == tmp_path / "config" / "onestop" / "config.toml"
    # Never the app name twice (platformdirs' Windows "author" folder): one onestop folder.
    assert default_db_path().parts.count("onestop") == 1
