"""Fold in, after an update, the events an older onestop stored without knowing their kind.

A desk that is not updated yet stores an event of a newer version as ``unknown:<code>``
(domain/events.unknown_kind): chained, relayed and listed, but left out of the dossier's
projection. Once the program knows that code, the next start folds those dossiers again, with
no step for the clerk (issue 18). The number of kinds known at the last such pass is kept in
the settings table, so a normal start costs one primary-key read, and the one scan of the
event log runs only after an update that added kinds.
"""

from __future__ import annotations

from typing import Final

from sqlmodel import Session, col, select

from onestop.domain.events import UNKNOWN_PREFIX, is_unknown, known_kind_count
from onestop.domain.lifecycle import replay_or_none
from onestop.store.engine import Store
from onestop.store.models import EventRow, Setting
from onestop.store.repo_dossiers import save_dossier
from onestop.store.repo_events import events_for, row_to_event

#: Settings key: how many event kinds the program that last checked the log knew.
S_KINDS_KNOWN: Final = "event_kinds_known"


def kinds_known() -> int:
    """What this program knows: the kind codes run 1..n and are never renumbered."""
    return known_kind_count()


def replay_known_kinds(db: Session) -> list[str]:
    """Re-read every ``unknown:<code>`` event row; refold the dossiers now understood.

    Returns the codes of the dossiers folded again. Rows whose kind is still unknown stay as
    they are. Runs in the caller's transaction.
    """
    rows = db.exec(select(EventRow).where(col(EventRow.kind).startswith(UNKNOWN_PREFIX))).all()
    touched: set[str] = set()
    for row in rows:
        kind = row_to_event(row).kind
        if not is_unknown(kind):
            row.kind = kind.value
            db.add(row)
            touched.add(row.dossier)
    db.flush()
    for code in sorted(touched):
        state = replay_or_none(events_for(db=db, dossier=code))
        if state is not None:
            save_dossier(db=db, state=state)
    return sorted(touched)


def replay_after_update(store: Store) -> list[str]:
    """At start: fold again what the last program could not read, if this one knows more kinds.

    Returns the dossiers folded again (empty on a normal start, which only reads one setting).
    """
    known = str(kinds_known())
    with store.read() as db:
        held = db.get(Setting, S_KINDS_KNOWN)
    if held is not None and held.value == known:
        return []
    with store.write() as db:
        touched = replay_known_kinds(db)
        db.merge(Setting(key=S_KINDS_KNOWN, value=known))
    return touched
