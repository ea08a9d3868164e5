"""Every slip kind carries a real PAdES signature by its legal signer (issue 15).

Each slip is signed once with a key on a SoftHSM2 token and once with a software key, then
checked three ways: our verifier (``onestop verify-pdf``'s code), poppler's ``pdfsig`` and
pyHanko's own validator; one flipped byte must fail all three. The visible signature must sit
in the legal signer's block: under the block's title, above the signer's printed name, in the
same column (word boxes from ``pdftotext -bbox``, independent of our layout code).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from datetime import datetime
from html import unescape
from pathlib import Path

import pytest

from onestop.crypto import kdf, pdfverify
from onestop.domain.events import EventKind
from onestop.forms.slips import SIGNATURE_FIELDS, SlipKind
from onestop.services import keys as keys_svc
from onestop.services import receipts as rc
from onestop.services import signing
from onestop.services.desk import S_HEAD_OF_UNIT, Applicant, Desk, IntakeForm

CLERK = "Lò Thị Mai"  # the desk fixture's actor: receives, guides, refuses
HEAD = "Phạm Văn Sơn"  # head of the unit: apology letter and stop notice
PDFSIG = shutil.which("pdfsig")
PDFTOTEXT = shutil.which("pdftotext")
HAS_SOFTHSM = signing.softhsm_module() is not None and shutil.which("softhsm2-util") is not None

# Block title (first word) and printed name of each slip's legal signer.
EXPECTED = {
    SlipKind.RECEIPT: ("NGƯỜI TIẾP NHẬN HỒ SƠ", CLERK),
    SlipKind.SUPPLEMENT: ("NGƯỜI HƯỚNG DẪN", CLERK),
    SlipKind.REFUSAL: ("NGƯỜI TIẾP NHẬN HỒ SƠ", CLERK),
    SlipKind.APOLOGY: ("THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ", HEAD),
    SlipKind.STOP: ("THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ", HEAD),
    SlipKind.CONTROL: ("NGƯỜI TIẾP NHẬN HỒ SƠ", CLERK),
}


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(kdf.SCRYPT_N_ENV, "1024")


def _form() -> IntakeForm:
    return IntakeForm(
        procedure_code="2.001035",
        applicant=Applicant(name="Nguyễn Văn An", id_number="001099012345", phone="0912345678"),
    )


def _dossiers(desk: Desk) -> dict[SlipKind, str]:
    """One dossier for each slip kind."""
    received = desk.receive(_form()).code
    supplement = desk.receive(_form()).code
    desk.act(supplement, EventKind.REQUEST_SUPPLEMENT, {"reason": "Bản sao căn cước"})
    refused = desk.refuse_intake(_form(), "Không thuộc thẩm quyền giải quyết").code
    extended = desk.receive(_form()).code
    desk.act(
        extended,
        EventKind.EXTEND,
        {"reason": "Cần xác minh thêm", "new_due": datetime(2026, 11, 30, 10, 0)},
    )
    withdrawn = desk.receive(_form()).code
    desk.act(withdrawn, EventKind.WITHDRAW, {"reason": "Công dân xin rút hồ sơ"})
    return {
        SlipKind.RECEIPT: received,
        SlipKind.CONTROL: received,
        SlipKind.SUPPLEMENT: supplement,
        SlipKind.REFUSAL: refused,
        SlipKind.APOLOGY: extended,
        SlipKind.STOP: withdrawn,
    }


@pytest.fixture(params=["software", "token"])
def signing_desk(request: pytest.FixtureRequest, desk: Desk) -> Iterator[Desk]:
    if request.param == "token" and not HAS_SOFTHSM:
        pytest.skip("SoftHSM2 (Debian package softhsm2) is not installed: no token to sign with")
    keys_svc.ensure_demo_keys(desk)
    desk.set_setting(S_HEAD_OF_UNIT, HEAD)
    people = [(CLERK, "Công chức Bộ phận Một cửa"), (HEAD, "Chủ tịch UBND xã")]
    on_token = [CLERK, HEAD] if request.param == "token" else []
    made = signing.ensure_demo_signing(desk, people, on_token=on_token)
    assert {o.kind for o in made} == {request.param}
    yield desk


def _pyhanko_check(pdf: bytes, desk: Desk) -> tuple[bool, bool]:
    """(intact and valid, trusted) from pyHanko's validator, called directly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from asn1crypto import x509 as a_x509
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko_certvalidator import ValidationContext
    ca = signing.province_ca(desk)
    assert ca is not None
    from cryptography.hazmat.primitives import serialization

    root = a_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        status = validate_pdf_signature(
            reader.embedded_signatures[0],
            ValidationContext(trust_roots=[root], allow_fetching=False),
        )
    except Exception:
        return False, False
    return bool(status.intact and status.valid), bool(status.trusted)


def _pdfsig(path: Path) -> str:
    assert PDFSIG is not None
    return subprocess.run([PDFSIG, str(path)], capture_output=True, text=True).stdout


def _flip(pdf: bytes) -> bytes:
    """One byte flipped inside the signed range (in the page text, before the signature)."""
    at = pdf.index(b"/ByteRange") // 2
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


def _words(path: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    assert PDFTOTEXT is not None
    html = subprocess.run(
        [PDFTOTEXT, "-bbox", "-f", str(page + 1), "-l", str(page + 1), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pattern = (
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        (unescape(w), float(x1), float(y1), float(x2), float(y2))
        for x1, y1, x2, y2, w in re.findall(pattern, html)
    ]


def _check_in_block(path: Path, report: pdfverify.SignatureReport, kind: SlipKind) -> None:
    """The widget is under its block's title, above the printed name, in the same column."""
    title, name = EXPECTED[kind]
    assert report.box is not None and report.page is not None
    height = 841.89  # A4 in points; pdftotext's y grows downwards
    x1, y1, x2, y2 = report.box
    top, bottom = height - y2, height - y1
    words = _words(path, report.page)
    first = title.split()[0]
    # Title words of the same column as the widget (the left column may carry another title).
    heads = [w for w in words if w[0] == first and w[1] < x2 and w[3] > x1 and w[4] <= top + 1]
    assert heads, f"{kind}: no '{first}' above the signature"
    last = name.split()[-1]
    names = [w for w in words if w[0] == last and w[1] < x2 and w[3] > x1 and w[2] >= bottom - 1]
    assert names, f"{kind}: the signer's name is not printed under the signature"
    assert max(h[4] for h in heads) <= top + 1 <= min(n[2] for n in names) + 1


@pytest.mark.skipif(PDFSIG is None or PDFTOTEXT is None, reason="poppler-utils not installed")
def test_every_slip_kind_is_signed_by_its_legal_signer(signing_desk: Desk, tmp_path: Path) -> None:
    desk = signing_desk
    codes = _dossiers(desk)
    desk_key = keys_svc.unlock_desk_key(desk, keys_svc.DEMO_PASSPHRASE)
    kind_of_key = signing.officials(desk)[0].kind
    for kind, code in codes.items():
        signer = None if kind == SlipKind.REFUSAL else desk_key  # a refused dossier has no QR
        pdf = rc.render_signed_slip(desk, code, kind, signer, pdf_secret=signing.demo_secret)
        path = tmp_path / f"{kind}-{kind_of_key}.pdf"
        path.write_bytes(pdf)

        report = signing.verify_document(pdf, desk)
        assert report.verdict is pdfverify.PdfVerdict.VALID, (kind, report.detail)
        (sig,) = report.signatures
        assert sig.field == SIGNATURE_FIELDS[kind]
        assert sig.signer == EXPECTED[kind][1], kind
        assert sig.whole_document and sig.trusted and sig.intact
        _check_in_block(path, sig, kind)
        out = _pdfsig(path)
        assert "Signature is Valid." in out and EXPECTED[kind][1] in out, out
        assert "Total document signed" in out
        assert _pyhanko_check(pdf, desk) == (True, True)

        bad = _flip(pdf)
        bad_path = tmp_path / f"{kind}-{kind_of_key}-flipped.pdf"
        bad_path.write_bytes(bad)
        assert signing.verify_document(bad, desk).verdict is pdfverify.PdfVerdict.ALTERED
        assert "Signature is Valid." not in _pdfsig(bad_path)
        assert _pyhanko_check(bad, desk)[0] is False


def test_a_slip_whose_signer_has_no_key_here_says_unsigned_and_is_signed_later(
    desk: Desk, tmp_path: Path
) -> None:
    keys_svc.ensure_demo_keys(desk)
    desk.set_setting(S_HEAD_OF_UNIT, HEAD)
    # Only the clerk has a key on this desk; the clerk prints the head's apology letter.
    signing.ensure_demo_signing(desk, [(CLERK, "Công chức Bộ phận Một cửa")])
    codes = _dossiers(desk)
    pdf = rc.render_signed_slip(
        desk, codes[SlipKind.APOLOGY], SlipKind.APOLOGY, None, pdf_secret=signing.demo_secret
    )
    report = signing.verify_document(pdf, desk)
    assert report.verdict is pdfverify.PdfVerdict.UNSIGNED
    assert report.empty_fields == (SIGNATURE_FIELDS[SlipKind.APOLOGY],)
    if PDFTOTEXT is not None:
        path = tmp_path / "apology.pdf"
        path.write_bytes(pdf)
        text = subprocess.run([PDFTOTEXT, str(path), "-"], capture_output=True, text=True).stdout
        assert "(Chưa ký số)" in text and HEAD in text and CLERK not in text
        assert "Ký số:" not in text  # no printed claim naming whoever printed it
    # The head's key arrives; the same file is signed later, in its block, with the seal.
    signing.ensure_demo_signing(desk, [(HEAD, "Chủ tịch UBND xã")])
    signed = signing.sign_document(desk, pdf, signing.demo_secret, signer=HEAD)
    later = signing.verify_document(signed, desk)
    assert later.verdict is pdfverify.PdfVerdict.VALID, later.detail
    assert later.signatures[0].signer == HEAD and later.empty_fields == ()
    assert signed.startswith(pdf)  # an incremental update: the unsigned bytes are kept as is


def test_result_signed_by_decision_maker_then_agency(desk: Desk, tmp_path: Path) -> None:
    keys_svc.ensure_demo_keys(desk)
    agency = desk.identity.agency_name
    signing.ensure_demo_signing(
        desk, [(CLERK, "Công chức Bộ phận Một cửa"), (agency, "Cơ quan ban hành")]
    )
    code = desk.receive(_form()).code
    desk.act(code, EventKind.RESOLVE, {"decision": "approved"})
    result = rc.render_signed_slip(desk, code, SlipKind.CONTROL, None)  # any PDF as the result
    once = signing.sign_document(desk, result, signing.demo_secret, code=code)
    twice = signing.sign_document(desk, once, signing.demo_secret, agency=True)
    report = signing.verify_document(twice, desk)
    assert report.verdict is pdfverify.PdfVerdict.VALID, report.detail
    signers = {s.field: s.signer for s in report.signatures}
    assert signers[signing.RESULT_FIELD] == CLERK  # who recorded the decision
    assert signers[signing.AGENCY_FIELD] == agency
    with pytest.raises(signing.SigningError, match="đã được ký"):
        signing.sign_document(desk, twice, signing.demo_secret, agency=True)


def test_attaching_a_result_can_sign_it_first(desk: Desk) -> None:
    from onestop.services import attachments

    keys_svc.ensure_demo_keys(desk)
    signing.ensure_demo_signing(desk, [(CLERK, "Chủ tịch UBND xã")])
    code = desk.receive(_form()).code
    desk.act(code, EventKind.RESOLVE, {"decision": "approved"})
    desk.role = "leader"
    result = rc.render_signed_slip(desk, code, SlipKind.CONTROL, None)
    import pikepdf

    with pikepdf.open(io.BytesIO(result)) as doc:
        pages = len(doc.pages)
    attached = attachments.attach_result(desk, code, result, pages, sign=signing.demo_secret)
    stored = attachments.open_file(desk, code, attached.id)
    report = signing.verify_document(stored, desk)
    assert report.verdict is pdfverify.PdfVerdict.VALID, report.detail
    assert {s.field for s in report.signatures} == {signing.RESULT_FIELD}
    # A wrong passphrase stores nothing.
    before = len(attachments.list_attachments(desk, code))
    with pytest.raises(signing.SigningError):
        attachments.attach_result(desk, code, result, pages, sign=lambda _o: "sai mat khau 1")
    assert len(attachments.list_attachments(desk, code)) == before


def test_the_demo_desk_signs_its_slips_out_of_the_box(tmp_path: Path) -> None:
    from onestop.services.demo import build_demo

    path = tmp_path / "demo.sqlite"
    now = datetime(2026, 11, 20, 10, 0)
    build_demo(path, dossiers=12, seed=3, now=now)
    desk = Desk.open(path, clock=lambda: now, actor=CLERK)
    try:
        people = {o.name: o.kind for o in signing.officials(desk)}
        # The head of unit's key is on a SoftHSM2 token when it is installed.
        assert people[HEAD] == ("token" if HAS_SOFTHSM else "software")
        assert people[CLERK] == "software"
        code = desk.page(limit=1).rows[0].code
        pdf = rc.render_signed_slip(desk, code, SlipKind.CONTROL, None)  # no secret given
        report = signing.verify_document(pdf, desk)
        assert report.verdict is pdfverify.PdfVerdict.VALID, report.detail
        assert report.signatures[0].signer == desk.history(code)[0].actor
    finally:
        desk.close()
