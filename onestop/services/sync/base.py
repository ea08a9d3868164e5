"""What every part of the desk's sync shares: its error, its options and report, and how a
failed request is described to the clerk."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

from onestop.i18n import t
from onestop.services.base import DeskError
from onestop.store.engine import SQLITE_FULL, sqlite_code
from onestop.wire import version
from onestop.wire.base import MAX_BATCH_EVENTS, MAX_PLAIN_BYTES
from onestop.wire.messages import (
    Ack,
)

PassphraseProvider = Callable[[], str]


SKEW_LIMIT_S = 5 * 60


class SyncError(DeskError):
    """A sync problem the clerk (or the province) must act on; message in Vietnamese."""


@dataclass
class SyncOptions:
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_attempts: int = 6  # consecutive transient failures before this run gives up
    base_delay: float = 0.5
    max_delay: float = 60.0
    # The first batch of a desk's first run (later runs start where the last one left the
    # size, setting sync_batch_size): ~2.5 kB, a few seconds even on a 9.6 kbit/s line.
    start_batch: int = 100
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
    error_kind: str | None = None  # FailureKind value of ``error``
    recorded: bool = True  # False: even writing the outcome to the desk failed (disk full)
    # Size of every batch POST of this run, in order, and how many of them timed out: the
    # adaptive batch size at work (halved on a timeout, doubled on an ack).
    batch_sizes: list[int] = field(default_factory=list)
    timeouts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    def fail(self, found: Failure | None) -> None:
        """Record ``found`` as this run's error (``None``: clear it)."""
        self.error = found.message if found is not None else None
        self.error_kind = found.kind.value if found is not None else None

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
            "error_kind": self.error_kind,
            "recorded": self.recorded,
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


# ---------------------------------------------------------------------------- why a run failed
#
# ONE classifier: every failure of a run (an exception, an HTTP answer, a full disk) becomes a
# ``Failure``: a stable ``kind`` for programs (``SyncReport.error_kind``, the runs list, ``onestop
# desk status --json``) and one plain Vietnamese sentence that says what happened and what the
# clerk should do. No exception class name and no bare status code ever reaches the clerk.
# Only ``REFUSED`` (a verdict the pinned server key signed) and ``REVOKED`` (a signed revocation)
# hold this desk's events back; everything else is retried by the next run.


class FailureKind(StrEnum):
    NO_LINK = "no_link"  # no network, name not found, connect timed out
    LINK_DROPPED = "link_dropped"  # cut mid-transfer, read/write timeout, incomplete answer
    SERVER_DOWN = "server_down"  # 502/503/504 (proxy in front of a stopped server), refused
    SERVER_ERROR = "server_error"  # 500 and other unexpected statuses
    LOGIN_PAGE = "login_page"  # captive portal: HTML (200 or a redirect) where CBOR was due
    BAD_ANSWER = "bad_answer"  # not signed by the pinned key: damaged in flight or not ours
    REFUSED_UNSIGNED = "refused_unsigned"  # a 4xx refusal with no signature: retried next run
    REFUSED = "refused"  # a verdict signed by the server: holds events back
    REVOKED = "revoked"  # a signed revocation: holds events back, the desk locks itself
    CLOCK = "clock_skew"  # the desk clock is too far off for the server to take its token
    DISK_FULL = "disk_full"  # SQLITE_FULL / ENOSPC while storing what the server sent
    TOO_LARGE = "too_large"  # the server's answer passed MAX_PLAIN_BYTES (bomb or not ours)
    BUSY = "busy"  # another sync of this desk is running
    LOCAL = "local"  # this desk's own log is incomplete
    FILE_INCOMPLETE = "file_incomplete"  # a bundle file cut short or damaged: copy it again
    VERSION = "version"  # 426: desk and server protocols too far apart (wire/version.py)


HOLDING_KINDS: frozenset[FailureKind] = frozenset({FailureKind.REFUSED, FailureKind.REVOKED})


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    message: str  # Vietnamese (or the current language): what happened, then what to do

    @property
    def holds_back(self) -> bool:
        return self.kind in HOLDING_KINDS


def _clip(text: object, n: int = 200) -> str:
    return " ".join(str(text).split())[:n]


def failure(kind: FailureKind, detail: str = "") -> Failure:
    """The sentence of ``kind``; ``detail`` (a server's own words, or a signed verdict's reason)
    goes where the sentence has room for it."""
    k = FailureKind
    if kind is k.NO_LINK:
        msg = t(
            "Không liên lạc được máy chủ tỉnh. Kiểm tra mạng (cáp, Wi-Fi, 3G/4G) rồi đồng bộ "
            "lại: máy chưa có mạng hoặc không tìm thấy địa chỉ máy chủ nên không kết nối được. "
            "Quầy vẫn làm việc bình thường; sự kiện được giữ trên quầy và tự gửi khi có mạng."
        )
    elif kind is k.LINK_DROPPED:
        msg = t(
            "Đường truyền bị ngắt giữa chừng hoặc hết thời gian chờ (mạng chập chờn hoặc quá "
            "chậm). Không cần làm gì: sự kiện chưa được máy chủ xác nhận sẽ tự gửi lại; nếu "
            "lặp lại nhiều lần, hãy đồng bộ khi mạng ổn định hơn."
        )
    elif kind is k.SERVER_DOWN:
        msg = t(
            "Máy chủ tỉnh đang tạm ngừng, bảo trì hoặc quá tải nên không phản hồi đúng (đường "
            "mạng vẫn tới được). Không cần làm gì: quầy sẽ tự thử lại; nếu kéo dài quá một "
            "ngày, hãy báo cán bộ kỹ thuật của tỉnh."
        )
    elif kind is k.SERVER_ERROR:
        msg = t(
            "Máy chủ tỉnh gặp lỗi khi xử lý nên không phản hồi đúng; chưa có gì được ghi nhận. "
            "Không cần làm gì: quầy sẽ gửi lại; nếu lặp lại nhiều lần, hãy báo cán bộ kỹ "
            "thuật của tỉnh."
        )
    elif kind is k.LOGIN_PAGE:
        msg = t(
            "Một trang đăng nhập mạng (Wi-Fi công cộng, nhà mạng, proxy) đang chặn đường tới "
            "máy chủ tỉnh: phản hồi không phải xác nhận hợp lệ nên chưa sự kiện nào được tính "
            "là đã gửi. Mở trình duyệt để đăng nhập mạng (hoặc dùng mạng khác), rồi đồng bộ lại."
        )
    elif kind is k.BAD_ANSWER:
        msg = t(
            "Câu trả lời nhận được không có chữ ký hợp lệ của máy chủ tỉnh (phản hồi không "
            "phải xác nhận hợp lệ: bị hỏng trên đường truyền, hoặc không phải máy chủ tỉnh) nên "
            "không được tính. Không cần làm gì: quầy sẽ gửi lại; nếu lặp lại, hãy kiểm tra "
            "địa chỉ máy chủ và mạng."
        )
    elif kind is k.REFUSED_UNSIGNED:
        msg = t(
            "Lô sự kiện bị báo là không hợp lệ nhưng câu trả lời không có chữ ký của máy chủ "
            "tỉnh, thường do dữ liệu bị hỏng trên đường truyền{detail}. Không sự kiện nào bị "
            "giữ lại: quầy sẽ gửi lại ở lần đồng bộ sau; nếu lặp lại nhiều lần, hãy báo cán bộ "
            "kỹ thuật của tỉnh.",
            detail=t(" (máy chủ ghi: «{m}»)", m=_clip(detail)) if detail else "",
        )
    elif kind is k.REFUSED:
        msg = t(
            "Máy chủ từ chối (có chữ ký của máy chủ tỉnh): {m} Các sự kiện chưa gửi được giữ "
            "lại trên quầy cho đến khi tỉnh xử lý; hãy liên hệ cán bộ tỉnh.",
            m=detail.rstrip(".") + ".",
        )
    elif kind is k.REVOKED:
        msg = t(
            "Máy chủ từ chối: tỉnh đã thu hồi quầy này (có chữ ký của máy chủ tỉnh). Quầy "
            "ngừng tiếp nhận và ký hồ sơ mới; các sự kiện chưa gửi được giữ lại. Hãy liên hệ "
            "cán bộ tỉnh."
        )
    elif kind is k.CLOCK:
        msg = t(
            "Đồng hồ của máy này lệch quá xa giờ máy chủ tỉnh nên máy chủ không nhận chữ ký "
            "của quầy. Chỉnh lại ngày, giờ và múi giờ của máy tính rồi đồng bộ lại."
        )
    elif kind is k.DISK_FULL:
        msg = t(
            "Ổ đĩa đã đầy: không ghi được dữ liệu đồng bộ vào quầy. Hãy giải phóng dung lượng "
            "rồi thử lại (xóa tệp tạm, chuyển bản sao lưu cũ sang USB); dữ liệu đã có trên quầy "
            "không bị mất."
        )
    elif kind is k.TOO_LARGE:
        msg = t(
            "Câu trả lời của máy chủ lớn quá mức cho phép ({n} MB) nên đã bị bỏ: có thể không "
            "phải máy chủ tỉnh. Kiểm tra địa chỉ máy chủ; nếu lặp lại, hãy báo cán bộ kỹ thuật "
            "của tỉnh.",
            n=MAX_PLAIN_BYTES // (1024 * 1024),
        )
    elif kind is k.BUSY:
        msg = t("Một phiên đồng bộ khác của quầy này đang chạy.")
    elif kind is k.FILE_INCOMPLETE:
        msg = t(
            "Tệp gói không đầy đủ hoặc bị hỏng (có thể chép chưa xong). Hãy chép lại tệp từ máy "
            "gốc sang USB rồi nhập lại."
        )
    elif kind is k.VERSION:
        # wire/version.py's sentence: which side to update, to which release.
        msg = detail or t(
            "Máy chủ tỉnh không nhận phiên bản onestop của quầy. Hãy cập nhật onestop lên "
            "phiên bản mới nhất."
        )
    else:  # LOCAL
        msg = detail or t("Nhật ký sự kiện của quầy bị thiếu; liên hệ tỉnh.")
    return Failure(kind, msg)


def _causes(e: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [e]
    while todo:
        x = todo.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        yield x
        todo.extend(c for c in (x.__cause__, x.__context__) if c is not None)
        if isinstance(x, BaseExceptionGroup):
            todo.extend(x.exceptions)


def classify_exception(e: BaseException) -> Failure:
    """A request that got no complete answer: no link, server down, or the link dropped."""
    if is_disk_full(e):
        return failure(FailureKind.DISK_FULL)
    if isinstance(e, (httpx.ConnectTimeout, httpx.ConnectError)):
        # Connection refused: the link works and the machine answered, nobody listens there.
        if any(isinstance(c, ConnectionRefusedError) for c in _causes(e)):
            return Failure(
                FailureKind.SERVER_DOWN,
                t(
                    "Không liên lạc được máy chủ tỉnh. Kiểm tra mạng và địa chỉ máy chủ: máy "
                    "tới được địa chỉ đó nhưng máy chủ không nhận kết nối (không kết nối được), "
                    "có thể máy chủ đang tắt hoặc bảo trì. Quầy sẽ tự thử lại; nếu kéo dài quá "
                    "một ngày, hãy báo cán bộ kỹ thuật của tỉnh."
                ),
            )
        return failure(FailureKind.NO_LINK)
    if isinstance(e, httpx.DecodingError):
        return failure(FailureKind.BAD_ANSWER)
    if isinstance(e, (httpx.TimeoutException, httpx.TransportError)):
        return failure(FailureKind.LINK_DROPPED)
    if isinstance(e, httpx.HTTPError):
        return failure(FailureKind.LINK_DROPPED)
    return failure(FailureKind.SERVER_ERROR)


def _looks_like_page(resp: httpx.Response) -> bool:
    ctype = resp.headers.get("content-type", "").lower()
    head = resp.content[:512].lstrip().lower() if _was_read(resp) else b""
    return "html" in ctype or head.startswith((b"<!doctype", b"<html", b"<?xml", b"<"))


def _was_read(resp: httpx.Response) -> bool:
    try:
        resp.content  # noqa: B018  (raises before the body is read)
    except httpx.ResponseNotRead:
        return False
    return True


def classify_response(resp: httpx.Response, *, expected: str = "cbor") -> Failure:
    """An answer that is not the signed one we wanted (``expected``: what a success carries).

    Success-looking answers (2xx, 3xx) that do not open with the pinned key are a login page
    when they look like one, else a damaged or foreign answer; 4xx are unsigned refusals
    (retried next run) unless the caller found a signature; 5xx is the server side.
    """
    status = resp.status_code
    data = _json_or_none(resp) if _was_read(resp) else None
    message = data.get("message", "") if isinstance(data, dict) else ""
    if 300 <= status < 400 and status != 304:
        return failure(FailureKind.LOGIN_PAGE)  # portals redirect to their login page
    if 200 <= status < 300:
        if _looks_like_page(resp):
            return failure(FailureKind.LOGIN_PAGE)
        return failure(FailureKind.BAD_ANSWER)
    if status == 401 and isinstance(data, dict) and data.get("error") == "stale_auth":
        return failure(FailureKind.CLOCK)
    if status == 426:
        said = str(message) if message else ""
        return failure(
            FailureKind.VERSION,
            version.refusal_seen_by_desk(resp.headers.get(version.HEADER), said),
        )
    if status in (502, 503, 504, 429, 408):
        return failure(FailureKind.SERVER_DOWN)
    if 400 <= status < 500:
        return failure(FailureKind.REFUSED_UNSIGNED, str(message or ""))
    return failure(FailureKind.SERVER_ERROR)


def is_disk_full(e: BaseException) -> bool:
    """SQLite's SQLITE_FULL (plain or SQLCipher, wrapped by SQLAlchemy or not) or ENOSPC."""
    return any(
        (isinstance(c, OSError) and c.errno in (errno.ENOSPC, errno.EDQUOT))
        or sqlite_code(c) == SQLITE_FULL
        for c in _causes(e)
    )


class _Fatal(Exception):
    """Stop this run: retrying now cannot help. A bare message is a verdict the server signed
    (``REFUSED``: it holds events back); any other ``Failure`` stops the run and the next run
    tries again."""

    def __init__(self, found: Failure | str, kind: FailureKind = FailureKind.REFUSED) -> None:
        self.failure = found if isinstance(found, Failure) else failure(kind, found)
        super().__init__(self.failure.message)


class _GiveUp(Exception):
    """Too many consecutive transient failures in this run."""


@dataclass
class _Outcome:
    kind: str  # ack | gap | encoding | transient | stop (the run ends: see ``failure``)
    ack: Ack | None = None
    failure: Failure | None = None
    timeout: bool = False


def _describe(e: BaseException) -> str:
    """A few words for a request that failed (enrollment's message); never a class name."""
    if isinstance(e, httpx.TimeoutException):
        return t("hết thời gian chờ")
    if isinstance(e, httpx.ConnectError):
        return t("không kết nối được")
    return t("đường truyền bị ngắt giữa chừng")


def _json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except (ValueError, UnicodeDecodeError):
        return None
