"""Two desks of one commune, both offline for a month, never issue the same dossier code."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.services.desk import Applicant, Desk, IntakeForm

START = datetime(2026, 10, 1, 7, 0)


def _desk(path: Path, desk_no: int, clock: list[datetime]) -> Desk:
    return Desk.initialise(
        path,
        unit_eid="000.00.14.H56",
        commune_code="16279",
        province_code="38",
        desk_no=desk_no,
        clock=lambda: clock[0],
    )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    desk_nos=st.lists(st.integers(1, 99), min_size=2, max_size=2, unique=True),
    work=st.lists(st.tuples(st.booleans(), st.integers(0, 30 * 24 * 60)), min_size=1, max_size=60),
)
def test_two_offline_desks_never_collide(desk_nos: list[int], work: list[tuple[bool, int]]):
    with tempfile.TemporaryDirectory() as tmp:
        clocks = [[START], [START]]
        desks = [_desk(Path(tmp) / f"d{i}.sqlite", n, clocks[i]) for i, n in enumerate(desk_nos)]
        issued: list[set[str]] = [set(), set()]
        try:
            for which, minutes in sorted(work, key=lambda w: w[1]):
                i = int(which)
                clocks[i][0] = START + timedelta(minutes=minutes)
                form = IntakeForm(
                    procedure_code="2.000884",
                    applicant=Applicant(name="Lò Văn Pâng", id_number="038099012345"),
                )
                code = desks[i].receive(form).code
                assert code not in issued[i]
                issued[i].add(code)
        finally:
            for d in desks:
                d.close()
        assert not issued[0] & issued[1]
