"""Signed receipts at the desk (services/receipts.py): keys beside the database, the province
trust list (pinning, rollback, revocation), receipt QR texts that verify offline, signed slips.

Key files use a cheap scrypt cost here (``ONESTOP_SCRYPT_N=1024``, tests only); the real cost is
exercised by tests/crypto/test_keys.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest

from onestop.crypto import kdf
from onestop.crypto.keys import load_key_file, read_key_file_info
from onestop.crypto.signer import SoftwareSigner
from onestop.crypto.trust import RootKey, TrustList, export_trust_file, make_trust_container
from onestop.crypto.verify import Verdict, verify_receipt
from onestop.domain.clock import VN_TZ
from onestop.domain.receipt import RawClaims, parse_receipt_url
from onestop.forms.qr import qr_version
from onestop.services import keys as keys_svc
from onestop.services import receipts as rc
from onestop.services.desk import Applicant, Desk, DeskError, IntakeForm
from tests.conftest import Clock

PASS = "mật khẩu quầy một"
ROOT_PASS = "mật khẩu khóa gốc tỉnh"
NAME = "Nguyễn Thị Phương Thảo Tôn Nữ Hoàng Anh"
ID_NUMBER = "001099012345"
PHONE = "0912345678"


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(kdf.SCRYPT_N_ENV, "1024")


def _epoch(dt: datetime) -> int:
    return int(dt.replace(tzinfo=VN_TZ).timestamp())


def _receive(desk: Desk, name: str = NAME) -> str:
    state = desk.receive(
        IntakeForm(
            procedure_code="2.001035",
            applicant=Applicant(name=name, id_number=ID_NUMBER, phone=PHONE),
        )
    )
    return state.code


@pytest.fixture
def root(tmp_path: Path) -> SoftwareSigner:
    return keys_svc.create_root_key(
        tmp_path / "province-root.key", ROOT_PASS, label="Khóa gốc tỉnh 38"
    )


def _issue(
    tmp_path: Path,
    root: SoftwareSigner,
    desk: Desk,
    *,
    name: str = "trust.cbor",
    base: TrustList | None = None,
    **kwargs: object,
) -> tuple[Path, TrustList]:
    """Province side: a trust list with this desk's key request (unless given others)."""
    kwargs.setdefault("requests", [keys_svc.parse_key_request(keys_svc.desk_public_export(desk))])
    tl = keys_svc.issue_trust_list(
        province="38",
        issued_at=_epoch(desk.clock()),
        base=base,
        **kwargs,  # type: ignore[arg-type]
    )
    path = tmp_path / name
    export_trust_file(path, root, tl)
    return path, tl


def test_keys_dir_is_beside_the_database() -> None:
    assert keys_svc.keys_dir(Path("/data/desk.sqlite")) == Path("/data/desk.keys")
    assert keys_svc.keys_dir(Path("x/muonglat.db")) == Path("x/muonglat.keys")


def test_demo_keys_sign_real_receipts(desk: Desk) -> None:
    kid = keys_svc.ensure_demo_keys(desk)
    folder = keys_svc.keys_dir(desk.store.path)
    assert {p.name for p in folder.iterdir()} == {"root.key", "desk.key", "trust.cbor"}
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert (folder / "desk.key").stat().st_mode & 0o077 == 0
    code = _receive(desk)

    text = rc.receipt_qr_text(desk, code, keys_svc.DEMO_PASSPHRASE)
    assert text.startswith(f"https://{keys_svc.DEFAULT_HOST}/r1#")
    version = qr_version(text)
    print(f"\ndesk receipt {code}: {len(text)} chars, QR version {version} at M")
    assert version <= 11

    tl = keys_svc.trust_list(desk)
    assert tl is not None
    result = verify_receipt(text, tl)
    assert result.verdict is Verdict.VALID, result.detail
    state = desk.get(code)
    assert result.claims is not None and result.kid == kid
    assert result.claims.dossier_code == code
    assert result.claims.applicant_name == NAME
    assert result.claims.procedure_code == "2.001035"
    assert result.claims.due_at == state.due_at and result.claims.fee_vnd == state.fee_vnd
    assert result.claims.official == "Lò Thị Mai"  # the clerk who recorded the intake
    assert result.claims.desk == desk.history(code)[0].seq
    # Never the ID number or the phone: not in the signed bytes at all.
    signed = parse_receipt_url(text)
    assert ID_NUMBER.encode() not in signed and PHONE.encode() not in signed
    # Deterministic ECDSA: a reprint is the identical QR.
    assert rc.receipt_qr_text(desk, code, keys_svc.DEMO_PASSPHRASE) == text

    # Idempotent: a second call changes nothing.
    version_before = tl.version
    assert keys_svc.ensure_demo_keys(desk) == kid
    again = keys_svc.trust_list(desk)
    assert again is not None and again.version == version_before


def test_wrong_passphrase_is_refused_in_vietnamese(desk: Desk) -> None:
    keys_svc.ensure_demo_keys(desk)
    code = _receive(desk)
    with pytest.raises(keys_svc.ReceiptError, match="Sai mật khẩu"):
        rc.receipt_qr_text(desk, code, "không phải mật khẩu")
    with pytest.raises(keys_svc.ReceiptError, match="ít nhất 8"):
        keys_svc.unlock_desk_key(desk, "ngắn")


def test_desk_key_is_never_overwritten(desk: Desk) -> None:
    kid = keys_svc.create_desk_key(desk, PASS)
    with pytest.raises(keys_svc.ReceiptError, match="đã có khóa"):
        keys_svc.create_desk_key(desk, PASS)
    info = keys_svc.desk_key_info(desk)
    assert info is not None and info.kid == kid
    assert info.label == "Quầy 1 - UBND Xã Mường Lát"
    assert read_key_file_info(keys_svc.desk_key_path(desk)).kid == kid


def test_key_request_carries_what_the_province_needs(desk: Desk) -> None:
    with pytest.raises(keys_svc.ReceiptError, match="chưa có khóa"):
        keys_svc.desk_public_export(desk)
    kid = keys_svc.create_desk_key(desk, PASS)
    data = keys_svc.desk_public_export(desk)
    assert b"BEGIN" not in data and b"ciphertext" not in data  # public only
    req = keys_svc.parse_key_request(data)
    assert req.kid == kid
    assert (req.province, req.commune, req.unit_eid, req.desk_no) == (
        "38",
        "16279",
        "000.00.14.H56",
        1,
    )
    assert req.created_at == _epoch(desk.clock())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(kid="00" * 8),
        lambda d: d.update(format="x"),
        lambda d: d.update(public_key="AAAA"),
        lambda d: d.update(commune="123"),
        lambda d: d.update(unit_eid="000.00.14.h56-x"),
        lambda d: d.update(desk_no=0),
        lambda d: d.update(alg=-35),
        lambda d: d.update(desk_label=""),
    ],
)
def test_bad_key_requests_are_refused(desk: Desk, mutate: Callable[[dict[str, Any]], None]) -> None:
    keys_svc.create_desk_key(desk, PASS)
    doc = json.loads(keys_svc.desk_public_export(desk))
    mutate(doc)
    with pytest.raises(keys_svc.ReceiptError, match="Tệp yêu cầu cấp khóa không hợp lệ"):
        keys_svc.parse_key_request(json.dumps(doc).encode())
    with pytest.raises(keys_svc.ReceiptError):
        keys_svc.parse_key_request(b"\xff\xfe")


def test_province_flow_pin_host_and_receipts(
    desk: Desk, root: SoftwareSigner, tmp_path: Path
) -> None:
    keys_svc.create_desk_key(desk, PASS)
    code = _receive(desk)
    with pytest.raises(keys_svc.ReceiptError, match="chưa có danh sách tin cậy"):
        rc.receipt_qr_text(desk, code, PASS)

    path, tl = _issue(tmp_path, root, desk, host="tracuu.thanhhoa.gov.vn", valid_from=0)
    fingerprint = RootKey.of(root).fingerprint()
    # First import: the fingerprint must be confirmed (pin or explicit first use).
    with pytest.raises(keys_svc.ReceiptError, match=fingerprint):
        keys_svc.import_trust(desk, path)
    with pytest.raises(keys_svc.ReceiptError, match="khác dấu vân tay"):
        keys_svc.import_trust(desk, path, "0000 0000 0000 0000")
    with pytest.raises(keys_svc.ReceiptError, match="16 chữ số"):
        keys_svc.import_trust(desk, path, "xyz")
    assert keys_svc.trust_list(desk) is None  # nothing stored by the refusals
    result = keys_svc.import_trust(desk, path, fingerprint.upper().replace(" ", ":"))
    assert result.first_use and result.root_fingerprint == fingerprint
    assert result.own_entry is not None and result.own_entry.unit_eid == "000.00.14.H56"

    text = rc.receipt_qr_text(desk, code, PASS)
    assert text.startswith("https://tracuu.thanhhoa.gov.vn/r1#")  # the province's host
    assert verify_receipt(text, tl).verdict is Verdict.VALID
    desk.set_setting(keys_svc.SETTING_HOST, "qr.ht.gov.vn")  # a local override wins
    assert rc.receipt_qr_text(desk, code, PASS).startswith("https://qr.ht.gov.vn/r1#")

    # Later lists must come from the pinned root...
    impostor = SoftwareSigner.generate()
    forged, _ = _issue(tmp_path, impostor, desk, name="forged.cbor", version=5)
    with pytest.raises(keys_svc.ReceiptError, match="khác với khóa của tỉnh"):
        keys_svc.import_trust(desk, forged, RootKey.of(impostor).fingerprint())
    # ...and never older than the newest one seen (a rollback would undo revocations).
    newer, _ = _issue(tmp_path, root, desk, name="v2.cbor", base=tl)
    assert keys_svc.import_trust(desk, newer).trust_list.version == 2
    with pytest.raises(keys_svc.ReceiptError, match="cũ hơn"):
        keys_svc.import_trust(desk, path)
    # Even with the stored file swapped back for the old one.
    shutil.copy(path, keys_svc.keys_dir(desk.store.path) / "trust.cbor")
    with pytest.raises(keys_svc.ReceiptError, match="cũ hơn"):
        keys_svc.trust_list(desk)


def test_list_of_another_province_is_refused(
    desk: Desk, root: SoftwareSigner, tmp_path: Path
) -> None:
    tl = TrustList(version=1, province="40", issued_at=0)
    path = tmp_path / "t40.cbor"
    export_trust_file(path, root, tl)
    with pytest.raises(keys_svc.ReceiptError, match="tỉnh 40"):
        keys_svc.import_trust(desk, path, RootKey.of(root).fingerprint())


def test_revocation_in_a_new_list(desk: Desk, root: SoftwareSigner, tmp_path: Path) -> None:
    kid = keys_svc.create_desk_key(desk, PASS)
    code = _receive(desk)
    path, tl = _issue(tmp_path, root, desk)
    keys_svc.import_trust(desk, path, RootKey.of(root).fingerprint())
    text = rc.receipt_qr_text(desk, code, PASS)

    received = desk.get(code).received_at
    revoked_early, tl2 = _issue(
        tmp_path,
        root,
        desk,
        name="v2.cbor",
        base=tl,
        requests=[],
        revoke=[kid],
        revoked_at=_epoch(received - timedelta(hours=1)),
    )
    assert tl2.entries[0].status == "revoked"
    assert verify_receipt(text, tl2).verdict is Verdict.REVOKED_KEY
    # Revoked after the receipt was signed: that receipt stays valid (trust.py semantics).
    _, tl_late = _issue(
        tmp_path,
        root,
        desk,
        name="late.cbor",
        base=tl,
        requests=[],
        revoke=[kid],
        revoked_at=_epoch(received + timedelta(hours=1)),
    )
    assert verify_receipt(text, tl_late).verdict is Verdict.VALID
    # Once the desk imports the list that revokes its key, it signs nothing more.
    keys_svc.import_trust(desk, revoked_early)
    with pytest.raises(keys_svc.ReceiptError, match="thu hồi"):
        rc.receipt_qr_text(desk, code, PASS)
    assert keys_svc.key_summary(desk)["own_entry"]["status"] == "revoked"


def test_issue_trust_list_rules(desk: Desk) -> None:
    keys_svc.create_desk_key(desk, PASS)
    req = keys_svc.parse_key_request(keys_svc.desk_public_export(desk))
    tl = keys_svc.issue_trust_list(province="38", issued_at=100, requests=[req, req])
    assert len(tl.entries) == 1 and tl.version == 1  # issuing twice is harmless
    assert tl.entries[0].valid_from == req.created_at
    again = keys_svc.issue_trust_list(province="38", issued_at=200, requests=[req], base=tl)
    assert again.version == 2 and len(again.entries) == 1
    with pytest.raises(keys_svc.ReceiptError, match="lớn hơn"):
        keys_svc.issue_trust_list(province="38", issued_at=200, base=tl, version=1)
    with pytest.raises(keys_svc.ReceiptError, match="tỉnh 38"):
        keys_svc.issue_trust_list(province="40", issued_at=200, base=tl)
    with pytest.raises(keys_svc.ReceiptError, match="tỉnh 38"):
        keys_svc.issue_trust_list(province="40", issued_at=200, requests=[req])
    unknown = bytes(8)
    revoked = keys_svc.issue_trust_list(province="38", issued_at=300, base=tl, revoke=[unknown])
    assert revoked.revocations[0].kid == unknown and revoked.revocations[0].revoked_at == 300
    with pytest.raises(keys_svc.ReceiptError):
        keys_svc.issue_trust_list(province="38", issued_at=300, host="Bad Host")


def test_receipts_only_for_this_desks_intakes(desk: Desk) -> None:
    keys_svc.ensure_demo_keys(desk)
    refused = desk.refuse_intake(
        IntakeForm(procedure_code="2.001035", applicant=Applicant(name="Lò Văn A")), "Thiếu giấy"
    )
    with pytest.raises(keys_svc.ReceiptError, match="từ chối"):
        rc.receipt_qr_text(desk, refused.code, keys_svc.DEMO_PASSPHRASE)
    with pytest.raises(DeskError, match="Không tìm thấy"):
        rc.receipt_qr_text(desk, "000.00.14.H56-261120-019999", keys_svc.DEMO_PASSPHRASE)


def test_key_not_yet_valid_for_an_old_dossier(
    desk: Desk, clock: Clock, root: SoftwareSigner, tmp_path: Path
) -> None:
    # A dossier received before the key existed cannot get a QR that would never verify.
    clock.now = datetime(2026, 11, 20, 8, 30)
    code = _receive(desk)
    clock.now = datetime(2026, 11, 20, 10, 0)
    keys_svc.create_desk_key(desk, PASS)
    path, _ = _issue(tmp_path, root, desk)
    keys_svc.import_trust(desk, path, RootKey.of(root).fingerprint())
    with pytest.raises(keys_svc.ReceiptError, match="thời hạn hiệu lực"):
        rc.receipt_qr_text(desk, code, PASS)
    assert rc.receipt_qr_text(desk, _receive(desk), PASS)


def test_scrypt_cost_from_the_environment(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    assert kdf.scrypt_n() == 1024
    monkeypatch.delenv(kdf.SCRYPT_N_ENV)
    assert kdf.scrypt_n() == 2**15
    for bad in ["1000", "abc", "512", str(2**21)]:
        monkeypatch.setenv(kdf.SCRYPT_N_ENV, bad)
        with pytest.raises(kdf.KdfSettingError, match="lũy thừa của 2"):
            kdf.scrypt_n()
        with pytest.raises(keys_svc.ReceiptError, match="lũy thừa của 2"):
            keys_svc.create_desk_key(desk, PASS)


def test_unknown_key_shows_the_unproven_code_tail(desk: Desk, tmp_path: Path) -> None:
    keys_svc.ensure_demo_keys(desk)
    code = _receive(desk)
    text = rc.receipt_qr_text(desk, code, keys_svc.DEMO_PASSPHRASE)
    other = TrustList(version=1, province="38", issued_at=0)
    result = verify_receipt(text, other)
    assert result.verdict is Verdict.UNKNOWN_KEY and result.claims is None
    assert isinstance(result.raw, RawClaims) and code.endswith(result.raw.code_tail)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_signed_slips_carry_key_id_and_time(desk: Desk, tmp_path: Path) -> None:
    kid = keys_svc.ensure_demo_keys(desk)
    code = _receive(desk)
    signer = keys_svc.unlock_desk_key(desk, keys_svc.DEMO_PASSPHRASE)
    for kind in ("receipt", "control"):
        pdf = rc.render_signed_slip(desk, code, kind, signer)
        assert f"kid={kid.hex()}".encode() in pdf  # PDF metadata (keywords)
        path = tmp_path / f"{kind}.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert f"Mã khóa quầy {kid.hex()}" in text and code in text
    unsigned = rc.render_signed_slip(desk, code, "control", None)
    assert b"unsigned" in unsigned
    with pytest.raises(keys_svc.ReceiptError, match="Phiếu yêu cầu bổ sung"):
        rc.render_signed_slip(desk, code, "supplement", signer)
    with pytest.raises(keys_svc.ReceiptError, match="Loại phiếu"):
        rc.render_signed_slip(desk, code, "nope", signer)


def test_stored_list_is_reverified(desk: Desk, tmp_path: Path) -> None:
    keys_svc.ensure_demo_keys(desk)
    stored = keys_svc.keys_dir(desk.store.path) / "trust.cbor"
    container = cbor2.loads(stored.read_bytes())
    other_root = SoftwareSigner.generate()
    tl = keys_svc.trust_list(desk)
    assert tl is not None
    # A list signed by another root, dropped in place of the stored file, is not used.
    stored.write_bytes(make_trust_container(other_root, tl))
    with pytest.raises(keys_svc.ReceiptError, match="không dùng được"):
        keys_svc.trust_list(desk)
    assert container["format"] == "onestop-trust/1"
    # A good list from the pinned root repairs it; the version floor still holds.
    root = load_key_file(keys_svc.keys_dir(desk.store.path) / "root.key", keys_svc.DEMO_PASSPHRASE)
    repaired = tmp_path / "v2.cbor"
    export_trust_file(repaired, root, replace(tl, version=2))
    assert keys_svc.import_trust(desk, repaired).trust_list.version == 2
    assert keys_svc.own_entry(desk) is not None


def test_demo_keys_survive_a_rebuilt_database(tmp_path: Path) -> None:
    # ``onestop demo --force`` deletes the database but not the keys folder beside it.
    path = tmp_path / "demo.sqlite"

    def fresh() -> Desk:
        return Desk.initialise(
            path, unit_eid="000.00.14.H56", commune_code="16279", province_code="38", desk_no=1
        )

    first = fresh()
    kid = keys_svc.ensure_demo_keys(first)
    first.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    second = fresh()
    try:
        assert keys_svc.ensure_demo_keys(second) == kid
        code = _receive(second)
        tl = keys_svc.trust_list(second)
        assert tl is not None
        text = rc.receipt_qr_text(second, code, keys_svc.DEMO_PASSPHRASE)
        assert verify_receipt(text, tl).verdict is Verdict.VALID
    finally:
        second.close()
