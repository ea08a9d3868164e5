"""Issue 16 (9): two offline desks act on one dossier, against a real server. The merge keeps
the legal outcome (a decision stands over a concurrent withdrawal; a duplicate payment is
counted once), flags it, and one conflict gives exactly one conflict event on every desk and
at the province, in either sync order."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from onestop.domain.events import Event, EventKind
from onestop.domain.reports import Period
from onestop.services.demo import _person
from onestop.services.desk import Desk, IntakeForm
from onestop.services.reports import report_fees
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import client as sync
from onestop.store.models import EventRow
from onestop.store.repo_events import row_to_event
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_converged,
    enroll,
    make_desk,
    passphrase,
    server_digest,
    server_events,
)


def receive(desk: Desk, clock: Clock, rng: random.Random) -> str:
    form = IntakeForm(procedure_code="1.001193", applicant=_person(rng, clock.now), fee_vnd=0)
    return desk.receive(form).code


def _sync(*desks: Desk) -> None:
    for d in desks:
        report = sync.sync_once(d, passphrase_provider=passphrase, options=FAST)
        assert report.ok, report.error


def _conflict_events(desk: Desk) -> list[Event]:
    with desk.store.read() as db:
        rows = db.exec(select(EventRow).where(EventRow.kind == EventKind.CONFLICT.value)).all()
        return [row_to_event(r) for r in rows]


def _server_conflicts(db_url: str, desk_ids: list[str]) -> list[Event]:
    out = []
    for d in desk_ids:
        out += [
            e
            for e in (Event.from_body(d, b) for _s, b in server_events(db_url, d))
            if e.kind == EventKind.CONFLICT
        ]
    return out


@pytest.mark.parametrize("order", ["ABAB", "BABA"])
def test_legal_outcome_kept_and_flagged_once_in_either_sync_order(
    sqlite_server: ServerProcess, tmp_path: Path, order: str
) -> None:
    n = 60 + len(order) + (0 if order == "ABAB" else 1)
    ca, cb = Clock(), Clock()
    a = make_desk(tmp_path / "a.sqlite", n=n, desk_no=1, clock=ca)
    b = make_desk(tmp_path / "b.sqlite", n=n, desk_no=2, clock=cb)
    for d in (a, b):
        enroll(d, sqlite_server.db_url, sqlite_server.url)
    rng = random.Random(16)
    decided, paid = receive(a, ca, rng), receive(a, ca, rng)
    a.act(decided, "forward", {"to": "Công chức Tư pháp - Hộ tịch"})
    a.act(paid, "request_payment", {"amount": 20000})
    _sync(a, b)
    assert b.get(paid).status == "payment_requested"
    fee_before = b.get(paid).fee_paid

    # Both offline; B's actions come later in time than A's.
    ca.advance(30)
    cb.advance(45)
    a.act(decided, "resolve", {"decision": "approved"})
    b.act(decided, "withdraw", {"reason": "Công dân đề nghị rút hồ sơ."})
    a.act(paid, "record_payment", {"amount": 20000})
    b.act(paid, "record_payment", {"amount": 20000})

    desks = {"A": a, "B": b}
    _sync(*(desks[c] for c in order))
    _sync(a, b, a)  # everything everywhere

    for d in (a, b):
        s = d.get(decided)
        assert (s.status, s.decision) == ("resolved", "approved")  # the decision stands
        p = d.get(paid)
        assert p.fee_paid == fee_before + 20000  # counted once, not 40.000
        events = _conflict_events(d)
        assert sorted(e.dossier for e in events) == sorted([decided, paid]), events
        found = {c.dossier: c for c in d.conflicts()}
        assert found[decided].status == "resolved" and found[decided].set_aside
        assert "fee_paid" in found[paid].fields and found[paid].set_aside
        with d.store.read() as db:  # the fee report counts the duplicate once too
            fees = report_fees(db, Period(date(2000, 1, 1), date(2099, 12, 31)))
        assert fees.amount == p.fee_paid and fees.payments == 1
        assert_converged(d, sqlite_server.db_url)
    at_province = _server_conflicts(sqlite_server.db_url, [a.identity.desk_id, b.identity.desk_id])
    assert sorted(e.dossier for e in at_province) == sorted([decided, paid])
    assert sync_apply.desk_digest(a) == sync_apply.desk_digest(b)
    assert server_digest(sqlite_server.db_url, a.identity.commune_code) == sync_apply.desk_digest(a)
    # Each clerk acknowledges on their own desk; the conflict keeps its one id everywhere.
    ids_a = sorted(c.id for c in a.conflicts())
    assert ids_a == sorted(c.id for c in b.conflicts())
    assert a.mark_conflict_seen(ids_a[0]) is True
    a.close()
    b.close()
