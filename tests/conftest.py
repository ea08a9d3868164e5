from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from onestop.i18n import get_language, set_language
from onestop.services.desk import Desk
from onestop.store.engine import fold_wal

FROZEN = datetime(2026, 11, 20, 10, 0)  # a Friday, working day


class DeskTemplates:
    """Initialised desk databases made once per session, copied for every test that asks.

    ``Desk.initialise`` (migrations, catalogue, units) costs about 0.3 s; copying its result and
    ``Desk.open``-ing the copy costs a few milliseconds. A template is keyed by everything that
    ends up in the file: the identity arguments, the clock's time (``created_at``) and the
    language (the default commune and desk names). ``actor``, ``role`` and ``clock`` only shape
    the ``Desk`` object and are given to ``Desk.open``. The first call for a key runs the real
    ``Desk.initialise``, so invalid arguments still raise ``DeskError`` as before.
    """

    def __init__(self) -> None:
        self.root: Path | None = None
        self._made: dict[tuple[Any, ...], Path] = {}

    def reset(self, root: Path | None) -> None:
        self.root = root
        self._made.clear()

    def _template(self, key: tuple[Any, ...], identity: dict[str, Any], now: datetime) -> Path:
        path = self._made.get(key)
        if path is not None:
            return path
        if self.root is None:  # used outside a pytest session (a bench script)
            self.root = Path(tempfile.mkdtemp(prefix="onestop-desk-templates-"))
        path = self.root / f"template-{len(self._made)}" / "desk.sqlite"
        Desk.initialise(path, clock=lambda: now, **identity).close()
        fold_wal(path)  # everything in the main file: the copy needs no -wal/-shm
        self._made[key] = path
        return path

    def initialise(
        self,
        path: Path,
        *,
        clock: Callable[[], datetime] | None = None,
        actor: str = "",
        role: str = "clerk",
        **identity: Any,
    ) -> Desk:
        """What ``Desk.initialise(path, ...)`` returns, from a copy of a cached template."""
        if clock is None or "key" in identity or "account" in identity or path.exists():
            # Encrypted desks, accounts and "already initialised" errors: the real thing.
            kw: dict[str, Any] = {} if clock is None else {"clock": clock}
            return Desk.initialise(path, actor=actor, role=role, **kw, **identity)
        now = clock()
        key = (tuple(sorted(identity.items())), now.isoformat(timespec="seconds"), get_language())
        template = self._template(key, identity, now)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):  # fold_wal leaves none; copied should one appear
            source = Path(f"{template}{suffix}")
            if source.exists():
                shutil.copyfile(source, Path(f"{path}{suffix}"))
        return Desk.open(path, clock=clock, actor=actor, role=role)


TEMPLATES = DeskTemplates()


def muong_lat_desk(
    path: Path, clock: Callable[[], datetime], *, desk_no: int | None = 1, actor: str = "Lò Thị Mai"
) -> Desk:
    """The desk most suites use, from a template: Xã Mường Lát (16279) of Thanh Hóa (38), unit
    000.00.14.H56, desk ``desk_no``, opened by ``actor``."""
    return TEMPLATES.initialise(
        path,
        unit_eid="000.00.14.H56",
        commune_code="16279",
        commune_name="Xã Mường Lát",
        province_code="38",
        desk_no=desk_no,
        clock=clock,
        actor=actor,
    )


@pytest.fixture(scope="session", autouse=True)
def _desk_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskTemplates]:
    TEMPLATES.reset(tmp_path_factory.mktemp("desk-templates"))
    yield TEMPLATES
    TEMPLATES.reset(None)


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
    d = muong_lat_desk(tmp_path / "desk.sqlite", clock)
    yield d
    d.close()
