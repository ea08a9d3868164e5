"""The download side: events of the other desks of a commune, and the signed desk state.

A desk says how far it holds each other desk's chain (``after=16279-02:57,16279-03:0``); the
server answers with the next events of every other desk of the commune, per desk in seq order,
with the chain head after the last one, in one signed, compressed response. The receiving
desk recomputes each chain from the head it holds, so a missing, changed or reordered event
cannot go unnoticed. A vector of per-desk positions rather than one global cursor: with
several workers committing at once a global id can become visible out of order, and a cursor
past an uncommitted id would skip it forever.

``ack_with_news``: for desks of protocol 2 or newer the ack of a freshly committed batch also
says what this feed (and the reference data) would bring — the other desks' acknowledged
positions and the reference version — so a desk with nothing new to fetch skips both requests
(issue 19 §4; wire/messages.py ``News``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from onestop.crypto.signer import Signer
from onestop.server import reference, repo
from onestop.server.db import ServerDB
from onestop.server.errors import ApiError
from onestop.wire.base import now_epoch
from onestop.wire.codec import current_dictionary
from onestop.wire.messages import (
    ACK_CT,
    MAX_NEWS_DESKS,
    Ack,
    FeedHeader,
    FeedRange,
    News,
    encode_feed,
    peek_kid,
    sign_ack,
)

MAX_FEED_EVENTS = 2000
_AFTER_RE = re.compile(r"^\d{5}-\d{2}:\d{1,12}$")


def parse_after(text: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    if not text:
        return out
    parts = text.split(",")
    if len(parts) > 200:
        raise ApiError(400, "bad_after", "Tham số after quá dài.")
    for part in parts:
        if not _AFTER_RE.match(part):
            raise ApiError(400, "bad_after", "Tham số after phải có dạng 16279-02:57,16279-03:0.")
        desk, seq = part.split(":")
        out[desk] = int(seq)
    return out


def collect_ranges(
    db: ServerDB, *, requester: Any, commune: str, after: dict[str, int], limit: int
) -> tuple[list[FeedRange], list[list[bytes]], bool]:
    """The other desks' acknowledged events after ``after``, at most ``limit``: one contiguous
    range per desk, their stored bodies, and whether more remain. The feed and the
    replacement download (server/replace.py) page through the same ranges."""
    ranges: list[FeedRange] = []
    blocks: list[list[bytes]] = []
    remaining = limit
    more = False
    with db.read() as conn:
        for desk in repo.desks_of_commune(conn=conn, commune=commune):
            desk_id = str(desk["desk_id"])
            if desk_id == requester["desk_id"]:
                continue
            start = after.get(desk_id, 0)
            if int(desk["acked_seq"]) <= start:
                continue
            if remaining <= 0:
                more = True
                break
            rows = repo.event_range(conn=conn, desk_id=desk_id, after=start, limit=remaining)
            if not rows or rows[0][0] != start + 1:
                continue
            remaining -= len(rows)
            ranges.append(FeedRange(desk_id, rows[0][0], rows[-1][0], rows[-1][2]))
            blocks.append([r[1] for r in rows])
            if rows[-1][0] < int(desk["acked_seq"]):
                more = True
    return ranges, blocks, more


def build_feed(
    db: ServerDB,
    signer: Signer,
    *,
    requester: Any,
    commune: str,
    after: dict[str, int],
    limit: int = MAX_FEED_EVENTS,
    encoding: str = "zstd",
) -> bytes:
    if commune != requester["commune"]:
        raise ApiError(403, "wrong_commune", "Quầy chỉ được tải sự kiện của các quầy cùng xã.")
    ranges, blocks, more = collect_ranges(
        db, requester=requester, commune=commune, after=after, limit=limit
    )
    d = current_dictionary() if encoding == "zstd" else None
    codec = "zstd" if encoding == "zstd" else encoding
    header = FeedHeader(
        commune=commune,
        ranges=tuple(ranges),
        server_time=now_epoch(),
        codec=codec,
        dict_id=d.dict_id() if d is not None else 0,
        more=more,
        requester=str(requester["desk_id"]),
        requester_acked=int(requester["acked_seq"]),
        requester_head=bytes(requester["head"]),
    )
    return encode_feed(signer, header, blocks)


def ack_with_news(db: ServerDB, signer: Signer, ack: bytes) -> bytes:
    """``ack`` (just signed by this server for a committed batch) signed again with the news:
    what the desk's feed and reference requests would find, read after the commit, in the
    feed's own terms (``collect_ranges`` skips a desk whose acked position is not past the
    requester's). The stored ack — what a replay returns — stays without it: news in a replay
    would be stale. A commune of more than ``MAX_NEWS_DESKS`` other desks gets the plain ack."""
    plain = Ack.from_payload(peek_kid(ack, ACK_CT).payload)
    with db.read() as conn:
        me = repo.get_desk(conn=conn, desk_id=plain.desk)
        if me is None:
            return ack
        others = [
            (str(d["desk_id"]), int(d["acked_seq"]))
            for d in repo.desks_of_commune(conn=conn, commune=str(me["commune"]))
            if d["desk_id"] != plain.desk
        ]
        version = reference.current_version(conn=conn)
    if len(others) > MAX_NEWS_DESKS:
        return ack
    return sign_ack(signer, replace(plain, news=News(version, tuple(others))))
