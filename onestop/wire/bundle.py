"""The USB bundle (``.osb``): a batch in a file, for communes with no link at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from onestop.wire.base import WireError, _bytes, _int, _str, dumps, loads_strict
from onestop.wire.codec import ENCODINGS

BUNDLE_FORMAT: Final = "onestop-bundle/1"


def encode_bundle(*, desk: str, alg: int, public_key: bytes, encoding: str, batch: bytes) -> bytes:
    return dumps(
        {
            "format": BUNDLE_FORMAT,
            "desk": desk,
            "alg": alg,
            "public_key": public_key,
            "encoding": encoding,
            "batch": batch,
        }
    )


@dataclass(frozen=True)
class Bundle:
    desk: str
    alg: int
    public_key: bytes
    encoding: str
    batch: bytes


def decode_bundle(data: bytes) -> Bundle:
    m = loads_strict(data, "Tệp gói đồng bộ", max_depth=2)
    if not isinstance(m, dict) or m.get("format") != BUNDLE_FORMAT:
        raise WireError(f"Không phải tệp gói đồng bộ ({BUNDLE_FORMAT}).")
    if set(m) != {"format", "desk", "alg", "public_key", "encoding", "batch"}:
        raise WireError("Tệp gói đồng bộ sai cấu trúc.")
    encoding = _str(m["encoding"], "encoding", 16)
    if encoding not in ENCODINGS:
        raise WireError("Tệp gói đồng bộ dùng mã hóa nén không hỗ trợ.")
    return Bundle(
        desk=_str(m["desk"], "desk"),
        alg=_int(m["alg"], "alg", -(2**31), 2**31),
        public_key=_bytes(m["public_key"], "public_key"),
        encoding=encoding,
        batch=_bytes(m["batch"], "batch"),
    )
