"""What the desk knows about its sync with the province, for the desk's footer and sync screen.

Read-only: everything here comes from the Settings rows ``services/sync.py`` writes at the end
of every run (``last_sync_at``, ``last_sync_ok_at``, ``last_sync_error``, ``sync_clock_skew``,
``sync_runs``, ``sync_held``) and from the event log (events waiting). No network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onestop.services import setting_keys
from onestop.services.desk import Desk
from onestop.services.keys import ReceiptError, desk_key_info
from onestop.services.sync import base as sync_base
from onestop.services.sync.conflicts import Conflict, list_conflicts

__all__ = ["Conflict", "HeldBack", "SyncRun", "SyncStatus", "conflicts", "sync_status"]


@dataclass(frozen=True)
class SyncRun:
    """One past run: when, whether it ended well, what moved and how many bytes it cost."""

    at: datetime | None
    ok: bool
    error: str
    sent_events: int
    received_events: int
    bytes_up: int
    bytes_down: int
    duration_s: float
    error_kind: str = ""  # services.sync.base.FailureKind value; "" when ok or not recorded


@dataclass(frozen=True)
class HeldBack:
    """Events of this desk the server refused for good: held back until the cause is fixed.

    ``first_seq > last_seq`` means nothing of ours was held: the refusal concerned what the
    desk was receiving (other desks' events, reference data)."""

    since: datetime | None
    at: datetime | None
    first_seq: int
    last_seq: int
    reason: str

    @property
    def count(self) -> int:
        return max(0, self.last_seq - self.first_seq + 1)


@dataclass(frozen=True)
class SyncStatus:
    enrolled: bool
    server_url: str
    enrolled_at: datetime | None
    has_key: bool  # the desk has a signing key on disk (needed to sign batches)
    waiting: int  # events of this desk not yet acknowledged by the province
    last_attempt_at: datetime | None
    last_ok_at: datetime | None  # a run that ended well; never the enrollment time
    last_error: str  # of the last run; "" when it ended well
    skew_s: int | None  # server clock minus desk clock at the last run that heard the server
    runs: tuple[SyncRun, ...]  # newest first
    held: tuple[HeldBack, ...]
    last_error_kind: str = ""  # FailureKind value of ``last_error`` ("" if none or unknown)

    @property
    def skew_flagged(self) -> bool:
        return self.skew_s is not None and abs(self.skew_s) > sync_base.SKEW_LIMIT_S


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _rows(desk: Desk, key: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(desk.setting(key) or "[]")
    except ValueError:
        return []
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def sync_status(desk: Desk) -> SyncStatus:
    """The sync state as recorded on this desk (cheap: a few Settings rows and one count)."""
    url = desk.setting(setting_keys.S_URL)
    enrolled = bool(url and desk.setting(setting_keys.S_SERVER_KEY))
    try:
        has_key = desk_key_info(desk) is not None
    except ReceiptError:
        has_key = True  # a damaged key file is reported when it is unlocked, in plain words
    skew_text = desk.setting(setting_keys.S_SKEW)
    runs = tuple(
        SyncRun(
            at=_when(r.get("at")),
            ok=bool(r.get("ok")),
            error=str(r.get("error") or ""),
            sent_events=_int(r.get("sent_events")),
            received_events=_int(r.get("received_events")),
            bytes_up=_int(r.get("bytes_up")),
            bytes_down=_int(r.get("bytes_down")),
            duration_s=float(r.get("duration_s") or 0.0),
            error_kind=str(r.get("error_kind") or ""),
        )
        for r in reversed(_rows(desk, setting_keys.S_RUNS))
    )
    held = tuple(
        HeldBack(
            since=_when(h.get("since")),
            at=_when(h.get("at")),
            first_seq=_int(h.get("first_seq")),
            last_seq=_int(h.get("last_seq")),
            reason=str(h.get("reason") or ""),
        )
        for h in _rows(desk, setting_keys.S_HELD)
    )
    last_error = desk.setting(setting_keys.S_LAST_ERROR)
    newest = runs[0] if runs else None
    kind = newest.error_kind if newest is not None and newest.error == last_error else ""
    return SyncStatus(
        enrolled=enrolled,
        server_url=url,
        enrolled_at=_when(desk.setting(setting_keys.S_ENROLLED_AT)),
        has_key=has_key,
        waiting=desk.outbox_size(),
        last_attempt_at=_when(desk.setting(setting_keys.S_LAST_AT)),
        last_ok_at=_when(desk.setting(setting_keys.S_LAST_OK_AT)),
        last_error=last_error,
        skew_s=int(skew_text) if skew_text.lstrip("-").isdigit() else None,
        runs=runs,
        held=held,
        last_error_kind=kind if last_error else "",
    )


def conflicts(desk: Desk) -> list[Conflict]:
    """Concurrent-action conflicts flagged by sync on this desk (``services/conflicts.py``),
    newest first, seen or not."""
    return list_conflicts(desk)
