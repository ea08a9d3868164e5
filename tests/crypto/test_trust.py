"""The province trust list: signing, pinning, tamper and rollback protection."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import cbor2
import pytest

from onestop.crypto.cose import parse_sign1
from onestop.crypto.signer import EDDSA, SoftwareSigner
from onestop.crypto.trust import (
    Revocation,
    RootKey,
    TrustEntry,
    TrustError,
    TrustList,
    export_trust_file,
    import_trust_file,
    load_trust_list,
    make_trust_container,
    read_trust_bundle,
    sign_trust_list,
)
from tests.crypto.conftest import UNIT, desk_entry, epoch, make_trust


@pytest.fixture(scope="module")
def full_list(desk_signer: SoftwareSigner) -> TrustList:
    other = SoftwareSigner.generate(EDDSA)
    revoked = SoftwareSigner.generate()
    return make_trust(
        desk_entry(desk_signer),
        desk_entry(other, desk_label="Quầy 2", valid_to=epoch(datetime(2026, 1, 1))),
        desk_entry(revoked, status="revoked", revoked_at=epoch(datetime(2024, 6, 1))),
        version=7,
        revocations=(Revocation(kid=b"\x01" * 8, revoked_at=epoch(datetime(2024, 5, 1))),),
    )


def test_cbor_shape_and_round_trip(full_list: TrustList) -> None:
    data = full_list.to_cbor()
    raw = cbor2.loads(data)
    assert sorted(raw) == [1, 2, 3, 4, 5]
    assert raw[1] == 7 and raw[2] == "38"
    assert sorted(raw[4][0]) == list(range(1, 11))
    assert raw[4][0][10] == UNIT  # the unit e-ID lives here, not in every receipt
    assert raw[4][2][8] == "revoked"
    assert raw[5] == [{1: b"\x01" * 8, 2: epoch(datetime(2024, 5, 1))}]
    assert TrustList.from_cbor(data) == full_list


def test_host_is_optional_and_signed(root_signer: SoftwareSigner, full_list: TrustList) -> None:
    with_host = replace(full_list, host="tracuu.thanhhoa.gov.vn")
    raw = cbor2.loads(with_host.to_cbor())
    assert raw[6] == "tracuu.thanhhoa.gov.vn" and 6 not in cbor2.loads(full_list.to_cbor())
    assert TrustList.from_cbor(with_host.to_cbor()) == with_host
    signed = make_trust_container(root_signer, with_host)
    assert load_trust_list(signed, RootKey.of(root_signer)).host == "tracuu.thanhhoa.gov.vn"
    for bad in ["Tracuu.gov.vn", "a b", "x/y", ""]:
        with pytest.raises(ValueError):
            replace(full_list, host=bad)
    # an explicit null or a non-text host is not a list we wrote
    for value in [None, 5]:
        data = cbor2.dumps(full_list.to_map() | {6: value}, canonical=True)
        with pytest.raises(TrustError):
            TrustList.from_cbor(data)
    with pytest.raises(TrustError):
        TrustList.from_cbor(cbor2.dumps(full_list.to_map() | {7: "x"}, canonical=True))


def test_signed_with_pins(root_signer: SoftwareSigner, full_list: TrustList) -> None:
    signed = sign_trust_list(root_signer, full_list)
    assert parse_sign1(signed).content_type == "onestop-trust/1"
    root = RootKey.of(root_signer)
    assert load_trust_list(signed, root.as_pins()) == full_list
    assert load_trust_list(signed, root) == full_list
    assert load_trust_list(make_trust_container(root_signer, full_list), [root]) == full_list


def test_bare_cose_needs_a_pin(root_signer: SoftwareSigner, full_list: TrustList) -> None:
    with pytest.raises(TrustError, match="khóa gốc"):
        load_trust_list(sign_trust_list(root_signer, full_list), None)


def test_first_import_trusts_embedded_root_and_reports_it(
    root_signer: SoftwareSigner, full_list: TrustList
) -> None:
    bundle = read_trust_bundle(make_trust_container(root_signer, full_list))
    assert bundle.trust_list == full_list
    assert bundle.root == RootKey.of(root_signer)
    assert bundle.root.fingerprint().replace(" ", "") == root_signer.kid.hex()
    # The stored bytes are accepted again with the root pinned.
    assert read_trust_bundle(bundle.raw, bundle.root).trust_list == full_list


def test_other_root_is_refused_once_pinned(
    root_signer: SoftwareSigner, full_list: TrustList
) -> None:
    impostor = SoftwareSigner.generate()
    container = make_trust_container(impostor, full_list)
    read_trust_bundle(container)  # self-consistent, so TOFU would accept it...
    with pytest.raises(TrustError, match="khác với khóa của tỉnh"):
        read_trust_bundle(container, RootKey.of(root_signer))  # ...but the pin does not


def test_embedded_root_must_be_the_signer(
    root_signer: SoftwareSigner, full_list: TrustList
) -> None:
    signed = sign_trust_list(root_signer, full_list)
    other = SoftwareSigner.generate()
    container = cbor2.dumps(
        {
            "format": "onestop-trust/1",
            "root": {"alg": -7, "pub": other.public_key_bytes()},
            "signed": signed,
        },
        canonical=True,
    )
    with pytest.raises(TrustError):
        read_trust_bundle(container)


@pytest.mark.parametrize("pinned", [False, True])
def test_every_bit_flip_of_the_file_is_rejected(
    root_signer: SoftwareSigner, full_list: TrustList, pinned: bool
) -> None:
    container = make_trust_container(root_signer, full_list)
    pins = RootKey.of(root_signer) if pinned else None
    accepted = []
    # Pinned: every bit. First use (no pin): every 3rd bit keeps the suite fast; the parsing
    # path is the same, only the key source differs.
    for bit in range(0, len(container) * 8, 1 if pinned else 3):
        tampered = bytearray(container)
        tampered[bit // 8] ^= 1 << (bit % 8)
        try:
            read_trust_bundle(bytes(tampered), pins)
        except TrustError:
            continue
        accepted.append(bit)
    assert accepted == []


def test_payload_tamper_with_valid_cbor_is_a_bad_signature(
    root_signer: SoftwareSigner, desk_signer: SoftwareSigner, full_list: TrustList
) -> None:
    # Re-wrap a *different* list under the original signature: the classic "add my key" attack.
    signed = cbor2.loads(sign_trust_list(root_signer, full_list))
    attacker = SoftwareSigner.generate()
    evil = make_trust(*full_list.entries, desk_entry(attacker), version=7)
    body = list(signed.value)
    body[2] = evil.to_cbor()
    forged = cbor2.dumps(cbor2.CBORTag(18, body))
    with pytest.raises(TrustError, match="Chữ ký của danh sách tin cậy không hợp lệ"):
        load_trust_list(forged, RootKey.of(root_signer))


def test_a_receipt_is_not_a_trust_list(root_signer: SoftwareSigner) -> None:
    from onestop.crypto.cose import sign1

    with pytest.raises(TrustError, match="không phải danh sách tin cậy"):
        load_trust_list(sign1(root_signer, make_trust().to_cbor()), RootKey.of(root_signer))


def test_rollback_is_refused(root_signer: SoftwareSigner, full_list: TrustList) -> None:
    container = make_trust_container(root_signer, full_list)
    assert read_trust_bundle(container, RootKey.of(root_signer), min_version=7)
    with pytest.raises(TrustError, match="cũ hơn"):
        read_trust_bundle(container, RootKey.of(root_signer), min_version=8)


def test_file_export_import(
    tmp_path: Path, root_signer: SoftwareSigner, full_list: TrustList
) -> None:
    path = tmp_path / "trust.cbor"
    raw = export_trust_file(path, root_signer, full_list)
    assert path.read_bytes() == raw
    bundle = import_trust_file(path)
    assert bundle.trust_list == full_list and bundle.root == RootKey.of(root_signer)
    assert import_trust_file(path, bundle.root, min_version=full_list.version).raw == raw
    # re-export replaces atomically
    newer = make_trust(*full_list.entries, version=8)
    export_trust_file(path, root_signer, newer)
    assert import_trust_file(path, bundle.root, min_version=7).trust_list.version == 8


@pytest.mark.parametrize(
    "content", [b"", b"junk", cbor2.dumps({"format": "x"}), cbor2.dumps([1, 2])]
)
def test_import_junk_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "t"
    path.write_bytes(content)
    with pytest.raises(TrustError):
        import_trust_file(path)


def test_import_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrustError, match="Không tìm thấy"):
        import_trust_file(tmp_path / "nope")


def test_entry_validation(desk_signer: SoftwareSigner) -> None:
    entry = desk_entry(desk_signer)
    with pytest.raises(ValueError, match="kid"):
        replace(entry, kid=b"\x00" * 8)
    with pytest.raises(ValueError):
        replace(entry, status="suspended")
    with pytest.raises(ValueError):
        replace(entry, revoked_at=5)  # active but revoked_at set
    with pytest.raises(ValueError):
        replace(entry, valid_to=entry.valid_from)
    for unit in ["000.00.14.h56", " 000.00.14.H56", "", "A-B", "X" * 36]:
        with pytest.raises(ValueError):
            replace(entry, unit_eid=unit)
    for commune in ["1606", "1606a", "١٦٠٦٦"]:
        with pytest.raises(ValueError):
            replace(entry, commune=commune)
    # An entry map without the unit (the earlier 9-field form) is refused.
    old = {k: v for k, v in entry.to_map().items() if k != 10}
    with pytest.raises(ValueError, match="1..10"):
        TrustEntry.from_map(old)


def test_revocation_time(full_list: TrustList) -> None:
    active, _, revoked = full_list.entries
    assert full_list.revocation_time(active) is None
    assert full_list.revocation_time(revoked) == epoch(datetime(2024, 6, 1))
    listed = TrustList(
        version=1,
        province="38",
        issued_at=0,
        entries=(active,),
        revocations=(Revocation(active.kid, 100), Revocation(active.kid, 50)),
    )
    assert listed.revocation_time(active) == 50
    # revoked without a time: revoked since it was issued
    no_time = replace(active, status="revoked")
    assert full_list.revocation_time(no_time) == active.valid_from
