"""Writing exported files and handing them to the printer: no Textual here, workers call it.

A file is written next to its final name and renamed into place, so a full disk or a killed
desk never leaves half a PDF where the clerk expects the slip. Printing: ``lp`` on Linux and
macOS, SumatraPDF or the shell's print verb on Windows (:mod:`onestop.services.printing`);
without any the desk says so plainly.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from onestop.i18n import t
from onestop.services import printing
from onestop.services.base import DeskError
from onestop.services.printing import print_plan


def write_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (creating its folder); ``DeskError`` in words."""
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as e:
        raise DeskError(
            t("Không tạo được tệp trong {folder}: {e}", folder=path.parent, e=e.strerror or e)
        ) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise DeskError(t("Không ghi được tệp {path}: {e}", path=path, e=e.strerror or e)) from e
    return path


def printer_command() -> str | None:
    """How this machine prints (``lp``, ``SumatraPDF``, ``Windows``), or None: no printing."""
    plan = print_plan(Path("-"))
    return plan.label if plan is not None else None


def print_file(path: Path) -> str:
    """Send ``path`` to the default printer (services/printing.py says how, per platform)."""
    return printing.print_file(path)


def no_printer_text() -> str:
    return printing.no_printer_text()
