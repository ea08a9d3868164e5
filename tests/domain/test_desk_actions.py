"""Which actions a person may take on a dossier now: lifecycle and role together (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from onestop.domain.desk_actions import (
    PERSON_ACTIONS,
    USUAL_NEXT,
    Blocked,
    Person,
    available,
    lifecycle_allows,
    offers,
)
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import DossierState, Status, allowed_actions
from onestop.domain.roles import Role, may

RECEIVED = datetime(2026, 11, 20, 9, 0)


def state(status: Status = Status.PROCESSING, **kw: object) -> DossierState:
    base = DossierState(
        code="000.00.14.H56-261120-0001",
        owner_desk="d1",
        procedure_code="2.001035",
        procedure_version=1,
        procedure_name="Chứng thực chữ ký",
        field="Chứng thực",
        time_unit="working_days",
        time_value=3,
        applicant_name="Nguyễn Văn An",
        applicant_id="001099012345",
        applicant_phone="",
        applicant_address="",
        applicant_email="",
        proxy={},
        channel="in_person",
        documents=(),
        fee_vnd=0,
        received_at=RECEIVED,
        due_at=RECEIVED + timedelta(days=5),
        status=status,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_a_clerk_sees_the_decision_as_the_leaders_and_the_leader_may_take_it() -> None:
    clerk = {o.kind: o for o in offers(state(), Person(("clerk",), "Lò Thị Mai"))}
    assert clerk[EventKind.RESOLVE].blocked == Blocked.ROLE
    assert clerk[EventKind.RESOLVE].why == "Lãnh đạo thực hiện"
    assert clerk[EventKind.FORWARD].available
    assert clerk[EventKind.RETURN_RESULT].blocked == Blocked.LIFECYCLE
    leader = {o.kind: o for o in offers(state(), Person(("leader",), "Phạm Văn Sơn"))}
    assert leader[EventKind.RESOLVE].available
    assert not leader[EventKind.FORWARD].available


def test_the_two_person_rule_keeps_the_receiver_from_deciding() -> None:
    both = Person(("clerk", "leader"), "Lò Thị Mai")
    on = offers(state(), both, two_person_rule=True, received_by="Lò Thị Mai")
    assert {o.kind: o for o in on}[EventKind.RESOLVE].blocked == Blocked.TWO_PERSON
    off = offers(state(), both, two_person_rule=False, received_by="Lò Thị Mai")
    assert {o.kind: o for o in off}[EventKind.RESOLVE].available


def test_an_extension_past_its_letter_deadline_is_not_offered() -> None:
    from onestop.domain.calendar import WorkCalendar

    cal = WorkCalendar()
    due = datetime(2026, 11, 24, 17, 0)
    s = state(due_at=due)
    assert lifecycle_allows(s, EventKind.EXTEND, datetime(2026, 11, 20, 10), cal)
    assert not lifecycle_allows(s, EventKind.EXTEND, datetime(2026, 11, 24, 10), cal)


def test_the_who_may_words_name_every_role_that_may() -> None:
    spec = {o.kind: o for o in offers(state(Status.RESULT_READY), Person(("specialist",)))}
    assert spec[EventKind.RETURN_RESULT].why == "Cán bộ một cửa thực hiện"
    leader = {o.kind: o for o in offers(state(Status.RECEIVED), Person(("leader",)))}
    assert leader[EventKind.FORWARD].why == "Cán bộ một cửa hoặc Chuyên viên thực hiện"


STATES = st.builds(
    lambda status, sup, ext, fee, paid, decided, evaluated: state(
        status,
        supplement_count=sup,
        extension_count=ext,
        fee_vnd=fee,
        fee_paid=min(paid, fee),
        decision="approved" if decided else None,
        evaluation={"scores": [2] * 9, "satisfaction": 5} if evaluated else {},
    ),
    st.sampled_from(list(Status)),
    st.integers(0, 1),
    st.integers(0, 1),
    st.sampled_from([0, 10_000]),
    st.sampled_from([0, 5_000, 10_000]),
    st.booleans(),
    st.booleans(),
)
ROLES = st.lists(st.sampled_from(list(Role)), max_size=3, unique=True).map(
    lambda rs: tuple(r.value for r in rs)
)


@given(STATES, ROLES, st.booleans())
def test_available_is_exactly_lifecycle_and_role_together(
    s: DossierState, roles: tuple[str, ...], rule: bool
) -> None:
    got = offers(s, Person(roles, "Lò Thị Mai"), received_by="Phạm Văn Sơn", two_person_rule=rule)
    assert sorted(o.kind for o in got) == sorted(PERSON_ACTIONS)
    usual = USUAL_NEXT.get(s.status, ())
    assert [o.kind for o in got][: len(usual)] == list(usual)
    for o in got:
        allowed = o.kind in allowed_actions(s)
        assert o.available == (allowed and may(roles, o.kind))
        assert (o.blocked in (Blocked.LIFECYCLE, Blocked.USED)) == (not allowed)
        assert o.available == (o.why == "")
    # A desk without accounts refuses nothing on role grounds.
    assert set(available(offers(s, Person(None)))) == set(allowed_actions(s)) & set(PERSON_ACTIONS)
    # An admin handles no dossier.
    assert not available(offers(s, Person(("admin",))))
