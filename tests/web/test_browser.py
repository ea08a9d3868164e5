"""End to end in headless Chromium, all real parts: a real ``onestop serve`` on 127.0.0.1, a
real desk enrolled in it that receives dossiers and syncs over HTTP, the real receipt QR text
of a real dossier, the real ``onestop report`` and ``onestop server`` command lines.

Debian's ``chromium`` is driven by Playwright (``executable_path``; never ``playwright
install``). They print the receipt page's weight; with ONESTOP_UPDATE_SCREENSHOTS=1 they also
refresh the README screenshots in docs/screenshots/."""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from onestop.crypto.cose import sign1
from onestop.crypto.signer import EDDSA, SoftwareSigner
from onestop.crypto.trust import TrustEntry, make_trust_container
from onestop.domain.clock import vn_now
from onestop.domain.lifecycle import status_label
from onestop.domain.receipt import digits_from_bytes
from onestop.server import repo
from onestop.server.db import ServerDB
from onestop.server.web import staff
from onestop.services import receipts
from onestop.services.desk import Desk
from onestop.services.sync import client as sync
from tests.services.sync.helpers import START, Clock, ServerProcess, make_desk, passphrase, receive
from tests.web.helpers import (
    CHROMIUM,
    STAFF_PASSWORD,
    STAFF_USER,
    Province,
    altered_fragment,
    epoch,
    forged_fragment,
    fragment,
    onestop_cli,
    open_codes,
    prepare_desk,
    publish_trust,
    trust_of,
)

# The README's screenshots are refreshed only on request, so a test run leaves the tree clean:
#   ONESTOP_UPDATE_SCREENSHOTS=1 .venv/bin/pytest tests/web/test_browser.py
SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("ONESTOP_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "onestop-screenshots"
)
PAGE_BUDGET = 50 * 1024
PERIOD = ("2026-11-01", "2026-11-20")  # the synced work; the later dossiers stay outside it

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@dataclass
class World:
    server: ServerProcess
    desk: Desk
    desk_path: Path
    clock: Clock
    codes: list[str]
    env: dict[str, str]
    province: Province


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("web")
    env = {**os.environ, "ONESTOP_SCRYPT_N": "1024"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESTOP_SCRYPT_N", "1024")
        url = f"sqlite:///{folder / 'server.sqlite'}"
        server = ServerProcess(url)
        server.start()
        clock = Clock()
        desk_path = folder / "desk.sqlite"
        desk = make_desk(desk_path, n=81, clock=clock)
        province = Province()
        codes = prepare_desk(
            desk, clock, url, server.url, folder, steps=60, seed=11, province=province
        )
        # Two more communes for the ranking: one busy, one whose desk went quiet 12 days ago.
        for n, steps in ((83, 45), (84, 12)):
            other = make_desk(folder / f"desk{n}.sqlite", n=n, clock=Clock())
            try:
                prepare_desk(
                    other, Clock(), url, server.url, folder, steps=steps, seed=n, province=province
                )
            finally:
                other.close()
        db = ServerDB(url)
        try:
            with db.write() as conn:
                conn.execute(
                    update(repo.DESK)
                    .where(repo.DESK.c.desk_id == "20084-01")
                    .values(last_seen_at=int(time.time()) - 12 * 86400)
                )
        finally:
            db.close()
        made = onestop_cli(
            "server", "add-staff", STAFF_USER, "--name", "Nguyễn Thị Lan",
            "--database-url", url, env={**env, "ONESTOP_STAFF_PASSWORD": STAFF_PASSWORD},
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        try:
            yield World(server, desk, desk_path, clock, codes, env, province)
        finally:
            desk.close()
            server.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A fresh phone-sized browser context (no cache, no storage)."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = ctx.new_page()
    yield page
    ctx.close()


def _open_receipt(page: Any, world: World, digits: str) -> str:
    # Selectors and Python polling only: the page's CSP (rightly) forbids eval, which
    # Playwright's string predicates would need.
    page.goto(f"{world.server.url}/r1#{digits}")
    page.wait_for_selector("#verdict:not([data-verdict='checking'])", timeout=15_000)
    return str(page.get_attribute("#verdict", "data-verdict"))


def _status_text(page: Any, timeout: float = 15.0) -> str:
    """The status line once the lookup answered (it starts as «Đang tra cứu…»)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.is_visible("#status"):
            text = str(page.inner_text("#status-text"))
            if text and not text.startswith("Đang tra cứu"):
                return text
        time.sleep(0.05)
    raise AssertionError("the status lookup did not answer")


def test_genuine_receipt_with_status_and_page_weight(world: World, phone: Any):
    code = open_codes(world.desk, world.codes)[0]
    digits = fragment(world.desk, code)
    sizes: list[tuple[str, int]] = []

    def on_response(response: Any) -> None:
        response.finished()
        s = response.request.sizes()
        sizes.append((response.url, s["responseBodySize"] + s["responseHeadersSize"]))

    phone.on("response", on_response)
    assert _open_receipt(phone, world, digits) == "genuine"
    assert phone.inner_text("#verdict-word") == "Biên nhận hợp lệ"
    claims = phone.inner_text("#claims")
    state = world.desk.get(code)
    assert code in claims and state.applicant_name in claims
    status = _status_text(phone)
    assert status.split(" — ")[0] == status_label(state.status)
    if state.due_at is not None and state.finished_at is None:
        assert f"hẹn trả {state.due_at:%H:%M} ngày {state.due_at:%d}" in status
    # Never the ID number or the phone.
    html = phone.content()
    assert state.applicant_id not in html and state.applicant_phone not in html
    # The fragment never reached the server: no request carried the digits.
    assert all(digits not in u for u, _ in sizes)
    total = sum(n for _u, n in sizes)
    print(f"\nreceipt page weight: {total} B transferred in {len(sizes)} responses")
    for u, n in sizes:
        print(f"  {n:>6} B  {u.split('127.0.0.1')[1][:60]}")
    assert total < PAGE_BUDGET, sizes
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SHOTS / "receipt-page.png"))
    # The English switch.
    phone.click("#lang")
    assert phone.inner_text("#verdict-word") == "Genuine receipt"
    assert "Vietnamese" not in phone.inner_text("#status-text")


def test_altered_receipt(world: World, phone: Any):
    digits = fragment(world.desk, open_codes(world.desk, world.codes)[0])
    altered = altered_fragment(digits, trust_of(world.server.db_url))
    assert sum(a != b for a, b in zip(digits, altered, strict=True)) == 1
    assert _open_receipt(phone, world, altered) == "altered"
    assert phone.inner_text("#verdict-word") == "Biên nhận đã bị sửa"
    assert phone.is_hidden("#fields")  # content known to be altered is not shown
    assert phone.is_hidden("#status")


def test_unknown_key_and_junk(world: World, phone: Any):
    code = open_codes(world.desk, world.codes)[0]
    assert _open_receipt(phone, world, forged_fragment(world.desk, code)) == "unknown"
    assert phone.inner_text("#verdict-word") == "Không rõ khóa ký"
    assert "CHƯA được xác thực" in phone.inner_text("#fields")
    assert _open_receipt(phone, world, "12345") == "malformed"
    assert _open_receipt(phone, world, "") == "empty"


def test_dossier_not_synced_yet(world: World, phone: Any):
    world.clock.now = START.replace(day=21, hour=9)  # outside PERIOD
    code = receive(world.desk, world.clock, random.Random(4))
    assert _open_receipt(phone, world, fragment(world.desk, code)) == "genuine"
    assert "chưa đồng bộ" in _status_text(phone)


def _cli_bieu06(world: World) -> dict[str, Any]:
    run = onestop_cli(
        "report", "bieu06", "--from", PERIOD[0], "--to", PERIOD[1], "--json",
        "--db", str(world.desk_path), env=world.env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def test_dashboard_numbers_match_the_desk_report(world: World, browser: Any):
    report = _cli_bieu06(world)
    section = report["sections"][0]
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, locale="vi-VN")
    page = ctx.new_page()
    try:
        page.goto(f"{world.server.url}/province")
        assert page.url.endswith("/province/login")
        page.fill("input[name=username]", STAFF_USER)
        page.fill("input[name=password]", "sai mật khẩu")
        page.click("button[type=submit]")
        assert "Sai tên đăng nhập hoặc mật khẩu" in page.inner_text(".error")
        page.fill("input[name=password]", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/province")
        page.goto(f"{world.server.url}/province?from={PERIOD[0]}&to={PERIOD[1]}")
        assert page.locator("#ranking tbody tr").count() == 3
        assert page.get_attribute("tr[data-commune='20084']", "class") == "stale"
        assert page.get_attribute("tr[data-commune='20081']", "class") == ""
        row = page.locator("tr[data-commune='20081']")
        total = section["total"]
        for key in ("received", "resolved", "early", "on_time", "late", "overdue"):
            assert int(row.locator(f"td[data-key={key}]").inner_text()) == total[key], key
        assert total["received"] > 0
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "dashboard.png"))
        # Drill down to the commune's Biểu 06: every cell of every row equals the CLI's.
        row.locator("a").click()
        page.wait_for_selector("#bieu06")
        keys = [c["key"] for c in section["columns"] if c["key"] not in ("stt", "field")]
        shown = page.locator("#bieu06 tbody tr")
        assert shown.count() == len(section["rows"])
        for i, expected in enumerate(section["rows"]):
            tr = shown.nth(i)
            assert tr.locator("td").nth(1).inner_text() == expected["field"]
            for key in keys:
                assert int(tr.locator(f"td[data-key={key}]").inner_text()) == expected[key], key
        for key in keys:
            assert int(page.locator(f"#total td[data-key={key}]").inner_text()) == total[key]
        page.screenshot(path=str(SHOTS / "commune-bieu06.png"))
        # The JSON API behind it, with the same session, says the same.
        cookie = next(c for c in ctx.cookies() if c["name"] == staff.COOKIE_NAME)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        api = page.request.get(
            f"{world.server.url}/api/v1/province/communes/20081/bieu06?from={PERIOD[0]}&to={PERIOD[1]}"
        ).json()
        assert {k: api["total"][k] for k in keys} == {k: total[k] for k in keys}
        # Logging out ends the session.
        page.click("header button")
        page.wait_for_url("**/province/login")
        page.goto(f"{world.server.url}/province")
        assert page.url.endswith("/province/login")
    finally:
        ctx.close()


def test_ed25519_keys_verify_too(world: World, phone: Any):
    """The trust list may hold Ed25519 keys (COSE alg -8) beside ES256: WebCrypto checks both."""
    ed = SoftwareSigner.generate(EDDSA)
    entry = TrustEntry.for_key(
        EDDSA,
        ed.public_key_bytes(),
        commune="20081",
        unit_eid="000.81.14.H56",
        desk_label="Quầy Ed25519",
        valid_from=epoch(START - timedelta(days=365)),
    )
    base = world.province.tl
    assert base is not None
    tl = replace(base, version=base.version + 1, entries=(*base.entries, entry))
    world.province.tl = tl
    publish_trust(world.server.db_url, make_trust_container(world.province.root, tl))
    code = open_codes(world.desk, world.codes)[0]
    claims = receipts.receipt_claims(world.desk, world.desk.get(code))
    digits = digits_from_bytes(sign1(ed, claims.to_cbor()))
    assert _open_receipt(phone, world, digits) == "genuine"
    assert "Quầy Ed25519" in phone.inner_text("#verdict-detail")
    assert _open_receipt(phone, world, altered_fragment(digits, tl)) == "altered"


def test_receipt_after_revocation_is_rejected(world: World, phone: Any):
    """Issue 8: the province revokes the desk; a receipt signed after that is refused, one
    signed before stays genuine (revocation as of a time, crypto/trust.py)."""
    before = fragment(world.desk, open_codes(world.desk, world.codes)[0])
    world.clock.now = vn_now() + timedelta(days=3)
    late_code = receive(world.desk, world.clock, random.Random(8))
    after = fragment(world.desk, late_code)  # the desk does not know yet
    run = onestop_cli(
        "server", "revoke-desk", "20081-01", "--database-url", world.server.db_url, env=world.env
    )
    assert run.returncode == 0, run.stderr
    assert _open_receipt(phone, world, after) == "revoked"
    assert phone.inner_text("#verdict-word") == "Khóa ký đã bị thu hồi"
    assert _open_receipt(phone, world, before) == "genuine"
    # The server agrees, and a revoked desk can no longer sync.
    r = phone.request.post(f"{world.server.url}/api/v1/receipts/status", data={"receipt": after})
    assert r.status == 422 and r.json()["verdict"] == "revoked_key"
    world.clock.now = vn_now()
    # In a thread: sync_once runs its own event loop, Playwright's sync API holds this one.
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(sync.sync_once, world.desk, passphrase_provider=passphrase).result()
    assert not report.ok
