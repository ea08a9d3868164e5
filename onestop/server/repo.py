"""Server repositories: keyword-only functions over an open connection (SQLAlchemy Core).

Core rather than ORM sessions on the ingest path: a batch is a few multi-row statements
(``INSERT … ON CONFLICT DO NOTHING`` for events, ``… DO UPDATE`` for projections), which is
what makes ≥10,000 events/s possible on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from onestop.server.db import ServerDB
from onestop.server.models import (
    EnrollCode,
    ReferenceItem,
    ServerBatch,
    ServerCommune,
    ServerDesk,
    ServerDossier,
    ServerEvaluation,
    ServerEvent,
    ServerFigure,
    ServerSetting,
    metadata,
)

DESK: Table = metadata.tables[ServerDesk.__tablename__]
EVENT: Table = metadata.tables[ServerEvent.__tablename__]
BATCH: Table = metadata.tables[ServerBatch.__tablename__]
DOSSIER: Table = metadata.tables[ServerDossier.__tablename__]
CODE: Table = metadata.tables[EnrollCode.__tablename__]
REFERENCE: Table = metadata.tables[ReferenceItem.__tablename__]
SETTING: Table = metadata.tables[ServerSetting.__tablename__]
EVALUATION: Table = metadata.tables[ServerEvaluation.__tablename__]
FIGURE: Table = metadata.tables[ServerFigure.__tablename__]
COMMUNE: Table = metadata.tables[ServerCommune.__tablename__]

_CHUNK = 500  # IN (...) lists and multi-row VALUES stay well under every driver's limits


def _insert(db: ServerDB, table: Table) -> Any:
    return (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(table)


def insert_ignore(db: ServerDB, table: Table, keys: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT (keys) DO NOTHING, for the dialect at hand."""
    return _insert(db, table).on_conflict_do_nothing(index_elements=list(keys))


def upsert(db: ServerDB, table: Table, keys: Sequence[str]) -> Any:
    stmt = _insert(db, table)
    cols = [c.name for c in table.columns if c.name not in keys]
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in cols}
    )


_FIGURE_TIMES = ("fin_key", "sup_from", "sup_to", "due0", "due1_at", "due1", "due2_at", "due2")
_PG_TYPES = {
    "desk_id": "text",
    "seq": "bigint",
    "hlc": "bigint",
    "kind": "text",
    "dossier": "text",
    "body": "bytea",
    "head": "bytea",
    "accepted_at": "bigint",
    "code": "text",
    "commune": "text",
    "owner_desk": "text",
    "status": "text",
    "received_at": "text",
    "due_at": "text",
    "last_hlc": "bigint",
    "last_desk": "text",
    "last_seq": "bigint",
    "event_count": "integer",
    "state": "text",
    # server_dossier's figure columns and server_evaluation (issue 19)
    "field": "text",
    "channel": "text",
    "finished_at": "text",
    "resolved_at": "text",
    "returned_at": "text",
    "last_event_at": "text",
    "extension_count": "integer",
    "finished_key": "text",
    "ms_simple": "integer",
    "fin_at": "text",
    "fin_b": "integer",
    "sup_from": "text",
    "sup_to": "text",
    "due0": "text",
    "due1_at": "text",
    "due1": "text",
    "due2_at": "text",
    "due2": "text",
    "at": "text",
    "satisfaction": "integer",
    **{f"s{i}": "integer" for i in range(1, 10)},
    # server_figure: the names of server_dossier's milestones, times as integers there
    "online": "integer",
    "simple": "integer",
    "received": "bigint",
    **{f"server_figure.{c}": "bigint" for c in _FIGURE_TIMES},
}


def _bulk(
    conn: Connection,
    db: ServerDB,
    table: Table,
    keys: Sequence[str],
    rows: Sequence[dict[str, Any]],
    *,
    update: bool,
) -> None:
    """Bulk ``INSERT … ON CONFLICT (keys) DO NOTHING / DO UPDATE`` with one fixed statement.

    The ingest hot path, so plain SQL with a statement that never changes: on PostgreSQL one
    ``INSERT … SELECT * FROM unnest(array, array, …)`` per batch (one round trip, prepared
    once), on SQLite the C-level executemany. (SQLAlchemy's multi-row VALUES recompiles per row
    count, and psycopg's executemany sends one statement per row: both measured 3-4x slower.)
    """
    if not rows:
        return
    cols = [c.name for c in table.columns]
    names = ", ".join(cols)
    if update:
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
        conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
    else:
        conflict = f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
    if db.dialect == "postgresql":
        types = [_PG_TYPES.get(f"{table.name}.{c}") or _PG_TYPES[c] for c in cols]
        arrays = ", ".join(f"%b::{t}[]" for t in types)
        sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}) {conflict}"
        # Binary parameters (%b): psycopg's text-format array dumper escapes every element
        # with a regex (measured: half the ingest time); binary dumpers need no escaping.
        # The cursor belongs to the same connection, so this stays in the caller's transaction.
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(sql, tuple([r[c] for r in rows] for c in cols))
    else:
        marks = ", ".join("?" for _ in cols)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks}) {conflict}"
        conn.exec_driver_sql(sql, [tuple(r[c] for c in cols) for r in rows])


def _driver_rows(
    conn: Connection, db: ServerDB, sql: str, params: Sequence[Any], *, fetch: bool = True
) -> list[tuple[Any, ...]]:
    """Run one statement on the transaction's own DBAPI connection; rows as tuples.

    The ingest path's fixed statements, without SQLAlchemy's per-call compile and result
    machinery (a third of the ingest CPU once the Python folding was made cheap). ``sql`` uses
    ``?`` placeholders (SQLite's); on PostgreSQL they become psycopg's ``%s`` and, since the text
    never changes, psycopg prepares each statement after a few uses on a connection.
    ``fetch=False`` for statements whose rows are not wanted: inside ``pipeline`` they are then
    only queued (fetching is what forces a round trip; whether a statement returns rows is not
    even known before then).
    """
    if db.dialect == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), tuple(params))
            return list(cur.fetchall()) if fetch else []
    result = conn.exec_driver_sql(sql, tuple(params))
    return [tuple(r) for r in result.fetchall()] if fetch and result.returns_rows else []


@contextmanager
def pipeline(conn: Connection, db: ServerDB) -> Iterator[None]:
    """Statements issued inside go to PostgreSQL together (psycopg pipeline mode): one round
    trip for all of them, synced when a result is fetched and at the end of the block. Errors
    surface at the latest there, inside the caller's transaction. A no-op on SQLite."""
    if db.dialect != "postgresql":
        yield
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.pipeline():
        yield


_DESK_COLS = tuple(c.name for c in DESK.columns)


def lock_desk(*, conn: Connection, db: ServerDB, desk_id: str) -> dict[str, Any] | None:
    """The desk row, locked for the rest of the transaction (the per-desk serialisation point:
    ``FOR UPDATE`` on PostgreSQL; on SQLite the write transaction's ``BEGIN IMMEDIATE``)."""
    lock = " FOR UPDATE" if db.dialect == "postgresql" else ""
    rows = _driver_rows(
        conn,
        db,
        f"SELECT {', '.join(_DESK_COLS)} FROM server_desk WHERE desk_id = ?{lock}",
        (desk_id,),
    )
    return dict(zip(_DESK_COLS, rows[0], strict=True)) if rows else None


def advance_and_record(
    *,
    conn: Connection,
    db: ServerDB,
    desk_id: str,
    acked_seq: int,
    head: bytes,
    hlc_max: int,
    now: int,
    first: int,
    identity: bytes,
    ack: bytes,
    outbox: int | None = None,
) -> None:
    """Advance the desk's acknowledged position and store the batch's idempotency record
    (one round trip on PostgreSQL: a data-modifying CTE). ``outbox``: what the desk said it
    still held after this batch (None from a desk that does not say: the last value stays)."""
    advance = (
        "UPDATE server_desk SET acked_seq = ?, head = ?, hlc_max = ?, last_seen_at = ?, "
        "outbox = COALESCE(?, outbox) WHERE desk_id = ?"
    )
    record = (
        "INSERT INTO server_batch (desk_id, first_seq, last_seq, identity, ack, accepted_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (desk_id, first_seq, last_seq) DO NOTHING"
    )
    a = (acked_seq, head, hlc_max, now, outbox, desk_id)
    b = (desk_id, first, acked_seq, identity, ack, now)
    if db.dialect == "postgresql":
        _driver_rows(conn, db, f"WITH advanced AS ({advance}) {record}", a + b, fetch=False)
    else:
        _driver_rows(conn, db, advance, a, fetch=False)
        _driver_rows(conn, db, record, b, fetch=False)


_DOSSIER_LOCKS = 0x6F6E6574  # the advisory-lock class of dossier projections (any constant)


def lock_dossiers(*, conn: Connection, db: ServerDB, codes: Sequence[str]) -> None:
    """Serialise the projection of these dossiers across workers until the transaction ends.

    Two workers ingesting two desks' batches that touch one dossier (a dossier of desk 1
    forwarded at desk 2) would otherwise both read its row (or both find none), both fold their
    own events on top, and the second upsert would drop the first one's events. Transaction-
    scoped advisory locks, one per dossier, taken in one sorted order (no deadlock); the
    projection inputs are read after they are held. SQLite needs none: one writer at a time.
    """
    if db.dialect != "postgresql" or not codes:
        return
    _driver_rows(
        conn,
        db,
        "SELECT count(pg_advisory_xact_lock(?, h)) FROM "
        "(SELECT DISTINCT hashtext(c) AS h FROM unnest(?::text[]) AS c ORDER BY 1) AS k",
        (_DOSSIER_LOCKS, list(codes)),
        fetch=False,
    )


_MS_COLUMNS = (
    "ms_simple, last_event_at, fin_at, fin_b, sup_from, sup_to, due0, due1_at, due1, due2_at, due2"
)
_MS_NULLS = ", ".join(["NULL"] * 11)


def projection_inputs(
    *, conn: Connection, db: ServerDB, codes: Sequence[str], desk_id: str, first: int, last: int
) -> tuple[dict[str, tuple[Any, ...]], dict[str, int]]:
    """What folding a batch needs, in one query.

    * the projection rows of ``codes`` that exist: code -> (last_hlc, last_desk, last_seq,
      commune, state, then the milestone columns ms_simple, last_event_at, fin_at, fin_b,
      sup_from, sup_to, due0, due1_at, due1, due2_at, due2);
    * for the codes with no projection row yet: how many stored events of the dossier are *not*
      in this batch (``desk_id`` first..last). Usually none (a dossier received in this batch),
      and then its events are all at hand, already decoded.
    """
    if db.dialect == "postgresql":
        in_codes = "= ANY(?::text[])"
        params: list[Any] = [list(codes)]
    else:
        in_codes = "IN (SELECT value FROM json_each(?))"
        params = [json.dumps(list(codes))]
    sql = (
        f"SELECT 1, code, last_hlc, last_desk, last_seq, commune, state, {_MS_COLUMNS} "
        f"FROM server_dossier WHERE code {in_codes} "
        "UNION ALL "
        f"SELECT 2, e.dossier, count(*), NULL, NULL, NULL, NULL, {_MS_NULLS} FROM server_event e "
        f"WHERE e.dossier {in_codes} "
        "AND NOT (e.desk_id = ? AND e.seq BETWEEN ? AND ?) "
        "AND NOT EXISTS (SELECT 1 FROM server_dossier d WHERE d.code = e.dossier) "
        "GROUP BY e.dossier"
    )
    rows: dict[str, tuple[Any, ...]] = {}
    outside: dict[str, int] = {}
    for r in _driver_rows(conn, db, sql, [*params, *params, desk_id, first, last]):
        if r[0] == 1:
            rows[str(r[1])] = (int(r[2]), str(r[3]), int(r[4]), str(r[5]), str(r[6]), *r[7:])
        else:
            outside[str(r[1])] = int(r[2])
    return rows, outside


# ----------------------------------------------------------------------------- desks


def get_desk(*, conn: Connection, desk_id: str, lock: bool = False) -> RowMapping | None:
    stmt = select(DESK).where(DESK.c.desk_id == desk_id)
    if lock:
        stmt = stmt.with_for_update()  # the per-desk serialisation point on PostgreSQL
    return conn.execute(stmt).mappings().first()


def desks_of_commune(*, conn: Connection, commune: str) -> list[RowMapping]:
    return list(
        conn.execute(select(DESK).where(DESK.c.commune == commune).order_by(DESK.c.desk_id))
        .mappings()
        .all()
    )


def touch_desk(*, conn: Connection, desk_id: str, now: int) -> None:
    conn.execute(update(DESK).where(DESK.c.desk_id == desk_id).values(last_seen_at=now))


def name_commune(*, conn: Connection, db: ServerDB, commune: str, name: str, now: int) -> None:
    """Record the name a desk gives its commune (the latest one wins)."""
    conn.execute(
        upsert(db, COMMUNE, ["commune"]), [{"commune": commune, "name": name, "updated_at": now}]
    )


def commune_names(*, conn: Connection) -> dict[str, str]:
    """Commune code -> the name its desks gave at enrollment."""
    return {str(r[0]): str(r[1]) for r in conn.execute(select(COMMUNE.c.commune, COMMUNE.c.name))}


# ----------------------------------------------------------------------------- batches, events


def get_batch(*, conn: Connection, desk_id: str, first: int, last: int) -> RowMapping | None:
    return (
        conn.execute(
            select(BATCH).where(
                BATCH.c.desk_id == desk_id, BATCH.c.first_seq == first, BATCH.c.last_seq == last
            )
        )
        .mappings()
        .first()
    )


def insert_evaluations(*, conn: Connection, db: ServerDB, rows: Sequence[dict[str, Any]]) -> None:
    """The province's satisfaction figures' rows, once per event (a replayed batch adds none)."""
    _bulk(conn, db, EVALUATION, ["desk_id", "seq"], rows, update=False)


def upsert_figures(
    *, conn: Connection, db: ServerDB, rows: Sequence[dict[str, Any]], drop: Sequence[str]
) -> None:
    """The province figures' narrow rows (models.ServerFigure) of the dossiers a batch
    projected: ``rows`` written, ``drop`` (dossiers no report counts) removed."""
    _bulk(conn, db, FIGURE, ["code"], rows, update=True)
    if drop:
        conn.execute(FIGURE.delete().where(FIGURE.c.code.in_(list(drop))))


def insert_events(*, conn: Connection, db: ServerDB, rows: Sequence[dict[str, Any]]) -> None:
    """Each event once, forever: a duplicate (desk, seq) is silently skipped."""
    _bulk(conn, db, EVENT, ["desk_id", "seq"], rows, update=False)


def event_range(
    *, conn: Connection, desk_id: str, after: int, limit: int
) -> list[tuple[int, bytes, bytes]]:
    """(seq, body, head) of one desk's events after ``after``, in order."""
    rows = conn.execute(
        select(EVENT.c.seq, EVENT.c.body, EVENT.c.head)
        .where(EVENT.c.desk_id == desk_id, EVENT.c.seq > after)
        .order_by(EVENT.c.seq)
        .limit(limit)
    ).all()
    return [(int(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]


def event_head(*, conn: Connection, desk_id: str, seq: int) -> bytes | None:
    row = conn.execute(
        select(EVENT.c.head).where(EVENT.c.desk_id == desk_id, EVENT.c.seq == seq)
    ).first()
    return None if row is None else bytes(row[0])


def events_of_dossiers(
    *, conn: Connection, codes: Iterable[str]
) -> dict[str, list[tuple[str, int, bytes]]]:
    """(desk, seq, body) of every event of each dossier, in (hlc, desk, seq) order."""
    out: dict[str, list[tuple[str, int, bytes]]] = {}
    codes = list(codes)
    for i in range(0, len(codes), _CHUNK):
        rows = conn.execute(
            select(EVENT.c.dossier, EVENT.c.desk_id, EVENT.c.seq, EVENT.c.body)
            .where(EVENT.c.dossier.in_(codes[i : i + _CHUNK]))
            .order_by(EVENT.c.dossier, EVENT.c.hlc, EVENT.c.desk_id, EVENT.c.seq)
        ).all()
        for r in rows:
            out.setdefault(str(r[0]), []).append((str(r[1]), int(r[2]), bytes(r[3])))
    return out


def count_events(*, conn: Connection, desk_ids: Sequence[str] | None = None) -> int:
    stmt = select(func.count()).select_from(EVENT)
    if desk_ids is not None:
        stmt = stmt.where(EVENT.c.desk_id.in_(list(desk_ids)))
    return int(conn.execute(stmt).scalar_one())


# ----------------------------------------------------------------------------- dossiers


def dossier_rows(*, conn: Connection, codes: Iterable[str]) -> dict[str, RowMapping]:
    out: dict[str, RowMapping] = {}
    codes = list(codes)
    for i in range(0, len(codes), _CHUNK):
        for r in (
            conn.execute(select(DOSSIER).where(DOSSIER.c.code.in_(codes[i : i + _CHUNK])))
            .mappings()
            .all()
        ):
            out[str(r["code"])] = r
    return out


def upsert_dossiers(*, conn: Connection, db: ServerDB, rows: Sequence[dict[str, Any]]) -> None:
    _bulk(conn, db, DOSSIER, ["code"], rows, update=True)


def dossier_states(*, conn: Connection, commune: str | None = None) -> list[tuple[str, str]]:
    stmt = select(DOSSIER.c.code, DOSSIER.c.state)
    if commune is not None:
        stmt = stmt.where(DOSSIER.c.commune == commune)
    return [(str(r[0]), str(r[1])) for r in conn.execute(stmt).all()]
