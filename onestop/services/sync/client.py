"""Sync with the provincial server: enroll, upload the outbox, download, bundles for no link.

The outbox is the event log itself: this desk's events after ``sync_acked_seq`` (a Setting
row, advanced only by an ack the server signed and whose chain head matches ours). Nothing is
ever marked "sent": a lost response, a crash or a captive portal just means the same events go
again, and the server's idempotency rules make that harmless.

Upload (``run_sync``/``sync_once``): batches of the exact stored event bytes behind a signed
envelope, zstd + shipped dictionary (gzip after a 415), two batches in flight so a 300 ms
round trip does not idle a 64 kbit/s link; batch size starts at 100 (then where the last run
left it), doubles after a full batch up to 500, halves on a timeout, and a tail of at most a
quarter of a batch rides along; transient failures back off exponentially with full jitter. Only a
valid server-signed ack counts: an HTTP 200 from a captive portal is a failure like any other.

Download: other desks' events of the commune (stored under their own desk id, chain-checked,
folded into the projection with the same order as the server), then reference data with
ETag/If-None-Match (an unchanged pull is one 304). When this run's last ack carried the news
(protocol 2, wire/messages.py ``News``) and it says there is nothing newer than what the desk
holds, neither request is made: a daily sync is then its batch POSTs alone.

Every outcome is recorded in Settings ``last_sync_at`` / ``last_sync_error`` for the TUI.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import zlib
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from onestop.crypto.signer import Signer
from onestop.domain.events import GENESIS_HEAD, to_epoch
from onestop.i18n import t
from onestop.services import lockdown
from onestop.services.desk import Desk
from onestop.services.setting_keys import (
    RUNS_KEPT,
    S_ACKED,
    S_HELD,
    S_LAST_AT,
    S_LAST_ERROR,
    S_LAST_OK_AT,
    S_REF_ETAG,
    S_REF_VERSION,
    S_RUNS,
    S_SKEW,
    S_URL,
)
from onestop.services.sync.apply import apply_foreign, apply_reference
from onestop.services.sync.base import (
    Failure,
    FailureKind,
    PassphraseProvider,
    SyncError,
    SyncOptions,
    SyncReport,
    _Fatal,
    _GiveUp,
    _json_or_none,
    _Outcome,
    classify_exception,
    classify_response,
    failure,
    is_disk_full,
)
from onestop.services.sync.enroll import _server_keys, desk_signer
from onestop.services.sync.files import ProgressCallback, upload_files
from onestop.services.sync.url import check_server_url, plain_http_allowed
from onestop.store.filelock import exclusive
from onestop.store.models import DeskState, EventRow, Setting
from onestop.wire import version
from onestop.wire.base import API, CBOR_MEDIA, MAX_PLAIN_BYTES, WireError, b64d, loads_strict
from onestop.wire.codec import compress, current_dictionary
from onestop.wire.messages import (
    REF_CT,
    Ack,
    Envelope,
    News,
    decode_feed,
    encode_batch,
    open_ack,
    open_signed,
    open_time,
    token_digest,
)
from onestop.wire.messages import auth_token as _auth_token

# Where the adaptive batch size stood at the end of the last run (only this module uses it).
S_BATCH_SIZE = "sync_batch_size"


def _header_bytes(start_line: str, headers: httpx.Headers) -> int:
    return len(start_line) + 2 + sum(len(k) + len(v) + 4 for k, v in headers.raw) + 2


async def _read_capped(resp: httpx.Response, limit: int = MAX_PLAIN_BYTES) -> bytes:
    """The body of a streamed answer, decoded here (gzip or deflate, the only encodings the
    desk asks for) with both the wire bytes and the decoded bytes capped at ``limit``: a gzip
    bomb stops after ``limit`` bytes of output instead of filling the desk's memory."""
    if resp.is_stream_consumed:  # an in-memory answer (a test double's transport)
        if len(resp.content) > limit:
            raise _Fatal(failure(FailureKind.TOO_LARGE))
        return resp.content
    encoding = resp.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        inflater: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    elif encoding in ("identity", ""):
        inflater = None
    else:
        raise httpx.DecodingError(f"content-encoding {encoding!r}", request=resp.request)
    out = bytearray()
    raw = 0
    async for chunk in resp.aiter_raw():
        raw += len(chunk)
        if raw > limit:
            raise _Fatal(failure(FailureKind.TOO_LARGE))
        if inflater is None:
            out += chunk
            continue
        data = chunk
        while data:
            try:
                out += inflater.decompress(data, limit + 1 - len(out))
            except zlib.error as e:
                raise httpx.DecodingError("gzip", request=resp.request) from e
            if len(out) > limit:
                raise _Fatal(failure(FailureKind.TOO_LARGE))
            data = inflater.unconsumed_tail
    if len(out) > limit:
        raise _Fatal(failure(FailureKind.TOO_LARGE))
    return bytes(out)


def _head_at(db: Session, desk_id: str, seq: int) -> bytes | None:
    if seq == 0:
        return GENESIS_HEAD
    row = db.get(EventRow, (desk_id, seq))
    return None if row is None else bytes(row.head)


def build_batch(
    desk: Desk,
    signer: Signer,
    first: int,
    last: int,
    encoding: str,
    dictionary: Any = None,
) -> tuple[Envelope, bytes]:
    """This desk's events first..last as a signed, compressed batch body."""
    desk_id = desk.identity.desk_id
    with desk.store.read() as db:
        rows = db.exec(
            select(EventRow)
            .where(
                EventRow.desk_id == desk_id,
                col(EventRow.seq) >= first,
                col(EventRow.seq) <= last,
            )
            .order_by(col(EventRow.seq))
        ).all()
        prev = _head_at(db, desk_id, first - 1)
        st = db.get(DeskState, desk_id)
    if prev is None or len(rows) != last - first + 1:
        raise _Fatal(
            t("Nhật ký sự kiện của quầy bị thiếu từ số {n}; liên hệ tỉnh.", n=first),
            FailureKind.LOCAL,
        )
    d = dictionary if encoding == "zstd" else None
    env = Envelope(
        desk=desk_id,
        first_seq=first,
        last_seq=last,
        prev_head=prev,
        head=bytes(rows[-1].head),
        dict_id=d.dict_id() if d is not None else 0,
        hlc_max=max(r.hlc for r in rows),
        count=len(rows),
        # What this desk still holds after the batch: the province shows it per commune.
        outbox=max(0, (st.last_seq if st else last) - last),
    )
    plain = encode_batch(signer, env, [bytes(r.body) for r in rows])
    return env, compress(plain, encoding, env.dict_id)


async def _side_by_side(*steps: Coroutine[Any, Any, None]) -> None:
    """Run the steps concurrently; when one fails, stop the others before the error goes on.

    A bare ``gather`` leaves the others running: a reference check finishing after the feed
    was refused (a revoked desk) would mark the run good again and hide the refusal."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class _Session:
    def __init__(
        self,
        desk: Desk,
        url: str,
        signer: Signer,
        options: SyncOptions,
        client: httpx.AsyncClient,
        report: SyncReport,
    ) -> None:
        self.desk = desk
        self.desk_id = desk.identity.desk_id
        self.url = url
        self.signer = signer
        self.opt = options
        self.client = client
        self.report = report
        self.server_keys = _server_keys(desk)
        self.rng = random.Random(options.seed)
        self.failures = 0
        self.resend = False
        self.encoding = options.encoding
        self.dictionary = current_dictionary() if options.encoding == "zstd" else None
        if self.dictionary is None and self.encoding == "zstd":
            self.encoding = "gzip"
        self.acked_at_start = int(desk.setting(S_ACKED, "0") or 0)
        # The news of the latest ack of this run's upload (None: none, or something else
        # happened after it): what the feed and reference requests would find.
        self.news: News | None = None
        # Server clock minus desk clock, from the last server-signed time: signed requests
        # carry desk time + offset, so a desk clock that is days off still authenticates.
        try:
            self.offset = int(desk.setting(S_SKEW, "0") or 0)
        except ValueError:
            self.offset = 0

    # ---------------------------------------------------------------- plumbing

    async def send(
        self, request: httpx.Request, *, on_sent: asyncio.Event | None = None
    ) -> httpx.Response:
        """Send, read the whole body, count wire bytes (before any decoding)."""
        self.report.requests += 1
        self.report.bytes_up += _header_bytes(
            f"{request.method} {request.url.raw_path.decode()} HTTP/1.1", request.headers
        ) + len(request.content)
        if on_sent is not None:
            flag = on_sent

            async def trace(name: str, _info: dict[str, Any]) -> None:
                if name == "http11.send_request_body.complete":
                    flag.set()

            request.extensions["trace"] = trace
        resp = await self.client.send(request, stream=True)
        try:
            body = await _read_capped(resp)
        finally:
            await resp.aclose()
            self.report.bytes_down += (
                _header_bytes(f"HTTP/1.1 {resp.status_code} {resp.reason_phrase}", resp.headers)
                + resp.num_bytes_downloaded
            )
        resp._content = body  # what resp.content, .text and .json() read from now on
        lockdown.observe_response(self.desk, resp.status_code, resp.content)  # signed revocation
        return resp

    def revoked(self) -> bool:
        """True once a signed revocation locked the desk (``observe_response`` checked it)."""
        return lockdown.lock_state(self.desk) is not None

    def _note_time(self, server_time: int) -> None:
        self.report.server_time = server_time
        self.report.skew_s = self.offset = server_time - to_epoch(self.desk.clock())

    async def backoff(self) -> None:
        """Full jitter: sleep U(0, min(cap, base * 2^n)) after the n-th consecutive failure."""
        self.failures += 1
        self.report.retries += 1
        if self.failures >= self.opt.max_attempts:
            raise _GiveUp()
        cap = min(self.opt.max_delay, self.opt.base_delay * 2 ** (self.failures - 1))
        await asyncio.sleep(self.rng.uniform(0, cap))

    def signed_get(self, path: str, params: dict[str, str]) -> httpx.Request:
        query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        target = f"GET {path}" + (f"?{query}" if query else "")
        when = to_epoch(self.desk.clock()) + self.offset
        token = _auth_token(self.signer, self.desk_id, target, when)
        return self.client.build_request(
            "GET", self.url + path, params=params, headers={"Authorization": f"Onestop {token}"}
        )

    # ---------------------------------------------------------------- upload

    def acked(self) -> int:
        return int(self.desk.setting(S_ACKED, "0") or 0)

    def last_seq(self) -> int:
        with self.desk.store.read() as db:
            st = db.get(DeskState, self.desk_id)
        return st.last_seq if st else 0

    def head_at(self, db: Session, seq: int) -> bytes | None:
        return _head_at(db, self.desk_id, seq)

    def build(self, first: int, last: int) -> tuple[Envelope, bytes]:
        return build_batch(self.desk, self.signer, first, last, self.encoding, self.dictionary)

    def check_ack(self, ack: Ack, key: str | None) -> None:
        """An ack counts only if it is for us, for this batch, and matches our own chain."""
        if ack.desk != self.desk_id or ack.batch_key != key:
            raise WireError(t("Xác nhận không dành cho lô này."))
        with self.desk.store.read() as db:
            head = self.head_at(db, ack.acked_seq)
        if head is None:
            raise _Fatal(
                t(
                    "Máy chủ đã nhận đến sự kiện số {n} nhưng quầy chỉ có đến số {m}: "
                    "cơ sở dữ liệu quầy có thể đã bị khôi phục từ bản sao lưu cũ. Liên hệ tỉnh.",
                    n=ack.acked_seq,
                    m=self.last_seq(),
                )
            )
        if head != ack.head:
            raise _Fatal(
                t(
                    "Chuỗi băm máy chủ xác nhận khác chuỗi của quầy tại sự kiện {n}: lịch sử "
                    "của quầy đã rẽ nhánh, ví dụ do khôi phục từ bản sao lưu cũ. Liên hệ tỉnh.",
                    n=ack.acked_seq,
                )
            )
        self._note_time(ack.server_time)

    def store_acked(self, value: int) -> None:
        self.desk.set_setting(S_ACKED, str(value))

    async def post_batch(self, env: Envelope, body: bytes, sent: asyncio.Event) -> _Outcome:
        headers = {"Content-Type": CBOR_MEDIA, "Idempotency-Key": env.key}
        if self.encoding != "identity":
            headers["Content-Encoding"] = self.encoding
        request = self.client.build_request(
            "POST", f"{self.url}{API}/batches", content=body, headers=headers
        )
        try:
            resp = await self.send(request, on_sent=sent)
        except httpx.HTTPError as e:
            timeout = isinstance(e, httpx.TimeoutException)
            return _Outcome("transient", failure=classify_exception(e), timeout=timeout)
        except _Fatal as e:
            return _Outcome("stop", failure=e.failure)
        finally:
            sent.set()
        status = resp.status_code
        if status == 200:
            try:
                ack = open_ack(
                    resp.content,
                    self.server_keys,
                    news=version.PROTOCOL >= version.ACK_NEWS_SINCE,
                )
                self.check_ack(ack, env.key)
            except WireError:
                # Captive portal pages, proxies' error pages, damaged, stale or forged acks.
                return _Outcome("transient", failure=classify_response(resp))
            except _Fatal as e:  # a signed ack that contradicts our own chain
                return _Outcome("stop", failure=e.failure)
            return _Outcome("ack", ack=ack)
        data = _json_or_none(resp)
        message = data.get("message", "") if isinstance(data, dict) else ""
        if status == 409 and isinstance(data, dict) and isinstance(data.get("state"), str):
            try:
                state = open_ack(b64d(data["state"]), self.server_keys)
                self.check_ack(state, None)
            except WireError:
                return _Outcome("transient", failure=failure(FailureKind.BAD_ANSWER))
            except _Fatal as e:  # signed state: the server holds a history we do not
                return _Outcome("stop", failure=e.failure)
            return _Outcome("gap", ack=state)
        if status == 415 and isinstance(data, dict) and self.encoding != "gzip":
            return _Outcome("encoding")
        if status == 403 and self.revoked():  # the answer carried a signed revocation
            return _Outcome("stop", failure=failure(FailureKind.REVOKED))
        if status == 422:
            # Unsigned: a damaged batch or a proxy can say this too, so nothing is held back;
            # a desk that really forked keeps getting it, and the province is told to look.
            return _Outcome(
                "stop",
                failure=Failure(
                    FailureKind.REFUSED_UNSIGNED,
                    t(
                        "Máy chủ báo đã nhận các sự kiện số này với nội dung khác ({m}): lịch "
                        "sử của quầy có thể đã rẽ nhánh, ví dụ do khôi phục từ bản sao lưu cũ. "
                        "Câu trả lời không có chữ ký của máy chủ nên không sự kiện nào bị giữ "
                        "lại; nếu lỗi lặp lại ở lần sau, hãy ngừng gửi và liên hệ tỉnh.",
                        m=" ".join(str(message).split())[:200],
                    ),
                ),
            )
        if 400 <= status < 500 and status not in (408, 429):
            # No signature on a refusal: one damaged byte in flight looks exactly like this.
            return _Outcome("stop", failure=classify_response(resp))
        return _Outcome("transient", failure=classify_response(resp))

    def start_size(self) -> int:
        """The batch size to start with: where the last run's adaptation left it (a daily sync
        would otherwise start again at 25 and pay 4-5 batches, acks and round trips for ~300
        events; issue 19 §4), else the configured start."""
        try:
            remembered = int(self.desk.setting(S_BATCH_SIZE, "0") or 0)
        except ValueError:
            remembered = 0
        size = remembered if remembered > 0 else self.opt.start_batch
        return max(1, min(size, self.opt.max_batch))

    def remember_size(self, size: int) -> None:
        if str(size) != (self.desk.setting(S_BATCH_SIZE, "") or ""):
            self.desk.set_setting(S_BATCH_SIZE, str(size))

    async def upload(self) -> None:
        acked = self.acked()
        next_seq = acked + 1
        last = self.last_seq()
        size = self.start_size()
        adapted = False
        inflight: deque[tuple[Envelope, asyncio.Task[_Outcome]]] = deque()
        planned: dict[int, int] = {}  # first seq of a batch -> the size it was cut at
        acked_this_run = False

        def on_ack(ack: Ack) -> None:
            nonlocal acked, acked_this_run
            if ack.acked_seq > acked:
                self.store_acked(ack.acked_seq)
                acked = ack.acked_seq
            acked_this_run = True
            self.news = ack.news  # acks come in order: the last one's news is the freshest

        async def drain() -> None:
            while inflight:
                _env, task = inflight.popleft()
                outcome = await task
                if outcome.kind == "ack" and outcome.ack is not None:
                    on_ack(outcome.ack)
                    self.report.batches += 1

        try:
            while next_seq <= last or inflight:
                while len(inflight) < max(1, self.opt.window) and next_seq <= last:
                    first, end = next_seq, min(next_seq + size - 1, last)
                    if last - end <= size // 4:
                        # A short tail rides along (within max_batch) rather than costing its
                        # own request, envelope and ack: 204 events go as one batch, not 200 + 4.
                        end = min(last, next_seq + self.opt.max_batch - 1)
                    env, body = self.build(first, end)
                    self.report.batch_sizes.append(end - first + 1)
                    sent = asyncio.Event()
                    task = asyncio.create_task(self.post_batch(env, body, sent))
                    inflight.append((env, task))
                    planned[first] = size
                    next_seq = end + 1
                    # The next batch starts only once this body is on the wire, so on one
                    # bottleneck link the server receives the batches in order.
                    waiter = asyncio.create_task(sent.wait())
                    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                env, task = inflight.popleft()
                outcome = await task
                if outcome.kind == "ack":
                    assert outcome.ack is not None
                    on_ack(outcome.ack)
                    self.report.batches += 1
                    self.failures = 0
                    # Grow only when the link carried a full batch of this size: a short tail
                    # batch says nothing about the next run's first one.
                    if env.count >= planned.get(env.first_seq, size):
                        size = min(size * 2, self.opt.max_batch)
                    adapted = True
                    continue
                await drain()
                self.news = None  # a refusal or a failure after it: fetch as before
                if outcome.kind == "gap":
                    assert outcome.ack is not None
                    server_acked = outcome.ack.acked_seq
                    # A 409 produced while an earlier batch of ours was still in flight is
                    # stale; one with nothing newer from this run is the truth, even if it
                    # goes backwards (a server restored from a backup wants events again).
                    progressed = server_acked != acked
                    if not acked_this_run or server_acked > acked:
                        self.store_acked(server_acked)
                        acked = server_acked
                    acked_this_run = True
                    if not progressed:
                        await self.backoff()  # someone else is sending this desk's log
                elif outcome.kind == "encoding":
                    self.encoding = "gzip"
                elif outcome.kind == "stop":
                    assert outcome.failure is not None
                    raise _Fatal(outcome.failure)
                else:
                    self.report.fail(outcome.failure)
                    if outcome.timeout:
                        self.report.timeouts += 1
                        size = max(1, size // 2)
                        adapted = True
                    await self.backoff()
                    self.report.fail(None)
                next_seq = acked + 1
                last = self.last_seq()
        finally:
            for _env, task in inflight:
                task.cancel()
            await asyncio.gather(*(task for _env, task in inflight), return_exceptions=True)
            self.report.acked_seq = acked
            if adapted:
                self.remember_size(size)

    # ---------------------------------------------------------------- download

    def corrected_time(self, request: httpx.Request, data: Any) -> bool:
        """After a 401 ``stale_auth``: take the server's signed time (bound to the token we
        sent) as the new offset. False if the answer does not carry a valid one."""
        auth = request.headers.get("authorization", "")
        if not isinstance(data, dict) or data.get("error") != "stale_auth" or not auth:
            return False
        try:
            server_time = open_time(
                b64d(str(data.get("time", ""))),
                self.server_keys,
                desk=self.desk_id,
                token=token_digest(auth),
            )
        except WireError:
            return False
        self._note_time(server_time)
        return True

    async def get_with_retry(self, build: Callable[[], httpx.Request]) -> httpx.Response:
        corrected = False
        while True:
            request = build()
            try:
                resp = await self.send(request)
            except httpx.HTTPError as e:
                self.report.fail(classify_exception(e))
            else:
                status = resp.status_code
                if status in (200, 304):
                    self.report.fail(None)
                    return resp
                data = _json_or_none(resp)
                if status == 401 and not corrected:
                    corrected = self.corrected_time(request, data)
                    if corrected:
                        continue  # re-signed with the server's time
                if status == 403 and self.revoked():
                    raise _Fatal(failure(FailureKind.REVOKED))
                found = classify_response(resp)
                if 400 <= status < 500 and status not in (408, 429):
                    raise _Fatal(found)  # unsigned (or the clock): stop, retried next run
                self.report.fail(found)
            await self.backoff()
            self.report.fail(None)

    async def download(self) -> None:
        while True:
            after = self.foreign_positions()
            params = {"commune": self.desk.identity.commune_code}
            if self.opt.feed_limit:
                params["limit"] = str(self.opt.feed_limit)
            if after:
                params["after"] = ",".join(f"{d}:{s}" for d, s in sorted(after.items()))

            def request(p: dict[str, str] = params) -> httpx.Request:
                return self.signed_get(f"{API}/events", p)

            resp = await self.get_with_retry(request)
            try:
                header, blocks = decode_feed(resp.content, self.server_keys)
                if header.requester != self.desk_id:
                    raise WireError(t("Gói sự kiện không dành cho quầy này."))
            except WireError:
                # Not a server answer (portal page...): retry later, as for uploads.
                self.report.fail(classify_response(resp))
                await self.backoff()
                self.report.fail(None)
                continue
            self._note_time(header.server_time)
            self.reconcile(header.requester_acked, header.requester_head)
            got = apply_foreign(
                self.desk,
                [
                    (r.desk, r.first_seq, r.head, b)
                    for r, b in zip(header.ranges, blocks, strict=True)
                ],
                unseen_after=self.acked_at_start,
            )
            self.report.received_events += got
            if not header.more or got == 0:
                return

    def feed_has_news(self) -> bool:
        """False only when this run's last ack said, signed, that no other desk of the commune
        is past what this desk holds (the feed would be empty) and all of ours is acked."""
        news = self.news
        if news is None or self.acked() != self.last_seq():
            return True
        held = self.foreign_positions()
        return any(acked > held.get(desk, 0) for desk, acked in news.desks)

    def reference_has_news(self) -> bool:
        """False only when this run's last ack named the reference version the desk holds
        (the request would be a 304)."""
        news = self.news
        held = self.desk.setting(S_REF_VERSION, "0") or "0"
        return news is None or str(news.reference) != held

    def reconcile(self, server_acked: int, server_head: bytes) -> None:
        """Take the server's word on our acked position when it is signed and on our chain.

        Behind us: the server was restored from a backup and needs those events again (the
        next upload pass sends them). Ahead of us: an ack we never received.
        """
        if server_acked == self.acked():
            return
        ack = Ack(self.desk_id, server_acked, server_head, self.report.server_time or 0, None)
        self.check_ack(ack, None)  # raises _Fatal if the server holds a history we do not
        self.store_acked(server_acked)
        self.resend = True

    def foreign_positions(self) -> dict[str, int]:
        with self.desk.store.read() as db:
            rows = db.exec(select(DeskState).where(DeskState.desk_id != self.desk_id)).all()
        prefix = self.desk.identity.commune_code + "-"
        return {r.desk_id: r.last_seq for r in rows if r.desk_id.startswith(prefix)}

    async def reference(self) -> None:
        version = self.desk.setting(S_REF_VERSION, "0") or "0"
        etag = self.desk.setting(S_REF_ETAG)

        def build() -> httpx.Request:
            headers = {"If-None-Match": etag} if etag else {}
            return self.client.build_request(
                "GET", f"{self.url}{API}/reference", params={"cursor": version}, headers=headers
            )

        while True:
            resp = await self.get_with_retry(build)
            if resp.status_code == 304:
                return
            try:
                _msg, payload = open_signed(resp.content, REF_CT, self.server_keys)
                m = loads_strict(payload, "Dữ liệu tham chiếu", max_depth=4)
                if not isinstance(m, dict) or not isinstance(m.get(2), dict):
                    raise WireError(t("Dữ liệu tham chiếu sai cấu trúc."))
                new_version = int(m[1])
                break
            except (WireError, KeyError, TypeError, ValueError):
                self.report.fail(classify_response(resp))
                await self.backoff()
                self.report.fail(None)
        self._note_time(int(m.get(3, 0)))
        self.report.reference_updated = apply_reference(self.desk, m[2])
        self.desk.set_setting(S_REF_VERSION, str(new_version))
        self.desk.set_setting(S_REF_ETAG, resp.headers.get("etag", ""))


async def run_sync(
    desk: Desk,
    server_url: str | None = None,
    *,
    passphrase_provider: PassphraseProvider | None = None,
    signer: Signer | None = None,
    options: SyncOptions | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    files: bool = True,
    files_progress: ProgressCallback | None = None,
) -> SyncReport:
    """One sync pass: upload the outbox, download other desks' events, refresh reference data,
    then (``files``, and only when the events lane ended well) the files lane
    (``services/sync/files.py``; its outcome is in ``files_queue`` and the setting
    ``sync_files_status``, not in the report: the events are what the report is about).

    Never raises for network or server trouble: the report's ``error`` says what went wrong,
    and Settings ``last_sync_at`` / ``last_sync_error`` record it. Raises ``SyncError`` only
    when the desk itself is not ready (not enrolled, no key, wrong passphrase).
    """
    opt = options or SyncOptions()
    with _sync_lock(desk.store.path) as got_lock:
        if not got_lock:
            report = SyncReport(server_url=server_url or desk.setting(S_URL))
            report.fail(failure(FailureKind.BUSY))
            return report
        return await _run_sync_locked(
            desk,
            server_url,
            passphrase_provider,
            signer,
            opt,
            transport,
            files=files,
            files_progress=files_progress,
        )


@contextmanager
def _sync_lock(db_path: Path) -> Iterator[bool]:
    """One sync at a time per desk database, across processes (TUI worker, CLI, web tabs)."""
    with exclusive(db_path.with_name(db_path.name + ".sync.lock")) as got:
        yield got


async def _run_sync_locked(
    desk: Desk,
    server_url: str | None,
    passphrase_provider: PassphraseProvider | None,
    signer: Signer | None,
    opt: SyncOptions,
    transport: httpx.AsyncBaseTransport | None,
    *,
    files: bool = True,
    files_progress: ProgressCallback | None = None,
) -> SyncReport:
    url = (server_url or desk.setting(S_URL)).rstrip("/")
    report = SyncReport(server_url=url)
    if not url:
        raise SyncError(t("Chưa có địa chỉ máy chủ tỉnh; chạy «onestop enroll» trước."))
    # https, or plain http only to this machine or with allow_insecure_http (sync/url.py); an
    # injected transport (in-process app, test double) puts nothing on a network.
    url = check_server_url(url, transport is not None or plain_http_allowed())
    if signer is None:
        if passphrase_provider is None:
            raise SyncError(t("Cần mật khẩu khóa ký của quầy để đồng bộ."))
        signer = desk_signer(desk, passphrase_provider)
    started = time.monotonic()
    acked_before = int(desk.setting(S_ACKED, "0") or 0)
    timeout = httpx.Timeout(opt.timeout, connect=opt.connect_timeout)
    limits = httpx.Limits(
        max_connections=max(2, opt.window), max_keepalive_connections=max(2, opt.window)
    )
    # Short headers: they are paid on every request over links of a few kB/s.
    headers = {
        "User-Agent": "onestop",
        "Accept-Encoding": "gzip",
        "Accept": "*/*",
        version.HEADER: str(version.PROTOCOL),  # the server's gate (wire/version.py)
    }
    async with httpx.AsyncClient(
        transport=transport, timeout=timeout, limits=limits, headers=headers
    ) as client:
        session = _Session(desk, url, signer, opt, client, report)
        fatal = False
        try:
            if opt.upload:
                await session.upload()
            # Download and reference data side by side: one round trip less per sync on a
            # 300 ms link (the reference check is a 304 on most days). Never beside the upload:
            # the feed carries the server's acked position, which must not race our acks.
            # After a good upload the last ack's news says whether either has anything for us
            # (protocol 2): a daily sync with nothing new from the commune stops here.
            await _side_by_side(
                *([session.download()] if opt.download and session.feed_has_news() else []),
                *([session.reference()] if opt.reference and session.reference_has_news() else []),
            )
            # resend: the server lost events it had acked; or the download flagged a
            # conflict (services/conflicts.py), an event of ours the other desk needs.
            if (
                opt.download
                and opt.upload
                and (session.resend or session.last_seq() > session.acked())
            ):
                await session.upload()
            # The files lane: last, and only behind a good events lane (events first, always).
            if files and opt.upload and report.error is None:
                await upload_files(session, files_progress)
        except _GiveUp:
            if report.error is None:
                report.fail(failure(FailureKind.SERVER_ERROR))
        except _Fatal as e:
            report.fail(e.failure)
            fatal = e.failure.holds_back  # only a signed verdict holds events back
        except (DBAPIError, OSError) as e:
            # Storing what the server sent filled the disk (SQLITE_FULL, ENOSPC): say so, and
            # nothing is lost: the transaction rolled back and the next run fetches it again.
            if not is_disk_full(e):
                raise
            report.fail(failure(FailureKind.DISK_FULL))
        finally:
            report.encoding = session.encoding
    report.duration_s = time.monotonic() - started
    report.acked_seq = int(desk.setting(S_ACKED, "0") or 0)
    # "Sent" = newly acknowledged in this run, however the ack arrived (ack, 409 state...).
    report.sent_events = max(0, report.acked_seq - acked_before)
    report.outbox = desk.outbox_size()
    try:
        with desk.store.write() as db:
            db.merge(Setting(key=S_LAST_AT, value=desk.clock().isoformat(timespec="seconds")))
            db.merge(Setting(key=S_LAST_ERROR, value=report.error or ""))
            if report.skew_s is not None:
                db.merge(Setting(key=S_SKEW, value=str(report.skew_s)))
            _record_run(db, desk.clock().isoformat(timespec="seconds"), report, fatal=fatal)
    except (DBAPIError, OSError) as e:
        # Even this small write found the disk full: the report still says why, in memory.
        if not is_disk_full(e):
            raise
        if report.error_kind != FailureKind.DISK_FULL.value:
            report.fail(failure(FailureKind.DISK_FULL))
        report.recorded = False
    return report


def _json_rows(db: Session, key: str) -> list[dict[str, Any]]:
    row = db.get(Setting, key)
    try:
        value = json.loads(row.value) if row is not None and row.value else []
    except ValueError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _record_run(db: Session, at: str, report: SyncReport, *, fatal: bool) -> None:
    """The durable trace the desk's sync screen reads (``services/sync_status.py``): the last
    runs with their bytes on the wire, the last success, and what a refusal holds back.

    Only a verdict the pinned server key signed (``FailureKind.REFUSED``: a signed ack or state
    that contradicts our chain; ``REVOKED``: a signed revocation) holds this desk's
    unacknowledged events back; an unsigned refusal (one damaged byte in flight gets one) is
    retried by the next run. A hold is recorded with its reason, once per distinct reason, and
    the list is cleared by the next run that ends without an error.
    """
    runs = _json_rows(db, S_RUNS)
    runs.append({"at": at, **{k: v for k, v in report.as_dict().items() if k != "server_url"}})
    db.merge(Setting(key=S_RUNS, value=json.dumps(runs[-RUNS_KEPT:], ensure_ascii=False)))
    if report.ok:
        db.merge(Setting(key=S_LAST_OK_AT, value=at))
        db.merge(Setting(key=S_HELD, value="[]"))
        return
    if not fatal:
        return
    held = _json_rows(db, S_HELD)
    first, last = report.acked_seq + 1, report.acked_seq + report.outbox
    item = {"at": at, "since": at, "first_seq": first, "last_seq": last, "reason": report.error}
    if held and held[-1].get("reason") == report.error and held[-1].get("first_seq") == first:
        item["since"] = held[-1].get("since", at)
        held[-1] = item
    else:
        held.append(item)
    db.merge(Setting(key=S_HELD, value=json.dumps(held[-RUNS_KEPT:], ensure_ascii=False)))


def sync_once(
    desk: Desk,
    server_url: str | None = None,
    *,
    passphrase_provider: PassphraseProvider | None = None,
    signer: Signer | None = None,
    options: SyncOptions | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    files: bool = True,
    files_progress: ProgressCallback | None = None,
) -> SyncReport:
    """Blocking ``run_sync`` for thread workers and the CLI (runs its own event loop)."""
    return asyncio.run(
        run_sync(
            desk,
            server_url,
            passphrase_provider=passphrase_provider,
            signer=signer,
            options=options,
            transport=transport,
            files=files,
            files_progress=files_progress,
        )
    )
