"""The dossier projection: save, fetch, keyset pages, search, dashboard counts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import select as core_select
from sqlalchemy import text
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
from onestop.store.rawsql import Tx, connection_of, forget
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
    # search_key joins the non-empty keys of its parts with a space, so the procedure's part
    # (the same on every dossier of that procedure: folding its long name was a third of the
    # key's cost) can be folded once and joined in its place.
    parts = (
        search_key(
            state.code,
            state.code.replace(".", "").replace("-", ""),
            state.applicant_name,
            state.applicant_id,
            state.applicant_phone,
        ),
        _procedure_key(state.procedure_name, state.procedure_code),
        search_key(state.proxy.get("name", "")),
    )
    return " ".join(p for p in parts if p)


@lru_cache(maxsize=1024)
def _procedure_key(name: str, code: str) -> str:
    return search_key(name, code)


def state_to_values(state: DossierState) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _STATE_FIELDS:
        v = getattr(state, name)
        if name in _DT_FIELDS:
            v = opt_dt_to_text(v)
        elif name in _JSON_FIELDS:
            if not v:  # what json.dumps writes for an empty list or map, without calling it
                v = "[]" if name == "documents" else "{}"
            else:
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
# A dict lookup, not ``Status(v)`` (an Enum call is ~1 us, a tenth of a row's cost).
_STATUS_OF: dict[str, Status] = {s.value: s for s in Status}
# The document checklists decoded once: dossiers of one procedure share the same JSON text, and
# the decoded tuple of strings is immutable, so states can share it. Bounded: a desk has a few
# hundred procedures; past the bound texts are decoded each time.
_DOCS: dict[str, tuple[str, ...]] = {"[]": ()}
_DOCS_MAX = 4096


def state_from_values(values: Sequence[Any]) -> DossierState:
    """A state from the projection's columns in ``_STATE_FIELDS`` order (as text in the table)."""
    v = list(values)
    for i in _DT_INDEXES:
        if v[i] is not None:
            v[i] = _fromiso(v[i])
    docs = _DOCS.get(v[_DOCUMENTS])
    if docs is None:
        docs = tuple(json.loads(v[_DOCUMENTS]))
        if len(_DOCS) < _DOCS_MAX:
            _DOCS[v[_DOCUMENTS]] = docs
    v[_DOCUMENTS] = docs
    for i in _JSON_INDEXES:
        v[i] = json.loads(v[i]) if v[i] != "{}" else {}
    v[_STATUS] = _STATUS_OF[v[_STATUS]]
    if v[_RESUME] is not None:
        v[_RESUME] = _STATUS_OF[v[_RESUME]]
    # As lifecycle._evolve and wire.state.state_from_json: the frozen dataclass's __init__ over
    # 37 fields is skipped for a state read back from the store.
    state = object.__new__(DossierState)
    state.__dict__.update(zip(_STATE_FIELDS, v, strict=True))
    return state


# The projection's writes as SQL on the transaction's DB-API connection (store/rawsql.py),
# the columns in ``_VALUE_COLUMNS`` order: through Core each statement still cost a cache key
# and a result object (~0.3 ms each; issue 19: intake was ~19x the bare SQL).
_VALUE_COLUMNS = (*_STATE_FIELDS, "clock_running")
_ID_OF_CODE_SQL = "SELECT id FROM dossier WHERE code = ?"
_INSERT_SQL = (
    f"INSERT INTO dossier ({', '.join(_VALUE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_VALUE_COLUMNS))})"
)
_UPDATE_SQL = f"UPDATE dossier SET {', '.join(f'{c} = ?' for c in _VALUE_COLUMNS)} WHERE id = ?"
_FTS_DELETE_SQL = "DELETE FROM dossier_fts WHERE rowid = ?"
_FTS_INSERT_SQL = "INSERT INTO dossier_fts (rowid, search_key) VALUES (?, ?)"


def save_dossier(*, db: Tx, state: DossierState) -> None:
    """Insert or update the projection row and its search entry (same transaction as the event)."""
    values = state_to_values(state)
    params = tuple(values[c] for c in _VALUE_COLUMNS)
    con = connection_of(db)
    found = con.execute(_ID_OF_CODE_SQL, (state.code,)).fetchone()
    if found is None:
        row_id = con.execute(_INSERT_SQL, params).lastrowid
    else:
        row_id = found[0]
        con.execute(_UPDATE_SQL, (*params, row_id))
        con.execute(_FTS_DELETE_SQL, (row_id,))
    con.execute(_FTS_INSERT_SQL, (row_id, dossier_search_key(state)))
    forget(db, DossierRow, row_id)


def get_dossier(*, db: Session, code: str) -> DossierState | None:
    row = db.connection().execute(STATE_SELECT.where(_TABLE.c.code == code)).first()
    return None if row is None else state_from_values(row[1:])


# The list and search pages run plain SQL on the read engine's DB-API connection: ``sqlite3``
# keeps each distinct statement prepared, so a page is one cached statement and the rows. Built
# through SQLAlchemy (statement, cache key, Session, BEGIN) the 50-row list page cost ~5x the
# bare query (issue 19 §2); the filters below are few and fixed, so their SQL is written here.
_COLUMNS_SQL = "id, " + ", ".join(_STATE_FIELDS)
_PAGE_SQL = f"SELECT {_COLUMNS_SQL} FROM dossier{{where}} ORDER BY id DESC LIMIT :n"
_COUNT_SQL = "SELECT count(*) FROM dossier{where}"


def list_dossiers(
    *,
    con: sqlite3.Connection,
    flt: DossierFilter,
    now: datetime,
    soon_until: datetime | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One keyset page, newest first (id order == local intake order). Never loads everything."""
    if flt.search:
        q = fts_query(flt.search)
        if q is None:
            return Page([], None)
        if flt == DossierFilter(search=flt.search):
            return _search_page(con=con, q=q, after_id=after_id, limit=limit)
    clauses, params = _where(flt, now, soon_until)
    if after_id is not None:
        clauses.append("id < :after")
        params["after"] = after_id
    params["n"] = limit + 1
    rows = con.execute(_PAGE_SQL.format(where=_where_sql(clauses)), params).fetchall()
    return _page(rows, limit)


def _page(rows: list[Any], limit: int) -> Page:
    more = len(rows) > limit
    states = [state_from_values(row[1:]) for row in rows[:limit]]
    return Page(states, int(rows[limit - 1][0]) if more and limit else None)


def count_dossiers(
    *,
    con: sqlite3.Connection,
    flt: DossierFilter,
    now: datetime,
    soon_until: datetime | None = None,
) -> int:
    """How many dossiers match ``flt`` in all (the list's footer), with the same conditions as
    :func:`list_dossiers`: a page holds at most ``PAGE_SIZE`` rows, the filter may match more."""
    if flt.search:
        q = fts_query(flt.search)
        if q is None:
            return 0
        if flt == DossierFilter(search=flt.search):
            sql = "SELECT count(*) FROM dossier_fts WHERE dossier_fts MATCH :q"
            return int(con.execute(sql, {"q": q}).fetchone()[0])
    clauses, params = _where(flt, now, soon_until)
    return int(con.execute(_COUNT_SQL.format(where=_where_sql(clauses)), params).fetchone()[0])


def _where_sql(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


def _where(
    flt: DossierFilter, now: datetime, soon_until: datetime | None
) -> tuple[list[str], dict[str, Any]]:
    """The conditions ``flt`` puts on the dossier table and their parameters (one place for the
    page and the count). The caller has already checked that ``flt.search``, if any, makes an
    FTS query. Values are always parameters; only the number of statuses changes the text."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if flt.search:
        clauses.append("id IN (SELECT rowid FROM dossier_fts WHERE dossier_fts MATCH :q)")
        params["q"] = fts_query(flt.search)
    if flt.statuses:
        names = [f"s{i}" for i in range(len(flt.statuses))]
        clauses.append(f"status IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, (s.value for s in flt.statuses), strict=True))
    if flt.field:
        clauses.append("field = :field")
        params["field"] = flt.field
    if flt.received_since:
        clauses.append("received_at >= :since")
        params["since"] = dt_to_text(flt.received_since)
    _due_window(clauses, params, flt.due, now, soon_until)
    return clauses, params


def _search_page(*, con: sqlite3.Connection, q: str, after_id: int | None, limit: int) -> Page:
    """Search alone: walk the FTS index newest-first and stop after one page.

    A one-letter prefix matches most of a big desk; materialising every match (the IN form used
    when other filters apply) costs ~150 ms at 1M dossiers, this costs a few ms.
    """
    params = {"q": q, "after": after_id if after_id is not None else 2**62, "n": limit + 1}
    return _page(con.execute(_SEARCH_SQL, params).fetchall(), limit)


# The page's ids, newest first, straight from the FTS index (one statement with the rows:
# tests/bench/bench_desk.py's "bare search" runs this same query through sqlite3).
FTS_KEYSET_SQL = (
    "SELECT rowid FROM dossier_fts WHERE dossier_fts MATCH :q AND rowid < :after "
    "ORDER BY rowid DESC LIMIT :n"
)
_SEARCH_SQL = f"SELECT {_COLUMNS_SQL} FROM dossier WHERE id IN ({FTS_KEYSET_SQL}) ORDER BY id DESC"


def _due_window(
    clauses: list[str],
    params: dict[str, Any],
    due: str | None,
    now: datetime,
    soon_until: datetime | None,
) -> None:
    # "clock_running = 1" exactly as the partial index ix_dossier_running_due says it, so
    # SQLite uses the index for these windows.
    if due is None:
        return
    tomorrow = dt_to_text(now.replace(hour=0, minute=0, second=0, microsecond=0) + _DAY)
    if due == "overdue":
        clauses += ["clock_running = 1", "due_at < :now"]
        params["now"] = dt_to_text(now)
    elif due == "today":
        clauses += ["clock_running = 1", "due_at >= :now", "due_at < :tomorrow"]
        params["now"], params["tomorrow"] = dt_to_text(now), tomorrow
    elif due == "soon":
        clauses += ["clock_running = 1", "due_at >= :tomorrow", "due_at <= :until"]
        params["tomorrow"] = tomorrow
        params["until"] = dt_to_text(soon_until) if soon_until else tomorrow
    elif due == "none":
        clauses.append("due_at IS NULL")
    else:
        raise ValueError(f"unknown due window {due!r}")


def dashboard_counts(*, db: Session, now: datetime, soon_until: datetime) -> Counts:
    """The dashboard's numbers (the query lives in ``store/queries.py``, shared with the glance)."""
    row = db.execute(text(COUNTS_SQL), counts_params(now, soon_until)).one()
    return counts_from_row(tuple(row))


def count_all(*, db: Session) -> int:
    return int(db.exec(select(func.count()).select_from(DossierRow)).one())


def all_codes(*, db: Session) -> list[str]:
    return list(db.exec(select(DossierRow.code).order_by(col(DossierRow.id))).all())
