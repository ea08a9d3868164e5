from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from onestop.i18n import set_language
from onestop.services.desk import Desk

FROZEN = datetime(2026, 11, 20, 10, 0)  # a Friday, working day


@pytest.fixture(autouse=True)
def _isolate(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Keep the developer's own config, data dir and language out of the tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("ONESTOP_CONFIG_FILE", str(home / "config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    for var in ("ONESTOP_DB", "ONESTOP_LANG", "ONESTOP_NOW", "ONESTOP_LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    set_language("vi")
    yield
    set_language("vi")


class Clock:
    """A settable clock for the desk."""

    def __init__(self, now: datetime = FROZEN) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    d = Desk.initialise(
        tmp_path / "desk.sqlite",
        unit_eid="000.00.14.H56",
        commune_code="16279",
        commune_name="Xã Mường Lát",
        province_code="38",
        desk_no=1,
        clock=clock,
        actor="Lò Thị Mai",
    )
    yield d
    d.close()
