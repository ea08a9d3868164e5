"""Issue 19 §1: desks report their outbox (events not yet sent) in each signed batch envelope;
the server keeps the last value per desk for the province dashboard's "events pending".
Desks that predate the field are still accepted (and leave the last known value alone)."""

from __future__ import annotations

import random
from typing import Any

import cbor2
import pytest
import zstandard
from sqlalchemy import select

from onestop.domain.events import EventKind
from onestop.server import repo
from onestop.server.db import ServerDB, downgrade, migrate
from onestop.wire.base import WireError
from onestop.wire.codec import current_dictionary
from onestop.wire.messages import Envelope, encode_batch
from tests.server.conftest import EnrolledDesk, Server
from tests.server.test_batches import batch, post
from tests.services.sync.helpers import last_seq, random_work


def _outbox(server: Server, desk_id: str) -> int | None:
    with server.db.read() as conn:
        desk = repo.get_desk(conn=conn, desk_id=desk_id)
    assert desk is not None
    return None if desk["outbox"] is None else int(desk["outbox"])


def test_the_envelope_carries_the_outbox_and_the_server_keeps_it(
    server: Server, enrolled: EnrolledDesk
):
    total = last_seq(enrolled.desk)
    assert _outbox(server, enrolled.desk.identity.desk_id) is None  # nothing reported yet
    env, body = batch(enrolled, 1, 10)
    assert env.outbox == total - 10
    assert post(server, body, env.key).status_code == 200
    assert _outbox(server, env.desk) == total - 10

    # An older desk's envelope has no outbox (key 12): accepted; the last value stays.
    old, new_body = batch(enrolled, 11, 20)
    raw = cbor2.loads(
        zstandard.ZstdDecompressor(dict_data=current_dictionary()).decompress(new_body)
    )
    bare = Envelope(old.desk, 11, 20, old.prev_head, old.head, 0, old.hlc_max, 10, outbox=None)
    assert 12 not in bare.to_map()
    resp = post(server, encode_batch(enrolled.signer, bare, list(raw[1])), bare.key, "identity")
    assert resp.status_code == 200, resp.text
    assert _outbox(server, env.desk) == total - 10

    env3, body3 = batch(enrolled, 21, total)
    assert env3.outbox == 0
    assert post(server, body3, env3.key).status_code == 200
    assert _outbox(server, env.desk) == 0


def test_envelope_outbox_round_trip_and_bounds():
    env = Envelope("20001-01", 1, 2, bytes(32), bytes(32), 0, 5, 2, outbox=7)
    assert Envelope.from_payload(cbor2.dumps(env.to_map())) == env
    plain = Envelope("20001-01", 1, 2, bytes(32), bytes(32), 0, 5, 2)
    assert Envelope.from_payload(cbor2.dumps(plain.to_map())).outbox is None
    for bad in (-1, "7", 2**63):
        m = {**env.to_map(), 12: bad}
        with pytest.raises(WireError):
            Envelope.from_payload(cbor2.dumps(m))
    with pytest.raises(WireError):
        Envelope.from_payload(cbor2.dumps({**env.to_map(), 13: 1}))


def _figure_rows(db: ServerDB) -> tuple[list[Any], list[Any]]:
    with db.read() as conn:
        d = repo.DOSSIER
        cols = [c for c in d.columns if c.name != "state"]
        dossiers = [tuple(r) for r in conn.execute(select(*cols).order_by(d.c.code))]
        e = repo.EVALUATION
        evals = [tuple(r) for r in conn.execute(select(e).order_by(e.c.desk_id, e.c.seq))]
    return dossiers, evals


def test_upgrading_an_older_database_fills_the_figures_from_its_events(
    server: Server, enrolled: EnrolledDesk
):
    """Issue 19 §1: a database from before the figure columns (migration 0005) gets them on
    upgrade, folded from its stored events: the same values ingest writes batch by batch."""
    clock, desk = enrolled.clock, enrolled.desk
    codes = random_work(desk, clock, random.Random(8), 150)
    for code in codes[:40]:  # evaluations for the satisfaction rows
        state = desk.get(code)
        if EventKind.EVALUATE in state.allowed_actions():
            desk.act(code, EventKind.EVALUATE, {"scores": [2] * 9, "satisfaction": 4})
    total, first = last_seq(desk), 1
    while first <= total:  # several batches: projections folded incrementally
        env, body = batch(enrolled, first, min(first + 39, total))
        assert post(server, body, env.key).status_code == 200
        first = env.last_seq + 1
    before = _figure_rows(server.db)
    assert before[0] and any(r for r in before[0])
    downgrade(server.db, "0005")
    migrate(server.db)
    assert _figure_rows(server.db) == before
