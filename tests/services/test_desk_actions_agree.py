"""The menu's answer (``domain/desk_actions.offers``) agrees with what ``Desk.act`` does.

Random dossier lives on a real desk (SQLite file, the real lifecycle, role table and two-person
rule), walked by random people: at every step each action the offers call unavailable is
refused by the desk, and the available one taken next is accepted. So a menu built from
``offers`` never offers an action the desk then refuses, and never hides one it would take.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.domain.desk_actions import PERSON_ACTIONS, Person, offers
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import DossierState
from onestop.services.desk import Applicant, Desk, DeskError, IntakeForm
from onestop.store.keyring import Account
from tests.conftest import FROZEN, muong_lat_desk

PEOPLE = [
    ("Lò Thị Mai", ("clerk",)),
    ("Hà Văn Quân", ("specialist",)),
    ("Phạm Văn Sơn", ("leader",)),
    ("Vi Thị Lan", ("admin",)),
    ("Lò Thị Mai", ("clerk", "leader")),
]


def params(kind: EventKind, s: DossierState, desk: Desk) -> dict[str, Any]:
    """Valid parameters: a refusal then can only come from the rules ``offers`` models."""
    if kind == EventKind.FORWARD:
        return {"to": "Hà Văn Quân"}
    if kind in (EventKind.REQUEST_SUPPLEMENT, EventKind.WITHDRAW, EventKind.REFUSE):
        return {"reason": "Lý do ghi rõ"}
    if kind == EventKind.REQUEST_PAYMENT:
        return {"amount": 20_000}
    if kind == EventKind.RECORD_PAYMENT:
        return {"amount": max(s.fee_vnd - s.fee_paid, 1), "method": "cash"}
    if kind == EventKind.RESOLVE:
        return {"decision": "approved"}
    if kind == EventKind.RETURN_RESULT:
        return {"channel": "desk"}
    if kind == EventKind.EXTEND:
        due = s.due_at or FROZEN
        day = desk.calendar.add_working_days(due.date(), 3)
        return {"reason": "Cần xác minh", "new_due": datetime.combine(day, due.time())}
    if kind == EventKind.EVALUATE:
        return {"scores": [2] * 9, "satisfaction": 4}
    return {}


def received_by(desk: Desk, code: str) -> str:
    return next(e.actor for e in desk.history(code) if e.kind == EventKind.RECEIVE)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_offers_agree_with_the_desk(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        desk = muong_lat_desk(Path(tmp) / "desk.sqlite", lambda: FROZEN)
        try:
            rule = data.draw(st.booleans(), label="two_person_rule")
            desk.set_setting("two_person_rule", "1" if rule else "0")
            proc = data.draw(st.sampled_from(["2.001035", "1.001193"]), label="procedure")
            form = IntakeForm(
                procedure_code=proc,
                applicant=Applicant(name="Nguyễn Văn An", id_number="001099012345"),
                fee_vnd=None if proc == "2.001035" else 0,
            )
            state = desk.receive(form)
            for _ in range(data.draw(st.integers(1, 10), label="steps")):
                name, roles = data.draw(st.sampled_from(PEOPLE), label="person")
                desk.account = Account(username="u", display_name=name, roles=roles)
                desk.actor = name
                got = offers(
                    state,
                    Person(roles, name),
                    received_by=received_by(desk, state.code),
                    two_person_rule=rule,
                    now=desk.clock(),
                    cal=desk.calendar,
                )
                for o in got:
                    if not o.available:
                        try:
                            desk.act(state.code, o.kind, params(o.kind, state, desk))
                        except DeskError:
                            continue
                        raise AssertionError(f"{o.kind} was not offered but the desk took it")
                ok = [o.kind for o in got if o.available]
                if not ok:
                    continue
                kind = data.draw(st.sampled_from(ok), label="action")
                state = desk.act(state.code, kind, params(kind, state, desk))
            assert set(PERSON_ACTIONS) >= {o.kind for o in got}
        finally:
            desk.close()
