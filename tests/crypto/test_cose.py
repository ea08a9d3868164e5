"""COSE_Sign1: RFC 9052 structure, strict parsing, verification."""

from __future__ import annotations

from collections.abc import Callable

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.crypto.cose import MalformedError, Sign1, parse_sign1, sign1, verify_sign1
from onestop.crypto.signer import EDDSA, ES256, PublicKey, SoftwareSigner, public_key_from_bytes


def _key(signer: SoftwareSigner) -> PublicKey:
    return public_key_from_bytes(signer.alg, signer.public_key_bytes())


def test_structure_is_rfc9052_sign1(desk_signer: SoftwareSigner) -> None:
    data = sign1(desk_signer, b"hello")
    top = cbor2.loads(data)
    assert isinstance(top, cbor2.CBORTag) and top.tag == 18
    protected, unprotected, payload, signature = top.value
    assert cbor2.loads(protected) == {1: -7, 4: desk_signer.kid}
    assert unprotected == {}
    assert payload == b"hello"
    assert len(signature) == 64
    # Verify the Sig_structure independently of our code.
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key = _key(desk_signer)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("alg", [ES256, EDDSA])
def test_round_trip(alg: int) -> None:
    signer = SoftwareSigner.generate(alg)
    msg = parse_sign1(sign1(signer, b"payload", content_type="onestop-trust/1"))
    assert (msg.alg, msg.kid, msg.payload, msg.content_type) == (
        alg,
        signer.kid,
        b"payload",
        "onestop-trust/1",
    )
    assert verify_sign1(msg, _key(signer))
    assert not verify_sign1(msg, _key(SoftwareSigner.generate(alg)))


def test_es256_signing_is_deterministic_when_supported(desk_signer: SoftwareSigner) -> None:
    try:
        ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    except TypeError:  # pragma: no cover - cryptography < 44
        pytest.skip("no RFC 6979 support in this cryptography")
    # A reprinted receipt carries the identical QR.
    assert sign1(desk_signer, b"x") == sign1(desk_signer, b"x")


def test_payload_change_fails(desk_signer: SoftwareSigner) -> None:
    msg = parse_sign1(sign1(desk_signer, b"pay 100"))
    forged = Sign1(msg.protected, msg.alg, msg.kid, None, b"pay 900", msg.signature)
    assert not verify_sign1(forged, _key(desk_signer))


def _rebuild(data: bytes, index: int, value: object, *, tag: int = 18) -> bytes:
    body = list(cbor2.loads(data).value)
    body[index] = value
    return cbor2.dumps(cbor2.CBORTag(tag, body))


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: cbor2.dumps(cbor2.loads(d).value), id="untagged"),
        pytest.param(lambda d: _rebuild(d, 1, {}, tag=17), id="tag-17"),
        pytest.param(lambda d: _rebuild(d, 1, {4: b"12345678"}), id="unprotected-not-empty"),
        pytest.param(lambda d: _rebuild(d, 1, b""), id="unprotected-not-map"),
        pytest.param(lambda d: _rebuild(d, 3, b"\x00" * 63), id="short-signature"),
        pytest.param(lambda d: _rebuild(d, 2, "text"), id="payload-text"),
        pytest.param(lambda d: _rebuild(d, 0, b""), id="empty-protected"),
        pytest.param(lambda d: _rebuild(d, 0, cbor2.dumps({1: -35, 4: b"12345678"})), id="alg"),
        pytest.param(lambda d: _rebuild(d, 0, cbor2.dumps({1: -7, 4: b"1234567"})), id="kid-7"),
        pytest.param(
            lambda d: _rebuild(d, 0, cbor2.dumps({1: -7, 4: b"12345678", 33: b""})), id="x5chain"
        ),
        pytest.param(lambda d: _rebuild(d, 0, cbor2.dumps([1])), id="protected-array"),
        pytest.param(lambda d: d + b"\x00", id="trailing-byte"),
        pytest.param(lambda d: d[:-1], id="truncated"),
        pytest.param(
            lambda d: cbor2.dumps(cbor2.CBORTag(18, cbor2.loads(d).value[:3])), id="3-items"
        ),
    ],
)
def test_not_well_formed_is_malformed(
    desk_signer: SoftwareSigner, mutate: Callable[[bytes], bytes]
) -> None:
    with pytest.raises(MalformedError):
        parse_sign1(mutate(sign1(desk_signer, b"payload")))


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\x00",
        b"\xd2",
        b"\x81" * 5000,
        b"\xd2" * 5000,
        b"\x5b" + b"\xff" * 8,
        b"\xc1\xfb" + b"\x7f" * 8,
    ],
)
def test_junk_is_malformed(junk: bytes) -> None:
    with pytest.raises(MalformedError):
        parse_sign1(junk)


@given(st.binary(max_size=400))
@settings(max_examples=300)
def test_random_bytes_raise_only_malformed(data: bytes) -> None:
    try:
        parse_sign1(data)
    except MalformedError:
        pass


@given(st.binary(min_size=1, max_size=200), st.data())
@settings(max_examples=200, deadline=None)
def test_random_edits_of_a_valid_message_raise_only_malformed(
    desk_signer: SoftwareSigner, payload: bytes, data: st.DataObject
) -> None:
    original = sign1(desk_signer, payload)
    raw = bytearray(original)
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        msg = parse_sign1(bytes(raw[:cut]))
    except MalformedError:
        return
    if bytes(raw[:cut]) != original:
        assert not verify_sign1(msg, _key(desk_signer))
