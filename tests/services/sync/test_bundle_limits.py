"""A USB bundle is read bounded (hardening audit, items 2 and 10): /dev/zero, a FIFO or a huge
file is refused before it is read, quickly, with the desk unchanged; a file cut short says it
is incomplete and must be copied again, not ``CBORDecodeEOF``."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cbor2
import pytest
from click.testing import CliRunner

from onestop.cli.main import main
from onestop.server.admin import AdminError, import_bundle, open_db
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import base as sync_base
from onestop.services.sync import bundles
from onestop.wire.base import MAX_BUNDLE_BYTES, WireError
from onestop.wire.files import read_bounded
from tests.cli.login import LOGIN, init_desk
from tests.services.sync.helpers import make_desk

NOW = {"ONESTOP_NOW": "2026-11-20 10:00"}
GIB = 1024 * 1024 * 1024


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, list(args), env={**NOW, **LOGIN, **(env or {})}, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def _bundle_bytes() -> bytes:
    """A well-formed bundle-shaped CBOR map (its content does not matter for cutting it)."""
    return cbor2.dumps(
        {
            "format": "onestop-bundle/1",
            "desk": "20001-01",
            "alg": -7,
            "public_key": bytes(65),
            "encoding": "zstd",
            "batch": os.urandom(4000),
        },
        canonical=True,
    )


@pytest.fixture
def sparse(tmp_path: Path) -> Path:
    path = tmp_path / "huge.osb"
    with path.open("wb") as f:
        f.truncate(2 * GIB)  # sparse: no disk used
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.osb"
    os.mkfifo(path)
    return path


# ----------------------------------------------------------------------------- the reader


def test_read_bounded_refuses_what_is_not_a_small_regular_file(
    tmp_path: Path, sparse: Path, fifo: Path
):
    ok = tmp_path / "ok.osb"
    ok.write_bytes(b"abc")
    assert read_bounded(ok, 3) == b"abc"
    with pytest.raises(WireError, match="quá lớn"):
        read_bounded(ok, 2)
    started = time.perf_counter()
    with pytest.raises(WireError, match="quá lớn"):
        read_bounded(sparse, MAX_BUNDLE_BYTES)
    with pytest.raises(WireError, match="không phải là tệp thông thường"):
        read_bounded(fifo, MAX_BUNDLE_BYTES)  # no writer: would block forever if opened
    if Path("/dev/zero").exists():
        with pytest.raises(WireError, match="không phải là tệp thông thường"):
            read_bounded(Path("/dev/zero"), MAX_BUNDLE_BYTES)
    with pytest.raises(WireError, match="không phải là tệp thông thường"):
        read_bounded(tmp_path, MAX_BUNDLE_BYTES)
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("which", ["dev_zero", "fifo", "sparse"])
def test_desk_import_refuses_device_fifo_and_huge_file(
    which: str, tmp_path: Path, sparse: Path, fifo: Path
):
    target = {"dev_zero": Path("/dev/zero"), "fifo": fifo, "sparse": sparse}[which]
    if not target.exists():
        pytest.skip(f"{target} does not exist here")
    desk = make_desk(tmp_path / "office.sqlite", n=40)
    try:
        before = sync_apply.desk_digest(desk)
        started = time.perf_counter()
        with pytest.raises(sync_base.SyncError, match="Tệp gói đồng bộ không hợp lệ"):
            bundles.import_bundle(desk, target)
        assert time.perf_counter() - started < 2
        assert sync_apply.desk_digest(desk) == before
    finally:
        desk.close()


@pytest.mark.parametrize("which", ["dev_zero", "fifo", "sparse"])
def test_server_import_refuses_device_fifo_and_huge_file(
    which: str, tmp_path: Path, sparse: Path, fifo: Path
):
    target = {"dev_zero": Path("/dev/zero"), "fifo": fifo, "sparse": sparse}[which]
    if not target.exists():
        pytest.skip(f"{target} does not exist here")
    db = open_db(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        started = time.perf_counter()
        with pytest.raises(AdminError, match="Tệp gói đồng bộ không hợp lệ"):
            import_bundle(db, target)
        assert time.perf_counter() - started < 2
    finally:
        db.close()


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_db(tmp_path: Path) -> str:
    path = str(tmp_path / "desk.sqlite")
    init_desk(run, path)
    return path


def test_sync_import_dev_zero_exits_1_quickly(cli_db: str):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    started = time.perf_counter()
    code, _, err = run("sync", "import", "--db", cli_db, "/dev/zero")
    assert time.perf_counter() - started < 5
    assert code == 1 and "không phải là tệp thông thường" in err


def test_sync_import_sparse_2gib_exits_1_quickly(cli_db: str, sparse: Path):
    started = time.perf_counter()
    code, _, err = run("sync", "import", "--db", cli_db, str(sparse))
    assert time.perf_counter() - started < 5
    assert code == 1 and "quá lớn" in err and "Traceback" not in err


def test_sync_import_of_a_fifo_exits_1_without_blocking(cli_db: str, fifo: Path):
    started = time.perf_counter()
    code, _, err = run("sync", "import", "--db", cli_db, str(fifo))
    assert time.perf_counter() - started < 5
    assert code == 1 and "không phải là tệp thông thường" in err


# ----------------------------------------------------------------------------- truncated


@pytest.mark.parametrize("keep", [0, 1, 40, -1])
def test_a_truncated_bundle_says_incomplete(tmp_path: Path, keep: int):
    whole = _bundle_bytes()
    cut = tmp_path / "20001-01_0000001-0000009.osb"
    cut.write_bytes(whole[:keep] if keep >= 0 else whole[: len(whole) // 2])
    desk = make_desk(tmp_path / "office.sqlite", n=40)
    try:
        before = sync_apply.desk_digest(desk)
        with pytest.raises(sync_base.SyncError) as got:
            bundles.import_bundle(desk, cut)
        assert "không đầy đủ" in str(got.value) and "chép lại" in str(got.value)
        assert "CBOR" not in str(got.value)
        assert sync_apply.desk_digest(desk) == before
    finally:
        desk.close()
    db = open_db(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        with pytest.raises(AdminError, match="không đầy đủ"):
            import_bundle(db, cut)
    finally:
        db.close()


def test_a_wrong_file_is_not_called_incomplete(tmp_path: Path):
    junk = tmp_path / "junk.osb"
    junk.write_bytes(cbor2.dumps({"format": "something else"}))
    desk = make_desk(tmp_path / "office.sqlite", n=40)
    try:
        with pytest.raises(sync_base.SyncError) as got:
            bundles.import_bundle(desk, junk)
        assert "không đầy đủ" not in str(got.value)
        assert "Tệp gói đồng bộ không hợp lệ" in str(got.value)
    finally:
        desk.close()


def test_sync_import_of_a_truncated_bundle_via_cli(cli_db: str, tmp_path: Path):
    cut = tmp_path / "cut.osb"
    cut.write_bytes(_bundle_bytes()[:-100])
    code, _, err = run("sync", "import", "--db", cli_db, str(cut))
    assert code == 1 and "không đầy đủ" in err and "CBORDecodeEOF" not in err
