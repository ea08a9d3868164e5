"""The server key at rest, the time window of signed requests, enrollment that is not
trust-on-first-use, and the fast paths of the ingest staying equal to the slow ones."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import cbor2
import httpx
import pytest
from click.testing import CliRunner
from fastapi import Request
from sqlalchemy import select
from sqlmodel import select as sm_select
from starlette.concurrency import run_in_threadpool

from onestop.cli.main import main
from onestop.crypto.keys import is_encrypted_key
from onestop.crypto.signer import SoftwareSigner
from onestop.domain.events import Event, EventFormatError
from onestop.domain.lifecycle import _evolve
from onestop.server import repo
from onestop.server.admin import new_enroll_code
from onestop.server.app import _authenticate
from onestop.server.db import ServerDB, migrate
from onestop.server.keys import (
    PASSPHRASE_ENV,
    PASSPHRASE_FILE_ENV,
    ServerKeyError,
    server_public_key,
    server_signer,
)
from onestop.services.setting_keys import S_SERVER_KEY, S_SKEW
from onestop.services.sync import base as sync_base
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from onestop.store.models import DossierRow
from onestop.store.repo_dossiers import row_to_state, state_to_values
from onestop.wire.base import b64d, b64e, now_epoch
from onestop.wire.enroll import enroll_check
from onestop.wire.messages import AUTH_WINDOW_S, auth_token, open_time, token_digest
from onestop.wire.state import state_json
from tests.server.conftest import EnrolledDesk, Server
from tests.services.sync.helpers import make_desk, passphrase, random_work

# ----------------------------------------------------------------------------- key at rest


def _key_row(db: ServerDB) -> bytes:
    with db.read() as conn:
        row = conn.execute(
            select(repo.SETTING.c.value).where(repo.SETTING.c.key == "signing_key")
        ).first()
    assert row is not None
    return bytes(row[0])


def test_server_key_is_encrypted_and_needs_its_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ServerDB(f"sqlite:///{tmp_path / 's.sqlite'}")
    migrate(db)
    monkeypatch.setenv(PASSPHRASE_ENV, "mật khẩu máy chủ 1")
    first = server_signer(db)
    stored = _key_row(db)
    assert is_encrypted_key(stored) and first.private_key_pkcs8() not in stored
    assert server_signer(db).kid == first.kid  # every worker unlocks the same key
    assert server_public_key(db) == (first.alg, first.public_key_bytes())

    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(ServerKeyError, match=PASSPHRASE_ENV):
        server_signer(db)
    monkeypatch.setenv(PASSPHRASE_ENV, "mật khẩu sai rồi")
    with pytest.raises(ServerKeyError, match="Sai mật khẩu"):
        server_signer(db)
    # The passphrase from a file (its first line), as a secrets manager provides it.
    monkeypatch.delenv(PASSPHRASE_ENV)
    secret = tmp_path / "passphrase"
    secret.write_text("mật khẩu máy chủ 1\n", encoding="utf-8")
    monkeypatch.setenv(PASSPHRASE_FILE_ENV, str(secret))
    assert server_signer(db).kid == first.kid
    secret.write_text("\n", encoding="utf-8")
    with pytest.raises(ServerKeyError, match="rỗng"):
        server_signer(db)
    db.close()


def test_a_clear_key_is_encrypted_on_the_first_start_with_a_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ServerDB(f"sqlite:///{tmp_path / 's.sqlite'}")
    migrate(db)
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    clear = server_signer(db)
    assert not is_encrypted_key(_key_row(db))
    monkeypatch.setenv(PASSPHRASE_ENV, "mật khẩu máy chủ 2")
    assert server_signer(db).kid == clear.kid
    assert is_encrypted_key(_key_row(db))
    db.close()


def test_serve_refuses_to_start_without_the_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    db = ServerDB(url)
    migrate(db)
    server_signer(db)  # encrypted under the suite's passphrase (conftest)
    db.close()
    monkeypatch.delenv(PASSPHRASE_ENV)
    out = CliRunner().invoke(main, ["serve", "--database-url", url, "--port", "9"])
    assert out.exit_code == 1, out.output
    assert PASSPHRASE_ENV in out.output and PASSPHRASE_FILE_ENV in out.output


# ----------------------------------------------------------------------------- auth window


def _get(server: Server, e: EnrolledDesk, path: str, when: int) -> tuple[httpx.Response, str]:
    token = auth_token(e.signer, e.desk.identity.desk_id, f"GET {path}", when)
    header = f"Onestop {token}"
    return server.client.get(path, headers={"Authorization": header}), header


def test_signed_requests_are_refused_outside_the_window(
    server: Server, enrolled: EnrolledDesk
) -> None:
    now = now_epoch()
    signer = server_signer(server.db)
    keys = {signer.kid: (signer.alg, signer.public_key_bytes())}
    assert _get(server, enrolled, "/sync/v1/state", now + AUTH_WINDOW_S - 30)[0].status_code == 200
    for when in (now - AUTH_WINDOW_S - 60, now + AUTH_WINDOW_S + 60, 0):
        resp, header = _get(server, enrolled, "/sync/v1/state", when)
        assert resp.status_code == 401 and resp.json()["error"] == "stale_auth"
        # The server's time comes back signed and bound to this very token.
        t = open_time(
            b64d(resp.json()["time"]),
            keys,
            desk=enrolled.desk.identity.desk_id,
            token=token_digest(header),
        )
        assert abs(t - now) < 60
        with pytest.raises(ValueError):
            open_time(b64d(resp.json()["time"]), keys, desk="20001-09", token=token_digest(header))


def test_a_desk_with_a_wrong_clock_and_a_stale_offset_still_syncs(
    server: Server, enrolled: EnrolledDesk
) -> None:
    """The desk's clock is a fixed day in 2026 (tests' Clock), the server's is real time; its
    learned offset is then wiped: the first signed GET is refused as stale, the desk takes the
    server's signed time and retries once, and the run succeeds."""
    desk = enrolled.desk
    desk.set_setting(S_SKEW, "0")
    report = sync.sync_once(
        desk,
        signer=enrolled.signer,
        transport=httpx.ASGITransport(app=server.app),
        options=sync_base.SyncOptions(upload=False, reference=False),
    )
    assert report.ok, report.error
    assert report.skew_s is not None and abs(report.skew_s) > AUTH_WINDOW_S
    assert abs(int(desk.setting(S_SKEW)) - report.skew_s) <= 5


def test_a_state_changing_signed_request_is_accepted_once(
    server: Server, enrolled: EnrolledDesk
) -> None:
    ctx = server.app.state.ctx

    @server.app.post("/sync/v1/_probe")
    async def probe(request: Request) -> dict[str, str]:
        desk = await run_in_threadpool(_authenticate, ctx, request)
        return {"desk": str(desk["desk_id"])}

    token = auth_token(
        enrolled.signer, enrolled.desk.identity.desk_id, "POST /sync/v1/_probe", now_epoch()
    )
    headers = {"Authorization": f"Onestop {token}"}
    first = server.client.post("/sync/v1/_probe", headers=headers)
    assert first.status_code == 200, first.text
    again = server.client.post("/sync/v1/_probe", headers=headers)
    assert again.status_code == 401 and again.json()["error"] == "replayed"
    # GETs stay repeatable inside the window (they change nothing).
    resp, _ = _get(server, enrolled, "/sync/v1/state", now_epoch())
    assert resp.status_code == 200


# ----------------------------------------------------------------------------- enrollment


class KeySwapper(httpx.AsyncBaseTransport):
    """A machine in the middle answering enrollment with its own server key."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.fake = SoftwareSigner.generate()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resp = await self.inner.handle_async_request(request)
        body = json.loads(await resp.aread())
        if isinstance(body, dict) and "server" in body:
            body["server"]["public_key"] = b64e(self.fake.public_key_bytes())
        return httpx.Response(resp.status_code, json=body)


def test_enrollment_checks_the_server_key_against_the_code(server: Server, tmp_path: Path):
    asgi = httpx.ASGITransport(app=server.app)
    alg, public = server_public_key(server.db)
    code = new_enroll_code(server.db, commune="20005", desk_name="Quầy 1", desk_no=1).code
    groups = code.split("-")
    assert len(groups) == 4 and all(len(g) == 4 for g in groups)  # read over the phone
    assert groups[3] == enroll_check("".join(groups[:3]), alg, public)

    desk = make_desk(tmp_path / "d.sqlite", n=5, desk_no=1)
    # A machine in the middle with its own key: refused before anything is stored.
    with pytest.raises(sync_base.SyncError, match="không khớp nhóm kiểm tra"):
        sync_enroll.enroll(
            desk, "http://server", code, passphrase_provider=passphrase, transport=KeySwapper(asgi)
        )
    assert desk.setting(S_SERVER_KEY) == ""
    # A misread check group: the same refusal (the real server did register the key).
    wrong = "-".join([*groups[:3], "AAAA" if groups[3] != "AAAA" else "BBBB"])
    with pytest.raises(sync_base.SyncError, match="không khớp nhóm kiểm tra"):
        sync_enroll.enroll(
            desk, "http://server", wrong, passphrase_provider=passphrase, transport=asgi
        )
    assert desk.setting(S_SERVER_KEY) == ""
    # A code without its check group, or with letters that are not in the alphabet.
    for bad in ("-".join(groups[:3]), code.replace(groups[0], "OOOO")):
        with pytest.raises(sync_base.SyncError, match="16 ký tự"):
            sync_enroll.enroll(
                desk, "http://server", bad, passphrase_provider=passphrase, transport=asgi
            )
    # The code as read out, lower case and spaced: enrolled, server key pinned.
    result = sync_enroll.enroll(
        desk,
        "http://server",
        code.lower().replace("-", " "),
        passphrase_provider=passphrase,
        transport=asgi,
    )
    assert result.desk_id == "20005-01" and desk.setting(S_SERVER_KEY) == b64e(public)
    # The server time of the answer gives the first offset for signed requests.
    assert desk.setting(S_SKEW) != ""
    desk.close()


# ----------------------------------------------------------------------------- fast paths


def test_fast_paths_equal_the_plain_ones(enrolled: EnrolledDesk) -> None:
    desk = enrolled.desk
    random_work(desk, enrolled.clock, random.Random(9), 30)
    with desk.store.read() as db:
        states = [row_to_state(r) for r in db.exec(sm_select(DossierRow)).all()]
    for st in states:
        assert state_json(st) == json.dumps(state_to_values(st), ensure_ascii=False, sort_keys=True)
        assert _evolve(st, handler="x", event_count=9) == dataclasses.replace(
            st, handler="x", event_count=9
        )
    # The canonical-CBOR check of Event.from_body refuses exactly what body() would differ on.
    ev = desk.history(states[0].code)[0]
    raw = cbor2.loads(ev.body())
    variants = [
        {**raw, 10: 1},  # an extra key
        {**raw, 3: True if raw[3] == 1 else float(raw[3])},  # the kind code as bool/float
        {**raw, 5: float(raw[5])},  # the time as a float
    ]
    for v in variants:
        with pytest.raises(EventFormatError):
            Event.from_body("20001-01", cbor2.dumps(v, canonical=True))
    non_canonical = cbor2.dumps(dict(reversed(list(raw.items()))))
    with pytest.raises(EventFormatError):
        Event.from_body("20001-01", non_canonical)
    assert Event.from_body(ev.desk_id, ev.body()) == ev
