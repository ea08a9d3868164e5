"""The field policy at the desk's doors (service, CLI) and on display (``dossier show``/``list``).

Hardening item 1: one long text must never enter the hash chain (the server would refuse the
batch and the desk could never sync again). Item 8: terminal escapes are refused at input and
shown escaped when they arrive anyway (another desk's or a forged event).
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from onestop.cli.main import main
from onestop.domain.calendar import DayKind
from onestop.domain.events import Event, EventKind, chain
from onestop.domain.fields import FIELDS, MAX_DOCUMENTS
from onestop.services.desk import Applicant, Desk, DeskError, IntakeError, IntakeForm
from onestop.store.models import EventRow
from onestop.store.timefmt import dt_to_text

NOW = {"ONESTOP_NOW": "2026-11-20 10:30"}
WIDE = "\U00020000"  # 𠀀, CJK Extension B: 4 bytes of UTF-8


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args), env=NOW, catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def counts(path: Path) -> tuple[int, int]:
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT (SELECT count(*) FROM dossier), (SELECT count(*) FROM event)")
        n_dossiers, n_events = row.fetchone()
        return int(n_dossiers), int(n_events)
    finally:
        con.close()


def form(**applicant: str) -> IntakeForm:
    fields = {"name": "Nguyễn Văn An", "id_number": "001099012345", **applicant}
    return IntakeForm(procedure_code="2.001035", applicant=Applicant(**fields))


@pytest.fixture
def code(desk: Desk) -> str:
    return desk.receive(form()).code


# --- the service: one door for the CLI and the TUI ---------------------------------------------------


def test_a_90000_character_recipient_is_refused_and_nothing_is_written(desk: Desk, code: str):
    before = counts(desk.store.path)
    with pytest.raises(DeskError) as e:
        desk.act(code, "forward", {"to": "x" * 90_000})
    assert str(e.value) == "Nơi nhận hồ sơ dài quá 200 ký tự (đang có 90.000)."
    assert counts(desk.store.path) == before
    assert desk.outbox_size() == 1


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("forward", {"to": "Tư pháp\x1b[2J"}),
        ("request_supplement", {"reason": "Thiếu \u202etờ khai"}),
        ("withdraw", {"reason": "\x9b31m"}),
        ("resolve", {"decision": "denied", "reason": "a" * 1001}),
    ],
)
def test_escapes_and_over_long_texts_are_refused_for_every_action(
    desk: Desk, code: str, action: str, params: dict[str, str]
):
    before = counts(desk.store.path)
    with pytest.raises(DeskError, match="ký tự điều khiển|dài quá"):
        desk.act(code, action, params)
    assert counts(desk.store.path) == before


def test_the_note_of_any_action_is_bounded(desk: Desk, code: str):
    with pytest.raises(DeskError, match="Ghi chú dài quá 1.000 ký tự"):
        desk.act(code, "start", {}, note="n" * 1001)
    with pytest.raises(DeskError, match="Ghi chú chứa ký tự điều khiển"):
        desk.act(code, "start", {}, note="\x1b]0;owned\x07")


def test_maximal_texts_in_four_byte_characters_are_accepted_and_kept(desk: Desk, code: str):
    to = WIDE * FIELDS["to"].max_len
    desk.act(code, "forward", {"to": to}, note=WIDE * FIELDS["note"].max_len)
    st = desk.act(code, "request_supplement", {"reason": WIDE * FIELDS["reason"].max_len})
    assert st.handler == to
    last = desk.history(code)[-1]
    assert last.data["reason"] == WIDE * 1000


def test_intake_reports_each_bad_field_and_saves_nothing(desk: Desk):
    before = counts(desk.store.path)
    bad = form(name="A" * 101, address="Thôn \x1b[5m Bắc", email="a\u202e@b.vn", phone="0912345678")
    with pytest.raises(IntakeError) as e:
        desk.receive(bad)
    errors = e.value.errors
    assert errors["applicant_name"] == "Họ tên dài quá 100 ký tự (đang có 101)."
    assert "Địa chỉ chứa ký tự điều khiển" in errors["applicant_address"]
    assert "Email chứa ký tự điều khiển" in errors["applicant_email"]
    f = form()
    f.documents = ["Tờ khai"] * (MAX_DOCUMENTS + 1)
    with pytest.raises(IntakeError) as e:
        desk.receive(f)
    assert "documents" in e.value.errors
    with pytest.raises(IntakeError) as e:
        desk.refuse_intake(form(), "r" * 1001)
    assert e.value.errors["reason"] == "Lý do dài quá 1.000 ký tự (đang có 1.001)."
    assert counts(desk.store.path) == before


def test_settings_texts_follow_the_policy(desk: Desk, tmp_path: Path):
    with pytest.raises(DeskError, match="Ghi chú ngày nghỉ, ngày làm bù dài quá 200"):
        desk.set_calendar_day(date(2026, 12, 1), DayKind.OFF, "n" * 201)
    with pytest.raises(DeskError, match="Tên quầy chứa ký tự điều khiển"):
        Desk.initialise(
            tmp_path / "other.sqlite",
            unit_eid="000.00.14.H56",
            commune_code="16279",
            province_code="38",
            desk_name="Quầy\x1b[8m 2",
        )


def test_an_actor_the_server_would_refuse_never_enters_the_log(desk: Desk, code: str):
    other = Desk(desk.store, clock=desk.clock, actor="Cán bộ\x1b[2J")
    before = counts(desk.store.path)
    with pytest.raises(DeskError, match="Tên cán bộ chứa ký tự điều khiển"):
        other.act(code, "start", {})
    assert counts(desk.store.path) == before


# --- the command line -------------------------------------------------------------------------------


def test_cli_refuses_a_90000_character_to_with_exit_1_and_changes_nothing(desk: Desk, code: str):
    db = str(desk.store.path)
    _, shown_before, _ = run("dossier", "show", "--db", db, code, "--json")
    before = counts(desk.store.path)
    rc, _, err = run("act", "--db", db, code, "forward", "--to", "x" * 90_000)
    assert rc == 1
    assert "Nơi nhận hồ sơ dài quá 200 ký tự (đang có 90.000)." in err
    assert counts(desk.store.path) == before
    assert run("dossier", "show", "--db", db, code, "--json")[1] == shown_before


def test_cli_refuses_terminal_escapes_at_input(desk: Desk, code: str):
    db = str(desk.store.path)
    before = counts(desk.store.path)
    rc, _, err = run("act", "--db", db, code, "forward", "--to", "\x1b[31mĐỏ\x1b[0m")
    assert rc == 1 and "chứa ký tự điều khiển không được phép" in err
    rc, _, err = run("act", "--db", db, code, "start", "--note", "abc\u202edef")
    assert rc == 1 and "Ghi chú chứa ký tự điều khiển" in err
    assert counts(desk.store.path) == before


def _plant_foreign_event(desk: Desk, code: str) -> None:
    """An event as another (buggy or hostile) desk could have sent it: escapes in every text."""
    event = Event(
        desk_id="16279-09",
        seq=1,
        hlc=2**62,
        kind=EventKind.FORWARD,
        dossier=code,
        at=desk.clock(),
        actor="Kẻ\x1b]0;pwned\x07 lạ",
        role="clerk\u202e",
        note="\x1b[2J\x1b[H xoá màn hình",
        data={"to": "\x1b[31mĐỏ\u2066"},
    )
    body = event.body()
    with desk.store.write() as db:
        db.add(
            EventRow(
                desk_id=event.desk_id,
                seq=1,
                hlc=event.hlc,
                kind=event.kind.value,
                dossier=code,
                at=dt_to_text(event.at),
                actor=event.actor,
                role=event.role,
                body=body,
                head=chain(bytes(32), body),
            )
        )


def test_dossier_show_and_list_escape_what_arrived_from_elsewhere(desk: Desk, code: str):
    _plant_foreign_event(desk, code)
    db = str(desk.store.path)
    rc, out, _ = run("dossier", "show", "--db", db, code)
    assert rc == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\u2066" not in out
    assert "\u241b[31mĐỏ\\u2066" in out  # ␛ shown, the isolate spelled out
    assert "\u241b[2J" in out
    rc, out, _ = run("dossier", "list", "--db", db)
    assert rc == 0 and "\x1b" not in out
