"""Replacing a lost or broken desk (issue 18): the province's side.

* ``issue_replacement``: the province approves a replacement. The old desk is revoked (a lost
  laptop must be, and a broken one will never sync again), and a one-time enrollment code for
  the same commune and desk name is issued; the new desk gets the next free desk number and a
  key of its own, so nothing it signs can be confused with the old desk's.
* ``build_page``: the commune's history for a desk, in columnar pages (wire/snapshot.py), served
  at ``GET /sync/v1/replacement`` (signed request, ``after`` as the feed's). The selection is
  the feed's (server/feed.py ``build_feed``): every other desk's events in seq order, the chain
  head after each range; only the page size and the encoding differ.
* ``export_snapshot``: the same pages in one file, sealed to the new desk's key, for a USB
  stick when the commune's link is too thin even for that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from onestop.crypto.seal import Recipient, SealError, seal
from onestop.crypto.signer import Signer, kid_for
from onestop.server import repo
from onestop.server.admin import AdminError
from onestop.server.db import ServerDB
from onestop.server.enroll import IssuedCode, issue_code, revoke_desk
from onestop.server.errors import ApiError
from onestop.server.feed import collect_ranges, parse_after
from onestop.wire.base import API, CBOR_MEDIA, now_epoch
from onestop.wire.codec import current_dictionary
from onestop.wire.messages import FeedHeader, peek_kid
from onestop.wire.snapshot import (
    MAX_PAGE_EVENTS,
    REPLACEMENT_CT,
    encode_page,
    encode_snapshot,
    snapshot_aad,
)

REPLACEMENT_PATH = f"{API}/replacement"


@dataclass(frozen=True)
class Replacement:
    code: IssuedCode
    old_desk: str
    revoked_now: bool  # False: the old desk had been revoked before

    @property
    def new_desk(self) -> str:
        return f"{self.code.commune}-{self.code.desk_no:02d}"


def issue_replacement(db: ServerDB, old_desk: str, *, now: int | None = None) -> Replacement:
    """Revoke ``old_desk`` (if still active) and issue the enrollment code of its replacement."""
    old_desk = old_desk.strip()
    with db.read() as conn:
        desk = repo.get_desk(conn=conn, desk_id=old_desk)
    if desk is None:
        raise AdminError(
            f"Máy chủ không có quầy {old_desk}: kiểm tra số hiệu quầy (dạng 16279-01, xem "
            "«onestop server desks»)."
        )
    revoked_now = revoke_desk(db, old_desk, now=now)
    try:
        code = issue_code(
            db, commune=str(desk["commune"]), desk_name=str(desk["desk_name"]), now=now
        )
    except ApiError as e:
        raise AdminError(e.message) from e
    return Replacement(code, old_desk, revoked_now)


def build_page(
    db: ServerDB,
    signer: Signer,
    *,
    requester: Any,
    after: dict[str, int],
    limit: int = MAX_PAGE_EVENTS,
) -> tuple[bytes, bool]:
    """(signed columnar page, more) of the requester's commune after ``after``."""
    commune = str(requester["commune"])
    ranges, blocks, more = collect_ranges(
        db, requester=requester, commune=commune, after=after, limit=limit
    )
    d = current_dictionary()
    header = FeedHeader(
        commune=commune,
        ranges=tuple(ranges),
        server_time=now_epoch(),
        codec="zstd",
        dict_id=d.dict_id() if d is not None else 0,
        more=more,
        requester=str(requester["desk_id"]),
        requester_acked=int(requester["acked_seq"]),
        requester_head=bytes(requester["head"]),
    )
    return encode_page(signer, header, blocks, header.dict_id), more


def export_snapshot(db: ServerDB, signer: Signer, desk_id: str, path: Path) -> tuple[int, int]:
    """Write the commune's history for the (enrolled) replacement desk ``desk_id`` to ``path``.

    Sealed to that desk's key: only it can read the names and ID numbers inside. Written to a
    temporary file first, 0600, then renamed. Returns (pages, bytes).
    """
    desk_id = desk_id.strip()
    with db.read() as conn:
        desk = repo.get_desk(conn=conn, desk_id=desk_id)
    if desk is None or desk["status"] != "active":
        raise AdminError(
            f"Quầy {desk_id} chưa đăng ký (hoặc đã bị thu hồi). Quầy thay thế cần đăng ký bằng "
            "mã của «onestop server replace-desk» trước, để tệp được mã hóa cho khóa của nó."
        )
    pages: list[bytes] = []
    after: dict[str, int] = {}
    while True:
        page, more = build_page(db, signer, requester=desk, after=after)
        pages.append(page)
        after = _positions_after(after, page)
        if not more:
            break
    alg, public = int(desk["alg"]), bytes(desk["public_key"])
    reader: Recipient = (kid_for(alg, public), public, alg)
    try:
        sealed = seal(cbor2.dumps(pages), [reader], aad=snapshot_aad(desk_id))
    except SealError as e:
        raise AdminError(str(e)) from e
    data = encode_snapshot(str(desk["commune"]), desk_id, sealed)
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return len(pages), len(data)


def _positions_after(after: dict[str, int], page: bytes) -> dict[str, int]:
    """Where the next page starts: our own page's header (we signed it, no check needed)."""
    header = FeedHeader.from_payload(peek_kid(cbor2.loads(page)[0], REPLACEMENT_CT).payload)
    out = dict(after)
    for r in header.ranges:
        out[r.desk] = r.last_seq
    return out


def mount(app: FastAPI, db: ServerDB, signer: Signer, authenticate: Any) -> None:
    """``GET /sync/v1/replacement?after=…&limit=…``: the next columnar page for the signed desk."""

    @app.get(REPLACEMENT_PATH)
    async def get_replacement(request: Request) -> Response:
        desk = await run_in_threadpool(authenticate, request)
        after = parse_after(request.query_params.get("after"))
        raw = request.query_params.get("limit") or str(MAX_PAGE_EVENTS)
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_EVENTS:
            raise ApiError(
                400, "bad_request", f"Tham số limit phải là số nguyên từ 1 đến {MAX_PAGE_EVENTS}."
            )
        page, _more = await run_in_threadpool(
            lambda: build_page(db, signer, requester=desk, after=after, limit=int(raw))
        )
        return Response(content=page, media_type=CBOR_MEDIA)
