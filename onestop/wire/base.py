"""What every part of the desk<->server contract shares: its error, its limits, and the
strict CBOR and base64url helpers. Imported by both the desk and the server."""

from __future__ import annotations

import time
from typing import Any, Final

import cbor2

from onestop.crypto.cose import MalformedError
from onestop.domain import b64
from onestop.domain.cbor import decode_cbor_strict
from onestop.domain.fields import MAX_EVENT_BYTES as _MAX_EVENT_BYTES

API: Final = "/sync/v1"


CBOR_MEDIA: Final = "application/cbor"


AUTH_SCHEME: Final = "Onestop"


#: Largest batch a desk sends over HTTP: adaptive, doubled after each full batch up to this.
#: 500 (was 200, QR-AND-SYNC.md): a busy commune's day (~300-800 events, ~8-20 kB) then goes
#: in one or two POSTs instead of two to five (issue 19 §4); still ~13 kB, ~1.6 s at 64 kbit/s.
MAX_BATCH_EVENTS: Final = 500


#: Largest batch the server accepts at all (a bundle file of a month offline is one batch).
MAX_SERVER_EVENTS: Final = 50_000


#: Compressed request size limit, and the decompressed limit (a zip bomb stops here).
MAX_WIRE_BYTES: Final = 16 * 1024 * 1024


MAX_PLAIN_BYTES: Final = 64 * 1024 * 1024


#: Largest zstd window a receiver gives memory to: level 19 never uses more than 8 MiB, and a
#: hostile frame header cannot ask for the decoder's default of 128 MiB (or 2 GiB).
MAX_ZSTD_WINDOW_BYTES: Final = 8 * 1024 * 1024


#: Largest bundle file (.osb) read at all: one batch of MAX_WIRE_BYTES plus its wrapping (desk,
#: key, and room for the encryption header). Checked on the file's size before reading.
MAX_BUNDLE_BYTES: Final = MAX_WIRE_BYTES + 64 * 1024


#: One event body (a receive with a long document list is ~600 B; refuse absurd ones early).
#: Defined with the field policy that guarantees a desk never writes a bigger one.
MAX_EVENT_BYTES: Final = _MAX_EVENT_BYTES


class WireError(ValueError):
    """A message that does not decode or check; ``str(e)`` is safe to show (Vietnamese)."""


def b64e(data: bytes) -> str:
    return b64.url_encode(data)


def b64d(text: str) -> bytes:
    if not isinstance(text, str) or len(text) > 4 * MAX_WIRE_BYTES:
        raise WireError("Chuỗi base64 không hợp lệ.")
    try:
        return b64.url_decode(text)
    except ValueError as e:
        raise WireError("Chuỗi base64 không hợp lệ.") from e


def dumps(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)


def loads_strict(data: bytes, what: str, *, max_depth: int = 6) -> Any:
    try:
        return decode_cbor_strict(data, max_depth=max_depth)
    except MalformedError as e:
        raise WireError(f"{what}: {e}") from e


def now_epoch() -> int:
    return int(time.time())


def _int(v: object, what: str, lo: int = 0, hi: int = 2**63 - 1) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise WireError(f"Trường {what} phải là số nguyên trong khoảng cho phép.")
    return v


def _str(v: object, what: str, max_len: int = 64) -> str:
    if not isinstance(v, str) or not 0 < len(v) <= max_len:
        raise WireError(f"Trường {what} phải là chuỗi ký tự (tối đa {max_len}).")
    return v


def _bytes(v: object, what: str, length: int | None = None) -> bytes:
    if not isinstance(v, bytes) or (length is not None and len(v) != length):
        raise WireError(
            f"Trường {what} phải là chuỗi byte{'' if length is None else f' {length} byte'}."
        )
    return v


def _map(payload: bytes, what: str, keys: set[int]) -> dict[int, Any]:
    value = loads_strict(payload, what)
    if not isinstance(value, dict) or set(value) != keys:
        raise WireError(f"{what}: sai cấu trúc.")
    return value
