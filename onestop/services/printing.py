"""Sending a PDF to the machine's default printer, on every platform a commune office has.

* Linux and macOS: ``lp`` (CUPS is part of macOS and of every Linux desk with a printer set
  up). ``lp -- FILE`` prints on the default destination; the PDF's page size (A4, or the 80 mm
  roll of :mod:`onestop.forms.thermal`) chooses the paper, so no ``-o media=`` guess is made.
* Windows: SumatraPDF when it is installed (``-print-to-default -silent``: no window, no
  dialog, and it prints whatever the default printer is, an 80 mm thermal one included), else
  the shell's ``print`` verb on the file (``os.startfile(path, "print")``), which hands the
  PDF to the registered PDF program (Acrobat Reader, Foxit). Edge, the PDF viewer a fresh
  Windows has, registers no print verb: then the desk says to install a PDF reader, or to open
  the file and print it by hand. No pywin32: the verb needs nothing beyond the standard
  library, and pywin32 would only add a second way to reach the same verb.

:func:`print_plan` is pure (platform name, PATH lookup and environment passed in), so the
choice for each platform is unit-tested on any machine; :func:`print_file` runs the plan.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Literal

from onestop.i18n import t
from onestop.services.base import DeskError

if TYPE_CHECKING:
    from onestop.crypto.signer import Signer
    from onestop.services.desk import Desk

PRINT_TIMEOUT_S = 30.0

How = Literal["lp", "sumatra", "shell"]


@dataclass(frozen=True)
class PrintPlan:
    """How this machine prints a PDF: a command (``argv``) or the Windows shell verb."""

    how: How
    argv: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Named in the question "print on the default printer (…)?"."""
        return {"lp": "lp", "sumatra": "SumatraPDF", "shell": "Windows"}[self.how]


def _sumatra_candidates(env: Mapping[str, str]) -> list[str]:
    """Where SumatraPDF's installer puts it: per user (the default) or for all users."""
    out = []
    for var in ("LOCALAPPDATA", "ProgramFiles", "ProgramFiles(x86)"):
        base = env.get(var)
        if base:
            out.append(str(PureWindowsPath(base, "SumatraPDF", "SumatraPDF.exe")))
    return out


def print_plan(
    path: Path,
    *,
    platform: str = sys.platform,
    which: Callable[[str], str | None] = shutil.which,
    exists: Callable[[str], bool] = os.path.isfile,
    env: Mapping[str, str] | None = None,
) -> PrintPlan | None:
    """The way to print ``path`` here, or ``None`` when this machine cannot print at all."""
    if platform == "win32":
        environ = os.environ if env is None else env
        sumatra = which("SumatraPDF") or next(
            (c for c in _sumatra_candidates(environ) if exists(c)), None
        )
        if sumatra:
            return PrintPlan("sumatra", (sumatra, "-print-to-default", "-silent", str(path)))
        return PrintPlan("shell")
    lp = which("lp")
    if lp:
        return PrintPlan("lp", (lp, "--", str(path)))
    return None


def no_printer_text(platform: str = sys.platform) -> str:
    if platform == "win32":
        return t(
            "Windows chưa có chương trình nào in được tệp PDF (trình duyệt Edge không in tự "
            "động được). Cài SumatraPDF hoặc Adobe Acrobat Reader, hoặc mở tệp PDF rồi in từ đó."
        )
    return t(
        "Máy này không có lệnh in (lp) nên quầy không tự in được. "
        "Mở tệp PDF bằng trình xem PDF rồi in từ đó."
    )


def print_file(path: Path, plan: PrintPlan | None = None) -> str:
    """Send ``path`` to the default printer; the answer in words, or ``DeskError``."""
    plan = plan or print_plan(path)
    if plan is None:
        raise DeskError(no_printer_text())
    if plan.how == "shell":
        try:
            # Only on Windows; getattr keeps type checkers on other platforms quiet.
            getattr(os, "startfile")(str(path), "print")  # noqa: B009
        except OSError as e:
            raise DeskError(no_printer_text("win32")) from e
        return t("Đã gửi {name} tới máy in. {answer}", name=path.name, answer="").strip()
    try:
        done = subprocess.run(
            list(plan.argv),
            capture_output=True,
            text=True,
            timeout=PRINT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DeskError(t("Không gửi được lệnh in: {e}", e=e)) from e
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"{plan.label}: {done.returncode}"
        raise DeskError(t("Máy in từ chối: {why}", why=why))
    return t("Đã gửi {name} tới máy in. {answer}", name=path.name, answer=done.stdout.strip())


# ------------------------------------------------------------------------- the receipt's paper


def receipt_paper(desk: Desk) -> str:
    """ "a4" or "80mm": the desk setting ``receipt_paper`` (``onestop slip-settings``)."""
    from onestop.services.desk import RECEIPT_PAPERS, S_RECEIPT_PAPER

    paper = desk.setting(S_RECEIPT_PAPER, "a4")
    return paper if paper in RECEIPT_PAPERS else "a4"


def render_receipt_80mm_pdf(desk: Desk, code: str, signer: Signer | None) -> bytes:
    """The receipt of ``code`` for an 80 mm thermal printer: the signed QR when ``signer``
    is an unlocked desk key (the same claims as the A4 receipt), else without a QR."""
    from onestop.forms.slips import SlipError
    from onestop.forms.thermal import render_receipt_80mm
    from onestop.services.keys import ReceiptError
    from onestop.services.receipts import issue_receipt

    qr_text: str | None = None
    official = ""
    if signer is not None:
        issued = issue_receipt(desk, code, signer)
        qr_text, official = issued.qr_text, issued.claims.official
    state = desk.get(code)
    try:
        return render_receipt_80mm(
            state,
            desk.history(state.code),
            desk.identity,
            now=desk.clock(),
            qr_text=qr_text,
            official=official,
        )
    except SlipError as e:
        raise ReceiptError(str(e)) from e
