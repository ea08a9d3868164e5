"""What every part of the desk's sync shares: its error, its options and report, and how a
failed request is described to the clerk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from onestop.i18n import t
from onestop.services.base import DeskError
from onestop.wire.base import MAX_BATCH_EVENTS
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
