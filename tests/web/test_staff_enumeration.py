"""Province staff login tells nobody which accounts exist: an unknown user name gets the same
answers as a real one with a wrong password, locks at the same attempt, and costs the same."""

from __future__ import annotations

import statistics
import time

import pytest

from onestop.server.web import staff
from onestop.wire.base import now_epoch
from tests.server.conftest import Server

REAL = "ke.toan"
PASSWORD = "mật khẩu thật dài dài"


def _answers(server: Server, name: str, now: int, tries: int) -> list[tuple[str, bool]]:
    out = []
    for _ in range(tries):
        with pytest.raises(staff.LoginRefused) as e:
            staff.login(server.db, name, "sai mật khẩu rồi", now=now)
        out.append((str(e.value), e.value.locked))
    return out


def test_unknown_name_answers_and_locks_like_a_real_one(server: Server) -> None:
    staff.add_staff(server.db, REAL, PASSWORD)
    now = now_epoch()
    tries = staff.MAX_FAILURES + 2
    real = _answers(server, " Ke.Toan ", now, tries)
    unknown = _answers(server, "khong.co.ai", now, tries)
    assert real == unknown
    assert [locked for _, locked in real].index(True) == staff.MAX_FAILURES - 1
    # After the lock time both start again; a success on the real one is still possible.
    later = now + staff.LOCK_SECONDS + 1
    assert _answers(server, "khong.co.ai", later, 1) == _answers(server, REAL, later, 1)
    assert staff.login(server.db, REAL, PASSWORD, now=later).username == REAL


def test_unknown_name_costs_the_same_as_a_wrong_password(server: Server) -> None:
    staff.add_staff(server.db, REAL, PASSWORD)
    now = now_epoch()

    def timed(name: str) -> float:
        start = time.perf_counter()
        with pytest.raises(staff.LoginRefused):
            staff.login(server.db, name, "sai mật khẩu rồi", now=now)
        return time.perf_counter() - start

    real, unknown = [], []
    for _ in range(staff.MAX_FAILURES - 1):  # interleaved, all before either locks
        real.append(timed(REAL))
        unknown.append(timed("khong.co.ai"))
    a, b = statistics.mean(real), statistics.mean(unknown)
    assert abs(a - b) <= 0.3 * max(a, b) + 0.005, (real, unknown)


def test_the_table_of_unknown_names_is_bounded(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff, "MAX_UNKNOWN_NAMES", 3)
    now = now_epoch()
    for i in range(6):
        _answers(server, f"khong.co.{i}", now + i, 1)
    from sqlalchemy import func, select

    from onestop.server import repo

    with server.db.read() as conn:
        rows = conn.execute(
            select(func.count())
            .select_from(repo.SETTING)
            .where(repo.SETTING.c.key.startswith("staff_unknown:"))
        ).scalar_one()
    assert rows == 3
