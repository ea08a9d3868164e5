"""Shared pieces of the web suites: a desk whose key is on a published province trust list,
receipts (real, forged, altered), and the personal data that must never leak."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from onestop.crypto.cose import sign1
from onestop.crypto.signer import SoftwareSigner
from onestop.crypto.trust import RootKey, TrustList, make_trust_container
from onestop.crypto.verify import Verdict, verify_receipt
from onestop.domain.clock import VN_TZ, vn_now
from onestop.domain.receipt import digits_from_bytes, parse_receipt_url, receipt_url
from onestop.server.db import ServerDB
from onestop.server.reference import publish
from onestop.server.web.lookup import effective_trust
from onestop.services import keys as keys_svc
from onestop.services import receipts
from onestop.services.desk import Desk
from onestop.services.keys import ReceiptError
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from tests.services.sync.helpers import PASSPHRASE, START, Clock, enroll, passphrase, random_work

#: The browser suites drive Debian's chromium through Playwright (never ``playwright install``).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROVINCE = "38"
HOST = "tracuu.example.vn"
STAFF_USER = "can.bo.tinh"
STAFF_PASSWORD = "mật khẩu tỉnh 2026"


def epoch(local: datetime) -> int:
    return int(local.replace(tzinfo=VN_TZ).timestamp())


class Province:
    """A province root key and its growing trust list (one list for every desk of a test)."""

    def __init__(self) -> None:
        self.root = SoftwareSigner.generate()
        self.tl: TrustList | None = None

    def add(self, desk: Desk) -> bytes:
        """List this desk's key (created if needed); the signed container of the new list."""
        sync_enroll.desk_signer(desk, passphrase, create=True)
        request = keys_svc.parse_key_request(keys_svc.desk_public_export(desk))
        self.tl = keys_svc.issue_trust_list(
            province=PROVINCE,
            issued_at=epoch(START) + (self.tl.version if self.tl else 0),
            requests=[request],
            host=HOST,
            valid_from=epoch(START - timedelta(days=365)),
            base=self.tl,
        )
        return make_trust_container(self.root, self.tl)


def publish_trust(db_url: str, container: bytes) -> None:
    db = ServerDB(db_url)
    try:
        assert publish(db, "trust", container) is not None
    finally:
        db.close()


def import_trust(desk: Desk, root: SoftwareSigner, container: bytes, folder: Path) -> None:
    path = folder / "trust.cbor"
    path.write_bytes(container)
    keys_svc.import_trust(desk, path, RootKey.of(root).fingerprint())


def prepare_desk(
    desk: Desk,
    clock: Clock,
    db_url: str,
    base_url: str,
    folder: Path,
    *,
    steps: int = 40,
    seed: int = 5,
    transport: httpx.AsyncBaseTransport | None = None,
    province: Province | None = None,
) -> list[str]:
    """Publish the desk key, enroll, do some work, sync; the dossier codes it received."""
    province = province or Province()
    container = province.add(desk)
    root = province.root
    publish_trust(db_url, container)
    kw: dict[str, Any] = {"transport": transport} if transport is not None else {}
    enroll(desk, db_url, base_url, **kw)
    if keys_svc.trust_list(desk) is None:
        import_trust(desk, root, container, folder)
    codes = random_work(desk, clock, random.Random(seed), steps)
    # The work happened in the past (START); the signed sync requests must carry the present
    # (the server refuses request times far from its own clock).
    clock.now = max(clock.now, vn_now())
    report = sync.sync_once(desk, passphrase_provider=passphrase, **kw)
    assert report.ok, report
    assert desk.outbox_size() == 0
    return codes


def open_codes(desk: Desk, codes: list[str]) -> list[str]:
    """Codes whose receipt can be signed (not refused at intake), open ones first."""
    good = []
    for code in codes:
        try:
            receipts.receipt_qr_text(desk, code, PASSPHRASE)
        except ReceiptError:
            continue
        good.append(code)
    good.sort(key=lambda c: desk.get(c).finished_at is not None)
    return good


def fragment(desk: Desk, code: str) -> str:
    """The digits after ``#`` of the real receipt QR text of ``code``."""
    text = receipts.receipt_qr_text(desk, code, PASSPHRASE)
    assert text.startswith(f"https://{HOST}/r1#")
    return text.split("#", 1)[1]


def forged_fragment(desk: Desk, code: str) -> str:
    """The same claims signed by a key the province never listed."""
    claims = receipts.receipt_claims(desk, desk.get(code))
    cose = sign1(SoftwareSigner.generate(), claims.to_cbor())
    return receipt_url(HOST, cose).split("#", 1)[1]


def trust_of(db_url: str) -> TrustList:
    db = ServerDB(db_url)
    try:
        with db.read() as conn:
            tl = effective_trust(conn)
    finally:
        db.close()
    assert tl is not None
    return tl


def altered_fragment(digits: str, tl: TrustList) -> str:
    """``digits`` with ONE digit changed so that the structure survives but the signature
    fails (the verifier's BAD_SIGNATURE); the signature sits in the last ~155 digits."""
    for pos in range(len(digits) - 20, len(digits) - 150, -1):
        new = str((int(digits[pos]) + 1) % 10)
        candidate = digits[:pos] + new + digits[pos + 1 :]
        try:
            parse_receipt_url(candidate)
        except ValueError:
            continue
        if verify_receipt(candidate, tl).verdict is Verdict.BAD_SIGNATURE:
            return candidate
    raise AssertionError("no single-digit change gives a bad signature")


def personal_data(desk: Desk, codes: list[str]) -> list[str]:
    """ID numbers and phone numbers of the desk's applicants (must never leak)."""
    out: list[str] = []
    for code in codes:
        s = desk.get(code)
        out += [x for x in (s.applicant_id, s.applicant_phone) if x]
    return out


def onestop_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``onestop`` command line (same interpreter, so the same venv)."""
    exe = shutil.which("onestop", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "onestop.cli.main"]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


__all__ = [
    "HOST",
    "PROVINCE",
    "STAFF_PASSWORD",
    "STAFF_USER",
    "altered_fragment",
    "digits_from_bytes",
    "forged_fragment",
    "fragment",
    "onestop_cli",
    "open_codes",
    "personal_data",
    "prepare_desk",
    "trust_of",
]
