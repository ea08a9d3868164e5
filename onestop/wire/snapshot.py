"""Bringing a commune's history down to a replacement desk: the columnar page and the USB file.

A replacement desk (``onestop enroll --replace``) needs every event of its commune, a few
hundred thousand for a big one, over a 64 kbit/s link. The normal feed page (wire/messages.py)
compresses event bodies one after another: ~104 B per dossier's lifecycle (measured, 3,000 demo
dossiers, 6.5 events each). Split into columns first — every event's seq, HLC, kind, dossier,
time, actor, role, note and data side by side, with seq, HLC and time as deltas — the same
events compress to ~47 B per dossier: 50,000 dossiers are ~2.3 MB, under 5 minutes of a
64 kbit/s link instead of 11.

Nothing is lost or trusted: event bodies are canonical CBOR (domain/events.py refuses any other
encoding), so rebuilding each map and encoding it canonically gives back exactly the bytes the
desk hashed; the receiving desk then recomputes every desk's hash chain up to the head the
province signed in the page header, so a changed, missing or reordered value fails there.

Page (HTTP answer of ``GET /sync/v1/replacement`` and one element of a snapshot file)::

    [bstr onestop-replacement/1 header (FeedHeader's map) signed by the server, bstr blob]
    blob = zstd(dict)(CBOR [columns of range 1, columns of range 2, ...])

Snapshot file (``onestop server export-snapshot``; mode 0600)::

    CBOR {"format": "onestop-snapshot/1", "commune": str, "desk": str (the new desk),
          "sealed": bstr}   sealed = crypto/seal.py to the new desk's key, aad = format||desk
    plaintext = CBOR [page, page, ...]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import cbor2

from onestop.crypto.signer import Signer
from onestop.wire.base import WireError, loads_strict
from onestop.wire.codec import compress, decompress
from onestop.wire.messages import FeedHeader, open_signed, sign

#: The content type the server signs a replacement page's header under: the header map is the
#: feed's (``FeedHeader``, codec "zstd"), the body is columnar, and a page can never be taken
#: for a feed answer or the other way round (one content type per message, wire/messages.py).
REPLACEMENT_CT: Final = "onestop-replacement/1"
SNAPSHOT_FORMAT: Final = "onestop-snapshot/1"
#: Largest replacement page in events: ~5 ms of CPU per 1,000 on each side, and a cut link
#: loses at most one page (~0.1 MB, ~13 s at 64 kbit/s).
MAX_PAGE_EVENTS: Final = 20_000
#: Largest snapshot file read (a province of 99 desks times years of events fits).
MAX_SNAPSHOT_BYTES: Final = 512 * 1024 * 1024

_DELTA = (1, 2, 5)  # seq, hlc, time: small steps once differenced


def pack(bodies: Sequence[bytes]) -> list[list[Any]]:
    """The columns of one desk's range of event bodies (canonical CBOR maps with keys 1..9)."""
    maps = [cbor2.loads(b) for b in bodies]
    cols = [[m[k] for m in maps] for k in range(1, 10)]
    for k in _DELTA:
        col = cols[k - 1]
        cols[k - 1] = [col[0], *(b - a for a, b in zip(col, col[1:], strict=False))] if col else []
    return cols


def unpack(cols: Any, count: int) -> list[bytes]:
    """Event bodies back from ``pack``'s columns: the exact canonical bytes, or WireError."""
    if not isinstance(cols, list) or len(cols) != 9:
        raise WireError("Trang dữ liệu thay quầy sai cấu trúc.")
    if not all(isinstance(c, list) and len(c) == count for c in cols):
        raise WireError("Trang dữ liệu thay quầy không khớp tiêu đề.")
    cols = [list(c) for c in cols]
    for k in _DELTA:
        col = cols[k - 1]
        if not all(type(v) is int for v in col):
            raise WireError("Trang dữ liệu thay quầy sai cấu trúc.")
        total = 0
        for i, v in enumerate(col):
            total = v if i == 0 else total + v
            col[i] = total
    out: list[bytes] = []
    for i in range(count):
        out.append(cbor2.dumps({k: cols[k - 1][i] for k in range(1, 10)}, canonical=True))
    return out


def encode_page(
    signer: Signer, header: FeedHeader, blocks: Sequence[Sequence[bytes]], dict_id: int
) -> bytes:
    """A signed replacement page (``header.codec`` "zstd", ``dict_id`` its dictionary)."""
    plain = cbor2.dumps([pack(b) for b in blocks])
    blob = compress(plain, "zstd", dict_id)
    return cbor2.dumps([sign(signer, REPLACEMENT_CT, header.to_map()), blob])


def decode_page(
    data: bytes, server_keys: Mapping[bytes, tuple[int, bytes]]
) -> tuple[FeedHeader, list[list[bytes]]]:
    """Verify the header against the pinned server key and rebuild the event bodies."""
    top = loads_strict(data, "Trang dữ liệu thay quầy", max_depth=2)
    if not isinstance(top, list) or len(top) != 2 or not all(isinstance(x, bytes) for x in top):
        raise WireError("Trang dữ liệu thay quầy sai cấu trúc.")
    _msg, payload = open_signed(top[0], REPLACEMENT_CT, server_keys)
    header = FeedHeader.from_payload(payload)
    if header.codec != "zstd":
        raise WireError("Trang dữ liệu thay quầy sai kiểu mã hóa.")
    plain = decompress(top[1], "zstd")
    cols = loads_strict(plain, "Trang dữ liệu thay quầy", max_depth=12)
    if not isinstance(cols, list) or len(cols) != len(header.ranges):
        raise WireError("Trang dữ liệu thay quầy không khớp tiêu đề.")
    blocks = [
        unpack(c, r.last_seq - r.first_seq + 1) for r, c in zip(header.ranges, cols, strict=True)
    ]
    return header, blocks


def snapshot_aad(desk: str) -> bytes:
    return SNAPSHOT_FORMAT.encode() + b"\x00" + desk.encode()


def encode_snapshot(commune: str, desk: str, sealed: bytes) -> bytes:
    return cbor2.dumps(
        {"format": SNAPSHOT_FORMAT, "commune": commune, "desk": desk, "sealed": sealed},
        canonical=True,
    )


def decode_snapshot(data: bytes) -> tuple[str, str, bytes]:
    """(commune, desk, sealed) of a snapshot file, or WireError with a sentence a clerk reads."""
    try:
        top = cbor2.loads(data)
    except Exception as e:  # cbor2 raises several unrelated types on junk
        raise WireError(
            "Tệp này không phải tệp dữ liệu thay quầy của onestop (hoặc đã bị hỏng)."
        ) from e
    if (
        not isinstance(top, dict)
        or top.get("format") != SNAPSHOT_FORMAT
        or not all(isinstance(top.get(k), str) for k in ("commune", "desk"))
        or not isinstance(top.get("sealed"), bytes)
    ):
        raise WireError("Tệp này không phải tệp dữ liệu thay quầy của onestop (hoặc đã bị hỏng).")
    return top["commune"], top["desk"], top["sealed"]


def split_pages(plain: bytes) -> list[bytes]:
    try:
        pages = cbor2.loads(plain)
    except Exception as e:  # noqa: BLE001 - any decoding failure means a damaged file
        raise WireError("Tệp dữ liệu thay quầy bị hỏng.") from e
    if not isinstance(pages, list) or not all(isinstance(p, bytes) for p in pages):
        raise WireError("Tệp dữ liệu thay quầy bị hỏng.")
    return pages
