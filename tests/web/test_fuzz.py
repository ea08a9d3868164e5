"""Schemathesis against the live server: every operation of the web API's OpenAPI document,
valid and invalid inputs, logged in and not, must never get a 5xx. Bounded (examples per
operation and a wall-clock budget) so it runs in well under a minute on 2 cores."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from onestop.server.web import staff
from tests.services.sync.helpers import Clock, ServerProcess, make_desk
from tests.web.helpers import STAFF_PASSWORD, STAFF_USER, onestop_cli, prepare_desk

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

EXAMPLES = 25  # per operation and generation mode
BUDGET_S = 45.0


@dataclass
class Live:
    server: ServerProcess
    cookie: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESTOP_SCRYPT_N", "1024")
        url = f"sqlite:///{folder / 'server.sqlite'}"
        server = ServerProcess(url)
        server.start()
        desk = make_desk(folder / "desk.sqlite", n=82, clock=Clock())
        try:
            prepare_desk(desk, Clock(), url, server.url, folder, steps=20, seed=3)
        finally:
            desk.close()
        env = {**os.environ, "ONESTOP_STAFF_PASSWORD": STAFF_PASSWORD}
        assert (
            onestop_cli(
                "server", "add-staff", STAFF_USER, "--database-url", url, env=env
            ).returncode
            == 0
        )
        r = httpx.post(
            f"{server.url}/province/login",
            data={"username": STAFF_USER, "password": STAFF_PASSWORD},
        )
        assert r.status_code == 303
        try:
            yield Live(server, r.cookies[staff.COOKIE_NAME])
        finally:
            server.close()


def test_web_api_never_answers_5xx(live: Live, tmp_path: Path) -> None:
    schema = schemathesis.openapi.from_url(f"{live.server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5
    deadline = time.monotonic() + BUDGET_S
    seen: dict[int, int] = {}
    failures: list[str] = []

    def fuzz(op: Any, mode: Any, cookies: dict[str, str]) -> None:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            if time.monotonic() > deadline:
                return
            response = case.call(base_url=live.server.url, cookies=cookies, timeout=10)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}"
                    f" -> {response.status_code} {response.text[:300]}"
                )

        run()

    for op in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            for cookies in ({staff.COOKIE_NAME: live.cookie}, {}):
                fuzz(op, mode, cookies)
    print(f"\nschemathesis: status codes seen {dict(sorted(seen.items()))}")
    assert not failures, "\n".join(failures[:10])
    assert sum(seen.values()) > 100
    assert live.server.proc is not None and live.server.proc.poll() is None  # still up
