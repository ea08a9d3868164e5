"""Who is at the desk and what they may do: the action menu's offers and "Việc chờ tôi".

The TUI asks here, never the role table or the store directly: ``action_offers`` gives the
menu exactly what ``Desk.act`` accepts for this person now (``domain/desk_actions``), and
``worklist`` counts the queues of the person's roles (``domain/worklist``, SQL in
``store/worklist.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from onestop.domain.desk_actions import ActionOffer, Person, lifecycle_allows, offers
from onestop.domain.events import Event, EventKind
from onestop.domain.lifecycle import DossierState
from onestop.domain.worklist import QUEUES_BY_KEY, Queue, queues_for
from onestop.services.desk import Desk
from onestop.store import worklist as store_worklist


def person(desk: Desk) -> Person:
    """The logged-in account's roles; a desk without accounts restricts nothing (``None``)."""
    account = desk.account
    if account is None:
        return Person(None, desk.actor)
    return Person(tuple(account.roles), account.display_name)


def _me(desk: Desk) -> tuple[str, ...]:
    account = desk.account
    if account is None:
        return (desk.actor,)
    return (account.display_name, account.username)


def action_offers(
    desk: Desk, state: DossierState, events: Sequence[Event]
) -> tuple[ActionOffer, ...]:
    """Every action in menu order, available or not and why, for this person now."""
    received_by = next((e.actor for e in events if e.kind == EventKind.RECEIVE), "")
    return offers(
        state,
        person(desk),
        received_by=received_by,
        two_person_rule=desk.account is not None and desk.two_person_rule(),
        now=desk.clock(),
        cal=desk.calendar,
    )


@dataclass(frozen=True)
class WorkCount:
    queue: Queue
    count: int


def worklist(desk: Desk) -> tuple[WorkCount, ...]:
    """The counts of this person's queues (none on a desk without accounts)."""
    account = desk.account
    queues = queues_for(tuple(account.roles) if account is not None else None)
    if not queues:
        return ()
    now = desk.clock()
    soon = desk.soon_until(now)
    me = _me(desk)
    out = []
    with desk.store.read() as db:
        for q in queues:
            if q.due_soon_no_letter:
                # Due within the "soon" window: a handful of rows, filtered by the calendar.
                n = len(
                    _in_time(
                        desk,
                        store_worklist.queue_rows(
                            db, q, me=me, soon_until=soon, now=now, limit=_LETTER_CANDIDATES
                        ),
                    )
                )
            else:
                n = store_worklist.queue_count(db, q, me=me, soon_until=soon, now=now)
            out.append(WorkCount(q, n))
    return tuple(out)


# Dossiers due within two working days: a commune desk has a few; the cap only bounds a
# pathological backlog (the count then says at least this many).
_LETTER_CANDIDATES = 1000


def _in_time(desk: Desk, rows: list[DossierState]) -> list[DossierState]:
    """Those whose apology and extension letter may still be issued (``can_extend``)."""
    now = desk.clock()
    return [s for s in rows if lifecycle_allows(s, EventKind.EXTEND, now, desk.calendar)]


def queue_dossiers(desk: Desk, key: str, *, limit: int = 50) -> list[DossierState]:
    q = QUEUES_BY_KEY[key]
    now = desk.clock()
    with desk.store.read() as db:
        rows = store_worklist.queue_rows(
            db,
            q,
            me=_me(desk),
            soon_until=desk.soon_until(now),
            now=now,
            limit=_LETTER_CANDIDATES if q.due_soon_no_letter else limit,
        )
    return _in_time(desk, rows)[:limit] if q.due_soon_no_letter else rows


def forward_target(desk: Desk) -> str:
    """Whom this person's role last forwarded to at this desk ("" if never): the forward form's
    starting value, so the usual handover is one key."""
    from onestop.domain.roles import Role, may

    roles = desk.account.roles if desk.account is not None else (desk.role,)
    role = next((r for r in roles if r in set(Role) and may([r], EventKind.FORWARD)), "")
    if not role:
        return ""
    with desk.store.read() as db:
        return store_worklist.last_forward_to(db, role=role, desk_id=desk.identity.desk_id)


def procedure_usage(desk: Desk) -> dict[str, int]:
    with desk.store.read() as db:
        return store_worklist.procedure_usage(db)


__all__ = [
    "WorkCount",
    "action_offers",
    "forward_target",
    "person",
    "procedure_usage",
    "queue_dossiers",
    "worklist",
]
