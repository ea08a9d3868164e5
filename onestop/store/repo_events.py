"""The event log: append (gap-free sequence, HLC, hash chain) and read back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from onestop.domain.events import GENESIS_HEAD, Event, EventKind, chain, next_hlc
from onestop.domain.fields import check_event
from onestop.store.models import DeskState, EventRow
from onestop.store.rawsql import Tx, connection_of, forget
from onestop.store.timefmt import dt_to_text

# The three statements of an append, on the transaction's DB-API connection (store/rawsql.py).
_HEAD_SQL = "SELECT last_seq, head, hlc FROM desk_state WHERE desk_id = ?"
_INSERT_SQL = (
    "INSERT INTO event (desk_id, seq, hlc, kind, dossier, at, actor, role, body, head) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SAVE_HEAD_SQL = (
    "INSERT INTO desk_state (desk_id, last_seq, head, hlc) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (desk_id) DO UPDATE SET last_seq = excluded.last_seq, head = excluded.head, "
    "hlc = excluded.hlc"
)


def append_event(
    *,
    db: Tx,
    desk_id: str,
    kind: EventKind,
    dossier: str,
    at: datetime,
    actor: str,
    role: str,
    note: str,
    data: dict[str, Any],
) -> Event:
    """Append one event for this desk inside the caller's transaction.

    Raises ``FieldError`` (domain/fields.py), appending nothing, if a text breaks the field
    policy or the body is over ``MAX_EVENT_BYTES``."""
    con = connection_of(db)
    found = con.execute(_HEAD_SQL, (desk_id,)).fetchone()
    last_seq, prev_head, prev_hlc = found if found is not None else (0, GENESIS_HEAD, 0)
    event = Event(
        desk_id=desk_id,
        seq=last_seq + 1,
        hlc=next_hlc(prev_hlc, at),
        kind=kind,
        dossier=dossier,
        at=at.replace(microsecond=0),
        actor=actor,
        role=role,
        note=note,
        data=data,
    )
    body = event.body()
    # The server runs this same check on every event it ingests (domain/fields.py): an event
    # it would refuse must never enter this desk's hash chain, where it would block sync.
    check_event(dossier=dossier, actor=actor, role=role, note=note, data=data, body_len=len(body))
    head = chain(prev_head, body)
    con.execute(
        _INSERT_SQL,
        (
            desk_id,
            event.seq,
            event.hlc,
            kind.value,
            dossier,
            dt_to_text(event.at),
            actor,
            role,
            body,
            head,
        ),
    )
    # The desk's first event creates its chain head; later ones move it.
    con.execute(_SAVE_HEAD_SQL, (desk_id, event.seq, head, event.hlc))
    forget(db, DeskState, desk_id)
    return event


def row_to_event(row: EventRow) -> Event:
    return Event.from_body(row.desk_id, row.body)


def events_for(*, db: Session, dossier: str) -> list[Event]:
    """All events of one dossier in causal order (HLC, then desk and sequence as tie-breakers)."""
    rows = db.exec(
        select(EventRow)
        .where(EventRow.dossier == dossier)
        .order_by(col(EventRow.hlc), col(EventRow.desk_id), col(EventRow.seq))
    ).all()
    return [row_to_event(r) for r in rows]


def iter_event_rows(
    *, db: Session, desk_id: str | None = None, batch: int = 5000
) -> Iterator[EventRow]:
    """Stream event rows in (desk, seq) order without loading the whole log."""
    last: tuple[str, int] = ("", 0)
    while True:
        stmt = select(EventRow)
        if desk_id is not None:
            stmt = stmt.where(EventRow.desk_id == desk_id, EventRow.seq > last[1])
        else:
            stmt = stmt.where(
                (col(EventRow.desk_id) > last[0])
                | ((col(EventRow.desk_id) == last[0]) & (col(EventRow.seq) > last[1]))
            )
        rows = db.exec(stmt.order_by(col(EventRow.desk_id), col(EventRow.seq)).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = (rows[-1].desk_id, rows[-1].seq)
