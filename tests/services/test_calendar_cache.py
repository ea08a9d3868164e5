"""The cached holiday tables: equal to the package's, ignored when stale or damaged, and what
lets the desk's first screen skip importing the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import onestop.domain.calendar as cal
from onestop.services import calendar_cache
from onestop.services.demo import build_demo

YEARS = (2026, 2027)


@pytest.fixture
def fresh_tables(monkeypatch: pytest.MonkeyPatch) -> dict[int, object]:
    tables: dict[int, object] = {}
    monkeypatch.setattr(cal, "_PACKAGE_YEARS", tables)
    return tables


def test_saved_tables_come_back_equal(fresh_tables: dict[int, object]) -> None:
    computed = {y: cal.package_year_table(y) for y in YEARS}
    calendar_cache.save(YEARS)
    fresh_tables.clear()
    assert calendar_cache.preload(YEARS) == []
    assert {y: cal.package_year_table(y) for y in YEARS} == computed
    assert "2026-09-02" in computed[2026][1]  # National Day is named


def test_missing_file_means_every_year_missing(fresh_tables: dict[int, object]) -> None:
    assert calendar_cache.preload(YEARS) == list(YEARS)


@pytest.mark.parametrize(
    "damage",
    [
        lambda doc: "not json{",
        lambda doc: json.dumps([1, 2]),
        lambda doc: json.dumps({**doc, "key": "holidays-0.1.dist-info/1"}),
        lambda doc: json.dumps({**doc, "years": {"2026": {"work": "01", "names": {}}}}),
        lambda doc: json.dumps({**doc, "years": {"2026": {"work": "2" * 365, "names": {}}}}),
        lambda doc: json.dumps(
            {**doc, "years": {"2026": {**doc["years"]["2026"], "names": {"2025-01-01": "x"}}}}
        ),
        lambda doc: json.dumps({**doc, "years": {"2026": None}}),
    ],
)
def test_damaged_or_stale_tables_are_not_taken(fresh_tables: dict[int, object], damage) -> None:
    calendar_cache.save(YEARS)
    path = calendar_cache.cache_file()
    path.write_text(damage(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")
    fresh_tables.clear()
    assert 2026 in calendar_cache.preload(YEARS)
    assert 2026 not in fresh_tables  # nothing half-taken: the package computes it when asked


def test_unwritable_cache_folder_is_not_an_error(
    fresh_tables: dict[int, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder should be
    calendar_cache.save(YEARS)


def test_the_second_start_does_not_import_the_package(tmp_path: Path) -> None:
    db = tmp_path / "desk.sqlite"
    build_demo(db, dossiers=20, now=datetime(2026, 11, 20, 10, 0))
    # Opening the desk to build it wrote the cache already (next test); start without one.
    calendar_cache.cache_file().unlink()
    code = (
        "import sys; from datetime import datetime; from pathlib import Path;"
        "from onestop.services.glance import glance;"
        f"g = glance(Path({str(db)!r}), datetime(2026, 11, 20, 10, 0));"
        "print(g is not None and g.dashboard.counts.total, 'holidays' in sys.modules)"
    )
    env = {**os.environ}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert first.stdout.split() == ["20", "True"], first.stderr
    assert second.stdout.split() == ["20", "False"], second.stderr


def test_opening_a_desk_writes_the_cache_so_scripts_skip_the_package_too(tmp_path: Path) -> None:
    """``onestop receive``/``due``/``desk --json`` open the desk, not the glance: they warm the
    same cache (this year and the next of the desk's clock)."""
    build_demo(tmp_path / "desk.sqlite", dossiers=1, now=datetime(2026, 11, 20, 10, 0))
    doc = json.loads(calendar_cache.cache_file().read_text(encoding="utf-8"))
    assert sorted(doc["years"]) == ["2026", "2027"]
