"""A revoked desk's USB bundle is refused by its siblings as the province refuses it (issue 7):
otherwise the sibling would keep events the province never takes, and differ from it forever.

Real ``onestop serve``: desks A and B of one commune, the province revokes A, B syncs (and so
learns the server-signed revocation), A — which may not know — exports a bundle, B refuses it
with a message naming A and the revocation, changes nothing, and still equals the province.
What the province accepted from A *before* the revocation still reaches B through the feed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import select

from onestop.cli.main import main
from onestop.crypto.trust import RootKey, export_trust_file
from onestop.domain.events import to_epoch
from onestop.server.admin import import_bundle as server_import
from onestop.server.admin import open_db
from onestop.services import keys as keys_svc
from onestop.services.desk import Desk
from onestop.services.setting_keys import PEER_KEY_PREFIX, S_REVOCATIONS
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import bundles
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from onestop.services.sync.base import SyncError
from onestop.store.models import DeskState, EventRow, Setting
from onestop.wire.base import b64e
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    enroll,
    make_desk,
    passphrase,
    random_work,
    server_digest,
    server_events,
)


def _no_passphrase() -> str:
    raise AssertionError("a revoked desk's bundle is refused before any passphrase is asked")


def _trust_all(tmp_path: Path, desks: list[Desk]) -> None:
    """The province's root-signed trust list with both keys (issued before the revocation, and
    not re-issued since: the root key is kept offline)."""
    root = keys_svc.create_root_key(tmp_path / "root.key", "mật khẩu khóa gốc", label="Gốc 38")
    tl = keys_svc.issue_trust_list(
        province="38",
        issued_at=to_epoch(desks[0].clock()),
        requests=[keys_svc.parse_key_request(keys_svc.desk_public_export(d)) for d in desks],
        valid_from=0,
    )
    path = tmp_path / "trust.cbor"
    export_trust_file(path, root, tl)
    for d in desks:
        keys_svc.import_trust(d, path, RootKey.of(root).fingerprint())


def _snapshot(desk: Desk) -> tuple[object, ...]:
    with desk.store.read() as db:
        events = len(db.exec(select(EventRow)).all())
        states = sorted((s.desk_id, s.last_seq, bytes(s.head)) for s in db.exec(select(DeskState)))
        settings = sorted((s.key, s.value) for s in db.exec(select(Setting)))
    return events, states, settings, sync_apply.desk_digest(desk)


@pytest.mark.parametrize("trust", ["trust_list", "pinned"])
def test_revoked_desks_bundle_is_refused_by_a_sibling(
    sqlite_server: ServerProcess, tmp_path: Path, trust: str
) -> None:
    n = 95 if trust == "trust_list" else 96
    clock = Clock()
    rng = random.Random(n)
    a = make_desk(tmp_path / "a.sqlite", n=n, desk_no=1, clock=clock)
    b = make_desk(tmp_path / "b.sqlite", n=n, desk_no=2, clock=clock)
    for d in (a, b):
        enroll(d, sqlite_server.db_url, sqlite_server.url)
    sa = sync_enroll.desk_signer(a, passphrase)
    sb = sync_enroll.desk_signer(b, passphrase)
    if trust == "trust_list":
        _trust_all(tmp_path, [a, b])
    else:  # no trust list: each pinned the other's key from an earlier bundle
        for d, s in ((a, sb), (b, sa)):
            other = b if d is a else a
            d.set_setting(
                PEER_KEY_PREFIX + other.identity.desk_id, f"{s.alg}:{b64e(s.public_key_bytes())}"
            )

    # A works and syncs (the province accepts that part), then works on offline.
    random_work(a, clock, rng, 8)
    assert sync.sync_once(a, passphrase_provider=passphrase, options=FAST).ok
    before = len(server_events(sqlite_server.db_url, a.identity.desk_id))
    random_work(a, clock, rng, 6)

    # The province revokes A; B syncs: it learns the revocation, and still gets what the
    # province accepted from A before it (relayed by the province, so accepted).
    r = CliRunner().invoke(
        main,
        ["server", "revoke-desk", a.identity.desk_id, "--database-url", sqlite_server.db_url],
    )
    assert r.exit_code == 0, r.stderr
    report = sync.sync_once(b, passphrase_provider=passphrase, options=FAST)
    assert report.ok, report.error
    assert a.identity.desk_id in b.setting(S_REVOCATIONS, "")
    with b.store.read() as db:
        held = db.get(DeskState, a.identity.desk_id)
        assert held is not None and held.last_seq == before

    # A does not know (it has not synced since) and hands B a USB bundle of its outbox.
    usb = tmp_path / "usb"
    usb.mkdir()
    path = bundles.export_bundle(a, usb, signer=sa, from_seq=1)
    assert path is not None
    snap = _snapshot(b)
    kws: list[dict[str, Any]] = [{"passphrase_provider": _no_passphrase}, {"signer": sb}]
    for kw in kws:
        with pytest.raises(SyncError) as e:
            bundles.import_bundle(b, path, **kw)
        assert a.identity.desk_id in str(e.value) and "tỉnh đã thu hồi" in str(e.value)
    assert _snapshot(b) == snap  # nothing changed on B, not even a pinned key

    # The province refuses the same bundle: both sides apply one rule.
    server_db = open_db(sqlite_server.db_url)
    try:
        with pytest.raises(Exception, match="thu hồi"):
            server_import(server_db, path)
    finally:
        server_db.close()

    # B and the province agree, and B's next sync still reports success.
    assert sync.sync_once(b, passphrase_provider=passphrase, options=FAST).ok
    assert sync_apply.desk_digest(b) == server_digest(sqlite_server.db_url, b.identity.commune_code)


def test_only_the_province_can_relay_a_revoked_desks_events(tmp_path: Path) -> None:
    """The one check, directly: a revoked desk's events are refused when they come straight
    from it, whatever their times, and accepted when the province relays them."""
    clock = Clock()
    b = make_desk(tmp_path / "b.sqlite", n=97, desk_no=2, clock=clock)
    a = make_desk(tmp_path / "a.sqlite", n=97, desk_no=1, clock=clock)
    sa = sync_enroll.desk_signer(a, passphrase, create=True)
    key = (sa.alg, sa.public_key_bytes())
    sync_apply.check_foreign_source(b, a.identity.desk_id, key)  # not revoked: fine
    row = {"desk": a.identity.desk_id, "kid": sa.kid.hex(), "revoked_at": 2_000_000_000}
    b.set_setting(S_REVOCATIONS, json.dumps([row]))
    with pytest.raises(SyncError, match="tỉnh đã thu hồi"):
        sync_apply.check_foreign_source(b, a.identity.desk_id, key)
    with pytest.raises(SyncError, match="tỉnh đã thu hồi"):  # the key, under another desk id
        sync_apply.check_foreign_source(b, "00000-09", key)
    sync_apply.check_foreign_source(b, a.identity.desk_id, None)  # relayed by the province
