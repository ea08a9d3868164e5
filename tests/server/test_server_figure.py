"""server_figure (issue 19 §1): the province figures' narrow rows, kept by ingest in the batch's
transaction and backfilled by migration 0007, always equal what folding each dossier's whole
stored log gives (``ingest.figure_row``), whatever order the batches came in."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sqlalchemy import select

from onestop.domain import milestones
from onestop.domain.events import Event
from onestop.server import repo
from onestop.server.db import ServerDB, downgrade, migrate
from onestop.server.ingest import OPEN_SECONDS, clock_seconds, figure_row
from onestop.services.demo import PROCEDURES, _person
from onestop.services.desk import IntakeForm
from onestop.services.sync.client import build_batch
from onestop.wire.codec import current_dictionary
from tests.server.conftest import EnrolledDesk, Server
from tests.services.sync.helpers import last_seq, random_work

API = "/sync/v1/batches"


def refolded(db: ServerDB) -> dict[str, dict[str, Any] | None]:
    """Every projected dossier's figure row, folded again from its whole stored log."""
    d = repo.DOSSIER
    with db.read() as conn:
        communes = {str(c): str(m) for c, m in conn.execute(select(d.c.code, d.c.commune))}
        logs = repo.events_of_dossiers(conn=conn, codes=list(communes))
    out: dict[str, dict[str, Any] | None] = {}
    for code, commune in communes.items():
        st, ms = milestones.fold([Event.from_body(k, b) for k, _s, b in logs[code]])
        assert st is not None and ms is not None
        out[code] = figure_row(st, ms, commune)
    return out


def stored(db: ServerDB) -> dict[str, dict[str, Any]]:
    with db.read() as conn:
        return {str(r["code"]): dict(r) for r in conn.execute(select(repo.FIGURE)).mappings().all()}


def assert_figures_match(db: ServerDB) -> int:
    """server_figure holds exactly the refolded rows (none for refused-at-intake dossiers)."""
    want = {code: row for code, row in refolded(db).items() if row is not None}
    assert stored(db) == want
    # Each evaluation carries its dossier's commune, field and reception.
    v = repo.EVALUATION
    with db.read() as conn:
        copies = conn.execute(select(v.c.dossier, v.c.commune, v.c.field, v.c.received)).all()
    for code, commune, field, received in copies:
        row = want.get(code)
        expect = (None, None, None) if row is None else tuple(row[k] for k in _COPIED)
        assert (commune, field, received) == expect, code
    return len(want)


_COPIED = ("commune", "field", "received")


def post(server: Server, e: EnrolledDesk, first: int, last: int) -> None:
    env, body = build_batch(e.desk, e.signer, first, last, "zstd", current_dictionary())
    headers = {"Idempotency-Key": env.key, "Content-Type": "application/cbor"}
    resp = server.client.post(API, content=body, headers={**headers, "Content-Encoding": "zstd"})
    assert resp.status_code == 200, resp.text


def test_clock_seconds_orders_like_the_text_columns():
    times = [datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 0, 1), datetime(2026, 12, 31, 17)]
    assert [clock_seconds(t) for t in times] == sorted(clock_seconds(t) for t in times)
    assert clock_seconds(datetime(1970, 1, 2, 0, 0, 5)) == 86405
    assert OPEN_SECONDS == clock_seconds(datetime(9999, 12, 31, 23, 59, 59))


def test_ingest_keeps_figure_rows_batch_by_batch(server: Server, enrolled: EnrolledDesk):
    # A dossier refused at intake: no report counts it, so it has no figure row.
    form = IntakeForm(
        procedure_code=PROCEDURES[0][0], applicant=_person(random.Random(1), enrolled.clock.now)
    )
    refused = enrolled.desk.refuse_intake(form, "Hồ sơ không thuộc thẩm quyền.").code
    top = last_seq(enrolled.desk)
    # Small batches, so later events fold on top of rows an earlier batch wrote.
    for first in range(1, top + 1, 7):
        post(server, enrolled, first, min(top, first + 6))
        assert_figures_match(server.db)
    # The same batch again (a lost ack): the stored ack, the rows unchanged.
    before = stored(server.db)
    post(server, enrolled, 1, 7)
    assert stored(server.db) == before
    assert refused not in before
    assert before, "the desk's work projected no dossier"
    # More work on the same dossiers (supplements, decisions, returns) in one batch.
    random_work(enrolled.desk, enrolled.clock, random.Random(5), 300)
    post(server, enrolled, top + 1, last_seq(enrolled.desk))
    n = assert_figures_match(server.db)
    assert n > len(before)
    simple = [r for r in stored(server.db).values() if r["simple"]]
    assert simple and any(r["fin_b"] is not None for r in simple)
    with server.db.read() as conn:
        assert conn.execute(select(repo.EVALUATION.c.commune)).first(), "no evaluation"


def test_migration_backfills_figure_rows(server: Server, enrolled: EnrolledDesk):
    random_work(enrolled.desk, enrolled.clock, random.Random(7), 80)
    post(server, enrolled, 1, last_seq(enrolled.desk))
    written = stored(server.db)
    assert written
    # A database from before migration 0007: the table does not exist yet.
    downgrade(server.db, "0006")
    migrate(server.db)
    assert stored(server.db) == written
    assert_figures_match(server.db)
