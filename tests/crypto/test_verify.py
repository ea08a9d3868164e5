"""Receipt verification: the offline proof, and failing closed on everything else."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.crypto.signer import EDDSA, SoftwareSigner
from onestop.crypto.trust import Revocation, TrustEntry, TrustList, sign_trust_list
from onestop.crypto.verify import (
    EXIT_CODES,
    LABELS,
    ReceiptIssueError,
    Verdict,
    VerifyResult,
    make_receipt_qr_text,
    sign_receipt,
    verify_receipt,
)
from onestop.domain.receipt import ReceiptClaims, receipt_url
from tests.crypto.conftest import HOST, UNIT, desk_entry, epoch, make_trust, raw_sign
from tests.crypto.test_receipt import claims_strategy


def test_verdicts_exit_codes_and_labels() -> None:
    assert dict(EXIT_CODES) == {
        Verdict.VALID: 0,
        Verdict.BAD_SIGNATURE: 3,
        Verdict.UNKNOWN_KEY: 4,
        Verdict.REVOKED_KEY: 5,
        Verdict.MALFORMED: 6,
    }
    assert LABELS[Verdict.VALID] == "Hợp lệ"
    assert LABELS[Verdict.BAD_SIGNATURE] == "Chữ ký sai — nội dung đã bị sửa"
    assert LABELS[Verdict.UNKNOWN_KEY] == "Khóa không có trong danh sách tin cậy"
    assert LABELS[Verdict.REVOKED_KEY] == "Khóa đã bị thu hồi"
    assert LABELS[Verdict.MALFORMED] == "Mã QR không đúng định dạng"
    assert Verdict("revoked_key") is Verdict.REVOKED_KEY and Verdict.VALID.value == "valid"


def test_sign_verify_round_trip(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry, trust: TrustList
) -> None:
    text = make_receipt_qr_text(HOST, desk_signer, claims, entry)
    result = verify_receipt(text, trust)
    assert result.verdict is Verdict.VALID, result.detail
    assert result.claims == claims
    # The full dossier code is rebuilt from the entry's unit e-ID, which the QR does not carry.
    assert result.claims.dossier_code == "000.00.14.H56-241126-010001"
    assert result.raw == claims.to_raw()
    assert result.kid == desk_signer.kid
    assert result.entry is not None and result.entry.desk_label in result.detail
    assert result.ok and result.exit_code == 0 and result.label == "Hợp lệ"
    # raw COSE bytes are accepted too
    assert verify_receipt(sign_receipt(desk_signer, claims, entry), trust).verdict is Verdict.VALID


def test_ed25519_desk_key_is_accepted(claims: ReceiptClaims) -> None:
    signer = SoftwareSigner.generate(EDDSA)
    entry = desk_entry(signer)
    trust = make_trust(entry)
    text = make_receipt_qr_text(HOST, signer, claims, entry)
    assert verify_receipt(text, trust).verdict is Verdict.VALID


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_every_single_bit_flip_fails(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry, trust: TrustList
) -> None:
    cose = sign_receipt(desk_signer, claims, entry)
    outcomes: dict[Verdict, int] = {}
    for bit in range(len(cose) * 8):
        verdict = verify_receipt(_flip(cose, bit), trust).verdict
        assert verdict is not Verdict.VALID, f"bit {bit} flipped and still valid"
        outcomes[verdict] = outcomes.get(verdict, 0) + 1
    print(f"\n{len(cose) * 8} single-bit flips of a {len(cose)}-byte receipt: {outcomes}")
    # Flips inside the payload or signature are caught by the signature itself.
    assert outcomes.get(Verdict.BAD_SIGNATURE, 0) > 64 * 8


@given(claims_strategy(), st.data())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_bit_flips_of_random_receipts_never_verify(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, data: st.DataObject
) -> None:
    entry = desk_entry(desk_signer, valid_from=epoch(datetime(2000, 1, 1)))
    trust = make_trust(entry)
    claims = replace(
        claims, commune="16066", province="38", dossier_code=claims.to_raw().dossier_code(UNIT)
    )
    cose = sign_receipt(desk_signer, claims, entry)
    assert verify_receipt(cose, trust).verdict is Verdict.VALID
    bit = data.draw(st.integers(0, len(cose) * 8 - 1))
    result = verify_receipt(_flip(cose, bit), trust)
    assert result.verdict in (Verdict.MALFORMED, Verdict.BAD_SIGNATURE, Verdict.UNKNOWN_KEY)


def test_changed_digit_in_the_qr_text_fails(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry, trust: TrustList
) -> None:
    text = make_receipt_qr_text(HOST, desk_signer, claims, entry)
    start = text.index("#") + 1
    for pos in range(start, len(text), 7):
        digit = "1" if text[pos] != "1" else "2"
        assert (
            verify_receipt(text[:pos] + digit + text[pos + 1 :], trust).verdict is not Verdict.VALID
        )


def test_unknown_key(claims: ReceiptClaims, trust: TrustList) -> None:
    stranger = SoftwareSigner.generate()
    result = verify_receipt(receipt_url(HOST, raw_sign(stranger, claims)), trust)
    assert result.verdict is Verdict.UNKNOWN_KEY and result.exit_code == 4
    assert result.kid == stranger.kid
    # Without an entry there is no unit e-ID: the signed claims are shown (unproven) next to
    # the warning, the dossier code only as its date-desk-counter tail.
    assert result.claims is None and result.entry is None
    assert result.raw == claims.to_raw() and result.raw.code_tail == "241126-010001"
    assert stranger.kid.hex() in result.detail


class _Impostor:
    """Claims another key's kid (and optionally another alg) but signs with its own key."""

    def __init__(self, kid: bytes, alg: int) -> None:
        self._inner = SoftwareSigner.generate(alg)
        self.kid = kid
        self.alg = alg

    def public_key_bytes(self) -> bytes:
        return self._inner.public_key_bytes()

    def sign(self, data: bytes) -> bytes:
        return self._inner.sign(data)


@pytest.mark.parametrize("alg", [-7, -8])
def test_forged_kid_is_bad_signature(
    desk_signer: SoftwareSigner,
    claims: ReceiptClaims,
    entry: TrustEntry,
    trust: TrustList,
    alg: int,
) -> None:
    impostor = _Impostor(desk_signer.kid, alg)
    # The issuing path refuses a key that is not the entry's; a forger signs the bytes directly.
    with pytest.raises(ReceiptIssueError):
        sign_receipt(impostor, claims, entry)
    result = verify_receipt(raw_sign(impostor, claims), trust)
    assert result.verdict is Verdict.BAD_SIGNATURE and result.exit_code == 3
    assert result.claims is None and result.raw is None


def test_revoked_key(desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry) -> None:
    received = epoch(claims.received_at)
    cose = sign_receipt(desk_signer, claims, entry)

    revoked_before = make_trust(
        desk_entry(desk_signer, status="revoked", revoked_at=received - 3600)
    )
    result = verify_receipt(cose, revoked_before)
    assert result.verdict is Verdict.REVOKED_KEY and result.exit_code == 5
    assert result.claims == claims

    at_the_same_second = make_trust(desk_entry(desk_signer, status="revoked", revoked_at=received))
    assert verify_receipt(cose, at_the_same_second).verdict is Verdict.REVOKED_KEY

    # Signed before the revocation: still valid, unless the verifier asks for strict mode.
    revoked_after = make_trust(desk_entry(desk_signer, status="revoked", revoked_at=received + 1))
    assert verify_receipt(cose, revoked_after).verdict is Verdict.VALID
    assert (
        verify_receipt(cose, revoked_after, strict_revocation=True).verdict is Verdict.REVOKED_KEY
    )

    no_time = make_trust(desk_entry(desk_signer, status="revoked"))
    assert verify_receipt(cose, no_time).verdict is Verdict.REVOKED_KEY
    # ...and a desk whose own entry is revoked cannot issue receipts any more.
    with pytest.raises(ReceiptIssueError, match="thu hồi"):
        sign_receipt(desk_signer, claims, no_time.entries[0])


def test_revocation_list_entry(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry
) -> None:
    received = epoch(claims.received_at)
    trust = make_trust(entry, revocations=(Revocation(desk_signer.kid, received - 60),))
    cose = sign_receipt(desk_signer, claims, entry)
    assert verify_receipt(cose, trust).verdict is Verdict.REVOKED_KEY


def test_outside_validity_window(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry
) -> None:
    cose = sign_receipt(desk_signer, claims, entry)
    expired = make_trust(desk_entry(desk_signer, valid_to=epoch(datetime(2024, 6, 1))))
    not_yet = make_trust(desk_entry(desk_signer, valid_from=epoch(datetime(2025, 1, 1))))
    assert verify_receipt(cose, expired).verdict is Verdict.REVOKED_KEY
    assert verify_receipt(cose, not_yet).verdict is Verdict.REVOKED_KEY
    # The desk refuses to issue what the verifier would refuse.
    for trust in (expired, not_yet):
        with pytest.raises(ReceiptIssueError, match="thời hạn hiệu lực"):
            sign_receipt(desk_signer, claims, trust.entries[0])


def test_key_only_vouches_for_its_own_commune(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry
) -> None:
    other_entry = desk_entry(desk_signer, commune="16069")
    with pytest.raises(ReceiptIssueError, match="16069"):
        sign_receipt(desk_signer, claims, other_entry)
    result = verify_receipt(raw_sign(desk_signer, claims), make_trust(other_entry))
    assert result.verdict is Verdict.UNKNOWN_KEY
    assert "16069" in result.detail
    other_province = replace(claims, province="40")
    result = verify_receipt(sign_receipt(desk_signer, other_province, entry), make_trust(entry))
    assert result.verdict is Verdict.UNKNOWN_KEY


def test_dossier_code_of_another_unit_cannot_be_issued(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry, trust: TrustList
) -> None:
    foreign = replace(claims, dossier_code="H56.14-241126-010001")
    with pytest.raises(ReceiptIssueError, match="H56.14"):
        sign_receipt(desk_signer, foreign, entry)
    with pytest.raises(ReceiptIssueError):
        make_receipt_qr_text(HOST, desk_signer, foreign, entry)
    # Signed anyway (bypassing the check): the verifier can only ever read it as a code of the
    # key's own unit, so a desk key cannot vouch for another unit's dossier.
    result = verify_receipt(raw_sign(desk_signer, foreign), trust)
    assert result.verdict is Verdict.VALID
    assert result.claims is not None
    assert result.claims.dossier_code == "000.00.14.H56-241126-010001"


def test_unit_comes_from_the_entry_that_verified(claims: ReceiptClaims) -> None:
    # Two desks of two units: each receipt gets its own unit back.
    a, b = SoftwareSigner.generate(), SoftwareSigner.generate()
    entry_a = desk_entry(a)
    entry_b = desk_entry(b, unit_eid="H56.14", desk_label="Quầy 1 - UBND phường")
    trust = make_trust(entry_a, entry_b)
    claims_b = replace(claims, dossier_code="H56.14-241126-010001")
    ra = verify_receipt(sign_receipt(a, claims, entry_a), trust)
    rb = verify_receipt(sign_receipt(b, claims_b, entry_b), trust)
    assert ra.verdict is rb.verdict is Verdict.VALID
    assert ra.claims == claims and rb.claims == claims_b
    assert ra.raw == rb.raw  # the QR bytes differ only in the key that signed them


def test_kid_collision_tries_every_entry(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry
) -> None:
    # Two entries share a kid (forced here); the one whose key verifies wins.
    other = SoftwareSigner.generate()
    colliding = desk_entry(other)
    object.__setattr__(colliding, "kid", desk_signer.kid)
    trust = TrustList(version=1, province="38", issued_at=0, entries=(colliding, entry))
    assert verify_receipt(sign_receipt(desk_signer, claims, entry), trust).verdict is Verdict.VALID


def test_signed_trust_list_is_not_a_receipt(root_signer: SoftwareSigner, trust: TrustList) -> None:
    tl_trust = make_trust(desk_entry(root_signer))
    result = verify_receipt(sign_trust_list(root_signer, trust), tl_trust)
    assert result.verdict is Verdict.MALFORMED


def test_signed_junk_payload_is_malformed(desk_signer: SoftwareSigner, trust: TrustList) -> None:
    from onestop.crypto.cose import sign1

    result = verify_receipt(sign1(desk_signer, cbor2.dumps({1: 1})), trust)
    assert result.verdict is Verdict.MALFORMED and result.exit_code == 6


def test_truncated_urls_are_malformed(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry, trust: TrustList
) -> None:
    text = make_receipt_qr_text(HOST, desk_signer, claims, entry)
    for cut in range(len(text)):
        result = verify_receipt(text[:cut], trust)
        assert result.verdict is Verdict.MALFORMED, (cut, result)


def test_truncated_cose_is_malformed(
    desk_signer: SoftwareSigner, claims: ReceiptClaims, entry: TrustEntry, trust: TrustList
) -> None:
    cose = sign_receipt(desk_signer, claims, entry)
    for cut in range(len(cose)):
        assert verify_receipt(cose[:cut], trust).verdict is Verdict.MALFORMED


@given(st.binary(max_size=600))
@settings(max_examples=300)
def test_random_bytes_are_malformed(trust: TrustList, data: bytes) -> None:
    result = verify_receipt(data, trust)
    assert isinstance(result, VerifyResult)
    assert result.verdict is Verdict.MALFORMED and result.claims is None


@given(st.text(max_size=800) | st.from_regex(r"\Ahttps://[a-z.]{1,20}/r1#[0-9]{0,600}\Z"))
@settings(max_examples=150)
def test_random_text_is_malformed(trust: TrustList, text: str) -> None:
    result = verify_receipt(text, trust)
    assert result.verdict is Verdict.MALFORMED and result.detail


@pytest.mark.parametrize("value", [None, 42, ["x"], bytearray(b"\xd2"), memoryview(b"")])
def test_wrong_input_types_never_raise(trust: TrustList, value: object) -> None:
    assert verify_receipt(value, trust).verdict is Verdict.MALFORMED  # type: ignore[arg-type]
