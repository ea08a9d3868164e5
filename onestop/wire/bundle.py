"""The USB bundle (``.osb``): a batch in a file, for communes with no link at all.

Two formats, both canonical CBOR with text keys.

``onestop-bundle/2`` (written since bundles are encrypted; see crypto/seal.py)::

    {"format": "onestop-bundle/2", "desk": "20040-02", "alg": -7, "public_key": h'04…',
     "sealed": h'…',   # onestop-seal/1 of CBOR {"encoding": "zstd", "batch": h'…'}
     "sig": h'…'}      # 64 B, the desk key over the CBOR of every other field

The batch inside is byte for byte what the desk would POST (its own signed envelope, the
compressed event bodies), so importing a bundle is the online ingest path and stays
idempotent. Readers check, in this order: the outer signature with the embedded key (any
altered byte fails here, before any decryption work), then decrypt with their own key (the
seal's associated data binds format, desk, alg and public key, so the sealed part cannot be
moved under another sender's header), then — the callers' business — that the embedded key is
the desk's known key and that it signed the batch envelope. The recipient kids are visible
(they are public keys' hashes, and let a desk say "not for this desk" without its passphrase);
the desk id, event count and sizes are visible too. Names, ID numbers and phones are not.

``onestop-bundle/1`` (the plain signed bundle of earlier versions) is still read, so bundles
already on sticks in the field are not lost; nothing writes it any more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from onestop.crypto.seal import Recipient, seal
from onestop.crypto.signer import (
    InvalidPublicKeyError,
    Signer,
    public_key_from_bytes,
    verify_signature,
)
from onestop.wire.base import WireError, _bytes, _int, _str, dumps, loads_strict
from onestop.wire.codec import ENCODINGS

BUNDLE_FORMAT_PLAIN: Final = "onestop-bundle/1"
BUNDLE_FORMAT: Final = "onestop-bundle/2"
_FORMATS: Final = (BUNDLE_FORMAT_PLAIN, BUNDLE_FORMAT)


def encode_bundle(*, desk: str, alg: int, public_key: bytes, encoding: str, batch: bytes) -> bytes:
    """The plain ``onestop-bundle/1`` form (kept for tests of the compatibility path)."""
    return dumps(
        {
            "format": BUNDLE_FORMAT_PLAIN,
            "desk": desk,
            "alg": alg,
            "public_key": public_key,
            "encoding": encoding,
            "batch": batch,
        }
    )


def _header(desk: str, alg: int, public_key: bytes) -> dict[str, object]:
    return {"format": BUNDLE_FORMAT, "desk": desk, "alg": alg, "public_key": public_key}


def encode_sealed_bundle(
    *, desk: str, signer: Signer, encoding: str, batch: bytes, recipients: Sequence[Recipient]
) -> bytes:
    """``onestop-bundle/2``: the batch sealed to ``recipients``, the container signed."""
    header = _header(desk, signer.alg, signer.public_key_bytes())
    inner = dumps({"encoding": encoding, "batch": batch})
    unsigned = {**header, "sealed": seal(inner, recipients, aad=dumps(header))}
    return dumps({**unsigned, "sig": signer.sign(dumps(unsigned))})


@dataclass(frozen=True)
class Bundle:
    desk: str
    alg: int
    public_key: bytes
    encoding: str
    batch: bytes
    sealed: bool = False


@dataclass(frozen=True)
class SealedBundle:
    """A v2 bundle whose signature checked out, before decryption (what an opener sees)."""

    desk: str
    alg: int
    public_key: bytes
    sealed: bytes
    aad: bytes


#: Decrypts ``SealedBundle.sealed`` (with ``aad``) for whoever reads; raises to refuse.
Opener = Callable[[SealedBundle], bytes]


def _encoding(v: object) -> str:
    encoding = _str(v, "encoding", 16)
    if encoding not in ENCODINGS:
        raise WireError("Tệp gói đồng bộ dùng mã hóa nén không hỗ trợ.")
    return encoding


def decode_bundle(data: bytes, *, opener: Opener | None = None) -> Bundle:
    """Parse a bundle; a sealed one is verified, then opened with ``opener``."""
    m = loads_strict(data, "Tệp gói đồng bộ", max_depth=2)
    if not isinstance(m, dict) or m.get("format") not in _FORMATS:
        raise WireError(f"Không phải tệp gói đồng bộ ({BUNDLE_FORMAT}).")
    if m["format"] == BUNDLE_FORMAT_PLAIN:
        if set(m) != {"format", "desk", "alg", "public_key", "encoding", "batch"}:
            raise WireError("Tệp gói đồng bộ sai cấu trúc.")
        return Bundle(
            desk=_str(m["desk"], "desk"),
            alg=_int(m["alg"], "alg", -(2**31), 2**31),
            public_key=_bytes(m["public_key"], "public_key"),
            encoding=_encoding(m["encoding"]),
            batch=_bytes(m["batch"], "batch"),
        )
    if set(m) != {"format", "desk", "alg", "public_key", "sealed", "sig"}:
        raise WireError("Tệp gói đồng bộ sai cấu trúc.")
    desk = _str(m["desk"], "desk")
    alg = _int(m["alg"], "alg", -(2**31), 2**31)
    public_key = _bytes(m["public_key"], "public_key")
    sealed = _bytes(m["sealed"], "sealed")
    sig = _bytes(m["sig"], "sig")
    try:
        key = public_key_from_bytes(alg, public_key)
    except InvalidPublicKeyError as e:
        raise WireError(str(e)) from e
    unsigned = {k: v for k, v in m.items() if k != "sig"}
    if not verify_signature(alg, key, dumps(unsigned), sig):
        raise WireError("Chữ ký của tệp gói không đúng: tệp đã bị sửa hoặc hỏng.")
    if opener is None:
        raise WireError("Tệp gói đã mã hóa; cần khóa của nơi nhận để mở.")
    header = dumps(_header(desk, alg, public_key))
    inner = loads_strict(
        opener(SealedBundle(desk, alg, public_key, sealed, header)), "Nội dung gói", max_depth=1
    )
    if not isinstance(inner, dict) or set(inner) != {"encoding", "batch"}:
        raise WireError("Nội dung tệp gói sai cấu trúc.")
    return Bundle(
        desk=desk,
        alg=alg,
        public_key=public_key,
        encoding=_encoding(inner["encoding"]),
        batch=_bytes(inner["batch"], "batch"),
        sealed=True,
    )
