"""The keyring sidecar: the unwrap is the password check, lockout, tamper evidence, disabling."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from onestop.store import keyring
from onestop.store.keyring import (
    AccountDisabled,
    AccountLocked,
    BadCredentials,
    KeyringError,
    KeyringTampered,
)

NOW = datetime(2026, 11, 20, 10, 0)
PW = "mật khẩu đúng 1"


@pytest.fixture
def ring(tmp_path: Path) -> tuple[Path, bytes]:
    key = keyring.new_data_key()
    data = keyring.create_keyring(
        key, username="quantri", display_name="Vi Thị Lan", roles=["admin"], password=PW, now=NOW
    )
    data = keyring.add_account(
        data,
        key,
        username="canbo",
        display_name="Lò Thị Mai",
        roles=["clerk"],
        password=PW,
        now=NOW,
    )
    path = keyring.keyring_path(tmp_path / "desk.sqlite")
    keyring.write_keyring(path, data)
    return path, key


def test_path_is_next_to_the_database(tmp_path: Path) -> None:
    assert keyring.keyring_path(tmp_path / "d.sqlite") == tmp_path / "d.sqlite.keyring"


def test_unlock_returns_the_data_key_and_nothing_is_in_clear(ring: tuple[Path, bytes]) -> None:
    path, key = ring
    data = path.read_bytes()
    assert keyring.unlock(data, "canbo", PW) == key
    assert keyring.unlock(data, " CanBo ", PW) == key  # user names are case-insensitive
    assert key.hex().encode() not in data and key not in data
    doc = json.loads(data)
    assert doc["accounts"]["canbo"]["kdf"]["n"] >= 2**15


def test_nfd_password_is_the_same_password(ring: tuple[Path, bytes]) -> None:
    import unicodedata

    path, key = ring
    assert keyring.unlock(path.read_bytes(), "canbo", unicodedata.normalize("NFD", PW)) == key


def test_wrong_password_and_unknown_user_get_the_same_answer(ring: tuple[Path, bytes]) -> None:
    data = ring[0].read_bytes()
    with pytest.raises(BadCredentials) as a:
        keyring.unlock(data, "canbo", "sai mật khẩu")
    with pytest.raises(BadCredentials) as b:
        keyring.unlock(data, "khongco", PW)
    assert str(a.value) == str(b.value) == "Sai tên đăng nhập hoặc mật khẩu."


def test_lockout_after_n_failures_then_unlock_after_the_period(ring: tuple[Path, bytes]) -> None:
    path, key = ring
    for i in range(4):
        with pytest.raises(BadCredentials, match=f"Còn {4 - i} lần"):
            keyring.login(path, "canbo", "sai", now=NOW)
    with pytest.raises(AccountLocked) as locked:
        keyring.login(path, "canbo", "sai", now=NOW)
    assert locked.value.until == NOW + timedelta(minutes=15)
    assert "10:15 20/11/2026" in str(locked.value)
    # Locked: even the right password is refused until the period ends (the file says until when).
    with pytest.raises(AccountLocked, match="đang bị khóa"):
        keyring.login(path, "canbo", PW, now=NOW + timedelta(minutes=14))
    account, got = keyring.login(path, "canbo", PW, now=NOW + timedelta(minutes=15, seconds=1))
    assert got == key and account.failed == 0 and account.locked_until is None
    # The other account was never affected.
    assert keyring.login(path, "quantri", PW, now=NOW)[1] == key


def test_a_correct_password_resets_the_counter(ring: tuple[Path, bytes]) -> None:
    path, _ = ring
    for _ in range(4):
        with pytest.raises(BadCredentials):
            keyring.login(path, "canbo", "sai", now=NOW)
    assert keyring.account(path.read_bytes(), "canbo").failed == 4
    keyring.login(path, "canbo", PW, now=NOW)
    assert keyring.account(path.read_bytes(), "canbo").failed == 0
    for _ in range(4):  # four more without locking: the count started again
        with pytest.raises(BadCredentials):
            keyring.login(path, "canbo", "sai", now=NOW)


def test_policy_is_configurable(ring: tuple[Path, bytes]) -> None:
    path, _ = ring
    keyring.write_keyring(
        path,
        keyring.set_policy(path.read_bytes(), keyring.Policy(max_failures=2, lockout_minutes=60)),
    )
    with pytest.raises(BadCredentials):
        keyring.login(path, "canbo", "sai", now=NOW)
    with pytest.raises(AccountLocked) as e:
        keyring.login(path, "canbo", "sai", now=NOW)
    assert e.value.until == NOW + timedelta(hours=1)


def test_editing_the_role_in_the_file_is_detected_not_granted(ring: tuple[Path, bytes]) -> None:
    path, _ = ring
    doc = json.loads(path.read_bytes())
    doc["accounts"]["canbo"]["roles"] = ["admin"]
    with pytest.raises(KeyringTampered, match="sửa trái phép"):
        keyring.unlock(json.dumps(doc).encode(), "canbo", PW)
    # Moving another account's wrapped key under this name does not work either (AAD).
    doc = json.loads(path.read_bytes())
    for k in ("kdf", "nonce", "wrapped_key"):
        doc["accounts"]["canbo"][k] = doc["accounts"]["quantri"][k]
    with pytest.raises(BadCredentials):
        keyring.unlock(json.dumps(doc).encode(), "canbo", PW)


def test_admin_changes_roles_and_disables_without_the_users_password(
    ring: tuple[Path, bytes],
) -> None:
    path, key = ring
    data = keyring.set_roles(path.read_bytes(), key, "canbo", ["clerk", "leader"])
    assert keyring.account(data, "canbo").roles == ("clerk", "leader")
    assert keyring.unlock(data, "canbo", PW) == key
    data = keyring.disable(data, key, "canbo")
    with pytest.raises(AccountDisabled):
        keyring.unlock(data, "canbo", PW)
    # Flipping the flag back gives nothing: the wrapped key is gone.
    doc = json.loads(data)
    doc["accounts"]["canbo"]["disabled"] = False
    with pytest.raises(KeyringError):
        keyring.unlock(json.dumps(doc).encode(), "canbo", PW)
    data = keyring.set_password(data, key, "canbo", "mật khẩu mới 2")
    assert keyring.unlock(data, "canbo", "mật khẩu mới 2") == key


def test_the_last_admin_cannot_be_removed(ring: tuple[Path, bytes]) -> None:
    path, key = ring
    with pytest.raises(KeyringError, match="ít nhất một quản trị viên"):
        keyring.set_roles(path.read_bytes(), key, "quantri", ["clerk"])
    with pytest.raises(KeyringError, match="ít nhất một quản trị viên"):
        keyring.disable(path.read_bytes(), key, "quantri")


def test_bad_input_is_refused_clearly(ring: tuple[Path, bytes]) -> None:
    path, key = ring
    data = path.read_bytes()
    with pytest.raises(KeyringError, match="ít nhất 8"):
        keyring.add_account(
            data, key, username="a1", display_name="", roles=["clerk"], password="ngan", now=NOW
        )
    with pytest.raises(KeyringError, match="không hợp lệ"):
        keyring.add_account(
            data, key, username="Lò Mai", display_name="", roles=["clerk"], password=PW, now=NOW
        )
    with pytest.raises(KeyringError, match="Vai trò không tồn tại"):
        keyring.add_account(
            data, key, username="x1", display_name="", roles=["boss"], password=PW, now=NOW
        )
    with pytest.raises(KeyringError, match="đã có"):
        keyring.add_account(
            data, key, username="canbo", display_name="", roles=["clerk"], password=PW, now=NOW
        )
    with pytest.raises(KeyringError, match="tên riêng"):
        keyring.add_account(
            data,
            key,
            username="mai2",
            display_name="LO THI MAI",
            roles=["clerk"],
            password=PW,
            now=NOW,
        )
    with pytest.raises(KeyringError, match="hỏng"):
        keyring.unlock(b"{not json", "canbo", PW)
    with pytest.raises(KeyringError, match="không phải tệp khóa"):
        keyring.unlock(b"{}", "canbo", PW)


def test_write_is_atomic_and_private(ring: tuple[Path, bytes]) -> None:
    path, _ = ring
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_failures_from_two_processes_at_once_all_count(ring: tuple[Path, bytes]) -> None:
    """The counter is a read-modify-write around a 0.1 s scrypt: two desks' processes failing
    together must not overwrite each other's increments."""
    import subprocess
    import sys

    path, _ = ring
    keyring.write_keyring(path, keyring.set_policy(path.read_bytes(), keyring.Policy(100, 15)))
    tries = 8
    code = (
        "from datetime import datetime; from pathlib import Path;"
        "from onestop.store import keyring\n"
        f"n = 0\nfor _ in range({tries}):\n"
        "    try:\n"
        f"        keyring.login(Path({str(path)!r}), 'canbo', 'sai', now=datetime(2026, 11, 20, 10))\n"
        "    except keyring.BadCredentials:\n"
        "        n += 1\n"
        "print(n)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outs == [str(tries), str(tries)]
    assert keyring.account(path.read_bytes(), "canbo").failed == 2 * tries


@pytest.mark.parametrize("weak", ["        ", "12345678", "quantri1"])
def test_weak_new_password_is_refused_by_the_keyring(weak: str) -> None:
    from onestop.store import keyring as kr

    with pytest.raises(kr.KeyringError):
        kr.check_password(weak, "quantri")
