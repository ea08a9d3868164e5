from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from onestop.crypto.signer import Signer
from onestop.server.app import create_app
from onestop.server.db import ServerDB
from onestop.services.desk import Desk
from onestop.services.sync import enroll as sync_enroll
from tests.services.sync.helpers import Clock, enroll, make_desk, passphrase, random_work

# Every server these suites start (in process, or `onestop serve` subprocesses, which inherit
# the environment) keeps its signing key encrypted at rest, as in production (server/keys.py).
os.environ.setdefault("ONESTOP_SERVER_PASSPHRASE", "mật khẩu khóa máy chủ thử nghiệm")


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTOP_SCRYPT_N", "1024")


class Client:
    """A blocking client for the in-process app (httpx ASGITransport, one loop per call).

    Not starlette's TestClient: it warns that its httpx backend is deprecated.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://server") as c:
                return await c.request(method, url, **kw)

        return asyncio.run(go())

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)


@dataclass
class Server:
    app: FastAPI
    url: str
    db: ServerDB
    client: Client


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    app = create_app(url)
    db = ServerDB(url)
    yield Server(app, url, db, Client(app))
    db.close()


@dataclass
class EnrolledDesk:
    desk: Desk
    signer: Signer
    clock: Clock


@pytest.fixture
def enrolled(server: Server, tmp_path: Path) -> Iterator[EnrolledDesk]:
    """A desk of commune 20001 with ~60 events, enrolled in the in-process server."""
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=1, clock=clock)
    random_work(desk, clock, random.Random(3), 50)
    enroll(desk, server.url, "http://server", transport=httpx.ASGITransport(app=server.app))
    signer = sync_enroll.desk_signer(desk, passphrase)
    yield EnrolledDesk(desk, signer, clock)
    desk.close()
