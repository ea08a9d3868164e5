"""Hardening item 1: whatever the desk accepts, the server accepts.

Random valid lifecycles whose every text is at an extreme the policy still accepts (the
maximum length, in 4-byte UTF-8 characters, in decomposed Vietnamese that NFC shortens, with
tabs and zero-width characters the desk cleans away) always sync to a real `onestop serve`,
and the server ends with exactly the desk's events and state.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.domain.events import EventKind
from onestop.domain.fields import FIELDS, MAX_DOCUMENTS
from onestop.services.desk import Applicant, Desk, DeskError, IntakeForm
from onestop.services.sync import client as sync
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_converged,
    enroll,
    make_desk,
    own_events,
    passphrase,
)

# One "unit" of each flavour; repeated to the field's limit. All count one character after NFC.
_UNITS = {
    "emoji": "\U0001f600",  # 4 bytes
    "cjk_b": "\U00020000",  # 4 bytes
    "viet": "ễ",  # 3 bytes
    "viet_nfd": unicodedata.normalize("NFD", "ữ"),  # 3 code points in, 1 after NFC
    "mixed": "Nguyễn Thị Ánh Tuyết 😀 ",  # spaces and diacritics
    "messy": "Đ\u200b",  # zero-width space dropped; tabs and line breaks around it
}


@st.composite
def extreme(draw: st.DrawFn, key: str) -> str:
    """A text for field ``key`` that the policy accepts, at or near its maximum."""
    limit = FIELDS[key].max_len
    flavour = draw(st.sampled_from(sorted(_UNITS)))
    n = draw(st.sampled_from([limit, limit, limit - 1, 1]))
    unit = _UNITS[flavour]
    if flavour == "viet_nfd":
        return unit * n  # 3n code points typed, n characters stored
    if flavour == "messy":
        return "\t" + unit * n + "\r\n"  # n characters once cleaned
    return (unit * n)[:n]


@st.composite
def params_for(draw: st.DrawFn, kind: EventKind) -> dict[str, Any]:
    if kind in (EventKind.FORWARD, EventKind.START):
        return {"to": draw(extreme("to"))}
    if kind in (EventKind.REQUEST_SUPPLEMENT, EventKind.WITHDRAW):
        return {"reason": draw(extreme("reason"))}
    if kind == EventKind.REQUEST_PAYMENT:
        return {"amount": draw(st.sampled_from([1, 20_000, 10**12]))}
    if kind == EventKind.RECORD_PAYMENT:
        return {"method": draw(extreme("method"))}
    if kind == EventKind.RESOLVE:
        return {
            "decision": draw(st.sampled_from(["approved", "denied"])),
            "reason": draw(extreme("reason")),
        }
    if kind == EventKind.RETURN_RESULT:
        return {"channel": draw(st.sampled_from(["desk", "post", "electronic"]))}
    if kind == EventKind.EVALUATE:
        return {"scores": [2] * 9, "satisfaction": 5}
    return {}


@st.composite
def forms(draw: st.DrawFn) -> IntakeForm:
    def person() -> Applicant:
        return Applicant(
            name=draw(extreme("name")),
            id_number="038099012345",
            phone="0912345678",
            address=draw(extreme("address")),
        )

    f = IntakeForm(procedure_code="2.001035", applicant=person(), note=draw(extreme("note")))
    if draw(st.booleans()):
        f.proxy = person()
        f.proxy_paper = draw(extreme("paper"))
    if draw(st.booleans()):
        f.documents = [draw(extreme("document")) for _ in range(MAX_DOCUMENTS)]
    return f


def test_extreme_but_accepted_inputs_always_sync(sqlite_server: ServerProcess, tmp_path: Path):
    clock = Clock()
    made = make_desk(tmp_path / "desk.sqlite", n=61, clock=clock)
    made.close()
    # The official's display name is on every event: at its limit too.
    desk = Desk.open(
        tmp_path / "desk.sqlite", clock=clock, actor="\U0001f600" * FIELDS["actor"].max_len
    )
    enroll(desk, sqlite_server.db_url, sqlite_server.url)

    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(data=st.data())
    def lifecycle(data: st.DataObject) -> None:
        clock.advance(30)
        f = data.draw(forms())
        if data.draw(st.integers(0, 9)) == 0:
            state = desk.refuse_intake(f, data.draw(extreme("reason")))
        else:
            state = desk.receive(f)
        for _ in range(data.draw(st.integers(0, 8))):
            allowed = [a for a in state.allowed_actions() if a != EventKind.EXTEND]
            if not allowed:
                break
            kind = data.draw(st.sampled_from(allowed))
            params = data.draw(params_for(kind))
            note = data.draw(st.one_of(st.just(""), extreme("note")))
            clock.advance(5)
            try:
                state = desk.act(state.code, kind, params, note=note)
            except DeskError as e:  # a lifecycle refusal, never the field policy
                assert "dài quá" not in str(e) and "ký tự điều khiển" not in str(e), e
        report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
        assert report.ok, report.error
        assert_converged(desk, sqlite_server.db_url)

    try:
        # The worst case first, deterministically: every intake text at its maximum in 4-byte
        # characters, a proxy, the longest checklist, a maximal refusal reason.
        wide = "\U00020000"

        def top(key: str) -> str:
            return wide * FIELDS[key].max_len

        person = Applicant(
            name=top("name"), id_number="038099012345", phone="0912345678", address=top("address")
        )
        worst = IntakeForm(
            procedure_code="2.001035",
            applicant=person,
            proxy=person,
            proxy_paper=top("paper"),
            documents=[top("document")] * MAX_DOCUMENTS,
            note=top("note"),
        )
        desk.receive(worst)
        desk.refuse_intake(worst, top("reason"))
        report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
        assert report.ok, report.error
        assert_converged(desk, sqlite_server.db_url)
        assert max(len(body) for _seq, body in own_events(desk)) > 50_000

        lifecycle()
    finally:
        desk.close()
