"""Fixtures the CLI suites share (test_receipts, test_pdfsign_cli, test_slip_signing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestop.services import keys as keys_svc
from onestop.services.accounts import open_logged_in
from tests.cli.login import LOGIN, NOW, PASSWORD, init_desk, runner


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A desk with demo keys (province root, desk key, trust list), like ``onestop demo``."""
    monkeypatch.setenv("ONESTOP_SCRYPT_N", "1024")
    path = tmp_path / "desk.sqlite"
    init_desk(runner({**NOW, **LOGIN}), path)
    desk = open_logged_in(path, "quantri", PASSWORD)
    try:
        keys_svc.ensure_demo_keys(desk)
    finally:
        desk.close()
    return str(path)


@pytest.fixture
def demo_pass(tmp_path: Path) -> str:
    """A file holding the demo passphrase (desk key, and the demo officials' signing keys)."""
    path = tmp_path / "demo-pass.txt"
    path.write_text(keys_svc.DEMO_PASSPHRASE + "\n", encoding="utf-8")
    return str(path)
