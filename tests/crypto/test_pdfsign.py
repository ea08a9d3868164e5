"""PAdES signing and verification (crypto/pdfsign.py, pdfverify.py, token.py, certs.py).

Real parts only: keys generated on a SoftHSM2 token (skipped with a reason when the Debian
package softhsm2 is absent), certificates issued with ``cryptography``, PDFs from fpdf2, and
for the vendor-module failures real shared libraries compiled here with gcc: one whose
``C_GetFunctionList`` never returns and one that crashes the process.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from onestop.crypto import certs, pdfsign, pdfverify
from onestop.crypto import token as tok
from onestop.domain.clock import VN_TZ
from onestop.services.signing import softhsm_module

NOW = datetime.now(VN_TZ)
PIN = "246810"
SOFTHSM = softhsm_module()
HAS_SOFTHSM = SOFTHSM is not None and shutil.which("softhsm2-util") is not None
needs_softhsm = pytest.mark.skipif(
    not HAS_SOFTHSM, reason="SoftHSM2 (Debian package softhsm2) is not installed"
)
BOX = pdfsign.SignatureBox(0, 330, 120, 560, 175)
LOOK = pdfsign.Appearance("Lê Văn Bình", "Chủ tịch UBND xã")


class Ca:
    def __init__(self, name: str = "Tỉnh Thanh Hóa") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = certs.province_ca_certificate(
            self.key, province_name=name, not_before=NOW - timedelta(days=30)
        )

    def issue(
        self, public: Any, *, name: str = "Lê Văn Bình", start: datetime = NOW, days: int = 365
    ) -> x509.Certificate:
        return certs.issue_official_certificate(
            self.key,
            self.cert,
            public,
            name=name,
            title="Chủ tịch UBND xã",
            agency="UBND xã Mường Lát",
            not_before=start,
            not_after=start + timedelta(days=days),
        )


@pytest.fixture
def ca() -> Ca:
    return Ca()


def _pdf(text: str = "Giấy tiếp nhận hồ sơ") -> bytes:
    from onestop.forms.pdf import new_pdf

    pdf = new_pdf()
    pdf.add_page()
    pdf.cell(100, 10, text)
    return pdf.to_bytes()


def _software(ca: Ca, **kw: Any) -> pdfsign.SoftwarePdfKey:
    key = ec.generate_private_key(ec.SECP256R1())
    return pdfsign.SoftwarePdfKey(key, ca.issue(key.public_key(), **kw), [ca.cert])


@pytest.fixture
def token(tmp_path: Path, ca: Ca) -> Iterator[tuple[tok.TokenConfig, Ca]]:
    """A fresh SoftHSM2 token with a P-256 key generated on it and its certificate stored."""
    if not HAS_SOFTHSM:
        pytest.skip("SoftHSM2 (Debian package softhsm2) is not installed")
    assert SOFTHSM is not None
    folder = tmp_path / "softhsm"
    (folder / "tokens").mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "TEST-TOKEN"]
        + ["--so-pin", "12345678", "--pin", PIN],
        env={"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    config = tok.TokenConfig(
        module=SOFTHSM,
        token_label="TEST-TOKEN",
        key_label="le-van-binh",
        key_id=b"\x07",
        env=(("SOFTHSM2_CONF", str(conf)),),
    )
    with tok.open_session(config, PIN, rw=True) as session:
        spki = tok.generate_p256_key(session, label=config.key_label, key_id=config.key_id)
        cert = ca.issue(serialization.load_der_public_key(spki))
        tok.store_certificate(
            session,
            cert.public_bytes(serialization.Encoding.DER),
            label=config.key_label,
            key_id=config.key_id,
            subject=cert.subject.public_bytes(),
        )
    yield config, ca


def _alone(tmp_path: Path) -> tuple[Path, bytes]:
    """A slip PDF alone in its folder, and its bytes: a failed signing must leave both so."""
    (tmp_path / "work").mkdir()
    path = tmp_path / "work" / "slip.pdf"
    original = _pdf()
    path.write_bytes(original)
    return path, original


def _assert_untouched(path: Path, original: bytes) -> None:
    assert path.read_bytes() == original and list(path.parent.iterdir()) == [path]


def _verdict(data: bytes, ca: Ca, **kw: Any) -> pdfverify.PdfReport:
    return pdfverify.verify_pdf(data, [ca.cert], **kw)


# ---------------------------------------------------------------------------- signing


def test_software_signature_verifies_and_names_the_official(ca: Ca) -> None:
    signed = pdfsign.sign_pdf(_pdf(), _software(ca), field_name="ChuKySo", appearance=LOOK, box=BOX)
    report = _verdict(signed, ca)
    assert report.verdict is pdfverify.PdfVerdict.VALID and report.exit_code == 0
    (sig,) = report.signatures
    assert (sig.signer, sig.title, sig.agency) == (
        "Lê Văn Bình",
        "Chủ tịch UBND xã",
        "UBND xã Mường Lát",
    )
    assert sig.box == pytest.approx((330, 120, 560, 175)) and sig.page == 0
    assert sig.signed_at is not None and abs(sig.signed_at - datetime.now(VN_TZ)) < timedelta(
        minutes=5
    )


@needs_softhsm
def test_token_signature_p256_with_key_generated_on_the_token(
    token: tuple[tok.TokenConfig, Ca],
) -> None:
    config, ca = token
    key = pdfsign.TokenPdfKey(config, PIN, [ca.cert])
    signed = pdfsign.sign_pdf(_pdf(), key, field_name="ChuKySo", appearance=LOOK, box=BOX)
    report = _verdict(signed, ca)
    assert report.verdict is pdfverify.PdfVerdict.VALID, report.detail
    assert report.signatures[0].signer == "Lê Văn Bình"
    assert "TokenPdfKey" in repr(key) and PIN not in repr(key)


@needs_softhsm
def test_probe_lists_the_token_label_and_pin_state(token: tuple[tok.TokenConfig, Ca]) -> None:
    config, _ca = token
    result = tok.probe_module(config.module, env=config.env)
    (found,) = [t for t in result.tokens if t.label == "TEST-TOKEN"]
    assert not found.locked and "chưa bị nhập sai" in found.pin_state
    assert "SoftHSM" in result.library


def test_pin_state_sentences_follow_the_token_flags() -> None:
    assert "MỘT lần" in tok.pin_state(tok.PIN_FINAL_TRY | tok.PIN_COUNT_LOW)
    assert "bị khóa" in tok.pin_state(tok.PIN_LOCKED)
    assert "nhập sai" in tok.pin_state(tok.PIN_COUNT_LOW)


@needs_softhsm
def test_wrong_pin_is_counted_and_nothing_is_signed(
    token: tuple[tok.TokenConfig, Ca], tmp_path: Path
) -> None:
    config, ca = token
    path, original = _alone(tmp_path)
    counts = []
    for _ in range(2):
        with pytest.raises(tok.TokenPinError) as caught:
            pdfsign.sign_file(
                path,
                pdfsign.TokenPdfKey(config, "000000", [ca.cert]),
                field_name="ChuKySo",
                appearance=LOOK,
                box=BOX,
            )
        assert "Sai mã PIN của token «TEST-TOKEN»" in str(caught.value)
        counts.append(caught.value.wrong_count)
    assert counts == [counts[0], counts[0] + 1]
    _assert_untouched(path, original)
    # The right PIN resets the count and signs.
    pdfsign.sign_file(
        path,
        pdfsign.TokenPdfKey(config, PIN, [ca.cert]),
        field_name="ChuKySo",
        appearance=LOOK,
        box=BOX,
    )
    assert _verdict(path.read_bytes(), ca).verdict is pdfverify.PdfVerdict.VALID


class _PulledOut:
    """A token key whose token goes away between opening the session and signing."""

    kind = "token"

    def __init__(self, inner: pdfsign.TokenPdfKey) -> None:
        self.inner = inner

    @contextmanager
    def open(self) -> Iterator[Any]:
        with self.inner.open() as signer:
            # What a pulled token does to an open session: every later call fails with
            # CKR_SESSION_HANDLE_INVALID / CKR_DEVICE_REMOVED.
            signer.pkcs11_session.close()
            yield signer


@needs_softhsm
def test_token_pulled_out_mid_signing_leaves_the_file_untouched(
    token: tuple[tok.TokenConfig, Ca], tmp_path: Path
) -> None:
    config, ca = token
    path, original = _alone(tmp_path)
    key = _PulledOut(pdfsign.TokenPdfKey(config, PIN, [ca.cert]))
    with pytest.raises(tok.TokenRemovedError, match="bị rút ra"):
        pdfsign.sign_file(path, key, field_name="ChuKySo", appearance=LOOK, box=BOX)
    _assert_untouched(path, original)


def test_missing_token_says_plug_it_in(tmp_path: Path) -> None:
    if not HAS_SOFTHSM:
        pytest.skip("SoftHSM2 (Debian package softhsm2) is not installed")
    assert SOFTHSM is not None
    empty = tmp_path / "none"
    empty.mkdir()
    conf = tmp_path / "c.conf"
    conf.write_text(f"directories.tokendir = {empty}\nobjectstore.backend = file\n")
    config = tok.TokenConfig(SOFTHSM, token_label="KHONG-CO", env=(("SOFTHSM2_CONF", str(conf)),))
    with pytest.raises(tok.TokenRemovedError, match="cắm token"):
        with tok.open_session(config, PIN):
            pass


# ---------------------------------------------------------------------------- vendor modules

_HANG = "void C_GetFunctionList(void **p) { for (;;) {} }\n"
_CRASH = "void C_GetFunctionList(void **p) { *(volatile int *)0 = 1; }\n"


def _module(tmp_path: Path, name: str, source: str) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler to build a misbehaving PKCS#11 module")
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    out = tmp_path / f"lib{name}.so"
    subprocess.run([gcc, "-shared", "-fPIC", "-o", str(out), str(src)], check=True)
    return out


def test_a_hanging_vendor_module_is_stopped_and_the_desk_goes_on(tmp_path: Path) -> None:
    module = _module(tmp_path, "hang", _HANG)
    with pytest.raises(tok.TokenError, match="không phản hồi sau 3 giây"):
        tok.probe_module(module, timeout=3)


def test_a_crashing_vendor_module_only_kills_the_probe(tmp_path: Path) -> None:
    module = _module(tmp_path, "crash", _CRASH)
    with pytest.raises(tok.TokenError, match="bị lỗi khi nạp"):
        tok.probe_module(module, timeout=20)


def test_a_file_that_is_no_module_gets_a_message(tmp_path: Path) -> None:
    bogus = tmp_path / "viettel-ca_v6.dll"
    bogus.write_bytes(b"MZ not really a library")
    with pytest.raises(tok.TokenError, match="Không nạp được thư viện PKCS#11"):
        tok.probe_module(bogus, timeout=20)
    with pytest.raises(tok.TokenError, match="Không tìm thấy thư viện PKCS#11"):
        tok.probe_module(tmp_path / "missing.so")


# ---------------------------------------------------------------------------- verification


def test_one_flipped_byte_is_a_changed_document(ca: Ca) -> None:
    signed = pdfsign.sign_pdf(_pdf(), _software(ca), field_name="ChuKySo", appearance=LOOK, box=BOX)
    at = signed.index(b"/ByteRange") // 2
    bad = signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1 :]
    report = _verdict(bad, ca)
    assert report.verdict is pdfverify.PdfVerdict.ALTERED and report.exit_code == 3
    assert "đã bị thay đổi sau khi «Lê Văn Bình» ký" in report.detail


def test_an_appended_revision_that_changes_content_is_caught(ca: Ca) -> None:
    signed = pdfsign.sign_pdf(_pdf(), _software(ca), field_name="ChuKySo", appearance=LOOK, box=BOX)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    stream = generic.StreamObject(stream_data=b"BT /F1 30 Tf 100 700 Td (DA DUYET) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))
    out = io.BytesIO()
    writer.write(out)
    report = _verdict(out.getvalue(), ca)
    assert report.verdict is pdfverify.PdfVerdict.ALTERED
    assert "thêm một phiên bản sửa nội dung" in report.detail
    assert not report.signatures[0].whole_document


def test_unknown_issuer_is_untrusted(ca: Ca) -> None:
    other = Ca("Tỉnh Không Quen")
    signed = pdfsign.sign_pdf(
        _pdf(), _software(other), field_name="ChuKySo", appearance=LOOK, box=BOX
    )
    report = _verdict(signed, ca)
    assert report.verdict is pdfverify.PdfVerdict.UNTRUSTED and report.exit_code == 4
    assert "không do tổ chức tin cậy cấp" in report.detail
    assert report.signatures[0].intact  # the document itself is fine


def test_revoked_certificate_is_refused_with_the_province_crl(ca: Ca) -> None:
    key = _software(ca)
    signed = pdfsign.sign_pdf(_pdf(), key, field_name="ChuKySo", appearance=LOOK, box=BOX)
    crl = certs.revocation_list(
        ca.key,
        ca.cert,
        [(key.certificate.serial_number, NOW - timedelta(minutes=5))],
        issued_at=NOW - timedelta(minutes=1),
        next_update=NOW + timedelta(days=7),
    )
    report = _verdict(signed, ca, crls=[crl])
    assert report.verdict is pdfverify.PdfVerdict.REVOKED and report.exit_code == 5
    assert "đã bị thu hồi" in report.detail
    clean = certs.revocation_list(
        ca.key, ca.cert, [], issued_at=NOW - timedelta(minutes=1), next_update=NOW + timedelta(1)
    )
    assert _verdict(signed, ca, crls=[clean]).verdict is pdfverify.PdfVerdict.VALID


def test_expired_certificate_is_refused(ca: Ca) -> None:
    old = _software(ca, start=NOW - timedelta(days=20), days=10)
    signed = pdfsign.sign_pdf(_pdf(), old, field_name="ChuKySo", appearance=LOOK, box=BOX)
    report = _verdict(signed, ca)
    assert report.verdict is pdfverify.PdfVerdict.EXPIRED and report.exit_code == 4
    assert "đã hết hạn" in report.detail


def test_unsigned_and_garbage_input(ca: Ca) -> None:
    assert _verdict(_pdf(), ca).verdict is pdfverify.PdfVerdict.UNSIGNED
    assert _verdict(b"not a pdf", ca).exit_code == 6
    with_field = pdfsign.add_signature_field(_pdf(), "ChuKySo", BOX)
    report = _verdict(with_field, ca)
    assert report.verdict is pdfverify.PdfVerdict.UNSIGNED and report.empty_fields == ("ChuKySo",)


def test_signing_twice_into_one_field_is_refused(ca: Ca) -> None:
    signed = pdfsign.sign_pdf(_pdf(), _software(ca), field_name="ChuKySo", appearance=LOOK, box=BOX)
    with pytest.raises(pdfsign.PdfSignError, match="đã được ký"):
        pdfsign.sign_pdf(signed, _software(ca), field_name="ChuKySo", appearance=LOOK)
    with pytest.raises(pdfsign.PdfSignError, match="không phải PDF"):
        pdfsign.sign_pdf(b"hello", _software(ca), field_name="X", appearance=LOOK, box=BOX)


def test_certificate_must_match_the_key(ca: Ca) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(pdfsign.PdfSignError, match="không khớp"):
        pdfsign.SoftwarePdfKey(key, ca.issue(other.public_key()), [ca.cert])


def test_official_certificate_fields(ca: Ca) -> None:
    cert = ca.issue(ec.generate_private_key(ec.SECP256R1()).public_key(), name="Nguyễn Thị Ánh")
    who = certs.official_name(cert)
    assert who == certs.OfficialName("Nguyễn Thị Ánh", "Chủ tịch UBND xã", "UBND xã Mường Lát")
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert certs.load_certificates(certs.certificate_pem([cert, ca.cert])) == [cert, ca.cert]
    with pytest.raises(certs.CertError):
        certs.load_certificates(b"garbage")
