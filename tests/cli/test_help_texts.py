"""``--help`` says enough to act on (issue 17): an example for the commands a clerk or an
operator runs first, a description for every option of ``serve``, ``act``'s roles straight
from the role table, one sync interval default, click's own words in the desk's language; and
the quick start leaves nothing untracked for git."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from onestop.cli.main import main
from onestop.config import SYNC_INTERVAL_DEFAULT_S, Settings
from onestop.domain.roles import ACTION_ROLES, ROLE_LABELS, TWO_PERSON_ACTIONS
from tests.cli.test_readme import command_tree

REPO = Path(__file__).resolve().parents[2]


def _help(*path: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], env=env or {})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", ["receive", "enroll", "slip", "serve", "act"])
def test_first_commands_show_an_example(command: str) -> None:
    text = _help(command)
    assert "Ví dụ" in text
    example = text[text.index("Ví dụ") :]
    assert f"onestop {command} " in example


def test_every_serve_option_says_what_it_does() -> None:
    serve = command_tree()[("serve",)]
    silent = [
        p.opts[0]
        for p in serve.params
        if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()
    ]
    assert not silent
    text = _help("serve")
    assert "Cổng lắng nghe" in text and "Mức ghi nhật ký" in text


def test_sync_interval_default_is_the_desk_setting_default() -> None:
    sync = command_tree()[("sync",)]
    (interval,) = [p for p in sync.params if p.name == "interval"]
    assert interval.default == SYNC_INTERVAL_DEFAULT_S == Settings().sync_interval == 60
    assert "[mặc định: 60]" in " ".join(_help("sync").split())


def test_act_help_names_who_may_take_each_action() -> None:
    text = _help("act")
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("    ")}
    act = command_tree()[("act",)]
    (action,) = [p for p in act.params if p.name == "action"]
    assert isinstance(action.type, click.Choice)
    for kind in action.type.choices:
        line = lines[str(kind)]
        roles = ACTION_ROLES[next(k for k in ACTION_ROLES if k.value == kind)]
        for role, label in ROLE_LABELS.items():
            assert (label in line) is (role in roles), line
    for kind in TWO_PERSON_ACTIONS:
        assert "không phải người đã tiếp nhận" in lines[kind.value]


def _help_in(language: str, *path: str) -> str:
    # A process of its own, as each command runs: click builds --help's option once.
    env = {**os.environ, "ONESTOP_LANGUAGE": language, "ONESTOP_CONFIG_FILE": os.devnull}
    code = "from onestop.cli.main import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, *path, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return result.stdout


def test_click_words_follow_the_language() -> None:
    vi = _help_in("vi", "serve")
    assert "Hiện hướng dẫn này rồi thoát." in vi and "Show this message" not in vi
    assert "Tùy chọn:" in vi
    assert "Hiện số phiên bản rồi thoát." in _help_in("vi")
    en = _help_in("en", "serve")
    assert "Show this message and exit." in en and "Options:" in en
    assert "Show the version and exit." in _help_in("en")


@pytest.mark.parametrize(
    "path",
    [
        "demo.sqlite.keyring",
        "demo.sqlite.keyring.lock",
        "demo.sqlite.sync.lock",
        "demo.keys/desk.key",
        "demo.files/ab/cd",
        "demo.sqlite",
        "demo.sqlite-wal",
    ],
)
def test_the_quick_start_leaves_nothing_untracked(path: str) -> None:
    # README's quick start writes demo.sqlite and, next to it, the keyring of demo accounts and
    # the demo desk key folder (services/demo.py); the desk adds its file store and locks.
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", path], cwd=REPO, check=False
    )
    assert ignored.returncode == 0, f"{path} is not ignored"
