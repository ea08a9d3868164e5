"""A lost or stolen desk, end to end on a real ``onestop serve``: the province revokes it, the
desk is told at its next sync and locks itself, its batches are refused, and a receipt signed
with its key after the revocation fails ``onestop verify`` on the province's trust data."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from onestop.cli.main import main
from onestop.crypto.cose import sign1
from onestop.crypto.signer import SoftwareSigner
from onestop.crypto.trust import make_trust_container
from onestop.domain.clock import VN_TZ
from onestop.domain.events import EventKind, to_epoch
from onestop.domain.lifecycle import Status
from onestop.domain.receipt import receipt_url
from onestop.server.app import revocation_proof
from onestop.server.db import ServerDB
from onestop.server.keys import server_signer
from onestop.server.reference import publish
from onestop.services import keys as keys_svc
from onestop.services import lockdown, receipts, setting_keys
from onestop.services.desk import Desk, IntakeForm
from onestop.services.lockdown import DeskLockedError
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from tests.services.sync.helpers import (
    _PARAMS,
    FAST,
    START,
    Clock,
    ServerProcess,
    enroll,
    last_seq,
    make_desk,
    passphrase,
    random_work,
    receive,
    server_events,
)


def cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args), env={"ONESTOP_NOW": "2026-11-20 10:00"})
    return r.exit_code, r.stdout, r.stderr


def _province_trust(server: ServerProcess, desks: list[Desk]) -> None:
    """The province lists the desks' keys in a root-signed trust list, published on the server."""
    root = SoftwareSigner.generate()
    requests = [keys_svc.parse_key_request(keys_svc.desk_public_export(d)) for d in desks]
    tl = keys_svc.issue_trust_list(province="38", issued_at=to_epoch(START), requests=requests)
    db = ServerDB(server.db_url)
    try:
        assert publish(db, "trust", make_trust_container(root, tl)) is not None
    finally:
        db.close()


def test_revoked_desk_locks_itself_and_later_receipts_fail(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    clock = Clock()
    field = make_desk(tmp_path / "field.sqlite", n=80, desk_no=2, clock=clock)
    office = make_desk(tmp_path / "office.sqlite", n=80, desk_no=1, clock=clock)
    for d in (field, office):
        sync_enroll.desk_signer(d, passphrase, create=True)
    _province_trust(sqlite_server, [field, office])
    for d in (field, office):
        assert enroll(d, sqlite_server.db_url, sqlite_server.url).trust_list
    rng = random.Random(4)
    codes = random_work(field, clock, rng, 20)
    assert sync.sync_once(field, passphrase_provider=passphrase, options=FAST).ok
    signer = sync_enroll.desk_signer(field, passphrase)
    code = next(c for c in codes if field.get(c).status != Status.REFUSED)
    before = receipts.issue_receipt(field, code, signer)  # a genuine receipt, before revocation

    # The laptop keeps working offline, then is reported stolen; the province revokes it.
    random_work(field, clock, rng, 6)
    acked = int(field.setting(setting_keys.S_ACKED))
    assert last_seq(field) > acked
    code_, out, err = cli(
        "server", "revoke-desk", field.identity.desk_id, "--database-url", sqlite_server.db_url
    )
    assert code_ == 0, err

    # Next contact: the batch is refused (nothing new stored) and the desk locks itself.
    report = sync.sync_once(field, passphrase_provider=passphrase, options=FAST)
    assert not report.ok and "thu hồi" in (report.error or "")
    assert len(server_events(sqlite_server.db_url, field.identity.desk_id)) == acked
    lock = lockdown.lock_state(field)
    assert lock is not None and lock.source == "server" and lock.revoked_at is not None

    # Every write is refused with a message to contact the province; reading still works.
    open_code, kind = next(
        (c, a)
        for c in codes
        for a in field.get(c).allowed_actions()
        if a in _PARAMS and a != EventKind.WITHDRAW
    )
    form = IntakeForm(procedure_code="2.001035")
    form.applicant.name, form.applicant.id_number = "Hà Văn Bình", "038099012345"
    for attempt in (
        lambda: field.receive(form),
        lambda: field.act(open_code, kind, dict(_PARAMS[kind])),
        lambda: receipts.issue_receipt(field, code, signer),
    ):
        with pytest.raises(DeskLockedError, match="Liên hệ|liên hệ"):
            attempt()
    assert field.get(code).code == code and field.page().rows
    # Durable: the lock survives a restart, and the CLI refuses with the same message.
    path = field.store.path
    field.close()
    reopened = Desk.open(path, clock=clock)
    assert lockdown.lock_state(reopened) is not None
    reopened.close()
    status, out, err = cli(
        "receive",
        "--db",
        str(path),
        "--procedure",
        "2.001035",
        "--name",
        "Hà Văn Bình",
        "--id",
        "038099012345",
    )
    assert status == 1 and "thu hồi" in err
    status, out, err = cli("dossier", "show", "--db", str(path), code)
    assert status == 0 and code in out
    status, out, err = cli("desk", "status", "--db", str(path), "--json")
    assert status == 1 and json.loads(out)["revoked"] is True

    # The office desk (not revoked) downloads the province's revocations with its next sync.
    assert sync.sync_once(office, passphrase_provider=passphrase, options=FAST).ok
    # Someone with the stolen key signs a receipt after the revocation (the desk refuses, so
    # sign with the key directly): the verifier with the downloaded trust data rejects it.
    after = datetime.now(VN_TZ).replace(tzinfo=None, microsecond=0) + timedelta(hours=1)
    forged_claims = replace(before.claims, received_at=after, due_at=None)
    forged = receipt_url(keys_svc.receipt_host(office), sign1(signer, forged_claims.to_cbor()))
    office_db = str(office.store.path)
    office.close()
    status, out, err = cli("verify", "--db", office_db, forged, "--json")
    assert status == 5, (out, err)
    verdict = json.loads(out)
    assert verdict["verdict"] == "revoked_key" and "thu hồi" in verdict["detail"]
    # A receipt signed before the revocation stays valid, and says the key was revoked since.
    status, out, err = cli("verify", "--db", office_db, before.qr_text, "--json")
    assert status == 0, (out, err)
    assert "đã bị thu hồi từ" in json.loads(out)["detail"]
    # The strict verifier refuses every receipt of the revoked key.
    status, out, err = cli("verify", "--db", office_db, before.qr_text, "--strict-revocation")
    assert status == 5


def _answer(status: int, body: Mapping[str, object]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


def test_a_forged_revocation_does_not_lock_the_desk(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    """Only a revocation signed by the pinned server key locks: a proxy's 403 does not."""
    clock = Clock()
    desk = make_desk(tmp_path / "d.sqlite", n=81, clock=clock)
    enroll(desk, sqlite_server.db_url, sqlite_server.url)
    random_work(desk, clock, random.Random(1), 3)
    db = ServerDB(sqlite_server.db_url)
    try:
        real_key = server_signer(db)
    finally:
        db.close()
    me = desk.identity.desk_id
    forgeries = [
        {"error": "revoked", "message": "Quầy đã bị thu hồi."},  # no proof at all
        {"error": "revoked", "proof": revocation_proof(SoftwareSigner.generate(), me, 1)},
        {"error": "revoked", "proof": revocation_proof(real_key, "20081-09", 1)},  # not us
        {"error": "revoked", "proof": "not base64!"},
    ]
    for body in forgeries:
        report = sync.sync_once(
            desk, passphrase_provider=passphrase, options=FAST, transport=_answer(403, body)
        )
        assert not report.ok
        assert lockdown.lock_state(desk) is None, body
    assert receive(desk, clock, random.Random(2))  # still writable
    # The genuine signed answer (same shape the server sends) does lock it.
    genuine = {
        "error": "revoked",
        "desk": me,
        "proof": revocation_proof(real_key, me, 1_790_000_000),
    }
    sync.sync_once(
        desk, passphrase_provider=passphrase, options=FAST, transport=_answer(403, genuine)
    )
    lock = lockdown.lock_state(desk)
    assert lock is not None and lock.revoked_at == 1_790_000_000
    desk.close()
