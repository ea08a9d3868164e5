"""Sealing a file to a few known public keys: hybrid encryption for the USB bundles.

A bundle (``.osb``) holds every name, ID number and phone number of a desk's events and rides
on the same USB sticks as backups, so its content is encrypted to its legitimate readers only:
the province server and the commune's enrolled desks. Their keys are the P-256 signing keys they
already have (desk key files, the server key pinned at enrollment, the trust list entries).

Construction (``onestop-seal/1``), ephemeral-static ECDH, one ephemeral key per sealed file:

* a fresh random 256-bit content key ``cek`` encrypts the payload with AES-256-GCM under a fresh
  random 96-bit nonce; the associated data is the canonical CBOR of the header (format,
  ephemeral public key, recipient list) followed by the caller's ``aad``, so neither the
  recipient list nor the sender fields the caller binds can be edited without the tag failing;
* a fresh ephemeral P-256 key ``e``; for every recipient ``R`` (kid ``k``):
  ``z = ECDH(e, R)``, ``kek = HKDF-SHA256(ikm=z, salt=E || R, info="onestop-seal/1 wrap" || k)``
  (``E``, ``R``: the 65-byte uncompressed points), ``wrap = AES-256-GCM(kek, nonce=0^12,
  cek, aad=k)``. The all-zero nonce is safe: each ``kek`` is used for exactly one encryption,
  since ``e`` is never reused and the salt and info bind the recipient.

Container (canonical CBOR, text keys, ~56 bytes per recipient)::

    {"format": "onestop-seal/1", "epk": h'04…' (65 B),
     "to": [{"kid": h'…' (8 B), "wrap": h'…' (48 B)}, …],
     "nonce": h'…' (12 B), "ct": h'…'}

Why reuse the signing key pair for ECDH: desks and the server hold one P-256 key each, already
distributed and pinned (enrollment, trust list); a separate encryption key would need a new
enrollment round and a new trust-list field for a marginal gain. Using one P-256 key for
ECDSA and for ECDH is an accepted practice (e.g. EMV, many PKCS#11 deployments) with no known
cross-protocol attack; the HKDF info string keeps the derived keys specific to this format.

Ed25519 (COSE EdDSA) keys cannot do key agreement, and ``cryptography`` offers no conversion
to X25519: ``seal`` refuses such recipients (``SealError``), callers leave them out, and a
holder of such a key cannot open sealed files.

``seal`` gives no sender authentication by itself (anyone can encrypt to a public key): the
bundle signs the container with the desk key (wire/bundle.py) and the payload keeps its own
signed envelope, and readers check those before trusting anything inside.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Final

import cbor2
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from onestop.crypto.signer import (
    ES256,
    KID_LENGTH,
    InvalidPublicKeyError,
    Signer,
    SoftwareSigner,
    kid_for,
    public_key_bytes,
    public_key_from_bytes,
)
from onestop.domain.cbor import MalformedError, decode_cbor_strict

__all__ = [
    "SEAL_FORMAT",
    "NotARecipientError",
    "Recipient",
    "SealError",
    "ecdh_key_for",
    "open_sealed",
    "recipient_kids",
    "seal",
]

SEAL_FORMAT: Final = "onestop-seal/1"
MAX_RECIPIENTS: Final = 256
_INFO: Final = b"onestop-seal/1 wrap"
_ZERO_NONCE: Final = bytes(12)
_WRAP_LENGTH: Final = 32 + 16
_POINT_LENGTH: Final = 65

#: (kid, public key bytes, COSE alg) of one reader.
Recipient = tuple[bytes, bytes, int]


class SealError(ValueError):
    """A sealed file that cannot be made or opened (message in Vietnamese)."""


class NotARecipientError(SealError):
    """The file is well formed but not sealed to this key."""


def _kek(shared: bytes, epk: bytes, recipient_pub: bytes, kid: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=epk + recipient_pub, info=_INFO + kid
    ).derive(shared)


def _header(epk: bytes, to: list[dict[str, bytes]]) -> bytes:
    return cbor2.dumps({"format": SEAL_FORMAT, "epk": epk, "to": to}, canonical=True)


def seal(plaintext: bytes, recipients: Sequence[Recipient], *, aad: bytes = b"") -> bytes:
    """Encrypt ``plaintext`` so that each recipient's P-256 private key can open it."""
    if not recipients:
        raise SealError("Không có người nhận nào để mã hóa.")
    if len(recipients) > MAX_RECIPIENTS:
        raise SealError("Quá nhiều người nhận.")
    keys: list[tuple[bytes, bytes, ec.EllipticCurvePublicKey]] = []
    seen: set[bytes] = set()
    for kid, raw, alg in recipients:
        if alg != ES256:
            raise SealError("Chỉ mã hóa được cho khóa P-256 (ES256); khóa Ed25519 không hỗ trợ.")
        try:
            pub = public_key_from_bytes(alg, raw)
        except InvalidPublicKeyError as e:
            raise SealError(str(e)) from e
        if kid != kid_for(alg, raw):
            raise SealError("Mã khóa (kid) không khớp khóa công khai của người nhận.")
        if raw in seen:
            continue
        seen.add(raw)
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        keys.append((kid, raw, pub))
    cek = AESGCM.generate_key(bit_length=256)
    eph = ec.generate_private_key(ec.SECP256R1())
    epk = public_key_bytes(eph.public_key())
    to = []
    for kid, raw, pub in keys:
        kek = _kek(eph.exchange(ec.ECDH(), pub), epk, raw, kid)
        to.append({"kid": kid, "wrap": AESGCM(kek).encrypt(_ZERO_NONCE, cek, kid)})
    nonce = secrets.token_bytes(12)
    ct = AESGCM(cek).encrypt(nonce, plaintext, _header(epk, to) + aad)
    return cbor2.dumps(
        {"format": SEAL_FORMAT, "epk": epk, "to": to, "nonce": nonce, "ct": ct}, canonical=True
    )


def _parse(data: bytes) -> tuple[bytes, list[dict[str, bytes]], bytes, bytes]:
    bad = SealError("Dữ liệu mã hóa sai cấu trúc.")
    try:
        m: Any = decode_cbor_strict(data, max_depth=3)
    except MalformedError as e:
        raise SealError(f"Dữ liệu mã hóa hỏng: {e}") from e
    if not isinstance(m, dict) or m.get("format") != SEAL_FORMAT:
        raise SealError(f"Không phải dữ liệu mã hóa {SEAL_FORMAT}.")
    if set(m) != {"format", "epk", "to", "nonce", "ct"}:
        raise bad
    epk, to, nonce, ct = m["epk"], m["to"], m["nonce"], m["ct"]
    if not (isinstance(epk, bytes) and len(epk) == _POINT_LENGTH):
        raise bad
    if not (isinstance(nonce, bytes) and len(nonce) == 12 and isinstance(ct, bytes)):
        raise bad
    if not isinstance(to, list) or not 0 < len(to) <= MAX_RECIPIENTS:
        raise bad
    for r in to:
        if not (
            isinstance(r, dict)
            and set(r) == {"kid", "wrap"}
            and isinstance(r["kid"], bytes)
            and len(r["kid"]) == KID_LENGTH
            and isinstance(r["wrap"], bytes)
            and len(r["wrap"]) == _WRAP_LENGTH
        ):
            raise bad
    return epk, to, nonce, ct


def recipient_kids(data: bytes) -> list[bytes]:
    """The kids a sealed file is addressed to (readable without any key)."""
    return [r["kid"] for r in _parse(data)[1]]


def open_sealed(
    data: bytes, my_kid: bytes, my_private_key: ec.EllipticCurvePrivateKey, *, aad: bytes = b""
) -> bytes:
    """Decrypt a file sealed to ``my_kid``; ``NotARecipientError`` if it is not, ``SealError``
    if it was altered (any byte of header, wrapped keys, ciphertext or ``aad``)."""
    epk, to, nonce, ct = _parse(data)
    mine = [r for r in to if r["kid"] == my_kid]
    if not mine:
        raise NotARecipientError("Dữ liệu không được mã hóa cho khóa này.")
    if not isinstance(my_private_key.curve, ec.SECP256R1):
        raise SealError("Chỉ mở được bằng khóa P-256.")
    try:
        eph = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), epk)
    except ValueError as e:
        raise SealError("Khóa tạm trong dữ liệu mã hóa không hợp lệ.") from e
    shared = my_private_key.exchange(ec.ECDH(), eph)
    my_pub = public_key_bytes(my_private_key.public_key())
    kek = _kek(shared, epk, my_pub, my_kid)
    for r in mine:  # 8-byte kids may collide: try every entry with ours
        try:
            cek = AESGCM(kek).decrypt(_ZERO_NONCE, r["wrap"], my_kid)
        except InvalidTag:
            continue
        try:
            return AESGCM(cek).decrypt(nonce, ct, _header(epk, to) + aad)
        except InvalidTag as e:
            raise SealError("Dữ liệu mã hóa đã bị sửa hoặc hỏng.") from e
    raise SealError("Không mở được khóa nội dung: dữ liệu bị sửa hoặc không dành cho khóa này.")


def ecdh_key_for(signer: Signer) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key behind a software signer, for ``open_sealed``.

    Hardware signers (none shipped yet) and Ed25519 keys cannot open sealed files.
    """
    if not isinstance(signer, SoftwareSigner) or signer.alg != ES256:
        raise SealError("Khóa này không giải mã được (chỉ khóa P-256 trong tệp khóa phần mềm).")
    key = serialization.load_der_private_key(signer.private_key_pkcs8(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key
