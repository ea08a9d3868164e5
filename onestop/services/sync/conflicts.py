"""Conflicting concurrent actions: two desks acted on one dossier without seeing each other.

Each dossier has an owner desk and the lifecycle allows few actions at a time, so this is rare
(ARCHITECTURE: "never silently dropped when they happen"). Both actions stay in the log and
every machine folds them in the same (hlc, desk, seq) order, so desks and server still agree;
but the agreed outcome may not be what one of the clerks did (two forwards to different
people: one is overridden; a payment recorded on both desks: counted twice). Those cases are
flagged to a person.

**Detection** runs on the desk receiving other desks' events (``sync.apply_foreign``, inside
its transaction). A received event F is new here, so this desk had not seen it when it did its
own action O on the same dossier. The other desk had not seen O when it did F if O sorts after
F (``O.hlc > F.hlc``: with the HLC receive rule, seeing O would have put F after it), or if O
had not reached the server before this sync run (it could not have travelled). For such pairs,
the dossier is folded four ways — common base, this desk's view, the other desk's view, the
merged log — and a conflict is recorded when a field one side changed does not end up with the
value that side gave it. Concurrent but compatible actions (a forward here, a payment there)
are not flagged. Since the fold keeps only legal outcomes (``lifecycle.set_aside``: a decision
stands over a concurrent withdrawal, a payment is counted up to what is owed, a second
supplement request or extension is skipped), an action the fold set aside is always flagged,
and named in the event's ``set_aside``. Only the desk whose action sorts later records a pair,
so one conflict gives one event in either sync order (see ``detect``).

**Storage: an event of kind ``conflict`` in this desk's own log** (``EventKind`` appended,
codes never renumbered; ``lifecycle.apply`` leaves the state unchanged). Chosen over a file or a
new table because it is written in the same SQLite transaction as the events that caused it
(nothing to lose in a crash, no desk migration), and it syncs: the other desk — which often
cannot tell the actions were concurrent — gets the warning too, and the province sees it in the
dossier's log. ``conflict_seen`` events record who marked one as seen, per desk. Cost: the
server must know the two kinds (upgrade the server before the desks).

data of a ``conflict`` event: ``{"events": [[desk, seq], ...], "fields": [...], "status": s}``
(the concurrent actions, the fields whose outcome differs from one side's, the merged status),
plus ``"set_aside": [[desk, seq], ...]`` (actions the merge did not apply or count);
of a ``conflict_seen`` event: ``{"conflict": [desk, seq]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from onestop.domain.events import SYSTEM_KINDS, Event, EventKind
from onestop.domain.lifecycle import (
    DossierState,
    action_label,
    apply,
    counted_amount,
    set_aside,
    status_label,
)
from onestop.i18n import t
from onestop.store.models import EventRow
from onestop.store.repo_events import append_event, events_for, row_to_event
from onestop.wire.state import EventKey, event_key, replay_or_none

if TYPE_CHECKING:
    from onestop.services.desk import Desk

# Bookkeeping, not outcomes: they differ whenever two logs differ.
_IGNORED = frozenset({"event_count", "last_event_at"})
SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Conflict:
    """One flagged conflict, as the sync screen shows it."""

    id: str  # "<desk>#<seq>" of the conflict event
    dossier: str
    detected_at: datetime
    detected_by: str  # the desk whose sync noticed it
    events: tuple[Event, ...]  # the concurrent actions, in log order
    fields: tuple[str, ...]
    description: str  # plain Vietnamese (or English) for the clerk
    seen: bool  # this desk has marked it as seen
    seen_by: tuple[tuple[str, str, datetime], ...] = field(default=())  # (desk, actor, at)
    status: str = ""  # the dossier's status the merge kept
    set_aside: tuple[tuple[str, int], ...] = ()  # actions the merge rule did not apply/count


def _values(state: DossierState) -> dict[str, Any]:
    return {k: v for k, v in state.__dict__.items() if k not in _IGNORED}


def _lost(base: dict[str, Any], side: dict[str, Any], merged: dict[str, Any]) -> set[str]:
    """Fields this side changed from the base that the merged outcome does not keep."""
    return {k for k, v in side.items() if base[k] != v and merged[k] != v}


def _overruled(log: Sequence[Event], involved: set[EventKey]) -> list[Event]:
    """The involved actions the merged fold set aside or counted only in part (lifecycle
    ``set_aside`` / ``counted_amount``): the legal outcome was kept over them."""
    out: list[Event] = []
    state: DossierState | None = None
    for e in log:
        if state is not None and event_key(e) in involved:
            if set_aside(state, e) or (
                e.kind == EventKind.RECORD_PAYMENT
                and counted_amount(state, e) < int(e.data.get("amount", 0))
            ):
                out.append(e)
        state = apply(state, e) if state is not None or e.kind in _FIRST else state
    return out


_FIRST = frozenset({EventKind.RECEIVE, EventKind.REFUSE})


def _already_recorded(db: Session, code: str, refs: list[list[Any]]) -> bool:
    rows = db.exec(
        select(EventRow).where(EventRow.dossier == code, EventRow.kind == EventKind.CONFLICT.value)
    ).all()
    return any(row_to_event(r).data.get("events") == refs for r in rows)


def detect(
    db: Session,
    desk: Desk,
    new_events: Iterable[Event],
    *,
    unseen_after: int = 0,
) -> list[Event]:
    """Flag conflicts between ``new_events`` (other desks' events just stored, in ``db``'s
    open transaction) and this desk's own actions; returns the conflict events appended.

    **One conflict, one event, whatever the sync order.** A pair (own O, received F) is
    concurrent when O sorts after F in the fold order: had the other desk seen O, the HLC
    receive rule would have put F after it; and this desk had not seen F (it is new here).
    Only the desk whose action sorts *later* records the pair: it is the one that always
    receives the other action after doing its own, so it notices the pair in every sync order
    (A,B,A,B or B,A,B,A), while the desk of the earlier action never records it. The earlier
    desk learns of it through the synced conflict event. As a second guard, a conflict naming
    exactly the same actions already in the log (from any desk, e.g. by a USB bundle) is not
    recorded again. ``unseen_after`` is accepted for callers and no longer needed.
    """
    del unseen_after
    own = desk.identity.desk_id
    fresh: dict[str, list[Event]] = {}
    for e in new_events:
        if e.desk_id != own and e.kind not in SYSTEM_KINDS:
            fresh.setdefault(e.dossier, []).append(e)
    appended: list[Event] = []
    for code in sorted(fresh):
        log = [e for e in events_for(db=db, dossier=code) if e.kind not in SYSTEM_KINDS]
        mine = [e for e in log if e.desk_id == own]
        if not mine:
            continue
        theirs = fresh[code]
        pairs = [(o, f) for f in theirs for o in mine if event_key(o) > event_key(f)]
        if not pairs:
            continue
        ours = {event_key(o) for o, _f in pairs}
        new = {event_key(f) for f in theirs}
        base = replay_or_none(e for e in log if event_key(e) not in ours | new)
        local = replay_or_none(e for e in log if event_key(e) not in new)
        other = replay_or_none(e for e in log if event_key(e) not in ours)
        merged = replay_or_none(log)
        if base is None or local is None or other is None or merged is None:
            continue  # the dossier's receive is itself part of it: nothing to compare with
        b, m = _values(base), _values(merged)
        lost = _lost(b, _values(local), m) | _lost(b, _values(other), m)
        involved_keys = {event_key(o) for o, _f in pairs} | {event_key(f) for _o, f in pairs}
        overruled = _overruled(log, involved_keys)
        for e in overruled:
            lost.add("fee_paid" if e.kind == EventKind.RECORD_PAYMENT else "status")
        if not lost:
            continue
        refs = [[d, s] for _h, d, s in sorted(involved_keys)]
        if _already_recorded(db, code, refs):
            continue
        appended.append(
            append_event(
                db=db,
                desk_id=own,
                kind=EventKind.CONFLICT,
                dossier=code,
                at=desk.clock(),
                actor=desk.actor,
                role=SYSTEM_ROLE,
                note="",
                data={
                    "events": refs,
                    "fields": sorted(lost),
                    "status": str(merged.status),
                    # Set aside by the merge rule (not applied, or a payment not counted).
                    "set_aside": [[e.desk_id, e.seq] for e in overruled],
                },
            )
        )
    return appended


# ----------------------------------------------------------------------------- reading


def _ref(value: Any) -> tuple[str, int] | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    ):
        return value[0], value[1]
    return None


def _detail(e: Event) -> str:
    d = e.data
    if e.kind in (EventKind.FORWARD, EventKind.START) and d.get("to"):
        return t(" cho {to}", to=d["to"])
    if e.kind in (EventKind.RECORD_PAYMENT, EventKind.REQUEST_PAYMENT) and d.get("amount"):
        return t(" {amount} đồng", amount=f"{int(d['amount']):,}".replace(",", "."))
    if e.kind == EventKind.RESOLVE and d.get("decision"):
        return t(" (phê duyệt)") if d["decision"] == "approved" else t(" (không phê duyệt)")
    return ""


def describe(code: str, events: Sequence[Event], status: str, own: str) -> str:
    """The clerk-facing sentence for a conflict."""
    parts = []
    for e in events:
        who = t("quầy này") if e.desk_id == own else t("quầy {d}", d=e.desk_id)
        parts.append(
            t(
                "{who} ({actor}, {at}): {action}{detail}",
                who=who,
                actor=e.actor,
                at=e.at.strftime("%d/%m/%Y %H:%M"),
                action=action_label(e.kind),
                detail=_detail(e),
            )
        )
    return t(
        "Hồ sơ {code}: hai quầy đã thao tác khi chưa đồng bộ với nhau — {items}. Kết quả sau "
        "khi gộp: {status}. Đề nghị kiểm tra lại hồ sơ và thống nhất với quầy kia.",
        code=code,
        items="; ".join(parts),
        status=status_label(status),
    )


def list_conflicts(desk: Desk, *, unseen_only: bool = False) -> list[Conflict]:
    """Every conflict this desk holds (its own and other desks' findings), newest first."""
    own = desk.identity.desk_id
    with desk.store.read() as db:
        rows = db.exec(
            select(EventRow)
            .where(
                col(EventRow.kind).in_([EventKind.CONFLICT.value, EventKind.CONFLICT_SEEN.value])
            )
            .order_by(col(EventRow.hlc), col(EventRow.desk_id), col(EventRow.seq))
        ).all()
        notes = [row_to_event(r) for r in rows]
        seen: dict[tuple[str, int], list[Event]] = {}
        for e in notes:
            ref = _ref(e.data.get("conflict")) if e.kind == EventKind.CONFLICT_SEEN else None
            if ref is not None:
                seen.setdefault(ref, []).append(e)
        out: list[Conflict] = []
        for e in notes:
            if e.kind != EventKind.CONFLICT:
                continue
            refs = [r for r in (_ref(v) for v in e.data.get("events", [])) if r is not None]
            involved = [db.get(EventRow, r) for r in refs]
            events = tuple(row_to_event(r) for r in involved if r is not None)
            marks = seen.get((e.desk_id, e.seq), [])
            status = str(e.data.get("status", ""))
            try:
                text = describe(e.dossier, events, status, own)
            except ValueError:  # a status this version does not know
                text = t(
                    "Hồ sơ {code}: hai quầy đã thao tác khi chưa đồng bộ với nhau.", code=e.dossier
                )
            item = Conflict(
                id=f"{e.desk_id}#{e.seq}",
                dossier=e.dossier,
                detected_at=e.at,
                detected_by=e.desk_id,
                events=events,
                fields=tuple(str(f) for f in e.data.get("fields", [])),
                description=text,
                seen=any(m.desk_id == own for m in marks),
                seen_by=tuple((m.desk_id, m.actor, m.at) for m in marks),
                status=status,
                set_aside=tuple(
                    r for r in (_ref(v) for v in e.data.get("set_aside", [])) if r is not None
                ),
            )
            if not (unseen_only and item.seen):
                out.append(item)
    out.reverse()
    return out


def _parse_id(conflict_id: str) -> tuple[str, int] | None:
    desk_id, _, seq = conflict_id.partition("#")
    return (desk_id, int(seq)) if desk_id and seq.isdigit() else None


def mark_seen(desk: Desk, conflict_id: str) -> bool:
    """Append a ``conflict_seen`` event for ``conflict_id``; False if this desk already did."""
    from onestop.services.desk import DeskError

    ref = _parse_id(conflict_id)
    own = desk.identity.desk_id
    with desk.store.write() as db:
        row = db.get(EventRow, ref) if ref is not None else None
        if row is None or row.kind != EventKind.CONFLICT.value or ref is None:
            raise DeskError(t("Không có cảnh báo xung đột {id}.", id=conflict_id))
        marks = db.exec(
            select(EventRow).where(
                EventRow.dossier == row.dossier,
                EventRow.desk_id == own,
                EventRow.kind == EventKind.CONFLICT_SEEN.value,
            )
        ).all()
        if any(_ref(row_to_event(m).data.get("conflict")) == ref for m in marks):
            return False
        append_event(
            db=db,
            desk_id=own,
            kind=EventKind.CONFLICT_SEEN,
            dossier=row.dossier,
            at=desk.clock(),
            actor=desk.actor,
            role=SYSTEM_ROLE,
            note="",
            data={"conflict": [ref[0], ref[1]]},
        )
    return True


def unseen_count(desk: Desk) -> int:
    return len(list_conflicts(desk, unseen_only=True))


def summary(conflicts: Iterable[Conflict]) -> Mapping[str, int]:
    items = list(conflicts)
    return {"total": len(items), "unseen": sum(1 for c in items if not c.seen)}


__all__ = [
    "Conflict",
    "describe",
    "detect",
    "list_conflicts",
    "mark_seen",
    "summary",
    "unseen_count",
]
