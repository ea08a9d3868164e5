"""Enrollment, signed GETs, reference data with ETag, the migrations, and junk everywhere."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from onestop.crypto.signer import SoftwareSigner
from onestop.server import db as server_db
from onestop.server.admin import new_enroll_code, publish_file
from onestop.server.db import ServerDB
from onestop.server.enroll import issue_code
from onestop.services.sync import base as sync_base
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from onestop.store.models import CalendarDay
from onestop.wire.base import b64e, now_epoch
from onestop.wire.messages import ENROLL_CT, auth_token, sign
from tests.server.conftest import EnrolledDesk, Server
from tests.services.sync.helpers import Clock, make_desk, passphrase, random_work


def _enroll_body(signer: SoftwareSigner, code: str, commune: str, desk_no: int = 1, renumber=False):
    req = sign(
        signer,
        ENROLL_CT,
        {1: code, 2: commune, 3: desk_no, 4: "Quầy", 5: renumber, 6: 0, 7: "000.01.14.H56"},
    )
    return {"alg": signer.alg, "public_key": b64e(signer.public_key_bytes()), "request": b64e(req)}


def test_enrollment_rules(server: Server):
    code = issue_code(server.db, commune="20001", desk_name="Quầy 1", desk_no=1).code
    key = SoftwareSigner.generate()
    # Wrong commune, wrong desk number without renumbering, bad proof of possession.
    r = server.client.post("/sync/v1/enroll", json=_enroll_body(key, code, "20002"))
    assert r.status_code == 403 and r.json()["error"] == "wrong_commune"
    r = server.client.post("/sync/v1/enroll", json=_enroll_body(key, code, "20001", desk_no=3))
    assert r.status_code == 409 and r.json()["error"] == "wrong_desk_no"
    forged = _enroll_body(key, code, "20001")
    forged["public_key"] = b64e(SoftwareSigner.generate().public_key_bytes())
    r = server.client.post("/sync/v1/enroll", json=forged)
    assert r.status_code == 401
    r = server.client.post("/sync/v1/enroll", json=_enroll_body(key, "AAAA-BBBB-CCCC", "20001"))
    assert r.status_code == 403 and r.json()["error"] == "bad_code"
    # Right: desk 20001-01, the server key comes back.
    r = server.client.post("/sync/v1/enroll", json=_enroll_body(key, code.lower(), "20001"))
    assert r.status_code == 200, r.text
    assert r.json()["desk_id"] == "20001-01" and r.json()["server"]["alg"] == -7
    # A second key with the same code: refused; the same key again: the same answer.
    r2 = server.client.post(
        "/sync/v1/enroll", json=_enroll_body(SoftwareSigner.generate(), code, "20001")
    )
    assert r2.status_code == 403 and r2.json()["error"] == "code_used"
    assert (
        server.client.post("/sync/v1/enroll", json=_enroll_body(key, code, "20001")).json()[
            "desk_id"
        ]
        == "20001-01"
    )
    # Next codes of the commune get the next desk numbers.
    assert issue_code(server.db, commune="20001", desk_name="Quầy 2").desk_no == 2
    assert issue_code(server.db, commune="20001", desk_name="Quầy 3").desk_no == 3
    # An expired code.
    old = issue_code(server.db, commune="20009", desk_name="Q", now=1_000_000).code
    r = server.client.post("/sync/v1/enroll", json=_enroll_body(key, old, "20009"))
    assert r.status_code == 403 and r.json()["error"] == "code_expired"


def test_fresh_desk_adopts_the_assigned_number(server: Server, tmp_path: Path):
    desk = make_desk(tmp_path / "d.sqlite", n=4, desk_no=1)
    issue_code(server.db, commune="20004", desk_name="Quầy 1", desk_no=1)  # desk 1 is taken
    code = new_enroll_code(server.db, commune="20004", desk_name="Quầy 2").code
    transport = httpx.ASGITransport(app=server.app)
    result = sync_enroll.enroll(
        desk, "http://server", code, passphrase_provider=passphrase, transport=transport
    )
    assert result.renumbered and result.desk_id == "20004-02" and desk.identity.desk_no == 2
    assert desk.setting("desk_no") == "2"
    # A desk that already issued dossier codes cannot change number.
    used = make_desk(tmp_path / "u.sqlite", n=4, desk_no=5)
    random_work(used, Clock(), random.Random(1), 3)
    code = new_enroll_code(server.db, commune="20004", desk_name="Quầy 6").code
    with pytest.raises(sync_base.SyncError, match="xin mã cho quầy số 5"):
        sync_enroll.enroll(
            used, "http://server", code, passphrase_provider=passphrase, transport=transport
        )


def test_signed_gets(server: Server, enrolled: EnrolledDesk):
    desk_id = enrolled.desk.identity.desk_id

    def get(path: str, params: dict[str, str], token_target: str | None = None, signer=None):
        query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        target = token_target or (f"GET {path}" + (f"?{query}" if query else ""))
        token = auth_token(signer or enrolled.signer, desk_id, target, now_epoch())
        return server.client.get(path, params=params, headers={"Authorization": f"Onestop {token}"})

    assert get("/sync/v1/state", {}).status_code == 200
    assert get("/sync/v1/events", {"commune": "20001"}).status_code == 200
    # Another commune's events: 403; a token for another URL or by another key: 401.
    assert get("/sync/v1/events", {"commune": "20002"}).status_code == 403
    assert get("/sync/v1/events", {"commune": "20001"}, "GET /sync/v1/state").status_code == 401
    assert get("/sync/v1/state", {}, signer=SoftwareSigner.generate()).status_code == 401
    assert server.client.get("/sync/v1/state").status_code == 401
    assert (
        server.client.get("/sync/v1/state", headers={"Authorization": "Onestop !!"}).status_code
        == 401
    )
    bad_after = get("/sync/v1/events", {"commune": "20001", "after": "x:1"})
    assert bad_after.status_code == 400
    digest = get("/sync/v1/digest", {})
    assert digest.status_code == 200 and digest.json()["commune"] == "20001"


def test_reference_etag_and_apply(server: Server, enrolled: EnrolledDesk, tmp_path: Path):
    first = server.client.get("/sync/v1/reference", params={"cursor": 0})
    assert first.status_code == 200 and first.headers["etag"]
    etag = first.headers["etag"]
    again = server.client.get(
        "/sync/v1/reference", params={"cursor": 0}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    # Publishing a calendar change bumps the version; desks get it on their next sync.
    cal = tmp_path / "cal.csv"
    cal.write_text("day,kind,note\n2026-12-31,off,Nghỉ bù tỉnh\n", encoding="utf-8")
    assert publish_file(server.db, "calendar", cal) is not None
    assert publish_file(server.db, "calendar", cal) is None  # unchanged: no new version
    transport = httpx.ASGITransport(app=server.app)
    report = sync.sync_once(
        enrolled.desk,
        signer=enrolled.signer,
        transport=transport,
        options=sync_base.SyncOptions(upload=False),
    )
    assert report.ok, report.error
    assert "calendar" in report.reference_updated
    with enrolled.desk.store.read() as db:
        day = db.get(CalendarDay, "2026-12-31")
        assert day is not None and day.kind == "off"
    # Up to date now: the reference pull is one 304.
    report = sync.sync_once(
        enrolled.desk,
        signer=enrolled.signer,
        transport=transport,
        options=sync_base.SyncOptions(upload=False, download=False),
    )
    assert report.ok and report.requests == 1 and report.reference_updated == []
    bad = tmp_path / "bad.csv"
    bad.write_text("2026-13-45,off,x\n", encoding="utf-8")
    from onestop.server.admin import AdminError

    with pytest.raises(AdminError):
        publish_file(server.db, "calendar", bad)


def test_server_migrations_upgrade_check_downgrade(tmp_path: Path):
    db = ServerDB(f"sqlite:///{tmp_path / 's.sqlite'}")
    server_db.migrate(db)
    server_db.check(db)  # `alembic check`: models and migrations agree
    tables = set(inspect(db.write_engine).get_table_names())
    assert {"server_event", "server_desk", "server_batch", "alembic_version_server"} <= tables
    assert "event" not in tables and "alembic_version" not in tables  # not the desk's schema
    server_db.downgrade(db, "base")
    assert "server_event" not in set(inspect(db.write_engine).get_table_names())
    server_db.migrate(db)
    db.close()


_junk = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda s: s.encode()),
    st.dictionaries(
        st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=40)), max_size=4
    ).map(lambda d: json.dumps(d).encode()),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=_junk,
    path=st.sampled_from(["/sync/v1/enroll", "/sync/v1/batches"]),
    enc=st.sampled_from(["", "gzip", "zstd", "x"]),
)
def test_junk_posts_get_4xx_json(server: Server, body: bytes, path: str, enc: str):
    headers = {"Content-Encoding": enc} if enc else {}
    r = server.client.post(path, content=body, headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert "error" in r.json()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "/sync/v1/events",
            "/sync/v1/state",
            "/sync/v1/reference",
            "/sync/v1/digest",
            "/sync/v1/nope",
        ]
    ),
    q=st.dictionaries(
        st.sampled_from(["cursor", "after", "commune", "limit"]), st.text(max_size=30), max_size=3
    ),
    auth=st.one_of(
        st.none(),
        st.text(max_size=60),
        st.binary(max_size=80).map(lambda b: "Onestop " + base64.urlsafe_b64encode(b).decode()),
    ),
)
def test_junk_gets_get_4xx_json_or_ok(
    server: Server, path: str, q: dict[str, str], auth: str | None
):
    headers = {"Authorization": auth} if auth is not None else {}
    try:
        r = server.client.get(path, params=q, headers=headers)
    except (httpx.InvalidURL, UnicodeEncodeError):
        return  # the client refused to send it; nothing reached the server
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code >= 400:
        assert "error" in r.json()


def test_wrong_enrollment_codes_are_rate_limited(server: Server):
    """Hardening item 17: guessing codes gets 429 after a burst of failures; the limit counts
    failures only, and a right code is refused only while the address is out of tokens."""
    from onestop.server.app import ENROLL_FAILURE_RATE

    key = SoftwareSigner.generate()
    burst = ENROLL_FAILURE_RATE[1]
    statuses = [
        server.client.post(
            "/sync/v1/enroll", json=_enroll_body(key, "AAAA-BBBB-CCCC", "20031")
        ).status_code
        for _ in range(burst + 2)
    ]
    assert statuses[:burst] == [403] * burst
    assert statuses[burst:] == [429, 429]
    r = server.client.post("/sync/v1/enroll", json=_enroll_body(key, "AAAA-BBBB-CCCC", "20031"))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "quá nhiều lần" in r.json()["message"]
