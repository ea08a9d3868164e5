"""The core never loads the UI toolkit (ARCHITECTURE: a test enforces it)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "onestop.domain.lifecycle",
        "onestop.domain.deadlines",
        "onestop.store.repo_dossiers",
        "onestop.services.desk",
        "onestop.services.demo",
        "onestop.crypto.verify",
        "onestop.cli.main",
    ],
)
def test_core_does_not_import_textual_or_rich(module: str):
    code = f"import sys, {module}; bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]; print(','.join(bad))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{module} pulled in {out}"
