"""The catalogue is the product's own data (issue 17): every procedure has Vietnamese display
texts for its fee and time limit, and the research-note columns (``fee_rule``, ``tag``,
``notes``, in English) never reach a screen, a slip or a command's output.

The forbidden words are computed from the note columns themselves: every ASCII-only word there
that is not also Vietnamese the product writes (procedure names, documents, t() texts) is
English research prose, and must not appear in anything shown for that procedure.
"""

from __future__ import annotations

import ast
import csv
import io
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

import onestop
from onestop.cli.main import main
from onestop.domain.catalogue import (
    DISPLAY_COLUMNS,
    NOTE_COLUMNS,
    CatalogueError,
    FeeBasis,
    fee_basis,
    parse_catalogue,
)
from onestop.i18n import set_language
from onestop.paths import asset_path
from onestop.services import catalogue as svc
from onestop.services.desk import Applicant, Desk, IntakeForm
from onestop.services.receipts import render_signed_slip
from tests.cli.login import LOGIN, init_desk

PACKAGE = Path(onestop.__file__).parent
PDFTOTEXT = shutil.which("pdftotext")
# Named in the issue, and tell-tales of a research note whatever the note says.
ALWAYS_FORBIDDEN = ("Exempt", "[S]", "[V]", "[?]", "Art.", "page", "max", "Source", "amount")


def _rows() -> list[dict[str, str]]:
    text = asset_path("catalogue", "procedures.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def _vietnamese_words() -> frozenset[str]:
    """ASCII words the catalogue legitimately writes in Vietnamese (so not note English)."""
    texts: list[str] = []
    for row in _rows():
        texts += [row["name_vi"], row["field_vi"], row["documents"], row["handled_by"]]
        texts += [row[c] for c in DISPLAY_COLUMNS]
    return frozenset(w.casefold() for text in texts for w in re.findall(r"[A-Za-z]+", text))


@cache
def _note_words() -> frozenset[str]:
    words = {
        w
        for row in _rows()
        for column in NOTE_COLUMNS
        for w in re.findall(r"[A-Za-z]{3,}", row[column])
    }
    # All-capital words are acronyms the slips use too (TTHC, UBND), not research prose.
    return frozenset(
        w for w in words if w.casefold() not in _vietnamese_words() and not w.isupper()
    )


def leaks(text: str) -> list[str]:
    found = [w for w in ALWAYS_FORBIDDEN if w in text]
    found += [w for w in _note_words() if re.search(rf"\b{re.escape(w)}\b", text)]
    return found


def test_the_forbidden_words_are_found() -> None:
    # Guards the test itself: an empty word list would pass everything.
    words = _note_words()
    assert {"Exempt", "verification", "province", "Immediately"} <= words
    assert "sinh" not in words and "khai" not in words  # Vietnamese, not research prose
    assert leaks("Exempt if on time (Luật Hộ tịch Art. 11)")
    assert leaks("[S] (amount not given)")
    assert leaks("2.000 đ/trang; from page 3: 1.000 đ/trang; max 200.000 đ/bản")
    assert not leaks("Miễn lệ phí nếu đăng ký đúng hạn; trường hợp khác theo mức HĐND tỉnh")


def test_every_procedure_has_clean_vietnamese_display_texts() -> None:
    procedures = parse_catalogue(asset_path("catalogue", "procedures.csv").read_text())
    assert len(procedures) >= 30
    for p in procedures:
        assert p.basis is not None and p.fee_vi and p.time_vi, p.code
        # The stated basis is the one the notes implied: no desk changes behaviour by upgrading.
        assert p.basis == fee_basis(p.fee_vnd, p.fee_rule), p.code
        for text in (p.fee_vi, p.time_vi, p.fee_text, p.time_text(), p.fee_label):
            assert not leaks(text), (p.code, text, leaks(text))
        assert p.fee_rule not in (p.fee_text, p.fee_label)


def test_english_mode_shows_english_not_the_vietnamese_catalogue_text() -> None:
    (p,) = [
        x
        for x in parse_catalogue(asset_path("catalogue", "procedures.csv").read_text())
        if x.code == "2.000884"
    ]
    assert p.fee_text.startswith("10.000 đồng/trường hợp")
    set_language("en")
    try:
        assert p.fee_text == "10.000 đồng"  # an amount; the words follow the language
        assert "Same day" in p.time_text() or "same day" in p.time_text().casefold()
        assert not leaks(p.fee_label)
    finally:
        set_language("vi")


HEADER = (
    "code,version,effective_from,effective_to,name_vi,field_vi,time_value,time_unit,"
    "same_day_cutoff,fee_vnd,fee_rule,handled_by,documents"
)


def test_a_catalogue_without_display_columns_still_loads_with_generic_texts() -> None:
    text = (
        HEADER
        + "\n1.004837,1,2025-07-01,,Đăng ký giám hộ,Hộ tịch,3,working_days,,0,Exempt,UBND xã,A\n"
    )
    (p,) = parse_catalogue(text)
    assert p.basis is None and p.fee_basis == FeeBasis.FREE
    assert p.fee_text == "Miễn phí" and p.time_text() == "3 ngày làm việc"


@pytest.mark.parametrize(
    ("basis", "fee", "message"),
    [
        ("cheap", "", "cột fee_basis phải là một trong"),
        ("free", "5000", "thủ tục miễn phí phải có fee_vnd bằng 0"),
        ("fixed", "", "mức phí cố định cần số tiền"),
    ],
)
def test_a_bad_display_column_rejects_the_file_in_vietnamese(
    basis: str, fee: str, message: str
) -> None:
    text = (
        HEADER
        + ",fee_basis,fee_vi,time_vi\n"
        + f"2.000884,1,2025-07-01,,Chứng thực chữ ký,Chứng thực,,same_day,,{fee},,UBND xã,A,"
        + f"{basis},10.000 đồng,Trong ngày\n"
    )
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(text, source="danh-muc.csv")


def test_an_old_version_receives_the_display_texts_on_import(desk: Desk) -> None:
    from sqlmodel import select

    from onestop.store.models import Procedure

    with desk.store.write() as db:  # a version imported before the display texts existed
        existing = db.exec(select(Procedure).where(Procedure.code == "2.000884")).one()
        existing.fee_vi = existing.time_vi = existing.fee_basis = ""
        db.add(existing)
    assert desk.find_procedures("2.000884")[0].fee_text == "10.000 đồng"  # the generic text
    with desk.store.write() as db:
        procedures = svc.parse_catalogue(svc.default_catalogue_text())
        added, kept = svc.import_catalogue(db=db, procedures=procedures)
    assert added == 0 and kept >= 30
    assert desk.find_procedures("2.000884")[0].fee_text.startswith("10.000 đồng/trường hợp")


def test_no_screen_slip_or_page_reads_the_note_columns() -> None:
    # Only the catalogue's parser and its store may touch the research notes; a screen, a
    # slip, a web page or a command that read one would show English notes to a citizen.
    allowed = {
        "onestop/domain/catalogue.py",
        "onestop/services/catalogue.py",
        "onestop/store/models.py",
    }
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE.parent))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "fee_rule" and rel not in allowed:
                readers.append(f"{rel}:{node.lineno}")
    assert not readers
    # ``tag`` and ``notes`` are not even parsed: nothing can show what it never had.
    fields = set(parse_catalogue(asset_path("catalogue", "procedures.csv").read_text())[0].__dict__)
    assert not {"tag", "notes"} & fields


@pytest.mark.skipif(PDFTOTEXT is None, reason="needs poppler-utils")
def test_receipts_and_the_cli_show_no_research_note(desk: Desk, tmp_path: Path) -> None:
    assert PDFTOTEXT is not None
    procedures = desk.find_procedures("", limit=100)
    assert len(procedures) >= 30
    for p in procedures:
        state = desk.receive(
            IntakeForm(
                procedure_code=p.code,
                applicant=Applicant(name="Nguyễn Văn An", id_number="001099012345"),
                fee_vnd=None if p.fee_basis in (FeeBasis.FREE, FeeBasis.FIXED) else 0,
                due_override=None,
            )
            if p.limit.has_fixed_due
            else _with_due(p.code)
        )
        pdf = tmp_path / f"{p.code}.pdf"
        pdf.write_bytes(render_signed_slip(desk, state.code, "receipt", None))
        text = subprocess.run(
            [PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert p.name.split()[0] in text
        assert not leaks(text), (p.code, leaks(text))


def _with_due(code: str) -> IntakeForm:
    from datetime import datetime

    return IntakeForm(
        procedure_code=code,
        applicant=Applicant(name="Nguyễn Văn An", id_number="001099012345"),
        fee_vnd=0,
        due_override=datetime(2026, 12, 15, 16, 0),
    )


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main,
        list(args),
        env={"ONESTOP_NOW": "2026-11-20 10:00", **LOGIN, **(env or {})},
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


def test_cli_due_shows_the_catalogue_time_text(tmp_path: Path) -> None:
    db = str(tmp_path / "desk.sqlite")
    init_desk(run, db)
    outputs = {}
    for code in ("2.000815", "1.000894", "1.004222"):
        status, out, err = run(
            "due", "--db", db, "--procedure", code, "--received", "2026-11-20 10:00"
        )
        assert status == 0, err
        assert not leaks(out), out
        outputs[code] = out
    assert "thêm không quá 02 ngày làm việc" in outputs["2.000815"]
    assert "07 ngày làm việc" in outputs["1.004222"]
