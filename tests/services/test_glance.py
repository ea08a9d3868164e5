"""The cold-start glance: the same dashboard as the open desk, read-only, and it declines
whenever only the full desk can answer."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from onestop.domain.calendar import DayKind
from onestop.paths import keyring_path
from onestop.services.demo import build_demo
from onestop.services.desk import Desk
from onestop.services.glance import glance
from onestop.store import migrate
from onestop.store.engine import Store

BUILT = datetime(2026, 11, 20, 10, 0)


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("glance") / "desk.sqlite"
    build_demo(path, dossiers=250, now=BUILT)
    desk = Desk.open(path, clock=lambda: BUILT)
    desk.set_calendar_day(date(2026, 11, 23), DayKind.OFF, "Nghỉ bão")  # a local day off
    desk.set_calendar_day(date(2026, 11, 28), DayKind.WORK)  # a make-up Saturday
    desk.set_setting("ui_language", "en")
    desk.close()
    return path


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 20, 10, 0),  # Friday
        datetime(2026, 11, 20, 17, 30),  # after hours
        datetime(2026, 11, 21, 9, 0),  # Saturday
        datetime(2026, 11, 23, 9, 0),  # the local day off
        datetime(2026, 11, 27, 16, 0),  # the day before the make-up Saturday
        datetime(2026, 9, 2, 8, 0),  # National Day
        datetime(2027, 2, 5, 9, 0),  # Tết 2027 (the next year's table)
    ],
)
def test_glance_shows_what_the_open_desk_shows(demo_path: Path, now: datetime) -> None:
    seen = glance(demo_path, now)
    desk = Desk.open(demo_path, clock=lambda: now)
    try:
        assert seen is not None
        assert seen.dashboard == desk.dashboard()
        assert seen.identity == desk.identity
        assert seen.language == "en" and seen.theme == ""
    finally:
        desk.close()


def test_glance_counts_are_real(demo_path: Path) -> None:
    seen = glance(demo_path, BUILT)
    assert seen is not None and seen.dashboard.counts.total == 250
    assert (
        sum((seen.dashboard.counts.overdue, seen.dashboard.counts.due_today)) > 0
    )  # the demo history leaves work on the desk


def test_glance_only_reads(demo_path: Path) -> None:
    before = hashlib.sha256(demo_path.read_bytes()).hexdigest()
    assert glance(demo_path, BUILT) is not None
    assert hashlib.sha256(demo_path.read_bytes()).hexdigest() == before


def test_declines_without_a_file(tmp_path: Path) -> None:
    assert glance(tmp_path / "none.sqlite", BUILT) is None
    assert glance(tmp_path, BUILT) is None  # a folder


def test_declines_an_encrypted_desk(demo_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "desk.sqlite"
    copy.write_bytes(demo_path.read_bytes())
    keyring_path(copy).write_bytes(b"{}")
    assert glance(copy, BUILT) is None


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100, bytes(range(256)) * 64])
def test_declines_a_file_that_is_not_a_desk(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.sqlite"
    path.write_bytes(content)
    assert glance(path, BUILT) is None


def test_declines_a_schema_the_desk_must_migrate_first(demo_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "desk.sqlite"
    copy.write_bytes(demo_path.read_bytes())
    with sqlite3.connect(copy) as con:
        con.execute("UPDATE alembic_version SET version_num = 'older'")
    con.close()
    assert glance(copy, BUILT) is None


def test_declines_a_desk_never_set_up(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    store = Store(path)
    migrate.upgrade(store.write_engine)
    store.close()
    assert glance(path, BUILT) is None


def test_folder_names_with_url_characters(tmp_path: Path) -> None:
    """A folder named like "Quầy #1 ?" holds the database itself — it once became a URL
    fragment/query, and the desk was created at a truncated path beside it."""
    folder = tmp_path / "Quầy #1 ?x"
    folder.mkdir()
    path = folder / "quầy.sqlite"
    build_demo(path, dossiers=5, now=BUILT)
    assert path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Quầy #1 ?x"]
    seen = glance(path, BUILT)
    assert seen is not None and seen.dashboard.counts.total == 5
    desk = Desk.open(path, clock=lambda: BUILT)
    assert desk.counts().total == 5
    desk.close()
