"""Settings: file < environment < caller, and every bad value refused with where to fix it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from onestop.config import ConfigError, Settings, load_settings
from onestop.i18n import set_language


def _file(text: str) -> Path:
    path = Path(os.environ["ONESTOP_CONFIG_FILE"])
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_nothing_is_given():
    s = load_settings()
    assert s.language == "vi" and s.role == "clerk" and s.sync_interval == 60.0
    assert s.db.name == "desk.sqlite" and s.explicit == frozenset()


def test_file_then_environment_then_caller(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    _file('language = "en"\ntheme = "onestop-dark"\nsync_interval = 30\ndb = "~/a.sqlite"\n')
    monkeypatch.setenv("ONESTOP_THEME", "textual-ansi")
    monkeypatch.setenv("ONESTOP_SYNC_INTERVAL", "90")
    s = load_settings(db=tmp_path / "b.sqlite", language=None)
    assert s.language == "en"  # file (None from the caller means "not given")
    assert s.theme == "textual-ansi" and s.sync_interval == 90.0  # environment over file
    assert s.db == tmp_path / "b.sqlite"  # caller over file
    assert s.explicit == {"language", "theme", "sync_interval", "db"}


def test_home_is_expanded_in_paths():
    _file('export_dir = "~/Giấy tờ"\n')
    assert load_settings().export_dir == Path.home() / "Giấy tờ"


def test_other_onestop_variables_are_not_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ONESTOP_NOW", "2026-11-20 10:00")
    monkeypatch.setenv("ONESTOP_USER", "canbo")
    assert load_settings().explicit == frozenset()


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ('language = "fr"\n', "[language]", "vi, en"),
        ('role = "boss"\n', "[role]", "clerk, specialist, leader, admin"),
        ("sync_interval = 1\n", "[sync_interval]", "từ 5 đến 86400"),
        ("sync_interval = true\n", "[sync_interval]", "từ 5 đến 86400"),
        ("theme = 3\n", "[theme]", "chuỗi chữ"),
        ('db = ""\n', "[db]", "đường dẫn"),
        ('langauge = "en"\n', "[langauge]", "không có thiết lập"),
    ],
)
def test_bad_file_values_name_the_file_and_the_key(text: str, where: str, what: str):
    path = _file(text)
    with pytest.raises(ConfigError) as e:
        load_settings()
    assert f"{path} {where}" in str(e.value) and what in str(e.value)


def test_all_problems_reported_at_once():
    _file('language = "fr"\nrole = "boss"\n')
    with pytest.raises(ConfigError) as e:
        load_settings()
    assert "[language]" in str(e.value) and "[role]" in str(e.value)


def test_unreadable_toml_says_fix_or_delete():
    path = _file("language = en\n")
    with pytest.raises(ConfigError, match="Sửa hoặc xóa tệp này") as e:
        load_settings()
    assert str(path) in str(e.value)


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ONESTOP_SYNC_INTERVAL", "nhanh")
    with pytest.raises(ConfigError, match="ONESTOP_SYNC_INTERVAL: phải là số giây"):
        load_settings()


def test_message_in_english():
    _file('language = "fr"\n')
    set_language("en")
    with pytest.raises(ConfigError, match="Invalid configuration") as e:
        load_settings()
    assert "must be one of: vi, en" in str(e.value)


def test_settings_built_by_code_has_nothing_explicit(tmp_path: Path):
    assert Settings(db=tmp_path / "x.sqlite").explicit == frozenset()
