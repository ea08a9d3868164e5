"""The dossier projection: save, fetch, keyset pages, search, dashboard counts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy import insert as core_insert
from sqlalchemy import select as core_select
from sqlalchemy import update as core_update
from sqlmodel import Session, col, func, select

from onestop.domain.lifecycle import DossierState, Status
from onestop.domain.text import fts_query, search_key
from onestop.store.models import DossierRow
from onestop.store.queries import (
    COUNTS_SQL,
    PAGE_SIZE,
    Counts,
    DossierFilter,
    Page,
    counts_from_row,
    counts_params,
)
from onestop.store.timefmt import dt_to_text, opt_dt_to_text

_DAY = timedelta(days=1)

_DT_FIELDS = {
    "received_at",
    "due_at",
    "original_due_at",
    "paused_at",
    "resolved_at",
    "finished_at",
    "returned_at",
    "last_event_at",
}
_JSON_FIELDS = {"proxy", "documents", "evaluation"}
_STATE_FIELDS = [f.name for f in fields(DossierState)]


def dossier_search_key(state: DossierState) -> str:
    return search_key(
        state.code,
        state.code.replace(".", "").replace("-", ""),
        state.applicant_name,
        state.applicant_id,
        state.applicant_phone,
        state.procedure_name,
        state.procedure_code,
        state.proxy.get("name", ""),
    )


def state_to_values(state: DossierState) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _STATE_FIELDS:
        v = getattr(state, name)
        if name in _DT_FIELDS:
            v = opt_dt_to_text(v)
        elif name in _JSON_FIELDS:
            v = json.dumps(
                list(v) if name == "documents" else v, ensure_ascii=False, sort_keys=True
            )
        elif name in ("status", "resume_status") and v is not None:
            v = str(v)
        values[name] = v
    values["clock_running"] = state.clock_running
    return values


def row_to_state(row: DossierRow) -> DossierState:
    """The state an ORM row holds (for callers that already have one; lists read plain rows)."""
    return state_from_values([getattr(row, name) for name in _STATE_FIELDS])


# The projection's columns in DossierState's field order, the row id first: lists and reports
# select these through SQLAlchemy Core and build states straight from the tuples. Building an
# ORM object per row and parsing each date with strptime cost ~40 us a row (half the tracking
# book's time at 28k rows); this is ~6 us. They run on the session's connection: through
# ``Session.execute`` a Core select still takes the ORM's result path.
_TABLE = DossierRow.__table__  # type: ignore[attr-defined]
STATE_SELECT = core_select(_TABLE.c.id, *(_TABLE.c[name] for name in _STATE_FIELDS))
_DT_INDEXES = [i for i, name in enumerate(_STATE_FIELDS) if name in _DT_FIELDS]
_DOCUMENTS = _STATE_FIELDS.index("documents")
_JSON_INDEXES = [
    i for i, name in enumerate(_STATE_FIELDS) if name in _JSON_FIELDS and name != "documents"
]
_STATUS = _STATE_FIELDS.index("status")
_RESUME = _STATE_FIELDS.index("resume_status")
_fromiso = datetime.fromisoformat  # "YYYY-MM-DD HH:MM:SS" (timefmt) is ISO 8601


def state_from_values(values: Sequence[Any]) -> DossierState:
    """A state from the projection's columns in ``_STATE_FIELDS`` order (as text in the table)."""
    v = list(values)
    for i in _DT_INDEXES:
        if v[i] is not None:
            v[i] = _fromiso(v[i])
    v[_DOCUMENTS] = tuple(json.loads(v[_DOCUMENTS])) if v[_DOCUMENTS] != "[]" else ()
    for i in _JSON_INDEXES:
        v[i] = json.loads(v[i]) if v[i] != "{}" else {}
    v[_STATUS] = Status(v[_STATUS])
    if v[_RESUME] is not None:
        v[_RESUME] = Status(v[_RESUME])
    # As lifecycle._evolve and wire.state.state_from_json: the frozen dataclass's __init__ over
    # 37 fields is skipped for a state read back from the store.
    state = object.__new__(DossierState)
    state.__dict__.update(zip(_STATE_FIELDS, v, strict=True))
    return state


def states_from_rows(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[int, DossierState]]:
    """(id, state) for each row of ``STATE_SELECT`` (id first), lazily: a long report streams."""
    for row in rows:
        yield int(row[0]), state_from_values(row[1:])


_ID_OF_CODE = core_select(_TABLE.c.id).where(_TABLE.c.code == bindparam("code"))
_INSERT = core_insert(_TABLE).returning(_TABLE.c.id)
_UPDATE = core_update(_TABLE).where(_TABLE.c.id == bindparam("row_id_"))


def save_dossier(*, db: Session, state: DossierState) -> None:
    """Insert or update the projection row and its search entry (same transaction as the event).

    Core statements, not an ORM object: the id lookup is the transaction's one flush (the event,
    the desk's chain head and the code counter go out together) and the row is written directly;
    an ORM row cost two more flushes per intake (issue 19: intake was ~9x the bare SQL)."""
    values = state_to_values(state)
    row_id = db.execute(_ID_OF_CODE, {"code": state.code}).scalar()
    con = db.connection()  # prebuilt statements, values as parameters: compiled once
    if row_id is None:
        row_id = con.execute(_INSERT, values).scalar_one()
    else:
        con.execute(_UPDATE, {**values, "row_id_": row_id})
        con.execute(text("DELETE FROM dossier_fts WHERE rowid = :id"), {"id": row_id})
    con.execute(
        text("INSERT INTO dossier_fts(rowid, search_key) VALUES (:id, :key)"),
        {"id": row_id, "key": dossier_search_key(state)},
    )


def get_dossier(*, db: Session, code: str) -> DossierState | None:
    row = db.connection().execute(STATE_SELECT.where(_TABLE.c.code == code)).first()
    return None if row is None else state_from_values(row[1:])


def list_dossiers(
    *,
    db: Session,
    flt: DossierFilter,
    now: datetime,
    soon_until: datetime | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One keyset page, newest first (id order == local intake order). Never loads everything."""
    stmt = STATE_SELECT
    if flt.search:
        q = fts_query(flt.search)
        if q is None:
            return Page([], None)
        if flt == DossierFilter(search=flt.search):
            return _search_page(db=db, q=q, after_id=after_id, limit=limit)
    stmt = _filtered(stmt, flt, now, soon_until)
    if after_id is not None:
        stmt = stmt.where(col(DossierRow.id) < after_id)
    rows = db.connection().execute(stmt.order_by(_TABLE.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    pairs = list(states_from_rows(rows[:limit]))
    return Page([s for _, s in pairs], pairs[-1][0] if more and pairs else None)


def count_dossiers(
    *, db: Session, flt: DossierFilter, now: datetime, soon_until: datetime | None = None
) -> int:
    """How many dossiers match ``flt`` in all (the list's footer), with the same conditions as
    :func:`list_dossiers`: a page holds at most ``PAGE_SIZE`` rows, the filter may match more."""
    if flt.search:
        q = fts_query(flt.search)
        if q is None:
            return 0
        if flt == DossierFilter(search=flt.search):
            return int(
                db.execute(
                    text("SELECT count(*) FROM dossier_fts WHERE dossier_fts MATCH :q"), {"q": q}
                ).scalar_one()
            )
    stmt = _filtered(select(func.count()).select_from(DossierRow), flt, now, soon_until)
    return int(db.exec(stmt).one())


def _filtered(stmt: Any, flt: DossierFilter, now: datetime, soon_until: datetime | None) -> Any:
    """``stmt`` narrowed to the dossiers ``flt`` matches (one place for the page and the count).
    The caller has already checked that ``flt.search``, if any, makes an FTS query."""
    if flt.search:
        stmt = stmt.where(
            col(DossierRow.id).in_(
                text("SELECT rowid FROM dossier_fts WHERE dossier_fts MATCH :q").bindparams(
                    q=fts_query(flt.search)
                )
            )
        )
    if flt.statuses:
        stmt = stmt.where(col(DossierRow.status).in_([s.value for s in flt.statuses]))
    if flt.field:
        stmt = stmt.where(DossierRow.field == flt.field)
    if flt.received_since:
        stmt = stmt.where(DossierRow.received_at >= dt_to_text(flt.received_since))
    return _due_window(stmt, flt.due, now, soon_until)


def _search_page(*, db: Session, q: str, after_id: int | None, limit: int) -> Page:
    """Search alone: walk the FTS index newest-first and stop after one page.

    A one-letter prefix matches most of a big desk; materialising every match (the IN form used
    when other filters apply) costs ~150 ms at 1M dossiers, this costs a few ms.
    """
    rows = (
        db.connection()
        .execute(
            STATE_SELECT.where(_TABLE.c.id.in_(_FTS_KEYSET)).order_by(_TABLE.c.id.desc()),
            {"q": q, "after": after_id if after_id is not None else 2**62, "n": limit + 1},
        )
        .all()
    )
    more = len(rows) > limit
    pairs = list(states_from_rows(rows[:limit]))
    return Page([s for _, s in pairs], pairs[-1][0] if more and pairs else None)


# The page's ids, newest first, straight from the FTS index (one statement with the rows:
# tests/bench/bench_desk.py's "bare search" runs this same query through sqlite3).
FTS_KEYSET_SQL = (
    "SELECT rowid FROM dossier_fts WHERE dossier_fts MATCH :q AND rowid < :after "
    "ORDER BY rowid DESC LIMIT :n"
)
_FTS_KEYSET = text(FTS_KEYSET_SQL)


def _due_window(stmt: Any, due: str | None, now: datetime, soon_until: datetime | None) -> Any:
    if due is None:
        return stmt
    now_s = dt_to_text(now)
    tomorrow = dt_to_text(now.replace(hour=0, minute=0, second=0, microsecond=0) + _DAY)
    running = col(DossierRow.clock_running).is_(True)
    if due == "overdue":
        return stmt.where(running, col(DossierRow.due_at) < now_s)
    if due == "today":
        return stmt.where(
            running, col(DossierRow.due_at) >= now_s, col(DossierRow.due_at) < tomorrow
        )
    if due == "soon":
        until = dt_to_text(soon_until) if soon_until else tomorrow
        return stmt.where(
            running, col(DossierRow.due_at) >= tomorrow, col(DossierRow.due_at) <= until
        )
    if due == "none":
        return stmt.where(col(DossierRow.due_at).is_(None))
    raise ValueError(f"unknown due window {due!r}")


def dashboard_counts(*, db: Session, now: datetime, soon_until: datetime) -> Counts:
    """The dashboard's numbers (the query lives in ``store/queries.py``, shared with the glance)."""
    row = db.execute(text(COUNTS_SQL), counts_params(now, soon_until)).one()
    return counts_from_row(tuple(row))


def count_all(*, db: Session) -> int:
    return int(db.exec(select(func.count()).select_from(DossierRow)).one())


def all_codes(*, db: Session) -> list[str]:
    return list(db.exec(select(DossierRow.code).order_by(col(DossierRow.id))).all())
