"""Trust list handed down at enrollment and used to check bundles; paged downloads."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from onestop.crypto.signer import SoftwareSigner
from onestop.crypto.trust import make_trust_container
from onestop.server.app import create_app
from onestop.server.db import ServerDB
from onestop.server.reference import publish
from onestop.services import keys as keys_svc
from onestop.services.setting_keys import PEER_KEY_PREFIX
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import base as sync_base
from onestop.services.sync import bundles
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from onestop.wire.base import b64e
from tests.services.sync.helpers import (
    Clock,
    assert_converged,
    enroll,
    make_desk,
    passphrase,
    random_work,
)


def test_trust_list_at_enrollment_guards_bundle_imports(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    app = create_app(url)
    asgi = httpx.ASGITransport(app=app)
    field = make_desk(tmp_path / "field.sqlite", n=70, desk_no=2)
    office = make_desk(tmp_path / "office.sqlite", n=70, desk_no=1)
    stranger = make_desk(tmp_path / "stranger.sqlite", n=70, desk_no=3)
    for d in (field, stranger):
        sync_enroll.desk_signer(d, passphrase, create=True)
    # The province lists the field laptop's key (not the stranger's) and publishes the list.
    root = SoftwareSigner.generate()
    request = keys_svc.parse_key_request(keys_svc.desk_public_export(field))
    tl = keys_svc.issue_trust_list(province="38", issued_at=1_790_000_000, requests=[request])
    db = ServerDB(url)
    assert publish(db, "trust", make_trust_container(root, tl)) is not None
    db.close()
    result = enroll(office, url, "http://server", transport=asgi)
    assert result.trust_list
    assert keys_svc.trust_list(office) is not None
    random_work(field, Clock(), random.Random(1), 8)
    random_work(stranger, Clock(), random.Random(2), 8)
    # Bundles are encrypted to readers the sender knows: both senders learned the office's key
    # (as from an earlier office bundle), so only the trust list can tell them apart.
    office_key = sync_enroll.desk_signer(office, passphrase)
    for d in (field, stranger):
        d.set_setting(
            PEER_KEY_PREFIX + office.identity.desk_id,
            f"{office_key.alg}:{b64e(office_key.public_key_bytes())}",
        )
    ok = bundles.export_bundle(field, tmp_path, signer=sync_enroll.desk_signer(field, passphrase))
    bad = bundles.export_bundle(
        stranger, tmp_path, signer=sync_enroll.desk_signer(stranger, passphrase)
    )
    assert ok is not None and bad is not None
    assert bundles.import_bundle(office, ok, signer=office_key).added > 0
    with pytest.raises(sync_base.SyncError, match="danh sách tin cậy"):
        bundles.import_bundle(office, bad, signer=office_key)


def test_download_in_pages(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    asgi = httpx.ASGITransport(app=create_app(url))
    a = make_desk(tmp_path / "a.sqlite", n=71, desk_no=1)
    b = make_desk(tmp_path / "b.sqlite", n=71, desk_no=2)
    c = make_desk(tmp_path / "c.sqlite", n=71, desk_no=3)
    for d, seed in ((a, 1), (b, 2), (c, 3)):
        enroll(d, url, "http://server", transport=asgi)
        random_work(d, Clock(), random.Random(seed), 15)
    small = sync_base.SyncOptions(feed_limit=7, seed=1)
    for d in (a, b, c):
        assert sync.sync_once(d, passphrase_provider=passphrase, transport=asgi, options=small).ok
    report = sync.sync_once(a, passphrase_provider=passphrase, transport=asgi, options=small)
    assert report.ok and report.received_events > 7  # several pages in one run
    for d in (b, c):
        assert sync.sync_once(d, passphrase_provider=passphrase, transport=asgi, options=small).ok
    for d in (a, b, c):
        assert_converged(d, url)
    assert len({sync_apply.desk_digest(d) for d in (a, b, c)}) == 1


def test_one_sync_at_a_time_per_desk(tmp_path: Path):
    from onestop.services.sync.client import _sync_lock

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    asgi = httpx.ASGITransport(app=create_app(url))
    desk = make_desk(tmp_path / "a.sqlite", n=72)
    enroll(desk, url, "http://server", transport=asgi)
    with _sync_lock(desk.store.path) as mine:
        assert mine
        report = sync.sync_once(desk, passphrase_provider=passphrase, transport=asgi)
        assert not report.ok and "đang chạy" in (report.error or "")
    assert sync.sync_once(desk, passphrase_provider=passphrase, transport=asgi).ok
