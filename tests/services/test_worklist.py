""" "Việc chờ tôi" on a real demo desk: every dossier a queue lists has that queue's next action
available to the queue's role (so opening it from the dashboard, "1" in the menu is the work),
counts equal the lists, and the intake search ranks this desk's usual procedures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from onestop.domain.desk_actions import Person, offers
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import Status
from onestop.domain.worklist import QUEUES, queues_for
from onestop.services.demo import build_demo
from onestop.services.desk import Desk
from onestop.services.procedure_search import find_procedures
from onestop.services.worklist import queue_dossiers, worklist
from onestop.store.keyring import Account
from onestop.store.queries import DossierFilter
from tests.conftest import FROZEN


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("worklist") / "demo.sqlite"
    build_demo(path, dossiers=80, seed=3, now=FROZEN)
    return path


@pytest.fixture
def desk(demo: Path) -> Iterator[Desk]:
    d = Desk.open(demo, clock=lambda: FROZEN, actor="Lò Thị Mai")
    yield d
    d.close()


def as_person(desk: Desk, name: str, role: str) -> None:
    desk.account = Account(username="u", display_name=name, roles=(role,))
    desk.actor = name


def test_every_queued_dossier_has_its_next_action_first_for_the_role(desk: Desk) -> None:
    handlers = {s.handler for s in desk.page(DossierFilter(), limit=200).rows if s.handler}
    seen = 0
    for q in QUEUES:
        for name in sorted(handlers) if q.mine else ["Lò Thị Mai"]:
            as_person(desk, name, q.role.value)
            rows = queue_dossiers(desk, q.key, limit=500)
            counts = {w.queue.key: w.count for w in worklist(desk)}
            assert counts[q.key] == len(rows)
            for s in rows:
                got = offers(s, Person((q.role.value,), name), now=FROZEN, cal=desk.calendar)
                ok = [o.kind for o in got if o.available]
                assert q.next_action in ok, (q.key, s.code, s.status, ok)
                if q.mine:
                    assert s.handler.casefold() == name.casefold()
                seen += 1
    assert seen > 10  # the demo fills several queues


def test_a_queue_lists_the_most_urgent_first(desk: Desk) -> None:
    as_person(desk, "Lò Thị Mai", "clerk")
    rows = queue_dossiers(desk, "clerk_evaluate", limit=500)
    assert rows and all(s.status == Status.RETURNED and not s.evaluation for s in rows)
    dues = [s.due_at for s in rows if s.due_at is not None]
    assert dues == sorted(dues)


def test_no_queues_without_an_account_and_per_role(desk: Desk) -> None:
    desk.account = None
    assert worklist(desk) == ()
    assert {q.role.value for q in queues_for(("leader",))} == {"leader"}
    assert [q.next_action for q in queues_for(("specialist",))][0] == EventKind.START


def test_the_intake_search_puts_the_best_name_match_first(desk: Desk) -> None:
    found = find_procedures(desk, "chung thuc chu")
    assert found[0].code == "2.000884"
    assert [p.code for p in find_procedures(desk, "2.000884")] == ["2.000884"]
