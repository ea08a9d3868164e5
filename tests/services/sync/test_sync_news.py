"""Issue 19 §4: a daily sync with nothing new from the commune is its batch POSTs alone.

The ack of a freshly committed batch carries the commune's news (protocol 2, ack key 6): the
server's reference version and the other desks' acknowledged positions. The desk skips the
feed and reference requests when they would bring nothing, and makes them as before when
they would. Counted at the loopback proxy in front of a real ``onestop serve``; a desk of
protocol 1 (the real code with the constant patched, which refuses an ack with key 6, as
0.1.0 does) still syncs with this server and still fetches as before.
"""

from __future__ import annotations

import random
from pathlib import Path

import httpx

from onestop.server import repo
from onestop.server.db import ServerDB, migrate
from onestop.server.feed import ack_with_news
from onestop.server.keys import server_signer
from onestop.server.reference import publish
from onestop.services.desk import Desk
from onestop.services.sync import client as sync
from onestop.services.sync.base import SyncReport
from onestop.services.sync.enroll import _server_keys, desk_signer
from onestop.wire import version
from onestop.wire.base import API, CBOR_MEDIA
from onestop.wire.codec import current_dictionary
from onestop.wire.messages import MAX_NEWS_DESKS, Ack, News, open_ack, sign_ack
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_exactly_once,
    enroll,
    make_desk,
    passphrase,
    random_work,
)
from tests.services.sync.proxy import FaultProxy
from tests.services.sync.release_main import as_release


def _sync(desk: Desk) -> SyncReport:
    report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST, files=False)
    assert report.ok, report.error
    return report


def _paths(proxy: FaultProxy) -> list[str]:
    return [path.split("?")[0].removeprefix(API) for path, *_ in proxy.stats.per_request]


def test_nothing_new_means_no_feed_and_no_reference_request(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    rng = random.Random(81)
    ca, cb = Clock(), Clock()
    a = make_desk(tmp_path / "a.sqlite", n=81, desk_no=1, clock=ca)
    b = make_desk(tmp_path / "b.sqlite", n=81, desk_no=2, clock=cb)
    enroll(a, sqlite_server.db_url, proxy.url)
    enroll(b, sqlite_server.db_url, proxy.url)
    random_work(a, ca, rng, 20)
    _sync(a)  # the first run also fetches the reference data it has never seen
    _sync(b)

    # A day's work, nobody else synced since: the batch POST is the whole sync.
    codes = random_work(a, ca, rng, 25)
    proxy.reset_stats()
    report = _sync(a)
    assert _paths(proxy) == ["/batches"] and report.requests == 1
    assert report.sent_events > 0 and a.outbox_size() == 0

    # The other desk uploads: the next ack says so, and the feed is fetched (and verified).
    random_work(b, cb, rng, 15)
    _sync(b)
    random_work(a, ca, rng, 5, codes)
    proxy.reset_stats()
    report = _sync(a)
    assert _paths(proxy) == ["/batches", "/events"]
    assert report.received_events > 0

    # New reference data: the next ack names a newer version, and it is fetched and applied.
    db = ServerDB(sqlite_server.db_url)
    try:
        assert publish(db, "calendar", b"2026-12-31,off,Nghi bu\n") is not None
    finally:
        db.close()
    random_work(a, ca, rng, 5, codes)
    proxy.reset_stats()
    report = _sync(a)
    assert _paths(proxy) == ["/batches", "/reference"]
    assert report.reference_updated == ["calendar"]

    # Nothing to upload: no ack, no news, so both are asked for as before.
    proxy.reset_stats()
    _sync(a)
    assert sorted(_paths(proxy)) == ["/events", "/reference"]
    assert_exactly_once(a, sqlite_server.db_url)
    assert_exactly_once(b, sqlite_server.db_url)


def test_a_protocol_1_desk_gets_plain_acks_and_fetches_as_before(
    proxy: FaultProxy, sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    clock = Clock()
    desk = make_desk(tmp_path / "old.sqlite", n=82, clock=clock)
    with as_release(version.ACK_NEWS_SINCE - 1):
        enroll(desk, sqlite_server.db_url, proxy.url)
        random_work(desk, clock, random.Random(82), 20)
        _sync(desk)
        random_work(desk, clock, random.Random(83), 20)
        proxy.reset_stats()
        report = _sync(desk)  # it refuses an ack with key 6: none was sent
    assert report.sent_events > 0 and desk.outbox_size() == 0
    assert _paths(proxy)[0] == "/batches"
    assert sorted(_paths(proxy)[1:]) == ["/events", "/reference"]
    assert_exactly_once(desk, sqlite_server.db_url)


def test_the_news_goes_in_fresh_acks_to_protocol_2_only(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=83, clock=clock)
    sibling = make_desk(tmp_path / "sibling.sqlite", n=83, desk_no=2, clock=Clock())
    enroll(desk, sqlite_server.db_url, sqlite_server.url)
    enroll(sibling, sqlite_server.db_url, sqlite_server.url)
    random_work(desk, clock, random.Random(84), 12)
    signer = desk_signer(desk, passphrase)
    keys = _server_keys(desk)
    dictionary = current_dictionary()

    def post(first: int, last: int, protocol: int) -> httpx.Response:
        env, body = sync.build_batch(desk, signer, first, last, "zstd", dictionary)
        headers = {
            "Content-Type": CBOR_MEDIA,
            "Content-Encoding": "zstd",
            "Idempotency-Key": env.key,
            version.HEADER: str(protocol),
        }
        return httpx.post(f"{sqlite_server.url}{API}/batches", content=body, headers=headers)

    old = post(1, 4, 1)
    assert old.status_code == 200
    assert open_ack(old.content, keys).news is None  # a protocol-1 desk can read it

    fresh = post(5, 8, 2)
    news = open_ack(fresh.content, keys, news=True).news
    assert news is not None
    assert news.desks == ((sibling.identity.desk_id, 0),) and news.reference >= 1

    # A replay is the stored ack byte for byte, without news (it would be stale by now).
    again = post(5, 8, 2)
    assert again.headers["Idempotent-Replayed"] == "true"
    replayed = open_ack(again.content, keys)
    assert replayed.news is None and replayed.acked_seq == 8


def test_a_commune_past_the_bound_gets_no_news(tmp_path: Path) -> None:
    db = ServerDB(f"sqlite:///{tmp_path / 'server.sqlite'}")
    migrate(db)
    signer = server_signer(db)

    def add_desks(first: int, count: int) -> None:
        with db.write() as conn:
            for n in range(first, first + count):
                conn.execute(
                    repo.DESK.insert().values(
                        desk_id=f"20084-{n:02d}" if n < 100 else f"20084-{n}",
                        commune="20084",
                        desk_no=n,
                        alg=signer.alg,
                        public_key=signer.public_key_bytes(),
                        kid=n.to_bytes(8, "big"),
                        status="active",
                        enrolled_at=0,
                        acked_seq=n,
                        head=bytes(32),
                        hlc_max=0,
                    )
                )

    plain = sign_ack(signer, Ack("20084-01", 3, bytes(32), 1_700_000_000, "20084-01:1-3"))
    keys = {signer.kid: (signer.alg, signer.public_key_bytes())}
    try:
        add_desks(1, 3)
        news = open_ack(ack_with_news(db, signer, plain), keys, news=True).news
        assert news == News(0, (("20084-02", 2), ("20084-03", 3)))
        add_desks(4, MAX_NEWS_DESKS - 2)  # 201 desks: 200 others, at the bound
        news = open_ack(ack_with_news(db, signer, plain), keys, news=True).news
        assert news is not None and len(news.desks) == MAX_NEWS_DESKS
        add_desks(4 + MAX_NEWS_DESKS - 2, 1)  # one more: the plain ack, fetch as before
        assert ack_with_news(db, signer, plain) == plain
    finally:
        db.close()
