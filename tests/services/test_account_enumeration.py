"""A desk's login tells nobody which accounts exist: an unknown user name gets, step by step,
the same message as a real account with a wrong password ("tries left" included), locks at
the same attempt, and costs the same scrypt work."""

from __future__ import annotations

import json
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from onestop.services import accounts
from onestop.store import keyring

NOW = datetime(2026, 11, 20, 10, 0)
PW = "mật khẩu thử 1"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ONESTOP_SCRYPT_N", "1024")  # cheap, and the same for both paths
    path = tmp_path / "desk.sqlite"
    data = keyring.create_keyring(
        keyring.new_data_key(),
        username="quantri",
        display_name="Vi Thị Lan",
        roles=("admin",),
        password=PW,
        now=NOW,
    )
    data = keyring.add_account(
        data,
        keyring.unlock(data, "quantri", PW),
        username="canbo",
        display_name="Lò Thị Mai",
        roles=("clerk",),
        password=PW,
        now=NOW,
    )
    keyring.write_keyring(keyring.keyring_path(path), data)
    return path


def _answers(db: Path, name: str, tries: int, now: datetime = NOW) -> list[tuple[str, str]]:
    out = []
    for _ in range(tries):
        with pytest.raises(accounts.LoginError) as e:
            accounts.login(db, name, "không phải mật khẩu", now=now)
        # The name as the desk normalises it is part of some messages: compare without it.
        text = str(e.value).replace(keyring.normalise_username(name), "<tên>")
        out.append((text, str(e.value.until)))
    return out


def test_unknown_name_gets_the_same_answers_and_lock(db: Path) -> None:
    tries = keyring.DEFAULT_MAX_FAILURES + 2
    real = _answers(db, " CanBo ", tries)
    unknown = _answers(db, "khongco", tries)
    assert real == unknown
    assert "Còn 4 lần" in real[0][0] and "Còn 1 lần" in real[3][0]
    assert "bị khóa đến" in real[4][0] and "đang bị khóa" in real[5][0]
    # After the lock both start again from the full count.
    later = NOW + timedelta(minutes=keyring.DEFAULT_LOCKOUT_MINUTES, seconds=1)
    after = _answers(db, "khongco", 1, later)
    assert after == _answers(db, "canbo", 1, later) and "Còn 4 lần" in after[0][0]
    # The real account still opens with its password; unknown names are stored hashed.
    assert accounts.login(db, "canbo", PW, now=later)[0].username == "canbo"
    text = keyring.keyring_path(db).read_text(encoding="utf-8")
    assert "khongco" not in text


def test_unknown_name_costs_the_same_as_a_wrong_password(db: Path) -> None:
    doc = json.loads(keyring.keyring_path(db).read_bytes())
    assert doc["accounts"]["canbo"]["kdf"]["n"] == 1024  # the test cost reached the real record

    def timed(name: str) -> float:
        start = time.perf_counter()
        with pytest.raises(accounts.LoginError):
            accounts.login(db, name, "không phải mật khẩu", now=NOW)
        return time.perf_counter() - start

    real, unknown = [], []
    for _ in range(keyring.DEFAULT_MAX_FAILURES - 1):  # interleaved, all before either locks
        real.append(timed("canbo"))
        unknown.append(timed("khongco"))
    a, b = statistics.mean(real), statistics.mean(unknown)
    assert abs(a - b) <= 0.3 * max(a, b) + 0.005, (real, unknown)


def test_the_dummy_work_uses_a_real_accounts_cost(db: Path) -> None:
    doc = json.loads(keyring.keyring_path(db).read_bytes())
    dummy = keyring._dummy_kdf(doc)
    real = doc["accounts"]["canbo"]["kdf"]
    assert (dummy["n"], dummy["r"], dummy["p"]) == (real["n"], real["r"], real["p"])


def test_the_table_of_unknown_names_is_bounded(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring, "MAX_UNKNOWN_NAMES", 3)
    for i in range(6):
        _answers(db, f"khongco{i}", 1, NOW + timedelta(seconds=i))
    doc = json.loads(keyring.keyring_path(db).read_bytes())
    assert len(doc["unknown_failures"]) == 3
    # The most recent names are the ones kept: the last one still counts on.
    assert "Còn 3 lần" in _answers(db, "khongco5", 1, NOW + timedelta(seconds=9))[0][0]
