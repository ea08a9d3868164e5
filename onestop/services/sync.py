"""Sync with the provincial server: enroll, upload the outbox, download, bundles for no link.

The outbox is the event log itself: this desk's events after ``sync_acked_seq`` (a Setting
row, advanced only by an ack the server signed and whose chain head matches ours). Nothing is
ever marked "sent": a lost response, a crash or a captive portal just means the same events go
again, and the server's idempotency rules make that harmless.

Upload (``run_sync``/``sync_once``): batches of the exact stored event bytes behind a signed
envelope, zstd + shipped dictionary (gzip after a 415), two batches in flight so a 300 ms
round trip does not idle a 64 kbit/s link; batch size starts at 25, doubles on success up to
200, halves on a timeout; transient failures back off exponentially with full jitter. Only a
valid server-signed ack counts: an HTTP 200 from a captive portal is a failure like any other.

Download: other desks' events of the commune (stored under their own desk id, chain-checked,
folded into the projection with the same order as the server), then reference data with
ETag/If-None-Match (an unchanged pull is one 304).

Every outcome is recorded in Settings ``last_sync_at`` / ``last_sync_error`` for the TUI.
"""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import json
import os
import random
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, col, select

from onestop.crypto.signer import InvalidPublicKeyError, Signer, kid_for
from onestop.domain.calendar import DayKind
from onestop.domain.events import GENESIS_HEAD, Event, EventFormatError, chain, to_epoch
from onestop.i18n import t
from onestop.paths import write_atomically
from onestop.services import catalogue, conflicts, lockdown
from onestop.services._wire import (
    API,
    CBOR_MEDIA,
    ENROLL_ALPHABET,
    ENROLL_CHECK_LEN,
    ENROLL_CT,
    ENROLL_HASH_PREFIX,
    ENROLL_SECRET_LEN,
    MAX_BATCH_EVENTS,
    REF_CT,
    Ack,
    Envelope,
    FeedHeader,
    WireError,
    b64d,
    b64e,
    compress,
    current_dictionary,
    decode_bundle,
    decode_feed,
    decompress,
    digest,
    encode_batch,
    encode_bundle,
    enroll_check,
    enroll_secret_hash,
    loads_strict,
    normalise_enroll_code,
    open_ack,
    open_signed,
    open_time,
    replay_or_none,
    sign,
    split_batch,
    state_json,
    token_digest,
    verify_message,
)
from onestop.services._wire import auth_token as _auth_token
from onestop.services.desk import Desk, DeskError
from onestop.services.receipts import (
    DESK_KEY_FILE,
    ReceiptError,
    create_desk_key,
    desk_key_info,
    import_trust,
    keys_dir,
    trust_list,
    unlock_desk_key,
)
from onestop.store.filelock import exclusive
from onestop.store.models import CodeCounter, DeskState, DossierRow, EventRow, Setting, Unit
from onestop.store.repo_dossiers import row_to_state, save_dossier
from onestop.store.repo_events import events_for
from onestop.store.timefmt import dt_to_text

PassphraseProvider = Callable[[], str]

# Settings rows written by sync (all strings).
S_URL = "sync_server_url"
S_SERVER_ALG = "sync_server_alg"
S_SERVER_KEY = "sync_server_key"  # base64url public key, pinned at enrollment
S_ACKED = "sync_acked_seq"  # read by Desk.outbox_size()
S_LAST_AT = "last_sync_at"
S_LAST_ERROR = "last_sync_error"
S_SKEW = "sync_clock_skew"
S_REF_VERSION = "sync_reference_version"
S_REF_ETAG = "sync_reference_etag"
S_REVOCATIONS = "sync_revocations"
S_ENROLLED_AT = "sync_enrolled_at"
S_LAST_OK_AT = "last_sync_ok_at"  # the last run that ended without an error
S_RUNS = "sync_runs"  # JSON list of the last RUNS_KEPT runs, for the desk's sync screen
S_HELD = "sync_held"  # JSON list: what a refusal holds back, until a run succeeds again
RUNS_KEPT = 20
PEER_KEY_PREFIX = "sync_peer_key:"

SKEW_LIMIT_S = 5 * 60
BUNDLE_SUFFIX = ".osb"


class SyncError(DeskError):
    """A sync problem the clerk (or the province) must act on; message in Vietnamese."""


# ----------------------------------------------------------------------------- keys


def key_path(db_path: Path) -> Path:
    """Where this desk's signing key lives: the same file receipts are signed with."""
    return keys_dir(db_path) / DESK_KEY_FILE


def desk_signer(
    desk: Desk, passphrase_provider: PassphraseProvider, *, create: bool = False
) -> Signer:
    """Unlock the desk key (services/receipts.py), creating it first when ``create``."""
    if desk_key_info(desk) is None:
        if not create:
            raise SyncError(
                t(
                    "Quầy chưa có khóa ký ({path}); chạy «onestop enroll» trước.",
                    path=key_path(desk.store.path),
                )
            )
        passphrase = passphrase_provider()
        create_desk_key(desk, passphrase)
        return unlock_desk_key(desk, passphrase)
    return unlock_desk_key(desk, passphrase_provider())


def _server_keys(desk: Desk) -> dict[bytes, tuple[int, bytes]]:
    alg, pub = desk.setting(S_SERVER_ALG), desk.setting(S_SERVER_KEY)
    if not alg or not pub:
        raise SyncError(t("Quầy chưa đăng ký với máy chủ tỉnh; chạy «onestop enroll»."))
    public = b64d(pub)
    return {kid_for(int(alg), public): (int(alg), public)}


def server_fingerprint(desk: Desk) -> str:
    (kid,) = _server_keys(desk)
    h = kid.hex()
    return " ".join(h[i : i + 4] for i in range(0, 16, 4))


# ----------------------------------------------------------------------------- enrollment


@dataclass(frozen=True)
class EnrollResult:
    desk_id: str
    desk_no: int
    renumbered: bool
    server_fingerprint: str
    trust_list: bool


def _has_own_history(desk: Desk) -> bool:
    with desk.store.read() as db:
        st = db.get(DeskState, desk.identity.desk_id)
        counters = db.exec(select(CodeCounter).limit(1)).first()
    return (st is not None and st.last_seq > 0) or counters is not None


async def enroll_async(
    desk: Desk,
    server_url: str,
    code: str,
    *,
    passphrase_provider: PassphraseProvider,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 30.0,
) -> EnrollResult:
    """Register this desk's key with the server using a one-time code; pin the server key."""
    server_url = server_url.rstrip("/")
    if not server_url.startswith(("http://", "https://")):
        raise SyncError(t("Địa chỉ máy chủ phải bắt đầu bằng http:// hoặc https://."))
    secret, check = _parse_enroll_code(code)
    signer = desk_signer(desk, passphrase_provider, create=True)
    ident = desk.identity
    may_renumber = not _has_own_history(desk)
    request = sign(
        signer,
        ENROLL_CT,
        {
            # Only the secret's hash leaves the desk: whoever answers cannot learn the secret,
            # so cannot compute the check group for a key of its own.
            1: ENROLL_HASH_PREFIX + enroll_secret_hash(secret).hex(),
            2: ident.commune_code,
            3: ident.desk_no,
            4: ident.desk_name,
            5: may_renumber,
            6: to_epoch(desk.clock()),
            7: ident.unit_eid,
        },
    )
    body = {
        "alg": signer.alg,
        "public_key": b64e(signer.public_key_bytes()),
        "request": b64e(request),
    }
    async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
        try:
            resp = await client.post(f"{server_url}{API}/enroll", json=body)
        except httpx.HTTPError as e:
            raise SyncError(t("Không kết nối được máy chủ tỉnh: {e}", e=_describe(e))) from e
    data = _json_or_none(resp)
    if resp.status_code != 200 or data is None:
        msg = data.get("message") if isinstance(data, dict) else None
        raise SyncError(
            t(
                "Máy chủ từ chối đăng ký (HTTP {s}): {m}",
                s=resp.status_code,
                m=msg or resp.text[:200],
            )
        )
    try:
        server = data["server"]
        server_alg, server_pub = int(server["alg"]), b64d(server["public_key"])
        kid_for(server_alg, server_pub)
        desk_no, desk_id = int(data["desk_no"]), str(data["desk_id"])
        trust = b64d(data["trust_list"]) if data.get("trust_list") else None
        server_time = data.get("server_time")
    except (KeyError, TypeError, ValueError, WireError, InvalidPublicKeyError) as e:
        raise SyncError(t("Máy chủ trả lời đăng ký không hợp lệ.")) from e
    # Not trust on first use: the key must match the check group the province read out with
    # the code, before anything from this answer is believed or stored.
    if not hmac.compare_digest(enroll_check(secret, server_alg, server_pub), check):
        raise SyncError(
            t(
                "Khóa của máy chủ {u} không khớp nhóm kiểm tra «{c}» của mã đăng ký: có thể "
                "đã đọc sai nhóm cuối của mã, hoặc đang kết nối tới một máy chủ giả mạo. "
                "Quầy chưa lưu gì; hãy đối chiếu lại mã với tỉnh.",
                u=server_url,
                c=check,
            )
        )
    renumbered = desk_no != ident.desk_no
    if renumbered and not may_renumber:
        raise SyncError(t("Máy chủ cấp số quầy khác trong khi quầy đã có dữ liệu."))
    with desk.store.write() as db:
        values = {
            S_URL: server_url,
            S_SERVER_ALG: str(server_alg),
            S_SERVER_KEY: b64e(server_pub),
            S_ENROLLED_AT: desk.clock().isoformat(timespec="seconds"),
        }
        if isinstance(server_time, int) and not isinstance(server_time, bool):
            # The first offset for signed requests (the next signed answer refines it).
            values[S_SKEW] = str(server_time - to_epoch(desk.clock()))
        if renumbered:
            values["desk_no"] = str(desk_no)
        for k, v in values.items():
            db.merge(Setting(key=k, value=v))
    if renumbered:
        desk.identity = replace(ident, desk_no=desk_no)
    if trust:
        trust = trust if _store_trust(desk, trust) else None
    assert desk.identity.desk_id == desk_id, (desk.identity.desk_id, desk_id)
    return EnrollResult(desk_id, desk_no, renumbered, server_fingerprint(desk), bool(trust))


def _parse_enroll_code(code: str) -> tuple[str, str]:
    """(secret, check group) of a code ``ABCD-EFGH-JKMN-PQRS``, or a clear SyncError."""
    symbols = normalise_enroll_code(code)
    if len(symbols) != ENROLL_SECRET_LEN + ENROLL_CHECK_LEN or any(
        ch not in ENROLL_ALPHABET for ch in symbols
    ):
        raise SyncError(
            t(
                "Mã đăng ký phải gồm 16 ký tự chia 4 nhóm, ví dụ ABCD-EFGH-JKMN-PQRS (không có "
                "chữ O, I, L, U và số 0, 1); nhóm cuối dùng để kiểm tra khóa của máy chủ."
            )
        )
    return symbols[:ENROLL_SECRET_LEN], symbols[ENROLL_SECRET_LEN:]


def enroll(
    desk: Desk,
    server_url: str,
    code: str,
    *,
    passphrase_provider: PassphraseProvider,
    transport: httpx.AsyncBaseTransport | None = None,
) -> EnrollResult:
    return asyncio.run(
        enroll_async(
            desk, server_url, code, passphrase_provider=passphrase_provider, transport=transport
        )
    )


# ----------------------------------------------------------------------------- report, options


@dataclass
class SyncOptions:
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_attempts: int = 6  # consecutive transient failures before this run gives up
    base_delay: float = 0.5
    max_delay: float = 60.0
    start_batch: int = 25
    max_batch: int = MAX_BATCH_EVENTS
    window: int = 2  # batches in flight
    upload: bool = True
    download: bool = True
    reference: bool = True
    encoding: str = "zstd"
    feed_limit: int | None = None  # events per download page (server default: 2,000)
    seed: int | None = None


@dataclass
class SyncReport:
    server_url: str = ""
    sent_events: int = 0
    received_events: int = 0
    batches: int = 0
    requests: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    duration_s: float = 0.0
    acked_seq: int = 0
    outbox: int = 0
    retries: int = 0
    encoding: str = "zstd"
    reference_updated: list[str] = field(default_factory=list)
    server_time: int | None = None
    skew_s: int | None = None
    error: str | None = None
    # Size of every batch POST of this run, in order, and how many of them timed out: the
    # adaptive batch size at work (halved on a timeout, doubled on an ack).
    batch_sizes: list[int] = field(default_factory=list)
    timeouts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def skew_flagged(self) -> bool:
        return self.skew_s is not None and abs(self.skew_s) > SKEW_LIMIT_S

    @property
    def bytes_on_wire(self) -> int:
        return self.bytes_up + self.bytes_down

    def as_dict(self) -> dict[str, Any]:
        return {
            "server_url": self.server_url,
            "ok": self.ok,
            "error": self.error,
            "sent_events": self.sent_events,
            "received_events": self.received_events,
            "batches": self.batches,
            "requests": self.requests,
            "retries": self.retries,
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "bytes_on_wire": self.bytes_on_wire,
            "duration_s": round(self.duration_s, 3),
            "acked_seq": self.acked_seq,
            "outbox": self.outbox,
            "encoding": self.encoding,
            "reference_updated": self.reference_updated,
            "server_time": self.server_time,
            "clock_skew_s": self.skew_s,
            "clock_skew_flagged": self.skew_flagged,
            "batch_sizes": list(self.batch_sizes),
            "timeouts": self.timeouts,
        }


class _Fatal(Exception):
    """Stop this run: retrying cannot help (refused, revoked, diverged history)."""


class _GiveUp(Exception):
    """Too many consecutive transient failures in this run."""


@dataclass
class _Outcome:
    kind: str  # ack | gap | encoding | transient | fatal
    ack: Ack | None = None
    message: str = ""
    timeout: bool = False


def _describe(e: BaseException) -> str:
    if isinstance(e, httpx.TimeoutException):
        return t("hết thời gian chờ")
    if isinstance(e, httpx.ConnectError):
        return t("không kết nối được")
    return type(e).__name__


def _json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _header_bytes(start_line: str, headers: httpx.Headers) -> int:
    return len(start_line) + 2 + sum(len(k) + len(v) + 4 for k, v in headers.raw) + 2


# ----------------------------------------------------------------------------- the run


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
    if prev is None or len(rows) != last - first + 1:
        raise _Fatal(t("Nhật ký sự kiện của quầy bị thiếu từ số {n}.", n=first))
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
    )
    plain = encode_batch(signer, env, [bytes(r.body) for r in rows])
    return env, compress(plain, encoding, env.dict_id)


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
        resp = await self.client.send(request)
        try:
            await resp.aread()
        finally:
            await resp.aclose()
        self.report.bytes_down += (
            _header_bytes(f"HTTP/1.1 {resp.status_code} {resp.reason_phrase}", resp.headers)
            + resp.num_bytes_downloaded
        )
        lockdown.observe_response(self.desk, resp.status_code, resp.content)  # signed revocation
        return resp

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
                    "Chuỗi băm máy chủ xác nhận khác chuỗi của quầy tại sự kiện {n}.",
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
        except httpx.TimeoutException as e:
            return _Outcome("transient", message=_describe(e), timeout=True)
        except httpx.HTTPError as e:
            return _Outcome("transient", message=_describe(e))
        finally:
            sent.set()
        status = resp.status_code
        if status == 200:
            try:
                ack = open_ack(resp.content, self.server_keys)
                self.check_ack(ack, env.key)
            except WireError as e:
                # Captive portal pages, proxies' error pages, stale or forged acks.
                return _Outcome(
                    "transient", message=t("phản hồi không phải xác nhận hợp lệ ({e})", e=e)
                )
            except _Fatal as e:
                return _Outcome("fatal", message=str(e))
            return _Outcome("ack", ack=ack)
        data = _json_or_none(resp)
        message = data.get("message", "") if isinstance(data, dict) else ""
        if status == 409 and isinstance(data, dict) and isinstance(data.get("state"), str):
            try:
                state = open_ack(b64d(data["state"]), self.server_keys)
                self.check_ack(state, None)
            except WireError as e:
                return _Outcome("transient", message=t("trạng thái 409 không hợp lệ ({e})", e=e))
            except _Fatal as e:
                return _Outcome("fatal", message=str(e))
            return _Outcome("gap", ack=state)
        if status == 415 and isinstance(data, dict) and self.encoding != "gzip":
            return _Outcome("encoding", message=message)
        if status == 422:
            return _Outcome(
                "fatal",
                message=t(
                    "Máy chủ đã nhận các sự kiện số này với nội dung khác ({m}): lịch sử của "
                    "quầy đã rẽ nhánh, có thể do khôi phục từ bản sao lưu cũ. Dừng gửi; liên hệ tỉnh.",
                    m=message,
                ),
            )
        if status in (400, 401, 403, 413, 415):
            return _Outcome(
                "fatal",
                message=t(
                    "Máy chủ từ chối (HTTP {s}): {m}", s=status, m=message or resp.text[:200]
                ),
            )
        return _Outcome("transient", message=f"HTTP {status}")

    async def upload(self) -> None:
        acked = self.acked()
        next_seq = acked + 1
        last = self.last_seq()
        size = max(1, self.opt.start_batch)
        inflight: deque[tuple[Envelope, asyncio.Task[_Outcome]]] = deque()
        acked_this_run = False

        def on_ack(value: int) -> None:
            nonlocal acked, acked_this_run
            if value > acked:
                self.store_acked(value)
                acked = value
            acked_this_run = True

        async def drain() -> None:
            while inflight:
                _env, task = inflight.popleft()
                outcome = await task
                if outcome.kind == "ack" and outcome.ack is not None:
                    on_ack(outcome.ack.acked_seq)
                    self.report.batches += 1

        try:
            while next_seq <= last or inflight:
                while len(inflight) < max(1, self.opt.window) and next_seq <= last:
                    first, end = next_seq, min(next_seq + size - 1, last)
                    env, body = self.build(first, end)
                    self.report.batch_sizes.append(end - first + 1)
                    sent = asyncio.Event()
                    task = asyncio.create_task(self.post_batch(env, body, sent))
                    inflight.append((env, task))
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
                    on_ack(outcome.ack.acked_seq)
                    self.report.batches += 1
                    self.failures = 0
                    size = min(size * 2, self.opt.max_batch)
                    continue
                await drain()
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
                elif outcome.kind == "fatal":
                    raise _Fatal(outcome.message)
                else:
                    self.report.error = outcome.message
                    if outcome.timeout:
                        self.report.timeouts += 1
                        size = max(1, size // 2)
                    await self.backoff()
                    self.report.error = None
                next_seq = acked + 1
                last = self.last_seq()
        finally:
            for _env, task in inflight:
                task.cancel()
            await asyncio.gather(*(task for _env, task in inflight), return_exceptions=True)
            self.report.acked_seq = acked

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
                self.report.error = _describe(e)
            else:
                if resp.status_code in (200, 304):
                    self.report.error = None
                    return resp
                data = _json_or_none(resp)
                if resp.status_code == 401 and not corrected:
                    corrected = self.corrected_time(request, data)
                    if corrected:
                        continue  # re-signed with the server's time
                if resp.status_code in (400, 401, 403, 404, 415, 422):
                    msg = data.get("message") if isinstance(data, dict) else resp.text[:200]
                    raise _Fatal(t("Máy chủ từ chối (HTTP {s}): {m}", s=resp.status_code, m=msg))
                self.report.error = f"HTTP {resp.status_code}"
            await self.backoff()
            self.report.error = None

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
            except WireError as e:
                # Not a server answer (portal page...): retry later, as for uploads.
                self.report.error = str(e)
                await self.backoff()
                self.report.error = None
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
            except (WireError, KeyError, TypeError, ValueError) as e:
                self.report.error = t("Dữ liệu tham chiếu không hợp lệ: {e}", e=e)
                await self.backoff()
                self.report.error = None
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
) -> SyncReport:
    """One sync pass: upload the outbox, download other desks' events, refresh reference data.

    Never raises for network or server trouble: the report's ``error`` says what went wrong,
    and Settings ``last_sync_at`` / ``last_sync_error`` record it. Raises ``SyncError`` only
    when the desk itself is not ready (not enrolled, no key, wrong passphrase).
    """
    opt = options or SyncOptions()
    with _sync_lock(desk.store.path) as got_lock:
        if not got_lock:
            report = SyncReport(server_url=server_url or desk.setting(S_URL))
            report.error = t("Một phiên đồng bộ khác của quầy này đang chạy.")
            return report
        return await _run_sync_locked(desk, server_url, passphrase_provider, signer, opt, transport)


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
) -> SyncReport:
    url = (server_url or desk.setting(S_URL)).rstrip("/")
    report = SyncReport(server_url=url)
    if not url:
        raise SyncError(t("Chưa có địa chỉ máy chủ tỉnh; chạy «onestop enroll» trước."))
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
    headers = {"User-Agent": "onestop", "Accept-Encoding": "gzip", "Accept": "*/*"}
    async with httpx.AsyncClient(
        transport=transport, timeout=timeout, limits=limits, headers=headers
    ) as client:
        session = _Session(desk, url, signer, opt, client, report)
        fatal = False
        try:
            if opt.upload:
                await session.upload()
            if opt.download:
                await session.download()
                # resend: the server lost events it had acked; or the download flagged a
                # conflict (services/conflicts.py), an event of ours the other desk needs.
                if opt.upload and (session.resend or session.last_seq() > session.acked()):
                    await session.upload()
            if opt.reference:
                await session.reference()
        except _GiveUp:
            report.error = report.error or t("Máy chủ không phản hồi đúng sau nhiều lần thử.")
        except _Fatal as e:
            report.error = str(e)
            fatal = True
        finally:
            report.encoding = session.encoding
    report.duration_s = time.monotonic() - started
    report.acked_seq = int(desk.setting(S_ACKED, "0") or 0)
    # "Sent" = newly acknowledged in this run, however the ack arrived (ack, 409 state...).
    report.sent_events = max(0, report.acked_seq - acked_before)
    report.outbox = desk.outbox_size()
    with desk.store.write() as db:
        db.merge(Setting(key=S_LAST_AT, value=desk.clock().isoformat(timespec="seconds")))
        db.merge(Setting(key=S_LAST_ERROR, value=report.error or ""))
        if report.skew_s is not None:
            db.merge(Setting(key=S_SKEW, value=str(report.skew_s)))
        _record_run(db, desk.clock().isoformat(timespec="seconds"), report, fatal=fatal)
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

    A refusal that retrying cannot fix (``_Fatal``: refused batch, diverged history, revoked
    desk) holds this desk's unacknowledged events back; it is recorded with its reason, once per
    distinct reason, and the list is cleared by the next run that ends without an error.
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
        )
    )


# ----------------------------------------------------------------------------- foreign events


def apply_foreign(
    desk: Desk,
    ranges: Sequence[tuple[str, int, bytes | None, Sequence[bytes]]],
    *,
    unseen_after: int | None = None,
) -> int:
    """Store other desks' events (desk, first_seq, head after last or None, bodies) and project.

    One transaction. Each desk's chain is recomputed from the head we hold for it; events we
    already hold must be byte-identical; a gap or a head mismatch refuses the whole call.
    Touched dossiers are replayed from all their events in (hlc, desk, seq) order — the order
    the server uses — and this desk's HLC is raised past everything seen, so its next event
    sorts after them (the HLC receive rule). Then, in the same transaction, actions of this
    desk that were concurrent with the new events and came out differently are flagged
    (services/conflicts.py); ``unseen_after`` = this desk's acked seq before the current sync
    run (default: now), beyond which no other desk can have seen its events.
    """
    own = desk.identity.desk_id
    added = 0
    fresh: list[Event] = []
    touched: set[str] = set()
    max_hlc = 0
    with desk.store.write() as db:
        for desk_id, first, head_after, bodies in ranges:
            if desk_id == own:
                raise SyncError(t("Không nhận sự kiện mang số hiệu của chính quầy này."))
            st = db.get(DeskState, desk_id) or DeskState(
                desk_id=desk_id, last_seq=0, head=GENESIS_HEAD, hlc=0
            )
            if first > st.last_seq + 1:
                raise SyncError(
                    t(
                        "Thiếu sự kiện của quầy {d}: đang có đến số {n}, gói bắt đầu từ {f}.",
                        d=desk_id,
                        n=st.last_seq,
                        f=first,
                    )
                )
            head = bytes(st.head)
            last_hlc = st.hlc
            for i, body in enumerate(bodies):
                seq = first + i
                if seq <= st.last_seq:
                    held = db.get(EventRow, (desk_id, seq))
                    if held is None or bytes(held.body) != body:
                        raise SyncError(
                            t("Sự kiện {d}#{n} khác bản quầy đang giữ.", d=desk_id, n=seq)
                        )
                    continue
                try:
                    ev = Event.from_body(desk_id, body)
                except EventFormatError as e:
                    raise SyncError(f"{desk_id}#{seq}: {e}") from e
                if ev.seq != seq:
                    raise SyncError(t("Sự kiện {d}#{n} mang sai số thứ tự.", d=desk_id, n=seq))
                head = chain(head, body)
                db.add(
                    EventRow(
                        desk_id=desk_id,
                        seq=seq,
                        hlc=ev.hlc,
                        kind=ev.kind.value,
                        dossier=ev.dossier,
                        at=dt_to_text(ev.at),
                        actor=ev.actor,
                        role=ev.role,
                        body=body,
                        head=head,
                    )
                )
                touched.add(ev.dossier)
                fresh.append(ev)
                last_hlc = max(last_hlc, ev.hlc)
                max_hlc = max(max_hlc, ev.hlc)
                st.last_seq, st.head, st.hlc = seq, head, last_hlc
                added += 1
            end = first + len(bodies) - 1
            if head_after is not None and bodies and st.last_seq == end and head != head_after:
                raise SyncError(
                    t("Chuỗi băm của quầy {d} không khớp: dữ liệu đã bị sửa.", d=desk_id)
                )
            db.add(st)
        if max_hlc:
            mine = db.get(DeskState, own) or DeskState(
                desk_id=own, last_seq=0, head=GENESIS_HEAD, hlc=0
            )
            if mine.hlc < max_hlc:
                mine.hlc = max_hlc
                db.add(mine)
        db.flush()
        for code in sorted(touched):
            state = replay_or_none(events_for(db=db, dossier=code))
            if state is not None:
                save_dossier(db=db, state=state)
        if fresh:
            if unseen_after is None:
                row = db.get(Setting, S_ACKED)
                unseen_after = int(row.value or 0) if row is not None else 0
            conflicts.detect(db, desk, fresh, unseen_after=unseen_after)
    return added


# ----------------------------------------------------------------------------- reference data


def _store_trust(desk: Desk, data: bytes) -> bool:
    """Hand a server-delivered trust list to services/receipts (the one trust store).

    The list arrives over a channel signed by the pinned server key. The first list pins the
    province root (its fingerprint is shown at enrollment for comparison); later lists must be
    signed by that root and be at least as new, or they are ignored.
    """
    fd, tmp = tempfile.mkstemp(prefix=".trust.", suffix=".cbor")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        import_trust(desk, Path(tmp), allow_first_use=True)
    except ReceiptError:
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)
    return True


def apply_reference(desk: Desk, items: dict[Any, Any]) -> list[str]:
    """Fold reference items into the desk. Returns the names that changed something."""
    changed: list[str] = []
    calendar: list[tuple[date, DayKind, str]] = []
    trust = items.get("trust")
    if isinstance(trust, dict) and isinstance(trust.get(2), bytes) and _store_trust(desk, trust[2]):
        changed.append("trust")
    with desk.store.write() as db:
        for name, item in sorted(items.items()):
            if not isinstance(item, dict) or not isinstance(item.get(2), bytes):
                continue
            data: bytes = item[2]
            if name == "catalogue":
                try:
                    procs = catalogue.parse_catalogue(data.decode("utf-8-sig"), source="server")
                except (catalogue.CatalogueError, UnicodeDecodeError):
                    continue
                added, _kept = catalogue.import_catalogue(db=db, procedures=procs)
                if added:
                    changed.append(name)
            elif name == "units":
                if _merge_units(db, data):
                    changed.append(name)
            elif name == "calendar":
                try:
                    days = loads_strict(data, "calendar", max_depth=3)
                    calendar = [(date.fromisoformat(d), DayKind(k), str(n)) for d, k, n in days]
                except (WireError, ValueError, TypeError):
                    continue
                changed.append(name)
            elif name == "revocations":
                try:
                    rows = loads_strict(data, "revocations", max_depth=3)
                    text = json.dumps(
                        [{"desk": r[0], "kid": r[1].hex(), "revoked_at": r[2]} for r in rows]
                    )
                except (WireError, TypeError, IndexError, AttributeError):
                    continue
                db.merge(Setting(key=S_REVOCATIONS, value=text))
                changed.append(name)
    for day, kind, note in calendar:
        desk.set_calendar_day(day, kind, note)
    return changed


def _merge_units(db: Session, data: bytes) -> bool:
    try:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    except UnicodeDecodeError:
        return False
    have = {(u.code, u.effective_from) for u in db.exec(select(Unit)).all()}
    added = False
    for r in rows:
        key = (r.get("code", ""), r.get("effective_from") or "2025-07-01")
        if not key[0] or key in have:
            continue
        db.add(
            Unit(
                code=key[0],
                name=r.get("name", ""),
                level=r.get("level", ""),
                parent_code=r.get("parent_code") or None,
                effective_from=key[1],
                effective_to=r.get("effective_to") or None,
            )
        )
        have.add(key)
        added = True
    return added


# ----------------------------------------------------------------------------- bundles (no link)


@dataclass(frozen=True)
class ImportResult:
    desk: str
    first_seq: int
    last_seq: int
    added: int


def export_bundle(
    desk: Desk,
    to_dir: Path,
    *,
    signer: Signer,
    from_seq: int | None = None,
    encoding: str = "zstd",
) -> Path | None:
    """Write this desk's events from ``from_seq`` (default: the outbox) as a signed bundle file.

    Returns None when there is nothing to export. The file is a batch exactly as it would go
    over HTTP, wrapped with the desk's public key (onestop-bundle/1).
    """
    if not to_dir.is_dir():
        raise SyncError(t("Thư mục {p} không tồn tại.", p=to_dir))
    last = 0
    with desk.store.read() as db:
        st = db.get(DeskState, desk.identity.desk_id)
        last = st.last_seq if st else 0
    first = from_seq if from_seq is not None else int(desk.setting(S_ACKED, "0") or 0) + 1
    first = max(first, 1)
    if first > last:
        return None
    dictionary = current_dictionary() if encoding == "zstd" else None
    if dictionary is None and encoding == "zstd":
        encoding = "gzip"
    try:
        env, body = build_batch(desk, signer, first, last, encoding, dictionary)
    except _Fatal as e:
        raise SyncError(str(e)) from e
    data = encode_bundle(
        desk=env.desk,
        alg=signer.alg,
        public_key=signer.public_key_bytes(),
        encoding=encoding,
        batch=body,
    )
    target = to_dir / f"{env.desk}_{first:07d}-{last:07d}{BUNDLE_SUFFIX}"
    write_atomically(target, data)
    return target


def read_bundle(path: Path) -> tuple[Any, bytes]:
    """(bundle, raw batch body after decompression) — raises SyncError on anything wrong."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SyncError(t("Không đọc được tệp {p}: {e}", p=path, e=e.strerror or e)) from e
    try:
        bundle = decode_bundle(data)
        return bundle, decompress(bundle.batch, bundle.encoding)
    except WireError as e:
        raise SyncError(t("Tệp gói đồng bộ không hợp lệ: {e}", e=e)) from e


def import_bundle(desk: Desk, path: Path) -> ImportResult:
    """Apply another desk's bundle here: signature, chain, then the same path as downloads.

    The signing key is checked against the province trust list when the desk holds one;
    otherwise the first bundle of a desk pins its key (trust on first use) and later bundles
    must carry the same key.
    """
    bundle, plain = read_bundle(path)
    try:
        raw = split_batch(plain)
        env = raw.envelope
        if env.desk != bundle.desk:
            raise WireError(t("Tệp gói ghi sai số hiệu quầy."))
        kid = kid_for(bundle.alg, bundle.public_key)
        verify_message(raw.message, {kid: (bundle.alg, bundle.public_key)})
    except (WireError, InvalidPublicKeyError) as e:
        raise SyncError(t("Tệp gói đồng bộ không hợp lệ: {e}", e=e)) from e
    if env.desk == desk.identity.desk_id:
        raise SyncError(t("Đây là gói của chính quầy này."))
    _check_peer_key(desk, env.desk, bundle.alg, bundle.public_key, kid)
    head = env.prev_head
    for b in raw.bodies:
        head = chain(head, b)
    if head != env.head:
        raise SyncError(t("Chuỗi băm trong tệp gói không khớp phong bì đã ký."))
    with desk.store.read() as db:
        st = db.get(DeskState, env.desk)
        held = st.last_seq if st else 0
        if env.first_seq == held + 1:
            ours = bytes(st.head) if st else GENESIS_HEAD
            if ours != env.prev_head:
                raise SyncError(
                    t("Chuỗi sự kiện của quầy {d} khác chuỗi quầy này đang giữ.", d=env.desk)
                )
    added = apply_foreign(desk, [(env.desk, env.first_seq, env.head, raw.bodies)])
    return ImportResult(env.desk, env.first_seq, env.last_seq, added)


def _check_peer_key(desk: Desk, desk_id: str, alg: int, public_key: bytes, kid: bytes) -> None:
    tl = trust_list(desk)
    if tl is not None:
        entries = [
            e
            for e in tl.entries_for(kid)
            if e.public_key == public_key and e.alg == alg and e.status == "active"
        ]
        if not entries or tl.revocation_time(entries[0]) is not None:
            raise SyncError(
                t("Khóa của quầy {d} không có trong danh sách tin cậy của tỉnh.", d=desk_id)
            )
        if entries[0].commune != desk_id.split("-")[0]:
            raise SyncError(t("Khóa của quầy {d} thuộc xã khác.", d=desk_id))
        return
    key = PEER_KEY_PREFIX + desk_id
    pinned = desk.setting(key)
    value = f"{alg}:{b64e(public_key)}"
    if pinned and pinned != value:
        raise SyncError(
            t("Gói của quầy {d} được ký bằng khóa khác khóa đã ghi nhận trước đây.", d=desk_id)
        )
    if not pinned:
        desk.set_setting(key, value)


# ----------------------------------------------------------------------------- digest


def desk_digest(desk: Desk) -> tuple[int, str]:
    """(dossiers, digest) over every dossier this desk holds, comparable with GET /digest."""
    with desk.store.read() as db:
        rows = db.exec(select(DossierRow)).all()
        pairs = [(r.code, state_json(row_to_state(r))) for r in rows]
    return len(pairs), digest(pairs)


async def server_digest(
    desk: Desk,
    *,
    signer: Signer,
    server_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    url = (server_url or desk.setting(S_URL)).rstrip("/")
    async with httpx.AsyncClient(transport=transport, timeout=30) as client:
        session = _Session(desk, url, signer, SyncOptions(max_attempts=2), client, SyncReport())
        try:
            resp = await session.get_with_retry(lambda: session.signed_get(f"{API}/digest", {}))
        except (_Fatal, _GiveUp) as e:
            raise SyncError(str(e) or t("Máy chủ không trả lời được.")) from e
    data = _json_or_none(resp)
    if resp.status_code != 200 or not isinstance(data, dict):
        raise SyncError(t("Máy chủ không trả lời được (HTTP {s}).", s=resp.status_code))
    return data


__all__ = [
    "EnrollResult",
    "FeedHeader",
    "ImportResult",
    "SyncError",
    "SyncOptions",
    "SyncReport",
    "apply_foreign",
    "desk_digest",
    "desk_signer",
    "enroll",
    "export_bundle",
    "import_bundle",
    "key_path",
    "run_sync",
    "sync_once",
]
