"""`onestop conflicts [--all] [--json]` and `onestop conflicts ack ID` (issue 16, item 9)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner

from onestop.cli.main import main
from onestop.services.demo import _person
from onestop.services.desk import Desk, IntakeForm
from onestop.services.sync import apply as sync_apply
from tests.services.sync.helpers import Clock, make_desk, own_events


def _ship(src: Desk, dst: Desk, after: int) -> int:
    """Hand ``src``'s events after seq ``after`` to ``dst`` as the province would relay them."""
    events = [(s, b) for s, b in own_events(src) if s > after]
    sync_apply.apply_foreign(
        dst, [(src.identity.desk_id, after + 1, None, [b for _s, b in events])]
    )
    return events[-1][0]


def _conflicted(tmp_path: Path) -> tuple[Path, str]:
    ca, cb = Clock(), Clock()
    a = make_desk(tmp_path / "a.sqlite", n=71, desk_no=1, clock=ca)
    b = make_desk(tmp_path / "b.sqlite", n=71, desk_no=2, clock=cb)
    form = IntakeForm(
        procedure_code="1.001193", applicant=_person(random.Random(3), ca.now), fee_vnd=0
    )
    code = a.receive(form).code
    sent = _ship(a, b, 0)
    ca.advance(10)
    cb.advance(20)
    a.act(code, "resolve", {"decision": "approved"})
    b.act(code, "withdraw", {"reason": "Công dân đề nghị rút hồ sơ."})
    _ship(a, b, sent)  # B's withdrawal sorts later: B notices and records it
    assert b.get(code).status == "resolved"
    a.close()
    b.close()
    return tmp_path / "b.sqlite", code


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"ONESTOP_LANGUAGE": "vi"})
    return result.exit_code, result.output


def test_list_ack_and_all(tmp_path: Path) -> None:
    db, code = _conflicted(tmp_path)
    rc, out = run("conflicts", "--db", str(db), "--json")
    assert rc == 0, out
    (item,) = json.loads(out)
    assert item["dossier"] == code and item["outcome"] == "resolved" and not item["seen"]
    actions = {a["action"]: a for a in item["actions"]}
    assert set(actions) == {"resolve", "withdraw"}
    assert actions["withdraw"]["set_aside"] and not actions["resolve"]["set_aside"]

    rc, out = run("conflicts", "--db", str(db))
    assert rc == 0 and code in out and "Dừng giải quyết" in out and "Đã giải quyết" in out

    rc, out = run("conflicts", "--db", str(db), "ack", item["id"])
    assert rc == 0 and item["id"] in out, out
    rc, out = run("conflicts", "--db", str(db), "ack", item["id"])
    assert rc == 0 and "từ trước" in out
    rc, out = run("conflicts", "--db", str(db), "--json")
    assert rc == 0 and json.loads(out) == []
    rc, out = run("conflicts", "--db", str(db), "--all", "--json")
    assert rc == 0 and [c["seen"] for c in json.loads(out)] == [True]


def test_ack_of_an_unknown_id_is_refused(tmp_path: Path) -> None:
    db, _code = _conflicted(tmp_path)
    rc, out = run("conflicts", "--db", str(db), "ack", "20071-09#3")
    assert rc == 1 and "20071-09#3" in out


def test_init_without_a_desk_number_makes_an_unnumbered_desk(tmp_path: Path) -> None:
    """Issue 16 (8) at the command line: no silent desk 01."""
    from tests.cli.login import ADMIN

    db = tmp_path / "new.sqlite"
    args = ["init", "--db", str(db), "--unit-id", "000.00.14.H56", "--commune-code", "16279"]
    result = CliRunner().invoke(
        main,
        [*args, "--province", "38", "--admin", "quantri", "--json"],
        env={**ADMIN, "ONESTOP_LANGUAGE": "vi", "ONESTOP_NOW": "2026-11-20 10:00"},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["desk_id"] == "16279-00"  # desk 00: no number yet
