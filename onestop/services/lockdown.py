"""A lost or stolen desk: revocation lock-down, and bounded offline work.

Revocation (the province ran ``onestop server revoke-desk``):

* The server refuses the desk's batches and signed requests with ``403 {"error": "revoked",
  "desk", "revoked_at", "proof"}``, where ``proof`` is a COSE_Sign1 by the server key
  (content type ``onestop-revoked/1``, payload ``{1: desk_id, 2: revoked_at, 3: server_time}``),
  and lists the desk in the server-signed ``revocations`` reference item.
* ``services/sync.py`` hands every server answer to ``observe_response`` (its one hook into
  this module). A revocation counts only when the server key pinned at enrollment signed it:
  the proof in the 403, or the revocations list that sync already stores from the signed
  reference data (setting ``sync_revocations``, read here on every write and status check).
  An unsigned 403 (a proxy, a captive portal, someone on the link) changes nothing, so nobody
  can lock a desk by faking an answer.
* The lock is recorded durably in setting ``lockdown_revoked`` (JSON: when, source, the
  province's revocation time) and never lifted by the desk itself: a revoked key stays revoked;
  the province enrolls a new desk (and may restore a backup onto it, ``--replace-desk``).
* Locked means: every write is refused with a Vietnamese message telling the clerk to contact
  the province — intake, every lifecycle action (``Desk._append`` calls ``check_append``),
  signing receipts and slips (``receipts.issue_receipt`` and ``slip_signature`` call
  ``check_signing``). Reading stays possible on purpose: citizens still come and ask where
  their dossier is, and the records are evidence the province will want; printing an
  *unsigned* slip is reading, and so is ``onestop backup`` (the data must be recoverable).

Bounded offline (enrolled desks only; a standalone desk that was never enrolled has no
province to reach, so it is never warned nor blocked):

* settings ``offline_warn_days`` (default 7) and ``offline_block_days`` (default 30) count from
  the last successful sync (``last_sync_ok_at``, written by sync after a run without error;
  before the first one, the enrollment time);
* past the warn limit ``offline_state`` reports ``warn`` with a message for the TUI footer and
  dashboard; past the block limit, ``blocked``: new intakes (``receive``) are refused until a
  sync succeeds or an admin unlocks for N days (``onestop desk unlock-offline --days N``).
  Everything else goes on — lifecycle steps, payments, returning results, refusing an intake
  with a slip — so the dossiers already received still meet their legal deadlines;
* an unlock is recorded with who, role and when in settings ``offline_unlocked_until`` and
  the append-only JSON list ``offline_unlock_log``. Not an event: events belong to a dossier
  and are replayed by the lifecycle on every desk and the server; a desk-level kind would need
  every replay path to skip it. The settings travel with backups like the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from sqlmodel import select

from onestop.crypto.trust import Revocation, TrustList
from onestop.domain.events import EventKind, from_epoch
from onestop.domain.roles import Permission
from onestop.i18n import t
from onestop.services.base import DeskError
from onestop.services.setting_keys import (
    S_BLOCK,
    S_ENROLLED_AT,
    S_LAST_AT,
    S_LAST_ERROR,
    S_LAST_OK_AT,
    S_LOCK,
    S_REVOCATIONS,
    S_SERVER_ALG,
    S_SERVER_KEY,
    S_UNLOCK_LOG,
    S_UNLOCKED_UNTIL,
    S_WARN,
)
from onestop.store.counters import read_settings
from onestop.store.models import Setting
from onestop.store.rawsql import Tx
from onestop.wire.messages import REVOKED_CT

if TYPE_CHECKING:  # the desk calls this module; at run time it is only passed in
    from onestop.services.desk import Desk


DEFAULT_WARN_DAYS: Final = 7
DEFAULT_BLOCK_DAYS: Final = 30
MAX_UNLOCK_DAYS: Final = 30


class DeskLockedError(DeskError):
    """The province revoked this desk: writes and signing are refused (message says so)."""


class OfflineBlockedError(DeskError):
    """Too long without a successful sync: new intakes are refused (message says so)."""


# ----------------------------------------------------------------------------- revocation


@dataclass(frozen=True)
class LockState:
    """Why this desk is locked: ``source`` is ``server`` (a signed 403) or ``revocations``."""

    locked_at: str
    source: str
    revoked_at: int | None

    @property
    def revoked_at_text(self) -> str:
        if self.revoked_at is None:
            return "?"
        return f"{from_epoch(self.revoked_at):%H:%M %d/%m/%Y}"

    def message(self, desk_id: str) -> str:
        return t(
            "Quầy {d} đã bị tỉnh thu hồi quyền hoạt động (từ {when}): không tiếp nhận, xử lý "
            "hay ký biên nhận được nữa; vẫn xem và tra cứu hồ sơ được. Hãy liên hệ Văn phòng "
            "UBND tỉnh (bộ phận quản lý hệ thống một cửa) để được hướng dẫn.",
            d=desk_id,
            when=self.revoked_at_text,
        )


def _lock_from_settings(values: dict[str, str]) -> LockState | None:
    raw = values.get(S_LOCK, "")
    if not raw:
        return None
    try:
        data = json.loads(raw)
        revoked = data.get("revoked_at")
        return LockState(
            str(data.get("locked_at", "")),
            str(data.get("source", "")),
            int(revoked) if isinstance(revoked, int) else None,
        )
    except (ValueError, AttributeError):
        # A damaged record still means "locked": failing open would defeat the lock.
        return LockState("", "?", None)


@dataclass(frozen=True)
class DeskRevocation:
    """One row of the server-signed ``revocations`` list: desk, its key id, when (0: unknown)."""

    desk: str
    kid: bytes | None
    revoked_at: int


def _parse_revocations(raw: str) -> list[DeskRevocation]:
    """The rows of setting ``sync_revocations`` (written by sync from the signed reference
    item); rows that do not parse are skipped, a damaged setting reads as no row."""
    try:
        rows = json.loads(raw or "[]")
    except ValueError:
        return []
    out: list[DeskRevocation] = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or not isinstance(row.get("desk"), str):
            continue
        try:
            kid: bytes | None = bytes.fromhex(str(row.get("kid", "")))
        except ValueError:
            kid = None
        at = row.get("revoked_at")
        out.append(DeskRevocation(row["desk"], kid or None, at if isinstance(at, int) else 0))
    return out


def downloaded_revocations(desk: Desk) -> list[DeskRevocation]:
    """Every desk the province revoked, as this desk last downloaded it (server-signed)."""
    with desk.store.read() as db:
        row = db.get(Setting, S_REVOCATIONS)
        return _parse_revocations(row.value if row is not None else "")


def _own_revocation(values: dict[str, str], desk_id: str) -> int | None:
    """The revocation time of this desk in the downloaded (server-signed) revocations list."""
    return _revocation_in(values.get(S_REVOCATIONS, ""), desk_id)


# Every event's append looks itself up in the list (check_append): parsed once per stored text,
# not per event. The key is the whole text, so a list sync rewrote is parsed afresh.
@lru_cache(maxsize=8)
def _revocation_in(raw: str, desk_id: str) -> int | None:
    for row in _parse_revocations(raw):
        if row.desk == desk_id:
            return row.revoked_at
    return None


def _settings(desk: Desk) -> dict[str, str]:
    with desk.store.read() as db:
        return {s.key: s.value for s in db.exec(select(Setting)).all()}


def _record_lock(desk: Desk, source: str, revoked_at: int | None) -> LockState:
    state = LockState(desk.clock().isoformat(timespec="seconds"), source, revoked_at)
    value = json.dumps(
        {"locked_at": state.locked_at, "source": source, "revoked_at": revoked_at},
        ensure_ascii=False,
    )
    with desk.store.write() as db:
        if db.get(Setting, S_LOCK) is None:
            db.add(Setting(key=S_LOCK, value=value))
    return state


def lock_state(desk: Desk) -> LockState | None:
    """The desk's revocation lock, or None. Also turns a revocations-list entry into a lock."""
    values = _settings(desk)
    found = _lock_from_settings(values)
    if found is not None:
        return found
    revoked = _own_revocation(values, desk.identity.desk_id)
    if revoked is not None:
        return _record_lock(desk, "revocations", revoked or None)
    return None


def _server_keys(values: dict[str, str]) -> dict[bytes, tuple[int, bytes]]:
    from onestop.crypto.signer import kid_for
    from onestop.wire.base import b64d

    alg, pub = values.get(S_SERVER_ALG, ""), values.get(S_SERVER_KEY, "")
    if not alg or not pub:
        return {}
    public = b64d(pub)
    return {kid_for(int(alg), public): (int(alg), public)}


def observe_response(desk: Desk, status: int, body: bytes) -> None:
    """Hook for every server answer (``sync._Session.send``): a signed revocation locks.

    Never raises: a malformed answer is the sync code's business, not ours.
    """
    if status != 403 or b"revoked" not in body:
        return
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or data.get("error") != "revoked":
            return
        proof = data.get("proof")
        if not isinstance(proof, str):
            return
        from onestop.wire.base import WireError, b64d, loads_strict
        from onestop.wire.messages import open_signed

        values = _settings(desk)
        keys = _server_keys(values)
        if not keys:
            return
        try:
            _msg, payload = open_signed(b64d(proof), REVOKED_CT, keys)
            claims = loads_strict(payload, "revoked", max_depth=2)
        except WireError:
            return
        if not isinstance(claims, dict) or claims.get(1) != desk.identity.desk_id:
            return
        revoked_at = claims.get(2)
        if _lock_from_settings(values) is None:
            _record_lock(desk, "server", revoked_at if isinstance(revoked_at, int) else None)
    except (ValueError, TypeError, UnicodeDecodeError):
        return


_GUARD_KEYS: Final = (S_LOCK, S_REVOCATIONS)
_OFFLINE_KEYS: Final = (
    S_LAST_OK_AT,
    S_WARN,
    S_BLOCK,
    S_UNLOCKED_UNTIL,
    S_UNLOCK_LOG,
    S_SERVER_KEY,
    S_ENROLLED_AT,
    S_LAST_AT,
    S_LAST_ERROR,
)


def _read_keys(db: Tx, keys: tuple[str, ...]) -> dict[str, str]:
    # One plain SELECT on the transaction's DB-API connection (store/counters.py): no ORM
    # autoflush, no identity map. Eleven ``db.get`` calls cost 1.9 ms per intake.
    return read_settings(db, keys)


def check_append(desk: Desk, db: Tx, kind: EventKind) -> None:
    """Called by ``Desk._append`` inside the write transaction, before any event is added."""
    receiving = kind == EventKind.RECEIVE
    values = _read_keys(db, _GUARD_KEYS + _OFFLINE_KEYS if receiving else _GUARD_KEYS)
    desk_id = desk.identity.desk_id
    lock = _lock_from_settings(values)
    if lock is None:
        at = _own_revocation(values, desk_id)
        if at is not None:
            lock = LockState("", "revocations", at or None)
    if lock is not None:
        raise DeskLockedError(lock.message(desk_id))
    if receiving:
        offline = _offline_from(values, desk.clock())
        if offline.blocks_intake:
            raise OfflineBlockedError(offline.message)


def with_downloaded_revocations(desk: Desk, tl: TrustList) -> TrustList:
    """``tl`` plus the revocations of the server-signed list the desk downloaded by sync.

    The root-signed trust list is re-issued by the province when it can (the root key is kept
    offline); ``revoke-desk`` on the server takes effect at once in the ``revocations`` item,
    signed by the server key pinned at enrollment. Adding revocations can only make receipts
    fail, never pass, so taking them from the server key grants it nothing. Used by the desk's
    own ``onestop verify --db``, receipt signing and bundle checks (``receipts.trust_bundle``).
    """
    extra: list[Revocation] = []
    for row in downloaded_revocations(desk):
        try:
            if row.kid is not None:
                extra.append(Revocation(kid=row.kid, revoked_at=row.revoked_at))
        except ValueError:  # not an 8-byte kid
            continue
    known = {(r.kid, r.revoked_at) for r in tl.revocations}
    new = tuple(r for r in extra if (r.kid, r.revoked_at) not in known)
    return replace(tl, revocations=tl.revocations + new) if new else tl


def check_signing(desk: Desk) -> None:
    """Called before the desk key signs anything (receipt QR, signed slip)."""
    lock = lock_state(desk)
    if lock is not None:
        raise DeskLockedError(lock.message(desk.identity.desk_id))


# ----------------------------------------------------------------------------- bounded offline


class OfflineLevel(StrEnum):
    STANDALONE = "standalone"  # never enrolled: no province to reach, no limit
    OK = "ok"
    WARN = "warn"
    BLOCKED = "blocked"
    UNLOCKED = "unlocked"  # past the block limit, but an admin allowed intakes until a date


@dataclass(frozen=True)
class OfflineState:
    """For the TUI footer and dashboard: show ``message`` when ``level`` is not ok/standalone."""

    level: OfflineLevel
    days_offline: int | None
    last_sync_ok: datetime | None
    warn_days: int
    block_days: int
    unlocked_until: datetime | None
    message: str

    @property
    def blocks_intake(self) -> bool:
        return self.level is OfflineLevel.BLOCKED

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "days_offline": self.days_offline,
            "last_sync_ok": self.last_sync_ok.isoformat(sep=" ") if self.last_sync_ok else None,
            "warn_days": self.warn_days,
            "block_days": self.block_days,
            "unlocked_until": self.unlocked_until.isoformat(sep=" ")
            if self.unlocked_until
            else None,
            "blocks_intake": self.blocks_intake,
            "message": self.message,
        }


def _dt(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _days(raw: str | None, default: int) -> int:
    return int(raw) if raw and raw.isdigit() and int(raw) >= 1 else default


def _last_ok(values: dict[str, str]) -> datetime | None:
    candidates = [_dt(values.get(S_LAST_OK_AT)), _dt(values.get(S_ENROLLED_AT))]
    if values.get(S_LAST_AT) and not values.get(S_LAST_ERROR):
        candidates.append(_dt(values.get(S_LAST_AT)))
    found = [c for c in candidates if c is not None]
    return max(found) if found else None


def _offline_from(values: dict[str, str], now: datetime) -> OfflineState:
    warn = _days(values.get(S_WARN), DEFAULT_WARN_DAYS)
    block = max(warn, _days(values.get(S_BLOCK), DEFAULT_BLOCK_DAYS))
    if not values.get(S_SERVER_KEY):
        return OfflineState(OfflineLevel.STANDALONE, None, None, warn, block, None, "")
    last = _last_ok(values)
    if last is None:  # enrolled before enrollment time was recorded: count from now on
        return OfflineState(OfflineLevel.OK, 0, None, warn, block, None, "")
    elapsed = now - last
    days = max(0, elapsed.days)
    when = f"{last:%H:%M %d/%m/%Y}"
    unlocked = _dt(values.get(S_UNLOCKED_UNTIL))
    if unlocked is not None and unlocked <= now:
        unlocked = None
    if elapsed > timedelta(days=block):
        if unlocked is not None:
            who = _last_unlock_by(values)
            return OfflineState(
                OfflineLevel.UNLOCKED,
                days,
                last,
                warn,
                block,
                unlocked,
                t(
                    "Quầy đã {n} ngày không đồng bộ với tỉnh (lần cuối {when}); {who} cho phép "
                    "tiếp tục tiếp nhận đến {until}. Hãy đồng bộ sớm.",
                    n=days,
                    when=when,
                    who=who,
                    until=f"{unlocked:%H:%M %d/%m/%Y}",
                ),
            )
        return OfflineState(
            OfflineLevel.BLOCKED,
            days,
            last,
            warn,
            block,
            None,
            t(
                "Quầy đã {n} ngày không đồng bộ với máy chủ tỉnh (lần cuối {when}, giới hạn "
                "{b} ngày): tạm ngừng tiếp nhận hồ sơ mới cho đến khi đồng bộ thành công hoặc "
                "quản trị viên mở tạm («onestop desk unlock-offline --days N»). Hồ sơ đã nhận "
                "vẫn xử lý và trả kết quả bình thường.",
                n=days,
                when=when,
                b=block,
            ),
        )
    if elapsed > timedelta(days=warn):
        return OfflineState(
            OfflineLevel.WARN,
            days,
            last,
            warn,
            block,
            unlocked,
            t(
                "Quầy đã {n} ngày chưa đồng bộ với máy chủ tỉnh (lần cuối {when}). Sau {b} "
                "ngày quầy sẽ ngừng tiếp nhận hồ sơ mới; hãy kết nối mạng và đồng bộ.",
                n=days,
                when=when,
                b=block,
            ),
        )
    return OfflineState(OfflineLevel.OK, days, last, warn, block, unlocked, "")


def _unlock_log(values: dict[str, str]) -> list[dict[str, Any]]:
    try:
        log = json.loads(values.get(S_UNLOCK_LOG, "") or "[]")
    except ValueError:
        return []
    return [e for e in log if isinstance(e, dict)] if isinstance(log, list) else []


def _last_unlock_by(values: dict[str, str]) -> str:
    log = _unlock_log(values)
    return str(log[-1].get("by", "")) if log else t("quản trị viên")


def offline_state(desk: Desk, now: datetime) -> OfflineState:
    """Where the desk stands on bounded offline work at ``now`` (for the TUI footer)."""
    return _offline_from(_settings(desk), now)


def unlock_offline(desk: Desk, days: int, now: datetime) -> OfflineState:
    """An admin allows new intakes for ``days`` more days although the desk is past the limit.

    Recorded with who, role and when (setting ``offline_unlock_log``, append-only)."""
    desk.require(Permission.OFFLINE)
    if not 1 <= days <= MAX_UNLOCK_DAYS:
        raise DeskError(t("Số ngày mở tạm phải từ 1 đến {m}.", m=MAX_UNLOCK_DAYS))
    lock = lock_state(desk)
    if lock is not None:
        raise DeskLockedError(lock.message(desk.identity.desk_id))
    until = now + timedelta(days=days)
    with desk.store.write() as db:
        row = db.get(Setting, S_UNLOCK_LOG)
        log = _unlock_log({S_UNLOCK_LOG: row.value}) if row is not None else []
        log.append(
            {
                "by": desk.actor,
                "role": ",".join(desk.roles),
                "at": now.isoformat(timespec="seconds"),
                "days": days,
                "until": until.isoformat(timespec="seconds"),
            }
        )
        db.merge(Setting(key=S_UNLOCK_LOG, value=json.dumps(log, ensure_ascii=False)))
        db.merge(Setting(key=S_UNLOCKED_UNTIL, value=until.isoformat(timespec="seconds")))
    return offline_state(desk, now)


def set_offline_limits(desk: Desk, warn_days: int, block_days: int) -> None:
    """Province policy for this desk (admin only): warn and block limits in days."""
    desk.require(Permission.OFFLINE)
    if not 1 <= warn_days <= block_days <= 365:
        raise DeskError(t("Cần 1 ≤ số ngày cảnh báo ≤ số ngày ngừng tiếp nhận ≤ 365."))
    with desk.store.write() as db:
        db.merge(Setting(key=S_WARN, value=str(warn_days)))
        db.merge(Setting(key=S_BLOCK, value=str(block_days)))


def unlock_history(desk: Desk) -> list[dict[str, Any]]:
    return _unlock_log(_settings(desk))
