"""The same guarantees on PostgreSQL: a throwaway cluster, `onestop serve --workers 2`,
several desks syncing at once through faults, and concurrent duplicates of one batch."""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from onestop.server import db as server_db
from onestop.server import repo
from onestop.server.app import create_app
from onestop.server.db import ServerDB
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from onestop.services.sync.client import build_batch
from onestop.wire.codec import current_dictionary
from tests.services.sync.helpers import (
    FAST,
    Clock,
    PgCluster,
    assert_converged,
    commune,
    enroll,
    make_desk,
    passphrase,
    random_work,
    running_server,
    server_digest,
)
from tests.services.sync.proxy import FaultProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _db(pg: PgCluster) -> str:
    return pg.create_database(f"t_{uuid.uuid4().hex[:10]}")


def test_migrations_on_postgres(pg: PgCluster):
    db = ServerDB(_db(pg))
    server_db.migrate(db)
    server_db.migrate(db)  # a second worker starting: a no-op
    server_db.check(db)
    assert "server_event" in inspect(db.write_engine).get_table_names()
    server_db.downgrade(db, "base")
    assert "server_event" not in inspect(db.write_engine).get_table_names()
    db.close()


def test_three_desks_two_workers_with_faults(pg: PgCluster, tmp_path: Path):
    url = _db(pg)
    with running_server(url, workers=2) as server:
        proxy = FaultProxy(server.port).start()
        try:
            desks = []
            for no in (1, 2, 3):
                clock = Clock()
                d = make_desk(tmp_path / f"d{no}.sqlite", n=50, desk_no=no, clock=clock)
                enroll(d, url, proxy.url)
                desks.append(
                    (d, clock, random.Random(no), random_work(d, clock, random.Random(no), 60))
                )
            for kind in ("duplicate", "drop_response", "reorder", "http500", "truncate", "portal"):
                proxy.add(kind, nth=2)
            errors: list[str] = []

            def run(d) -> None:
                rep = sync.sync_once(d, passphrase_provider=passphrase, options=FAST)
                if not rep.ok:
                    errors.append(rep.error or "?")

            threads = [threading.Thread(target=run, args=(d,)) for d, *_ in desks]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
            # More work everywhere, then clean syncs until every desk holds everything.
            for d, clock, rng, codes in desks:
                random_work(d, clock, rng, 15, codes)
            for _round in range(2):
                for d, *_ in desks:
                    rep = sync.sync_once(d, passphrase_provider=passphrase, options=FAST)
                    assert rep.ok, rep.error
            for d, *_ in desks:
                assert_converged(d, url)
            digests = {sync_apply.desk_digest(d) for d, *_ in desks}
            assert digests == {server_digest(url, commune(50))}
        finally:
            proxy.close()
            for d, *_ in desks:
                d.close()


def test_concurrent_duplicates_on_postgres(pg: PgCluster, tmp_path: Path):
    url = _db(pg)
    app = create_app(url)
    clock = Clock()
    desk = make_desk(tmp_path / "d.sqlite", n=51, clock=clock)
    random_work(desk, clock, random.Random(4), 40)
    enroll(desk, url, "http://server", transport=httpx.ASGITransport(app=app))
    signer = sync_enroll.desk_signer(desk, passphrase)
    env, body = build_batch(desk, signer, 1, 30, "zstd", current_dictionary())
    results: list[tuple[int, bytes]] = []

    def post() -> None:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://server"
            ) as c:
                return await c.post(
                    "/sync/v1/batches",
                    content=body,
                    headers={"Idempotency-Key": env.key, "Content-Encoding": "zstd"},
                )

        r = asyncio.run(go())
        results.append((r.status_code, r.content))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {s for s, _ in results} == {200}
    assert len({c for _, c in results}) == 1
    db = ServerDB(url)
    with db.read() as conn:
        assert repo.count_events(conn=conn) == 30
    db.close()
    desk.close()
