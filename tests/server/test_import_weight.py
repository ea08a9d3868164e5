"""The provincial server imports none of the desk: no use cases, no forms, no desk tables, no UI.

``import onestop.server.app`` runs in a fresh interpreter so nothing another test imported hides
a regression; the server is meant to need only wire/, crypto/, store/ (not store.models) and
domain/.
"""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN_PACKAGES = (
    "onestop.services",
    "onestop.forms",
    "onestop.store.models",
    "onestop.tui",
)
FORBIDDEN_LIBRARIES = ("qrcode", "PIL", "fpdf", "textual")

_PROBE = "import json, sys; import onestop.server.app; print(json.dumps(sorted(sys.modules)))"


def _modules_after_importing_the_server() -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_server_app_imports_no_desk_code_and_no_desk_libraries() -> None:
    modules = _modules_after_importing_the_server()
    assert "onestop.server.app" in modules
    desk = [m for m in modules if any(_under(m, p) for p in FORBIDDEN_PACKAGES)]
    libraries = [m for m in modules if any(_under(m, p) for p in FORBIDDEN_LIBRARIES)]
    assert not desk, f"the server pulls in desk modules: {desk} (trace: python -X importtime)"
    assert not libraries, f"the server pulls in desk libraries: {libraries}"
