"""Issue 16 (8): a desk initialised without a desk number never pretends to be desk 01.

It is desk 00 ("no number yet") with a random tag in its dossier codes, which cannot clash
with a numbered desk; enrolment gives it the number the province assigns, the dossiers it
received before keep their codes, and its log moves to the real desk id with chains intact."""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from onestop.domain.codes import make_dossier_code, parse_dossier_code
from onestop.server.admin import new_enroll_code, open_db
from onestop.services.demo import _person
from onestop.services.desk import Desk, IntakeForm
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_converged,
    enroll,
    make_desk,
    passphrase,
)

os.environ.setdefault("ONESTOP_SERVER_PASSPHRASE", "mật khẩu khóa máy chủ thử nghiệm")


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTOP_SCRYPT_N", "1024")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    url = f"sqlite:///{tmp_path_factory.mktemp('server') / 'server.sqlite'}"
    s = ServerProcess(url)
    s.start()
    yield s
    s.close()


def _unnumbered(path: Path, n: int, clock: Clock | None = None) -> Desk:
    return Desk.initialise(
        path,
        unit_eid=f"000.{n:02d}.14.H56",
        commune_code=f"{20000 + n}",
        commune_name=f"Xã Thử {n}",
        province_code="38",
        clock=clock or Clock(),
        actor="Lò Thị Mai",
    )


def _receive(desk: Desk, rng: random.Random) -> str:
    form = IntakeForm(procedure_code="1.001193", applicant=_person(rng, desk.clock()), fee_vnd=0)
    return desk.receive(form).code


def test_unnumbered_desk_is_desk_00_and_its_codes_cannot_clash(tmp_path: Path) -> None:
    rng = random.Random(8)
    a = _unnumbered(tmp_path / "a.sqlite", 81)
    b = _unnumbered(tmp_path / "b.sqlite", 81)
    one = make_desk(tmp_path / "one.sqlite", n=81, desk_no=1)
    assert not a.numbered and a.identity.desk_no == 0 and a.identity.desk_id == "20081-00"
    assert one.numbered and one.identity.desk_id == "20081-01"
    codes = {d: [_receive(d, rng) for _ in range(3)] for d in (a, b, one)}
    for code in codes[a] + codes[b]:
        assert re.fullmatch(r"000\.81\.14\.H56-\d{6}-00\d{6}\d{4}", code), code
        parsed = parse_dossier_code(code)
        assert parsed.provisional and parsed.tag is not None and str(parsed) == code
    assert all(not parse_dossier_code(c).provisional for c in codes[one])
    every = codes[a] + codes[b] + codes[one]
    if parse_dossier_code(codes[a][0]).tag != parse_dossier_code(codes[b][0]).tag:
        assert len(set(every)) == len(every)
    for d in (a, b, one):
        d.close()


def test_provisional_code_form() -> None:
    day = date(2026, 2, 24)
    code = make_dossier_code("000.00.14.H56", day, 0, 1, tag=4711)
    assert code == "000.00.14.H56-260224-000047110001"
    assert parse_dossier_code(code).tag == 4711
    assert make_dossier_code("000.00.14.H56", day, 0, 12345, tag=999999).endswith("99999912345")
    with pytest.raises(ValueError):
        make_dossier_code("000.00.14.H56", day, 0, 1)  # no tag: no provisional code
    for bad in ("000.00.14.H56-260224-00004711001", "000.00.14.H56-260224-0000471100001"):
        with pytest.raises(ValueError):
            parse_dossier_code(bad)  # a counter shorter than 4 digits, or zero-padded past 4


def test_enrolment_numbers_an_unnumbered_desk_and_keeps_its_codes(
    server: ServerProcess, tmp_path: Path
) -> None:
    rng = random.Random(9)
    first = make_desk(tmp_path / "first.sqlite", n=82, desk_no=1)
    enroll(first, server.db_url, server.url)
    _receive(first, rng)
    desk = _unnumbered(tmp_path / "new.sqlite", 82)
    before = [_receive(desk, rng) for _ in range(2)]
    desk.act(before[0], "forward", {"to": "Công chức Tư pháp - Hộ tịch"})

    db = open_db(server.db_url)
    try:  # the province does not name a number: it picks the first free one, 2
        code = new_enroll_code(db, commune="20082", desk_name="Quầy mới").code
    finally:
        db.close()
    result = sync_enroll.enroll(desk, server.url, code, passphrase_provider=passphrase)
    assert result.renumbered and result.desk_no == 2 and result.desk_id == "20082-02"
    assert desk.numbered and desk.identity.desk_id == "20082-02"
    assert desk.identity.desk_name == "Quầy 2"
    for code in before:
        state = desk.get(code)  # same code, owned by the real desk id now
        assert state.code == code and state.owner_desk == "20082-02"
    assert desk.rebuild(fix=False).ok
    after = _receive(desk, rng)
    assert parse_dossier_code(after).desk_no == 2

    for d in (desk, first, desk):
        report = sync.sync_once(d, passphrase_provider=passphrase, options=FAST)
        assert report.ok, report.error
    assert_converged(desk, server.db_url)
    assert sync_apply.desk_digest(desk) == sync_apply.desk_digest(first)
    desk.close()
    first.close()


def test_a_numbered_desk_with_history_is_refused_another_number(
    server: ServerProcess, tmp_path: Path
) -> None:
    from onestop.services.sync.base import SyncError

    rng = random.Random(10)
    taken = make_desk(tmp_path / "taken.sqlite", n=83, desk_no=1)
    enroll(taken, server.db_url, server.url)
    clash = make_desk(tmp_path / "clash.sqlite", n=83, desk_no=1)  # `init --desk-no 1` twice
    _receive(clash, rng)
    with pytest.raises(SyncError):
        enroll(clash, server.db_url, server.url)  # desk 01 is taken
    assert clash.identity.desk_no == 1 and not clash.setting("sync_server_key")
    taken.close()
    clash.close()
