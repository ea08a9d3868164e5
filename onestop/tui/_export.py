"""Writing exported files and handing them to the printer: no Textual here, workers call it.

A file is written next to its final name and renamed into place, so a full disk or a killed
desk never leaves half a PDF where the clerk expects the slip. Printing goes through ``lp``
(CUPS, on every Linux desk with a printer set up); without it the desk says so plainly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from onestop.i18n import t
from onestop.services.base import DeskError

PRINT_TIMEOUT_S = 30.0


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
    """The ``lp`` command if this machine has one."""
    return shutil.which("lp")


def print_file(path: Path) -> str:
    """Send ``path`` to the default printer with ``lp``; the answer in words, or ``DeskError``."""
    lp = printer_command()
    if lp is None:
        raise DeskError(no_printer_text())
    try:
        done = subprocess.run(
            [lp, "--", str(path)],
            capture_output=True,
            text=True,
            timeout=PRINT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DeskError(t("Không gửi được lệnh in: {e}", e=e)) from e
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"lp: {done.returncode}"
        raise DeskError(t("Máy in từ chối: {why}", why=why))
    return t("Đã gửi {name} tới máy in. {answer}", name=path.name, answer=done.stdout.strip())


def no_printer_text() -> str:
    return t(
        "Máy này không có lệnh in (lp) nên quầy không tự in được. "
        "Mở tệp PDF bằng trình xem PDF rồi in từ đó."
    )
