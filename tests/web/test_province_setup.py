"""A province's first setup, in headless Chromium against a real ``onestop serve`` (issue 17):
the desks enrolled and synced, but the province has not published its trust list yet. The
receipt page must say so (the server's own reason), not blame the citizen's connection; once
the list is published the same receipt is genuine and names its procedure. The dashboard
names each commune as its desk does. Security headers go on pages, not on sync answers
(issue 19)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from onestop.services.desk import Desk
from onestop.services.sync import client as sync
from tests.services.sync.helpers import Clock, ServerProcess, enroll, make_desk, passphrase, receive
from tests.web.helpers import (
    CHROMIUM,
    STAFF_PASSWORD,
    STAFF_USER,
    Province,
    fragment,
    import_trust,
    onestop_cli,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

NO_TRUST = "Tỉnh chưa phát hành danh sách tin cậy; chưa kiểm tra được."


@dataclass
class Setup:
    server: ServerProcess
    desk: Desk
    code: str
    province: Province
    container: bytes


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("setup")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESTOP_SCRYPT_N", "1024")
        url = f"sqlite:///{folder / 'server.sqlite'}"
        server = ServerProcess(url)
        server.start()
        clock = Clock()
        desk = make_desk(folder / "desk.sqlite", n=71, clock=clock)
        try:
            # The README's order before the fix: enroll, sync; the list is signed by the
            # province (and the desk has it) but never published on the server.
            province = Province()
            container = province.add(desk)
            enroll(desk, url, server.url)
            import_trust(desk, province.root, container, folder)
            code = receive(desk, clock, random.Random(3))
            report = sync.sync_once(desk, passphrase_provider=passphrase)
            assert report.ok, report
            yield Setup(server, desk, code, province, container)
        finally:
            desk.close()
            server.close()


def _page(browser: Any, **kw: Any) -> Any:
    ctx = browser.new_context(locale="vi-VN", **kw)
    return ctx, ctx.new_page()


def _verdict(page: Any, url: str | None) -> str:
    if url is None:
        page.reload()  # goto() to the same URL with a #fragment would not load the page again
    else:
        page.goto(url)
    page.wait_for_selector("#verdict:not([data-verdict='checking'])", timeout=15_000)
    return str(page.get_attribute("#verdict", "data-verdict"))


def test_setup_in_order(setup: Setup, browser: Any):
    """One browser walk through the setup, in the order the README gives (the module's
    fixture did serve, enroll-code, enroll, sync)."""
    url = f"{setup.server.url}/r1#{fragment(setup.desk, setup.code)}"
    ctx, page = _page(browser, viewport={"width": 390, "height": 844})
    try:
        # 1. Nothing published: the server's reason, word for word, not «mất kết nối?».
        assert _verdict(page, url) == "offline"
        detail = page.inner_text("#verdict-detail")
        assert detail == NO_TRUST, detail
        assert "kết nối" not in detail
        page.click("#lang")
        assert "has not published its trust list" in page.inner_text("#verdict-detail")
        page.click("#lang")  # back to Vietnamese (remembered in localStorage)
        # 2. `onestop server publish trust FILE`, as the province does it.
        trust_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"trust-{setup.server.port}.cbor"
        trust_file.write_bytes(setup.container)
        try:
            run = onestop_cli(
                "server", "publish", "trust", str(trust_file),
                "--database-url", setup.server.db_url,
            )  # fmt: skip
        finally:
            trust_file.unlink()
        assert run.returncode == 0, run.stderr
        # 3. The same receipt is genuine now, and the page names the procedure.
        assert _verdict(page, None) == "genuine"
        state = setup.desk.get(setup.code)
        page.wait_for_selector("#status:not([hidden])")
        for _ in range(200):  # polled in Python: the page's CSP forbids Playwright's eval
            claims = page.inner_text("#claims")
            if state.procedure_name in claims:
                break
            page.wait_for_timeout(50)
        assert f"{state.procedure_name} ({state.procedure_code})" in claims, claims
        assert "Xã Thử 71 (20071) / 38" in claims, claims
    finally:
        ctx.close()


def test_dashboard_names_the_commune(setup: Setup, browser: Any):
    made = onestop_cli(
        "server", "add-staff", STAFF_USER, "--name", "Nguyễn Thị Lan",
        "--database-url", setup.server.db_url,
        env={**os.environ, "ONESTOP_STAFF_PASSWORD": STAFF_PASSWORD, "ONESTOP_SCRYPT_N": "1024"},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    ctx, page = _page(browser, viewport={"width": 1280, "height": 720})
    try:
        page.goto(f"{setup.server.url}/province/login")
        page.fill("input[name=username]", STAFF_USER)
        page.fill("input[name=password]", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/province")
        row = page.locator("tr[data-commune='20071']")
        assert "Xã Thử 71" in row.inner_text()
    finally:
        ctx.close()


def test_security_headers_on_pages_not_on_sync_answers(setup: Setup):
    """Over real HTTP: the page keeps its browser headers, the sync API carries none."""
    with httpx.Client(base_url=setup.server.url) as c:
        page = c.get("/r1")
        assert "content-security-policy" in page.headers
        assert page.headers["x-frame-options"] == "DENY"
        for r in (c.get("/sync/v1/health"), c.post("/sync/v1/batches", content=b"\xa0")):
            assert r.status_code < 500
            for name in ("content-security-policy", "x-content-type-options", "referrer-policy"):
                assert name not in r.headers, (r.url, name)
