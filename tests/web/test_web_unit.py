"""The JS-independent parts of the provincial web, in process: rate limit, security headers,
staff login and lockout, sessions, the receipt lookup's authorisation, pagination, bad input,
and no personal data for anyone without a login."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

from onestop.domain.lifecycle import Status, status_label
from onestop.server.web import lookup, staff
from onestop.server.web.headers import PAGE_CSP
from onestop.server.web.ratelimit import RateLimiter
from onestop.services.desk import Desk
from onestop.wire.base import now_epoch
from tests.server.conftest import Server
from tests.services.sync.helpers import Clock, make_desk
from tests.web.helpers import (
    STAFF_PASSWORD,
    STAFF_USER,
    altered_fragment,
    forged_fragment,
    fragment,
    open_codes,
    personal_data,
    prepare_desk,
    trust_of,
)


@dataclass
class Site:
    server: Server
    desk: Desk
    codes: list[str]
    receipt: str  # digits of a real receipt of a synced dossier


@pytest.fixture
def site(server: Server, tmp_path: Path) -> Iterator[Site]:
    clock = Clock()
    desk = make_desk(tmp_path / "desk.sqlite", n=90, clock=clock)
    asgi = httpx.ASGITransport(app=server.app)
    codes = prepare_desk(
        desk, clock, server.url, "http://server", tmp_path, steps=25, transport=asgi
    )
    staff.add_staff(server.db, STAFF_USER, STAFF_PASSWORD, display_name="Cán bộ tỉnh")
    good = open_codes(desk, codes)
    yield Site(server, desk, codes, fragment(desk, good[0]))
    desk.close()


def _login(server: Server, password: str = STAFF_PASSWORD) -> httpx.Response:
    return server.client.post(
        "/province/login", data={"username": STAFF_USER, "password": password}
    )


def _cookie(server: Server) -> dict[str, str]:
    r = _login(server)
    assert r.status_code == 303, r.text
    value = r.cookies[staff.COOKIE_NAME]
    return {"Cookie": f"{staff.COOKIE_NAME}={value}"}


# ----------------------------------------------------------------------------- rate limit


def test_token_bucket_refills_and_is_per_key():
    now = [100.0]
    limiter = RateLimiter(rate=0.5, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert wait == pytest.approx(2.0)  # one token every 2 s
    assert limiter.retry_after(wait) == "2"
    assert limiter.take("b") == 0.0  # another client is not affected
    now[0] += 2.0
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    now[0] += 1000
    assert [limiter.take("a") for _ in range(4)][-1] > 0  # never more than the burst


def test_token_bucket_memory_is_bounded():
    limiter = RateLimiter(rate=1, burst=1, clock=lambda: 0.0, max_keys=100)
    for i in range(1000):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) <= 100


def test_lookup_is_rate_limited_per_client(site: Site):
    body = {"receipt": site.receipt}
    codes = [site.server.client.post("/api/v1/receipts/status", json=body) for _ in range(12)]
    statuses = [r.status_code for r in codes]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    assert int(codes[10].headers["retry-after"]) >= 1
    assert codes[10].json()["error"] == "rate_limited"


# ----------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "path",
    ["/r1", "/static/r1.js", "/api/v1/trust", "/province/login", "/api/v1/openapi.json", "/nope"],
)
def test_security_headers_on_web_responses(site: Site, path: str):
    r = site.server.client.get(path)
    assert r.headers["content-security-policy"] == PAGE_CSP
    assert "unsafe-inline" not in PAGE_CSP and "frame-ancestors 'none'" in PAGE_CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"


def test_no_security_headers_on_sync_answers(site: Site):
    """Issue 19: the browser headers cost 132 B on every CBOR answer of a thin link."""
    for r in (
        site.server.client.get("/sync/v1/health"),
        site.server.client.post("/sync/v1/batches", content=b"\xa0"),  # refused, JSON error
    ):
        for name in ("content-security-policy", "x-content-type-options", "referrer-policy"):
            assert name not in r.headers, (r.request.url, name)
        assert "x-frame-options" not in r.headers
        assert r.headers.get("content-encoding") is None  # no gzip over the sync API


def test_pages_load_no_inline_script_or_style(site: Site):
    for path in ("/r1", "/province/login"):
        html = site.server.client.get(path).text
        assert "<script>" not in html and "style=" not in html and "<style" not in html
        assert "http://" not in html and "https://" not in html  # no CDN


# ----------------------------------------------------------------------------- staff


def test_password_hash_roundtrip_and_format():
    stored = staff.hash_password("một mật khẩu dài")
    assert stored.startswith("scrypt$")
    assert staff.check_password("một mật khẩu dài", stored)
    # NFD input (another keyboard) is the same password.
    import unicodedata

    assert staff.check_password(unicodedata.normalize("NFD", "một mật khẩu dài"), stored)
    assert not staff.check_password("một mật khẩu dai", stored)
    assert not staff.check_password("x", "garbage")


def test_add_staff_refuses_bad_input(server: Server):
    with pytest.raises(staff.StaffError, match="ít nhất"):
        staff.add_staff(server.db, "lan", "ngắn")
    with pytest.raises(staff.StaffError, match="Tên đăng nhập"):
        staff.add_staff(server.db, "a b", "đủ dài rồi đấy nhé")
    staff.add_staff(server.db, "lan", "đủ dài rồi đấy nhé")
    with pytest.raises(staff.StaffError, match="--reset"):
        staff.add_staff(server.db, "LAN", "đủ dài rồi đấy nhé")
    assert [r["username"] for r in staff.list_staff(server.db)] == ["lan"]


def test_login_lockout_and_reset(site: Site):
    srv = site.server
    for _ in range(staff.MAX_FAILURES - 1):
        r = _login(srv, "sai mật khẩu rồi")
        assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in r.text
        assert staff.COOKIE_NAME not in r.cookies
    r = _login(srv, "sai mật khẩu rồi")
    assert r.status_code == 423 and "tạm khóa" in r.text
    # Locked: even the right password is refused, and nothing was changed by it.
    r = _login(srv)
    assert r.status_code == 423 and staff.COOKIE_NAME not in r.cookies
    # After the lock time the right password works again.
    now = now_epoch() + staff.LOCK_SECONDS + 1
    assert staff.login(srv.db, STAFF_USER, STAFF_PASSWORD, now=now).username == STAFF_USER
    # An operator reset unlocks at once.
    for _ in range(staff.MAX_FAILURES):
        with pytest.raises(staff.LoginRefused):
            staff.login(srv.db, STAFF_USER, "sai mật khẩu rồi")
    staff.add_staff(srv.db, STAFF_USER, "mật khẩu mới rất dài", reset=True)
    assert staff.login(srv.db, STAFF_USER, "mật khẩu mới rất dài").username == STAFF_USER


def test_unknown_user_gets_the_generic_message(site: Site):
    r = site.server.client.post(
        "/province/login", data={"username": "khong.co", "password": "bất kỳ mật khẩu nào"}
    )
    assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in r.text


def test_login_form_bad_input(site: Site):
    c = site.server.client
    r = c.post("/province/login", json={"username": STAFF_USER, "password": STAFF_PASSWORD})
    assert r.status_code == 415
    r = c.post(
        "/province/login",
        content=b"username=a&password=" + b"x" * 20000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    r = c.post(
        "/province/login",
        data={"username": STAFF_USER, "password": STAFF_PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert r.status_code == 403


def test_session_cookie_flags_and_checks(site: Site):
    srv = site.server
    r = _login(srv)
    assert r.status_code == 303 and r.headers["location"] == "/province"
    set_cookie = r.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie.replace("Strict", "strict")
    cookie = {"Cookie": f"{staff.COOKIE_NAME}={r.cookies[staff.COOKIE_NAME]}"}
    assert srv.client.get("/api/v1/province/communes", headers=cookie).status_code == 200
    # Forged: one character of the MAC changed.
    value = r.cookies[staff.COOKIE_NAME]
    forged = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    bad = {"Cookie": f"{staff.COOKIE_NAME}={forged}"}
    assert srv.client.get("/api/v1/province/communes", headers=bad).status_code == 401
    # Expired.
    web = srv.app.state.web
    who = staff.read_session(srv.db, web.session_key, value)
    assert who is not None
    old = staff.make_session(web.session_key, who, now=now_epoch() - staff.SESSION_SECONDS - 5)
    assert staff.read_session(srv.db, web.session_key, old) is None
    # Logging out ends the session everywhere.
    assert srv.client.post("/province/logout", headers=cookie).status_code == 303
    assert srv.client.get("/api/v1/province/communes", headers=cookie).status_code == 401
    assert srv.client.get("/province", headers=cookie).status_code == 303


# ----------------------------------------------------------------------------- lookup


def test_lookup_answers_a_valid_receipt_without_personal_data(site: Site):
    r = site.server.client.post("/api/v1/receipts/status", json={"receipt": site.receipt})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "valid" and body["known"] is True and body["anchored"] is True
    state = site.desk.get(body["code"])
    assert body["status"] == state.status.value
    assert body["message"].startswith(status_label(state.status))
    # The receipt carries the procedure's code only; the answer names it (issue 17).
    assert body["procedure"] == state.procedure_code
    assert body["procedure_name"] == state.procedure_name != ""
    assert body["commune_name"] == site.desk.identity.commune_name == "Xã Thử 90"
    for secret in personal_data(site.desk, site.codes):
        assert secret not in r.text
    assert state.applicant_name not in r.text


def test_procedure_name_follows_the_published_catalogue(site: Site):
    with site.server.db.read() as conn:
        assert lookup.procedure_name(conn, "1.001193", date(2026, 1, 5)) == "Đăng ký khai sinh"
        assert lookup.procedure_name(conn, "9.999999", date(2026, 1, 5)) is None


def test_status_words():
    from datetime import datetime

    due = datetime(2026, 2, 5, 10, 0)
    assert (
        lookup.status_message(Status.PROCESSING, due, None)
        == "Đang xử lý — hẹn trả 10:00 ngày 05 tháng 02 năm 2026"
    )
    assert lookup.status_message(Status.RETURNED, due, datetime(2026, 3, 4, 9, 0)) == (
        "Đã trả kết quả — ngày 04 tháng 3 năm 2026"
    )
    assert "tạm dừng" in lookup.status_message(Status.SUPPLEMENT_REQUESTED, None, None)


def test_lookup_refuses_what_does_not_verify(site: Site):
    c = site.server.client
    tl = trust_of(site.server.url)
    code = open_codes(site.desk, site.codes)[0]
    cases = {
        "forged": (forged_fragment(site.desk, code), 422, "unknown_key"),
        "altered": (altered_fragment(site.receipt, tl), 422, "bad_signature"),
        "junk": ("12345678901234567890", 400, "malformed"),
        "letters": ("abc", 400, "malformed"),
        "truncated": (site.receipt[:-1], 400, "malformed"),
    }
    for name, (digits, status, verdict) in cases.items():
        r = c.post("/api/v1/receipts/status", json={"receipt": digits})
        assert r.status_code == status, (name, r.text)
        assert r.json()["verdict"] == verdict, name
        assert '"code"' not in r.text
    # A guessed dossier code is not a receipt.
    r = c.post("/api/v1/receipts/status", json={"receipt": code})
    assert r.status_code == 400
    # Bad JSON, wrong shape, extra fields, oversize bodies.
    r = c.post(
        "/api/v1/receipts/status", content=b"{", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert c.post("/api/v1/receipts/status", json={"code": code}).status_code == 400
    assert c.post("/api/v1/receipts/status", json={"receipt": "1", "code": code}).status_code == 400
    big = {"receipt": "1" * 20000}
    assert c.post("/api/v1/receipts/status", json=big).status_code == 413


def test_lookup_of_a_dossier_not_synced_yet(site: Site):
    import random as _random

    from tests.services.sync.helpers import receive

    code = receive(site.desk, Clock(), _random.Random(9))
    r = site.server.client.post(
        "/api/v1/receipts/status", json={"receipt": fragment(site.desk, code)}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["known"] is False and body["status"] is None
    assert "chưa đồng bộ" in body["message"]
    assert body["desk_last_sync"] is not None


def test_trust_endpoints(site: Site):
    c = site.server.client
    r = c.get("/api/v1/trust?per_page=1&page=1")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1 and len(body["items"]) == 1 and body["province"] == "38"
    kid = body["items"][0]["kid"]
    assert c.get("/api/v1/trust?per_page=1&page=2").json()["items"] == []
    one = c.get(f"/api/v1/trust/keys/{kid}").json()
    assert [e["kid"] for e in one["items"]] == [kid] and one["items"][0]["revoked_at"] is None
    assert c.get("/api/v1/trust/keys/0000000000000000").json()["items"] == []
    assert c.get("/api/v1/trust/keys/xyz").status_code == 400
    assert c.get("/api/v1/trust?per_page=0").status_code == 400


# ----------------------------------------------------------------------------- dashboard API


def test_dashboard_api_needs_a_login(site: Site):
    c = site.server.client
    for path in (
        "/api/v1/province/communes",
        "/api/v1/province/communes/20090/bieu06",
    ):
        r = c.get(path)
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
    assert c.get("/province").status_code == 303
    assert c.get("/province/communes/20090").status_code == 303


def test_dashboard_api_pagination_and_bad_input(site: Site, tmp_path: Path):
    # A second commune (a desk with no dossiers) so that there are two rows to page through.
    other = make_desk(tmp_path / "other.sqlite", n=91)
    from tests.services.sync.helpers import enroll

    enroll(
        other, site.server.url, "http://server", transport=httpx.ASGITransport(app=site.server.app)
    )
    other.close()
    c = site.server.client
    auth = _cookie(site.server)
    q = "from=2026-11-01&to=2026-11-30"
    full = c.get(f"/api/v1/province/communes?{q}", headers=auth).json()
    assert full["total"] == 2 and [i["rank"] for i in full["items"]] == [1, 2]
    page1 = c.get(f"/api/v1/province/communes?{q}&per_page=1", headers=auth).json()
    page2 = c.get(f"/api/v1/province/communes?{q}&per_page=1&page=2", headers=auth).json()
    assert page1["items"] + page2["items"] == full["items"]
    assert page1["total"] == page2["total"] == 2
    first = full["items"][0]
    assert first["commune"] == "20090" and first["received"] > 0
    # The desk reported its outbox in its last batch envelope: everything was sent.
    assert first["events_pending"] == 0 and first["stale"] is False
    assert full["items"][1]["received"] == 0
    for bad in (
        "from=2026-11-30&to=2026-11-01",  # end before start
        "from=2026-11-01",  # half a period
        "from=1900-01-01&to=1900-02-01",
        "from=2026-13-01&to=2026-12-01",
        "per_page=1000",
        "page=0",
    ):
        r = c.get(f"/api/v1/province/communes?{bad}", headers=auth)
        assert r.status_code == 400, (bad, r.text)
        assert "message" in r.json()
    assert c.get("/api/v1/province/communes/2009/bieu06", headers=auth).status_code == 400
    assert c.get("/api/v1/province/communes/29999/bieu06", headers=auth).status_code == 404
    b = c.get(f"/api/v1/province/communes/20090/bieu06?{q}", headers=auth).json()
    assert b["total"]["received"] == first["received"]
    assert sum(r["counts"]["received"] for r in b["rows"]) == b["total"]["received"]


def test_no_personal_data_without_a_login(site: Site):
    """Every route of the app, asked without credentials, never shows an ID number or phone."""
    secrets = personal_data(site.desk, site.codes)
    assert secrets
    c = site.server.client
    paths: set[str] = set()
    for route in site.server.app.routes:
        path = getattr(route, "path", "")
        methods: set[str] = getattr(route, "methods", None) or set()
        if "GET" in methods:
            paths.add(re.sub(r"\{[^}]+\}", "20090", path))
    bodies = [c.get(p).text for p in sorted(paths)]
    bodies.append(c.post("/api/v1/receipts/status", json={"receipt": site.receipt}).text)
    bodies.append(c.get("/sync/v1/events?commune=20090").text)
    for text in bodies:
        for secret in secrets:
            assert secret not in text


def test_openapi_documents_the_web_api(site: Site):
    spec = site.server.client.get("/api/v1/openapi.json").json()
    assert set(spec["paths"]) == {
        "/api/v1/trust",
        "/api/v1/trust/keys/{kid}",
        "/api/v1/receipts/status",
        "/api/v1/province/communes",
        "/api/v1/province/communes/{commune}/bieu06",
    }
    communes = spec["paths"]["/api/v1/province/communes"]["get"]
    assert {p["name"] for p in communes["parameters"]} >= {
        "from",
        "to",
        "field",
        "page",
        "per_page",
    }
    assert "401" in communes["responses"]
    json.dumps(spec)


def test_dashboard_pages_render_and_refuse_bad_input(site: Site):
    c = site.server.client
    auth = _cookie(site.server)
    q = "from=2026-11-01&to=2026-11-30"
    page = c.get(f"/province?{q}", headers=auth)
    assert page.status_code == 200 and 'data-commune="20090"' in page.text
    assert page.headers["cache-control"] == "no-store"
    detail = c.get(f"/province/communes/20090?{q}", headers=auth)
    assert detail.status_code == 200 and 'id="bieu06"' in detail.text
    field = site.desk.get(site.codes[0]).field
    one = c.get(f"/province/communes/20090?{q}", params={"field": field}, headers=auth)
    assert one.status_code == 200 and field in one.text
    assert c.get("/province?from=2026-11-30&to=2026-11-01", headers=auth).status_code == 400
    assert c.get("/province?from=hôm-nay&to=2026-11-01", headers=auth).status_code == 400
    assert (
        c.get("/province/communes/12?from=2026-11-01&to=2026-11-30", headers=auth).status_code
        == 400
    )
    assert c.get(f"/province/communes/29999?{q}", headers=auth).status_code == 404
    # Stale communes stand out: with a 0-day threshold every commune is stale.
    site.server.app.state.web.stale_days = 0
    page = c.get(f"/province?{q}", headers=auth)
    assert 'class="stale"' in page.text
