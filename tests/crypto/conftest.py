"""Shared fixtures for the crypto and receipt tests (keys are generated once per session)."""

from __future__ import annotations

from datetime import datetime

import pytest

from onestop.crypto.cose import sign1
from onestop.crypto.signer import Signer, SoftwareSigner
from onestop.crypto.trust import Revocation, TrustEntry, TrustList
from onestop.domain.clock import VN_TZ
from onestop.domain.receipt import ReceiptClaims

HOST = "qr.ht.gov.vn"  # the stand-in host of QR-AND-SYNC.md: a 24-character URL prefix
#: A realistic 24-character verify host ("tra cứu hồ sơ", province portal): 36-char prefix.
HOST_24 = "tracuuhs.thanhhoa.gov.vn"
UNIT = "000.00.14.H56"  # the unit e-ID of the realistic dossier code; lives in the trust entry


def epoch(local: datetime) -> int:
    """Epoch seconds of a naive Vietnam-local datetime."""
    return int(local.replace(tzinfo=VN_TZ).timestamp())


def realistic_claims(**overrides: object) -> ReceiptClaims:
    """A receipt with the long real-world values from the brief (national code formats)."""
    values: dict[str, object] = {
        "province": "38",
        "commune": "16066",
        "dossier_code": "000.00.14.H56-241126-010001",
        "procedure_code": "1.001193.000.00.00.H56",
        "applicant_name": "Nguyễn Thị Phương Thảo Tôn Nữ Hoàng Anh",
        "received_at": datetime(2024, 11, 26, 14, 35, 12),
        "due_at": datetime(2024, 11, 29, 16, 0),
        "fee_vnd": 50_000,
        "desk": 10_001,
        "official": "Lê Thị Hồng Nhung",
    }
    values.update(overrides)
    return ReceiptClaims(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def desk_signer() -> SoftwareSigner:
    return SoftwareSigner.generate()


@pytest.fixture(scope="session")
def root_signer() -> SoftwareSigner:
    return SoftwareSigner.generate()


@pytest.fixture(scope="session")
def claims() -> ReceiptClaims:
    return realistic_claims()


def make_trust(
    *entries: TrustEntry, version: int = 1, revocations: tuple[Revocation, ...] = ()
) -> TrustList:
    return TrustList(
        version=version,
        province="38",
        issued_at=epoch(datetime(2024, 12, 1)),
        entries=entries,
        revocations=revocations,
    )


def desk_entry(signer: SoftwareSigner, **overrides: object) -> TrustEntry:
    values: dict[str, object] = {
        "commune": "16066",
        "desk_label": "Quầy 1 - UBND xã Quảng Phú",
        "unit_eid": UNIT,
        "valid_from": epoch(datetime(2024, 1, 1)),
        "valid_to": None,
    }
    values.update(overrides)
    return TrustEntry.for_key(signer.alg, signer.public_key_bytes(), **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def entry(desk_signer: SoftwareSigner) -> TrustEntry:
    """The desk signer's own trust-list entry (what ``sign_receipt`` checks against)."""
    return desk_entry(desk_signer)


@pytest.fixture(scope="session")
def trust(entry: TrustEntry) -> TrustList:
    return make_trust(entry)


def raw_sign(signer: Signer, claims: ReceiptClaims) -> bytes:
    """Sign claims WITHOUT the issuing checks of ``sign_receipt``: how a forger or a buggy
    desk would do it, to show what the verifier makes of such receipts."""
    return sign1(signer, claims.to_cbor())
