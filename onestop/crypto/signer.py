"""The signing seam: one ``Signer`` interface, one shipped software implementation.

Algorithm: ECDSA P-256 with SHA-256 (COSE ``ES256``, alg -7), signatures as raw 64-byte
``r || s`` (COSE form, RFC 9053 §2.1), not DER (70-72 bytes, variable). Why P-256:

* commodity TPM 2.0 chips, Windows fTPMs and PKCS#11 USB tokens do P-256 but not Ed25519 (the
  TPM spec only reserves that curve; tpm2-software/tpm2-pkcs11#785), so a desk key can later
  move into hardware without changing the receipt format;
* WebCrypto verifies ES256 in every browser, which the offline citizen verify page needs.

Verifiers also accept EdDSA / Ed25519 (alg -8) so that keys issued later may use it; both
signatures are 64 bytes, so the QR size does not change (measured in QR-AND-SYNC.md, A.2).

Key id (``kid``) = first 8 bytes of SHA-256 over the public key: the uncompressed X9.62 point
(``04 || X || Y``, 65 bytes) for P-256, the 32 raw bytes for Ed25519. Eight bytes is what the EU
DCC uses; kids can in principle collide, so verifiers try every trust-list entry with that kid.

ECDSA signatures are made deterministic (RFC 6979) where the installed ``cryptography`` supports
it (44+): a reprinted receipt then carries the byte-identical QR, and signing does not depend on
the RNG of an old commune laptop. With an older ``cryptography`` we fall back to randomized
ECDSA, which verifies the same way.

How a hardware token slots in later (not written yet, on purpose: no fake token class):
    ``Pkcs11Signer`` would implement this same Protocol on top of ``python-pkcs11`` (or reuse
    pyHanko's ``pyhanko.sign.pkcs11`` session handling). At construction it opens the PKCS#11
    module of the token (path from configuration), logs in with the PIN typed by the official,
    finds the private key object by label or CKA_ID, and reads the public point
    (CKA_EC_POINT, a DER OCTET STRING wrapping ``04||X||Y``) to compute ``kid`` with
    ``kid_for``. ``sign(data)`` calls ``C_Sign`` with mechanism ``CKM_ECDSA`` over
    ``SHA-256(data)`` (or ``CKM_ECDSA_SHA256`` where the token has it); PKCS#11 already returns
    raw ``r || s``, which is exactly our wire form. ``alg`` is ``ES256``. Callers (receipt
    signing, trust-list signing, batch envelopes) take a ``Signer`` and never see the difference.
    VGCA official-duty tokens: whether they expose a PKCS#11 module usable outside the VGCA
    plugin is still unknown (REFERENCE.md §7), which is why this stays a seam for now.
"""

from __future__ import annotations

import hashlib
from typing import Final, Protocol, TypeAlias, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

__all__ = [
    "ALG_NAMES",
    "EDDSA",
    "ES256",
    "SUPPORTED_ALGS",
    "alg_of",
    "InvalidPublicKeyError",
    "PublicKey",
    "Signer",
    "SoftwareSigner",
    "kid_for",
    "public_key_bytes",
    "public_key_from_bytes",
    "verify_signature",
]

#: COSE algorithm identifiers (IANA "COSE Algorithms").
ES256: Final = -7
EDDSA: Final = -8
SUPPORTED_ALGS: Final = frozenset({ES256, EDDSA})
ALG_NAMES: Final = {ES256: "ES256", EDDSA: "EdDSA"}

KID_LENGTH: Final = 8
SIGNATURE_LENGTH: Final = 64
_P256_COORD: Final = 32

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class InvalidPublicKeyError(ValueError):
    """Public key bytes that are not a supported key (message in Vietnamese)."""


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign for a desk, an official or the province root.

    ``sign`` returns the COSE form of the signature (64 bytes for ES256 and EdDSA) over exactly
    the bytes given; hashing is the signer's business.
    """

    @property
    def kid(self) -> bytes: ...

    @property
    def alg(self) -> int: ...

    def public_key_bytes(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


def _ecdsa_sha256() -> ec.ECDSA:
    try:
        return ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    except TypeError:  # cryptography < 44 has no RFC 6979 switch
        return ec.ECDSA(hashes.SHA256())


_ECDSA: Final = _ecdsa_sha256()


def kid_for(alg: int, raw: bytes) -> bytes:
    """Key id: SHA-256(public key bytes)[:8]. ``raw`` is validated first."""
    public_key_from_bytes(alg, raw)
    return hashlib.sha256(raw).digest()[:KID_LENGTH]


def public_key_from_bytes(alg: int, raw: bytes) -> PublicKey:
    """Load a public key from its wire bytes, refusing anything but the canonical form.

    ES256 takes only the 65-byte uncompressed point (a compressed point would give the same
    key a second kid); EdDSA takes the 32 raw bytes.
    """
    if isinstance(alg, bool) or not isinstance(raw, bytes):
        raise InvalidPublicKeyError("Khóa công khai không hợp lệ.")
    if alg == ES256:
        if len(raw) != 1 + 2 * _P256_COORD or raw[0] != 0x04:
            raise InvalidPublicKeyError("Khóa P-256 phải là điểm không nén 65 byte.")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError as exc:
            raise InvalidPublicKeyError("Điểm P-256 không nằm trên đường cong.") from exc
    if alg == EDDSA:
        if len(raw) != 32:
            raise InvalidPublicKeyError("Khóa Ed25519 phải dài 32 byte.")
        try:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as exc:
            raise InvalidPublicKeyError("Khóa Ed25519 không hợp lệ.") from exc
    raise InvalidPublicKeyError(f"Thuật toán khóa {alg!r} không được hỗ trợ.")


def public_key_bytes(key: PublicKey) -> bytes:
    """Wire bytes of a public key (the inverse of ``public_key_from_bytes``)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidPublicKeyError("Chỉ hỗ trợ đường cong P-256.")
        return key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def alg_of(key: PublicKey) -> int:
    """COSE alg of a public key object."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidPublicKeyError("Chỉ hỗ trợ đường cong P-256.")
        return ES256
    return EDDSA


def verify_signature(alg: int, key: PublicKey, data: bytes, signature: bytes) -> bool:
    """Check a raw COSE-form signature. False on any mismatch, never an exception.

    The algorithm must match the key type: an attacker must not be able to pick how a key is
    interpreted (the classic JOSE "alg" confusion).
    """
    if len(signature) != SIGNATURE_LENGTH:
        return False
    try:
        if alg == ES256 and isinstance(key, ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, ec.SECP256R1):
                return False
            r = int.from_bytes(signature[:_P256_COORD], "big")
            s = int.from_bytes(signature[_P256_COORD:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
            return True
        if alg == EDDSA and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


class SoftwareSigner:
    """A private key held in memory: the shipped ``Signer``.

    Create one with ``generate()`` or load it from disk with ``onestop.crypto.keys``. The key
    never leaves this object except through ``private_key_pkcs8`` (used only to write the
    encrypted key file).
    """

    __slots__ = ("_alg", "_key", "_kid", "_public")

    def __init__(self, private_key: PrivateKey) -> None:
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            if not isinstance(private_key.curve, ec.SECP256R1):
                raise InvalidPublicKeyError("Chỉ hỗ trợ đường cong P-256.")
            self._alg = ES256
        elif isinstance(private_key, ed25519.Ed25519PrivateKey):
            self._alg = EDDSA
        else:  # pragma: no cover - guarded by the type annotation
            raise TypeError("unsupported private key type")
        self._key = private_key
        self._public = public_key_bytes(private_key.public_key())
        self._kid = kid_for(self._alg, self._public)

    @classmethod
    def generate(cls, alg: int = ES256) -> SoftwareSigner:
        """A fresh key from the OS CSPRNG."""
        if alg == ES256:
            return cls(ec.generate_private_key(ec.SECP256R1()))
        if alg == EDDSA:
            return cls(ed25519.Ed25519PrivateKey.generate())
        raise InvalidPublicKeyError(f"Thuật toán khóa {alg!r} không được hỗ trợ.")

    @property
    def kid(self) -> bytes:
        return self._kid

    @property
    def alg(self) -> int:
        return self._alg

    def public_key_bytes(self) -> bytes:
        return self._public

    def public_key(self) -> PublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            return self._key.sign(data)
        r, s = decode_dss_signature(self._key.sign(data, _ECDSA))
        return r.to_bytes(_P256_COORD, "big") + s.to_bytes(_P256_COORD, "big")

    def private_key_pkcs8(self) -> bytes:
        """Unencrypted PKCS#8 DER; only for ``keys.create_key_file``, which encrypts it."""
        return self._key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def __repr__(self) -> str:
        # Never print key material; the kid is enough to identify the key in logs.
        return f"SoftwareSigner(alg={ALG_NAMES[self._alg]}, kid={self._kid.hex()})"
