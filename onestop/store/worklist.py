"""The queries behind "Việc chờ tôi" (``domain/worklist.py``): count and list one queue.

Each queue is a status filter (``ix_dossier_status``) with at most a few extra conditions on
the same row, so a count is an index range scan over the dossiers in those statuses, never the
whole table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from onestop.domain.lifecycle import DossierState
from onestop.domain.worklist import Queue
from onestop.store.models import DossierRow
from onestop.store.repo_dossiers import row_to_state
from onestop.store.timefmt import dt_to_text


def _where(stmt: Any, q: Queue, *, me: tuple[str, ...], soon_until: datetime, now: datetime) -> Any:
    stmt = stmt.where(col(DossierRow.status).in_([s.value for s in q.statuses]))
    if q.mine:
        # The forward form's "to" is typed: match the person's name or user name, any case.
        names = [n.casefold() for n in me if n]
        stmt = stmt.where(func.lower(DossierRow.handler).in_(names) if names else False)
    if q.supplemented:
        stmt = stmt.where(col(DossierRow.supplement_count) > 0)
    if q.not_evaluated:
        stmt = stmt.where(or_(col(DossierRow.evaluation) == "{}", col(DossierRow.evaluation) == ""))
    if q.due_soon_no_letter:
        # Candidates only: whether the letter is still in time (one working day before the
        # due date) needs the calendar, which services/worklist.py applies.
        stmt = stmt.where(
            col(DossierRow.clock_running).is_(True),
            col(DossierRow.due_at) >= dt_to_text(now),
            col(DossierRow.due_at) <= dt_to_text(soon_until),
            col(DossierRow.extension_count) == 0,
        )
    return stmt


def queue_count(
    db: Session, q: Queue, *, me: tuple[str, ...], soon_until: datetime, now: datetime
) -> int:
    stmt = _where(
        select(func.count()).select_from(DossierRow), q, me=me, soon_until=soon_until, now=now
    )
    return int(db.exec(stmt).one())


def queue_rows(
    db: Session,
    q: Queue,
    *,
    me: tuple[str, ...],
    soon_until: datetime,
    now: datetime,
    limit: int = 50,
) -> list[DossierState]:
    """The queue's dossiers, the most urgent first (earliest due; no due date last)."""
    stmt = _where(select(DossierRow), q, me=me, soon_until=soon_until, now=now)
    stmt = stmt.order_by(
        col(DossierRow.due_at).is_(None), col(DossierRow.due_at), col(DossierRow.id)
    ).limit(limit)
    return [row_to_state(r) for r in db.exec(stmt).all()]


def procedure_usage(db: Session) -> dict[str, int]:
    """How many dossiers this desk received per procedure code (the intake search's tie-break
    after the name match: a desk's usual procedures come first)."""
    rows = db.exec(
        select(DossierRow.procedure_code, func.count()).group_by(DossierRow.procedure_code)
    ).all()
    return {code: int(n) for code, n in rows}


__all__ = ["last_forward_to", "procedure_usage", "queue_count", "queue_rows"]


def last_forward_to(db: Session, *, role: str, desk_id: str) -> str:
    """Whom this desk's last forward by ``role`` went to: the forward form proposes it (a
    commune's clerk hands dossiers to the same few officials; typing the name each time cost
    more keystrokes than anything else in a dossier's life, issue 17)."""
    from onestop.store.models import EventRow
    from onestop.store.repo_events import row_to_event

    row = db.exec(
        select(EventRow)
        .where(EventRow.kind == "forward", EventRow.role == role, EventRow.desk_id == desk_id)
        .order_by(col(EventRow.seq).desc())
        .limit(1)
    ).first()
    if row is None:
        return ""
    to = row_to_event(row).data.get("to", "")
    return to if isinstance(to, str) else ""
