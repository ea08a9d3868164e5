"""The province dashboard's files page, on a real ``onestop serve`` fed by a real desk.

A desk attaches a PAdES-signed PDF (pyHanko, a certificate made here) and an unsigned one,
syncs (events, then the files lane); a logged-in province staff member sees per file the
component, pages, size and whether it carries a digital signature, opens and downloads it;
without a session nothing is shown; the citizen page never links files.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from pathlib import Path

import httpx
import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from onestop.crypto.pdfsign import Appearance, SignatureBox, SoftwarePdfKey, sign_pdf
from onestop.server.admin import open_db
from onestop.server.web.files_page import MAX_SIG_CHECK_BYTES, pdf_signature
from onestop.server.web.staff import add_staff
from onestop.services import attachments
from onestop.services.sync import client as sync
from tests.services.attach_helpers import make_pdf
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    enroll,
    make_desk,
    passphrase,
    receive,
)

PASSWORD = "Cán-bộ-tỉnh-xem-tệp-2026!"


def signed_pdf(pages: int = 1) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Trần Thị Bình")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return sign_pdf(
        make_pdf(pages),
        SoftwarePdfKey(key, cert),
        field_name="ChuKy",
        appearance=Appearance(name="Trần Thị Bình", title="Chủ tịch"),
        box=SignatureBox(0, 300, 50, 550, 130),
    )


def test_signature_detection() -> None:
    assert pdf_signature(signed_pdf()).state == "signed"
    plain = pdf_signature(make_pdf(2))
    assert (plain.state, plain.count) == ("unsigned", 0)
    assert pdf_signature(b"%PDF-1.7 junk").state == "unknown"
    # An empty signature field (a slip waiting to be signed) is not a signature.
    pdf = pikepdf.open(io.BytesIO(make_pdf(1)))
    pdf.Root.AcroForm = pdf.make_indirect(
        pikepdf.Dictionary(
            Fields=pikepdf.Array(
                [pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T="ChuKy"))]
            )
        )
    )
    buf = io.BytesIO()
    pdf.save(buf)
    assert pdf_signature(buf.getvalue()).state == "unsigned"
    assert pdf_signature(b"x" * (MAX_SIG_CHECK_BYTES + 1)).state == "unknown"


def login(web: httpx.Client) -> None:
    r = web.post(
        "/province/login",
        data={"username": "canbo.xemtep", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


@pytest.fixture
def synced(sqlite_server: ServerProcess, tmp_path: Path) -> tuple[str, str, str, bytes]:
    rng = random.Random(81)
    clock = Clock()
    desk = make_desk(tmp_path / "d.sqlite", n=81, clock=clock)
    code = receive(desk, clock, rng)
    signed = signed_pdf(2)
    a = attachments.attach(desk, code, 1, signed, pages=2, paper_pages=2)
    b = attachments.attach(desk, code, 2, make_pdf(3), pages=3, paper_pages=3)
    enroll(desk, sqlite_server.db_url, sqlite_server.url)
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
    assert report.ok, report.error
    desk.close()
    db = open_db(sqlite_server.db_url)
    try:
        add_staff(db, "canbo.xemtep", PASSWORD)
    finally:
        db.close()
    return code, a.id, b.id, signed


def test_staff_see_open_and_download_files(
    sqlite_server: ServerProcess, synced: tuple[str, str, str, bytes]
) -> None:
    code, signed_id, plain_id, signed = synced
    page = f"/province/dossiers/{code}/files"
    with httpx.Client(base_url=sqlite_server.url, timeout=20) as web:
        # Not logged in: sent to the login page, no file listed, no file served.
        r = web.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/province/login"
        r = web.get(f"{page}/{signed_id}/view", follow_redirects=False)
        assert r.status_code == 303
        login(web)
        r = web.get(page)
        assert r.status_code == 200, r.text
        html = r.text
        assert f'data-id="{signed_id}" data-sig="signed"' in html
        assert f'data-id="{plain_id}" data-sig="unsigned"' in html
        assert "Có chữ ký số" in html
        assert "<td>2</td>" in html and "<td>3</td>" in html  # pages
        assert " KB</td>" in html
        r = web.get(f"{page}/{signed_id}/view")
        assert r.status_code == 200 and r.content == signed
        assert r.headers["content-disposition"].startswith("inline")
        assert f"/api/v1/province/dossiers/{code}/files/{plain_id}" in html
        r = web.get(f"/api/v1/province/dossiers/{code}/files/{signed_id}")
        assert r.status_code == 200 and r.content == signed
        # Finding by code; a bad code is said, an unknown dossier is a 404 page.
        r = web.get("/province/files", params={"code": code.lower()}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == page
        r = web.get("/province/files", params={"code": "không hợp lệ"})
        assert r.status_code == 400 and "Mã hồ sơ chỉ gồm" in r.text
        r = web.get("/province/dossiers/KHONG-CO/files")
        assert r.status_code == 404 and "chưa có hồ sơ KHONG-CO" in r.text
        r = web.get(f"{page}/{'0' * 12}/view")
        assert r.status_code == 404
    # The citizen's receipt page has no link to any file.
    r = httpx.get(f"{sqlite_server.url}/r1", timeout=10)
    assert r.status_code == 200 and "/files" not in r.text
