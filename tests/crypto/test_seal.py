"""crypto/seal.py: hybrid encryption of a file to a few P-256 keys."""

from __future__ import annotations

import cbor2
import pytest

from onestop.crypto.seal import (
    NotARecipientError,
    SealError,
    ecdh_key_for,
    open_sealed,
    recipient_kids,
    seal,
)
from onestop.crypto.signer import EDDSA, ES256, SoftwareSigner

SECRET = "Nguyễn Thị Hoa 038190012345 0912345678".encode() * 3


def _to(*signers: SoftwareSigner) -> list[tuple[bytes, bytes, int]]:
    return [(s.kid, s.public_key_bytes(), s.alg) for s in signers]


def test_every_recipient_opens_and_nobody_else() -> None:
    a, b, c = (SoftwareSigner.generate() for _ in range(3))
    sealed = seal(SECRET, _to(a, b), aad=b"header")
    assert SECRET not in sealed and b"038190012345" not in sealed
    assert recipient_kids(sealed) == [a.kid, b.kid]
    for s in (a, b):
        assert open_sealed(sealed, s.kid, ecdh_key_for(s), aad=b"header") == SECRET
    with pytest.raises(NotARecipientError):
        open_sealed(sealed, c.kid, ecdh_key_for(c), aad=b"header")
    # Claiming someone else's kid with one's own key does not open it either.
    with pytest.raises(SealError):
        open_sealed(sealed, a.kid, ecdh_key_for(c), aad=b"header")
    # Fresh content key, nonce and ephemeral key every time.
    assert seal(SECRET, _to(a)) != seal(SECRET, _to(a))
    # Listing a key twice seals to it once.
    assert recipient_kids(seal(b"x", _to(a, a, b))) == [a.kid, b.kid]


def test_any_altered_byte_or_aad_is_refused() -> None:
    a = SoftwareSigner.generate()
    key = ecdh_key_for(a)
    sealed = seal(SECRET, _to(a), aad=b"desk 1")
    with pytest.raises(SealError):
        open_sealed(sealed, a.kid, key, aad=b"desk 2")
    for i in range(len(sealed)):
        bad = bytearray(sealed)
        bad[i] ^= 0x01
        try:
            out = open_sealed(bytes(bad), a.kid, key, aad=b"desk 1")
        except SealError:
            continue
        # Only an edit that leaves the CBOR meaning intact could get here; none may decrypt.
        pytest.fail(f"byte {i} altered, still opened: {out[:20]!r}")


def test_recipient_list_is_bound() -> None:
    a, b = SoftwareSigner.generate(), SoftwareSigner.generate()
    m = cbor2.loads(seal(SECRET, _to(a, b)))
    m["to"] = m["to"][:1]  # strip b: a must notice (the header is associated data)
    with pytest.raises(SealError, match="bị sửa"):
        open_sealed(cbor2.dumps(m, canonical=True), a.kid, ecdh_key_for(a))


def test_refusals() -> None:
    a, ed = SoftwareSigner.generate(), SoftwareSigner.generate(EDDSA)
    with pytest.raises(SealError, match="người nhận"):
        seal(SECRET, [])
    with pytest.raises(SealError, match="Ed25519"):
        seal(SECRET, _to(a, ed))
    with pytest.raises(SealError, match="kid"):
        seal(SECRET, [(b"\0" * 8, a.public_key_bytes(), ES256)])
    with pytest.raises(SealError):
        seal(SECRET, [(a.kid, b"\x04" + b"\1" * 64, ES256)])
    with pytest.raises(SealError, match="P-256"):
        ecdh_key_for(ed)
    for junk in (b"", b"junk", cbor2.dumps({"format": "onestop-seal/1"})):
        with pytest.raises(SealError):
            open_sealed(junk, a.kid, ecdh_key_for(a))
