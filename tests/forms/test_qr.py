"""QR rendering and decoding of receipt codes (services/qr.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import qrcode
import qrcode.constants
from PIL import Image

from onestop.crypto.signer import SoftwareSigner
from onestop.crypto.trust import TrustEntry, TrustList
from onestop.crypto.verify import Verdict, make_receipt_qr_text, sign_receipt, verify_receipt
from onestop.domain.receipt import ReceiptClaims
from onestop.forms.qr import (
    QrDecodeError,
    decode_image,
    qr_matrix,
    qr_png,
    qr_terminal,
    qr_version,
)
from tests.crypto.conftest import HOST, HOST_24, realistic_claims

# ISO/IEC 18004 data capacity at level M, in codewords, versions 1..20.
_M_CODEWORDS = [
    16,
    28,
    44,
    64,
    86,
    108,
    124,
    154,
    182,
    216,
    254,
    290,
    334,
    365,
    415,
    453,
    507,
    563,
    627,
    669,
]


def _iso_version(prefix: bytes, digits: str) -> int:
    """Smallest version at M for one byte segment + one numeric segment (independent of qrcode)."""
    for version, codewords in enumerate(_M_CODEWORDS, start=1):
        byte_count_bits = 8 if version <= 9 else 16
        num_count_bits = 10 if version <= 9 else 12 if version <= 26 else 14
        bits = 4 + byte_count_bits + 8 * len(prefix)
        bits += 4 + num_count_bits + 10 * (len(digits) // 3) + (0, 4, 7)[len(digits) % 3]
        if bits <= 8 * codewords:
            return version
    raise AssertionError("too big for this table")


def _report(label: str, text: str, cose: bytes, claims: ReceiptClaims) -> int:
    version = qr_version(text)
    prefix, _, digits = text.partition("#")
    print(
        f"\n{label}: claims {len(claims.to_cbor())} B, COSE {len(cose)} B, QR text {len(text)} "
        f"chars ({len(prefix) + 1}-char prefix) -> version {version} at M "
        f"({17 + 4 * version} modules)"
    )
    # Our segmenting matches an independent ISO 18004 computation.
    assert version == _iso_version((prefix + "#").encode(), digits)
    return version


def test_realistic_receipt_is_version_11(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry
) -> None:
    """Issue 4 target: a realistic receipt (39-letter name, national codes 27 + 22 characters,
    the official's name, appointment minutes) is version <= 11 at level M, which prints at
    25 mm with whole 3-dot modules on a 203 dpi thermal printer (QR-AND-SYNC.md A.3)."""
    cose = sign_receipt(desk_signer, claims, entry)
    assert len(claims.applicant_name) == 39 and len(claims.dossier_code) == 27
    versions = {}
    for host in (HOST_24, HOST, "dvc.example.gov.vn"):
        text = make_receipt_qr_text(host, desk_signer, claims, entry)
        versions[host] = _report(
            f"realistic receipt, host {host} ({len(host)})", text, cose, claims
        )
    assert len(HOST_24) == 24
    assert all(v <= 11 for v in versions.values()), versions
    # Byte + numeric segments are what make this printable: all-byte would be far larger.
    text = make_receipt_qr_text(HOST_24, desk_signer, claims, entry)
    all_bytes = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    all_bytes.add_data(text.encode(), optimize=0)
    all_bytes.make(fit=True)
    print(f"same text in one byte-mode segment: version {all_bytes.version}")
    assert all_bytes.version >= versions[HOST_24] + 4


@pytest.mark.parametrize(
    ("host", "budget"), [(HOST_24, 210), ("dvc.example.gov.vn", 216), (HOST, 222)]
)
def test_qr_budget_at_version_11(
    desk_signer: SoftwareSigner, entry: TrustEntry, host: str, budget: int
) -> None:
    """Where version 11 ends. Signatures are raw 64 bytes, so the QR size is a plain function
    of the claims: version 11 at M holds ``budget`` bytes of COSE after ``https://<host>/r1#``.
    The realistic receipt is 210 B, which fits even after a 24-character host."""
    seen = set()
    for n in range(0, 40):
        claims = realistic_claims(official="A" * n)
        size = len(sign_receipt(desk_signer, claims, entry))
        version = qr_version(make_receipt_qr_text(host, desk_signer, claims, entry))
        assert (version <= 11) == (size <= budget), (n, size, version)
        seen.add(size <= budget)
    assert seen == {True, False}  # the loop crossed the boundary
    print(f"\nversion 11 at M after a {len(host)}-character host: up to {budget} B of COSE")


def test_lean_receipt_is_version_10(desk_signer: SoftwareSigner, entry: TrustEntry) -> None:
    # The same long name and national codes, without the official's name, a zero fee and a
    # short verify host.
    lean = realistic_claims(official="", fee_vnd=0, desk=7)
    text = make_receipt_qr_text("dvc.th.vn", desk_signer, lean, entry)
    version = qr_version(text)
    print(
        f"\nlean receipt: COSE {len(sign_receipt(desk_signer, lean, entry))} B "
        f"-> version {version} at M"
    )
    assert version <= 10


def test_png_decodes_back_and_verifies(
    desk_signer: SoftwareSigner,
    claims: ReceiptClaims,
    entry: TrustEntry,
    trust: TrustList,
    tmp_path: Path,
) -> None:
    text = make_receipt_qr_text(HOST, desk_signer, claims, entry)
    png = qr_png(text, box_size=4)
    assert png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as image:
        modules = 17 + 4 * qr_version(text) + 2 * 4
        assert image.size == (modules * 4, modules * 4)
    (decoded,) = decode_image(png)
    assert decoded == text
    result = verify_receipt(decoded, trust)
    assert result.verdict is Verdict.VALID and result.claims == claims
    # from a file path too
    path = tmp_path / "slip.png"
    path.write_bytes(png)
    assert decode_image(path) == [text]


def test_jpeg_photo_decodes(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry, trust: TrustList
) -> None:
    text = make_receipt_qr_text(HOST, desk_signer, claims, entry)
    with Image.open(io.BytesIO(qr_png(text, box_size=5))) as image:
        photo = Image.new("RGB", (image.width + 200, image.height + 120), (235, 230, 220))
        photo.paste(
            image.convert("RGB").rotate(7, expand=True, fillcolor=(235, 230, 220)), (90, 40)
        )
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=70)
    (decoded,) = decode_image(out.getvalue())
    assert verify_receipt(decoded, trust).verdict is Verdict.VALID


def test_decode_errors(tmp_path: Path) -> None:
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, format="PNG")
    with pytest.raises(QrDecodeError, match="Không đọc được mã QR"):
        decode_image(blank.getvalue())
    with pytest.raises(QrDecodeError, match="Không mở được ảnh"):
        decode_image(b"not an image")
    with pytest.raises(QrDecodeError, match="Không tìm thấy"):
        decode_image(tmp_path / "missing.png")


def _from_half_blocks(lines: list[str], invert: bool = False) -> list[list[bool]]:
    top = {" ": False, "▀": True, "▄": False, "█": True}
    bottom = {" ": False, "▀": False, "▄": True, "█": True}
    rows: list[list[bool]] = []
    for line in lines:
        rows.append([top[ch] != invert for ch in line])
        rows.append([bottom[ch] != invert for ch in line])
    return rows


def test_terminal_rendering_matches_the_matrix(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry
) -> None:
    text = make_receipt_qr_text(HOST, desk_signer, claims, entry)
    lines = qr_terminal(text)
    matrix = qr_matrix(text)
    size = 17 + 4 * qr_version(text) + 4  # 2-module quiet zone each side
    assert len(matrix) == size
    assert len(lines) == (size + 1) // 2 and {len(line) for line in lines} == {size}
    assert set("".join(lines)) <= set("▀▄█ ")
    assert lines[0].strip() == ""  # quiet zone is light (paper)
    assert _from_half_blocks(lines)[:size] == matrix
    assert _from_half_blocks(qr_terminal(text, invert=True), invert=True)[:size] == matrix
    print(f"\nterminal rendering: {size} columns x {len(lines)} rows")


def test_terminal_rendering_scans_when_drawn_black_on_white(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry
) -> None:
    # Paint each character cell as the terminal would with black ink on white paper.
    text = make_receipt_qr_text(HOST, desk_signer, claims, entry)
    rows = _from_half_blocks(qr_terminal(text))
    scale = 4
    image = Image.new("L", (len(rows[0]) * scale, len(rows) * scale), 255)
    pixels = image.load()
    assert pixels is not None
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(scale):
                    for dx in range(scale):
                        pixels[x * scale + dx, y * scale + dy] = 0
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert decode_image(out.getvalue()) == [text]


def test_short_texts_use_one_segment() -> None:
    assert qr_version("https://qr.ht.gov.vn/") == qr_version("https://qr.ht.gov.vn/")
    assert qr_version("12345") >= 1
    with pytest.raises(ValueError):
        qr_version("")
