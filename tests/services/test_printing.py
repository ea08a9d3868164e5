"""Which command prints a PDF on each platform (pure: platform, PATH and environment passed in),
and running it for real with a stand-in ``lp``."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from onestop.services.base import DeskError
from onestop.services.desk import Applicant, Desk, IntakeForm
from onestop.services.printing import (
    PrintPlan,
    no_printer_text,
    print_file,
    print_plan,
    receipt_paper,
    render_receipt_80mm_pdf,
)

PDF = Path("/tmp/bien-nhan.pdf")


def only(found: dict[str, str]):
    return lambda name: found.get(name)


@pytest.mark.parametrize("platform", ["linux", "darwin", "freebsd14"])
def test_posix_prints_with_lp(platform: str) -> None:
    plan = print_plan(PDF, platform=platform, which=only({"lp": "/usr/bin/lp"}))
    assert plan == PrintPlan("lp", ("/usr/bin/lp", "--", str(PDF)))
    assert plan.label == "lp"


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_posix_without_lp_cannot_print(platform: str) -> None:
    assert print_plan(PDF, platform=platform, which=only({})) is None
    assert "lp" in no_printer_text(platform)


def test_windows_uses_sumatra_on_path_silently() -> None:
    plan = print_plan(
        PDF, platform="win32", which=only({"SumatraPDF": r"C:\Tools\SumatraPDF.exe"}), env={}
    )
    assert plan == PrintPlan(
        "sumatra", (r"C:\Tools\SumatraPDF.exe", "-print-to-default", "-silent", str(PDF))
    )


def test_windows_finds_sumatra_where_its_installer_puts_it() -> None:
    env = {"LOCALAPPDATA": r"C:\Users\canbo\AppData\Local", "ProgramFiles": r"C:\Program Files"}
    installed = r"C:\Program Files\SumatraPDF\SumatraPDF.exe"
    plan = print_plan(
        PDF, platform="win32", which=only({}), exists=lambda p: p == installed, env=env
    )
    assert plan is not None and plan.how == "sumatra" and plan.argv[0] == installed


def test_windows_without_sumatra_uses_the_shell_print_verb_never_lp() -> None:
    plan = print_plan(
        PDF, platform="win32", which=only({"lp": "/usr/bin/lp"}), exists=lambda p: False, env={}
    )
    assert plan == PrintPlan("shell")
    assert plan.label == "Windows"
    assert "SumatraPDF" in no_printer_text("win32")


def test_a_windows_pc_without_a_pdf_program_gets_words_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_association(path: str, verb: str) -> None:
        raise OSError(1155, "No application is associated with the specified file")

    # os.startfile exists only on Windows: stand in for it with what Windows raises.
    monkeypatch.setattr(os, "startfile", no_association, raising=False)
    with pytest.raises(DeskError, match="SumatraPDF"):
        print_file(PDF, PrintPlan("shell"))


def test_lp_runs_with_the_file_and_its_refusal_is_reported(tmp_path: Path) -> None:
    printed = tmp_path / "printed.txt"
    lp = tmp_path / "lp"
    lp.write_text(f'#!/bin/sh\necho "$@" > {printed}\necho "request id is quay-7"\n')
    lp.chmod(lp.stat().st_mode | stat.S_IEXEC)
    pdf = tmp_path / "phieu.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    answer = print_file(pdf, PrintPlan("lp", (str(lp), "--", str(pdf))))
    assert "phieu.pdf" in answer and "quay-7" in answer
    assert printed.read_text().split() == ["--", str(pdf)]

    lp.write_text('#!/bin/sh\necho "lp: The printer or class does not exist." >&2\nexit 1\n')
    with pytest.raises(DeskError, match="Máy in từ chối: lp: The printer"):
        print_file(pdf, PrintPlan("lp", (str(lp), "--", str(pdf))))


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="needs poppler-utils")
def test_the_receipt_paper_setting_and_the_80mm_receipt_of_a_real_dossier(desk: Desk) -> None:
    assert receipt_paper(desk) == "a4"
    desk.set_setting("receipt_paper", "80mm")
    assert receipt_paper(desk) == "80mm"
    with pytest.raises(DeskError, match="a4, 80mm"):
        desk.set_setting("receipt_paper", "58mm")
    assert receipt_paper(desk) == "80mm"  # the refusal changed nothing

    form = IntakeForm(
        procedure_code="2.001035",
        applicant=Applicant(name="Nguyễn Thị Huệ", id_number="001099012345"),
    )
    code = desk.receive(form).code
    pdf = render_receipt_80mm_pdf(desk, code, None)
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    assert re.search(rb"Page size:\s+226\.77 x", info), info  # 80 mm
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    assert "Nguyễn Thị Huệ" in text.stdout.decode() and code in text.stdout.decode()
