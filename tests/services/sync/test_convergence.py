"""Property: any interleaving of two desks' offline work and partial syncs converges.

Two desks of one commune work offline (each also on the other's dossiers once it has them),
and sync in pieces: uploads cut off after a few requests, downloads alone, full syncs. After
a final round of full syncs, both desks and the server hold the same events exactly once
and the same state of every dossier, and each desk's projection equals a rebuild from its log.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.server.app import create_app
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import base as sync_base
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from onestop.store.repo_dossiers import all_codes
from tests.services.sync.helpers import (
    Clock,
    assert_converged,
    enroll,
    make_desk,
    passphrase,
    random_work,
    server_digest,
)


class FlakyTransport(httpx.AsyncBaseTransport):
    """The link drops for good after ``budget`` requests (a partial sync)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, budget: int) -> None:
        self.inner = inner
        self.budget = budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.budget <= 0:
            raise httpx.ConnectError("link down", request=request)
        self.budget -= 1
        return await self.inner.handle_async_request(request)


CUT = sync_base.SyncOptions(max_attempts=1, base_delay=0.0, seed=1)
FULL = sync_base.SyncOptions(max_attempts=3, base_delay=0.0, seed=1)

step = st.one_of(
    st.tuples(st.just("work"), st.integers(0, 1), st.integers(1, 12)),
    st.tuples(st.just("upload"), st.integers(0, 1), st.integers(0, 3)),
    st.tuples(st.just("download"), st.integers(0, 1), st.integers(1, 2)),
    st.tuples(st.just("sync"), st.integers(0, 1), st.just(0)),
)


@pytest.mark.slow
@settings(max_examples=10, deadline=None)
@given(plan=st.lists(step, min_size=3, max_size=14), seed=st.integers(0, 10_000))
def test_two_desks_converge(plan: list[tuple[str, int, int]], seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _run(Path(tmp), plan, seed)


def _run(tmp: Path, plan: list[tuple[str, int, int]], seed: int) -> None:
    url = f"sqlite:///{tmp / 'server.sqlite'}"
    app = create_app(url)
    asgi = httpx.ASGITransport(app=app)
    rng = random.Random(seed)
    clocks = [Clock(), Clock()]
    # The laptops' clocks disagree, sometimes by hours (a field laptop's clock is often wrong).
    clocks[1].advance(rng.choice([-300, -45, 0, 45, 300]))
    desks = [make_desk(tmp / f"d{i}.sqlite", n=60, desk_no=i + 1, clock=clocks[i]) for i in (0, 1)]
    try:
        for d in desks:
            enroll(d, url, "http://server", transport=asgi)
        signers = [sync_enroll.desk_signer(d, passphrase) for d in desks]

        def run(i: int, options: sync_base.SyncOptions, transport: Any) -> sync_base.SyncReport:
            return sync.sync_once(desks[i], signer=signers[i], options=options, transport=transport)

        for kind, i, n in plan:
            if kind == "work":
                with desks[i].store.read() as db:
                    codes = all_codes(db=db)
                random_work(desks[i], clocks[i], rng, n, codes)
            elif kind == "upload":
                opts = sync_base.SyncOptions(
                    **{**CUT.__dict__, "download": False, "reference": False}
                )
                run(i, opts, FlakyTransport(asgi, n))
            elif kind == "download":
                opts = sync_base.SyncOptions(
                    **{**CUT.__dict__, "upload": False, "reference": False}
                )
                run(i, opts, FlakyTransport(asgi, n))
            else:
                assert run(i, FULL, asgi).ok
        for i in (0, 1, 0):
            report = run(i, FULL, asgi)
            assert report.ok, report.error
        for d in desks:
            assert_converged(d, url)
        assert (
            sync_apply.desk_digest(desks[0])
            == sync_apply.desk_digest(desks[1])
            == server_digest(url, "20060")
        )
    finally:
        for d in desks:
            d.close()


def test_a_slow_clock_still_orders_after_what_it_has_seen(tmp_path: Path) -> None:
    """The HLC receive rule: a desk whose clock is hours behind acts on a dossier it received
    from another desk; its event must sort after everything it has seen, or the server (which
    folds in HLC order) and the desk (which folded it on top) would disagree."""
    url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    asgi = httpx.ASGITransport(app=create_app(url))
    fast, slow = Clock(), Clock()
    slow.advance(-600)
    a = make_desk(tmp_path / "a.sqlite", n=61, desk_no=1, clock=fast)
    b = make_desk(tmp_path / "b.sqlite", n=61, desk_no=2, clock=slow)
    for d in (a, b):
        enroll(d, url, "http://server", transport=asgi)
    rng = random.Random(2)
    codes = random_work(a, fast, rng, 8)
    sa = sync_enroll.desk_signer(a, passphrase)
    sb = sync_enroll.desk_signer(b, passphrase)
    assert sync.sync_once(a, signer=sa, transport=asgi, options=FULL).ok
    assert sync.sync_once(b, signer=sb, transport=asgi, options=FULL).ok
    target = next(c for c in codes if "forward" in b.get(c).allowed_actions())
    b.act(target, "forward", {"to": "Công an xã"})
    history = b.history(target)
    assert history[-1].desk_id == b.identity.desk_id  # sorted last despite the slow clock
    for d, s in ((b, sb), (a, sa), (b, sb)):
        assert sync.sync_once(d, signer=s, transport=asgi, options=FULL).ok
    for d in (a, b):
        assert_converged(d, url)
    assert a.get(target).handler == "Công an xã"
