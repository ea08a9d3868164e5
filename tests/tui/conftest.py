"""Fixtures of the desk UI tests: one demo desk per session, copied per test, frozen clock."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled

from onestop.services.desk import Desk
from onestop.tui.app import OnestopApp
from tests.conftest import FROZEN
from tests.tui.snapshot_app import build_app, build_template, copy_desk, open_desk


@pytest.fixture
def anyio_backend() -> str:
    # The async tests run on anyio's pytest plugin (anyio ships with httpx), on asyncio only.
    return "asyncio"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> None:
    """Mark every coroutine test ``anyio`` while it is collected, before anyio's own hook looks.

    Marked later (in ``pytest_collection_modifyitems``), anyio's ``pytest_collection_finish``
    swaps each such item for a new ``name[asyncio]`` one after syrupy recorded the collected
    items, and syrupy's report then fails at session finish with a ``KeyError`` on that node id
    (exit status 1 although every test passed).
    """
    if (
        collector.istestfunction(obj, name)
        and inspect.iscoroutinefunction(obj)
        and not any(m.name == "anyio" for m in getattr(obj, "pytestmark", ()))
    ):
        pytest.mark.anyio(obj)


@pytest.fixture(autouse=True)
def _no_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    # A blinking cursor makes snapshots flaky (STYLE rule 34); tests/conftest.py already keeps
    # the developer's config out and the language Vietnamese.
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("demo") / "demo.sqlite")


@pytest.fixture
def desk(demo_template: Path, tmp_path: Path) -> Iterator[Desk]:
    d = open_desk(copy_desk(demo_template, tmp_path / "desk.sqlite"))
    yield d
    d.close()


@pytest.fixture
def app(desk: Desk) -> OnestopApp:
    return build_app(desk)


class MessageLog:
    """Every message the app posted, for asserting on what happened before how it looks."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def of(self, kind: type[Message]) -> list[Message]:
        # A bubbling message reaches the hook once per node it visits: count it once.
        seen: set[int] = set()
        out = []
        for m in self.messages:
            if isinstance(m, kind) and id(m) not in seen:
                seen.add(id(m))
                out.append(m)
        return out

    def notices(self) -> list[str]:
        return [
            str(m.notification.message)  # type: ignore[attr-defined]
            for m in self.messages
            if type(m).__name__ == "Notify"
        ]


@pytest.fixture
def log() -> MessageLog:
    return MessageLog()


async def settle(pilot: Pilot[None]) -> None:
    """Let screen switches land and every worker finish (STYLE rule 35: wait, never sleep).

    Done when two pauses in a row find no worker running: a handler of a finished worker's
    message may start the next one (the intake check that follows a step change, say).
    """
    app = pilot.app
    quiet = 0
    while quiet < 2:
        await pilot.pause()
        busy = [w for w in app.workers if not w.is_finished]
        if busy:
            quiet = 0
            try:
                await app.workers.wait_for_complete(busy)
            except WorkerCancelled:
                # An exclusive worker (the sync state's refresh, say) replaced by a newer one of
                # its group while we waited: the next turn of the loop waits for that one.
                continue
        else:
            quiet += 1


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Key by key, as a clerk types (about 0.1 s a key under Pilot: keep it for short text)."""
    await pilot.press(*text)


async def fill(pilot: Pilot[None], selector: str, text: str) -> None:
    """Put ``text`` into an input at once, as a paste does, and leave the focus there."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = text
    await settle(pilot)


@pytest.fixture(scope="session")
def encrypted_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An encrypted demo desk with its accounts, made once and copied by ``encrypted_app``."""
    from onestop.services.demo import build_demo

    path = tmp_path_factory.mktemp("enc") / "demo.sqlite"
    build_demo(path, dossiers=20, seed=1, now=FROZEN, encrypted=True)
    return path


def encrypted_app(template: Path, tmp_path: Path) -> OnestopApp:
    """The desk app on a copy of ``template`` that asks for a login first."""
    import shutil

    from onestop.tui.app import make_app

    db = tmp_path / "desk.sqlite"
    for suffix in ("", "-wal", ".keyring"):
        source = Path(str(template) + suffix)
        if source.exists():
            shutil.copy(source, Path(str(db) + suffix))
    app = make_app(
        None,
        db_path=db,
        clock=lambda: FROZEN,
        theme="onestop-light",
        remember_choices=False,
        login_required=True,
    )
    app.animation_level = "none"
    return app


class FakeMonotonic:
    """A clock the idle-lock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
