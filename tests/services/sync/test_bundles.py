"""No link: a signed bundle file carried from a field laptop to the office desk or the server."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from onestop.crypto.signer import SoftwareSigner
from onestop.server.admin import AdminError, import_bundle, open_db
from onestop.services.setting_keys import PEER_KEY_PREFIX
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import base as sync_base
from onestop.services.sync import bundles
from onestop.services.sync import client as sync
from onestop.services.sync import enroll as sync_enroll
from onestop.wire.base import b64e
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    assert_converged,
    assert_exactly_once,
    enroll,
    make_desk,
    passphrase,
    random_work,
)


def test_field_laptop_to_office_by_usb(tmp_path: Path):
    rng = random.Random(8)
    cf, co = Clock(), Clock()
    field = make_desk(tmp_path / "field.sqlite", n=40, desk_no=2, clock=cf)
    office = make_desk(tmp_path / "office.sqlite", n=40, desk_no=1, clock=co)
    codes = random_work(field, cf, rng, 30)
    signer = sync_enroll.desk_signer(field, passphrase, create=True)
    # Bundles are encrypted to readers the field laptop knows: here the office's key, pinned as
    # if learned from an earlier office bundle (else: the trust list, or enrollment).
    office_key = sync_enroll.desk_signer(office, passphrase, create=True)
    field.set_setting(
        PEER_KEY_PREFIX + office.identity.desk_id,
        f"{office_key.alg}:{b64e(office_key.public_key_bytes())}",
    )
    usb = tmp_path / "usb"
    usb.mkdir()
    first = bundles.export_bundle(field, usb, signer=signer, from_seq=1)
    assert first is not None and first.name.startswith("20040-02_0000001-")
    got = bundles.import_bundle(office, first, signer=office_key)
    assert got.added == got.last_seq > 0
    assert sync_apply.desk_digest(office) == sync_apply.desk_digest(field)
    # Importing the same file again changes nothing; the office can now process it.
    assert bundles.import_bundle(office, first, signer=office_key).added == 0
    target = next(c for c in codes if "forward" in office.get(c).allowed_actions())
    office.act(target, "forward", {"to": "Công an xã"})
    assert office.get(target).handler == "Công an xã"
    # More field work; a full export overlaps what the office has: only the new part is added.
    random_work(field, cf, rng, 10, codes)
    again = bundles.export_bundle(field, usb, signer=signer, from_seq=1)
    assert again is not None
    assert bundles.import_bundle(office, again, signer=office_key).added > 0
    assert sync_apply.desk_digest(office) != sync_apply.desk_digest(field)  # office acted too
    # Tampering with any byte is refused and changes nothing.
    data = bytearray(again.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = usb / "tampered.osb"
    bad.write_bytes(bytes(data))
    before = sync_apply.desk_digest(office)
    with pytest.raises(sync_base.SyncError):
        bundles.import_bundle(office, bad, signer=office_key)
    assert sync_apply.desk_digest(office) == before
    # A desk's own bundle, or one signed by another key for the same desk id: refused.
    own = bundles.export_bundle(office, usb, signer=office_key)
    assert own is not None
    with pytest.raises(sync_base.SyncError, match="chính quầy"):
        bundles.import_bundle(office, own, signer=office_key)
    impostor = bundles.export_bundle(field, usb, signer=SoftwareSigner.generate(), from_seq=1)
    assert impostor is not None
    with pytest.raises(sync_base.SyncError, match="khóa khác"):
        bundles.import_bundle(office, impostor, signer=office_key)


def test_bundle_into_the_server_then_online(sqlite_server: ServerProcess, tmp_path: Path):
    rng = random.Random(9)
    clock = Clock()
    desk = make_desk(tmp_path / "d.sqlite", n=41, clock=clock)
    codes = random_work(desk, clock, rng, 40)
    enroll(desk, sqlite_server.db_url, sqlite_server.url)
    signer = sync_enroll.desk_signer(desk, passphrase)
    bundle = bundles.export_bundle(desk, tmp_path, signer=signer)
    assert bundle is not None
    db = open_db(sqlite_server.db_url)
    try:
        out = import_bundle(db, bundle)
        assert out.inserted > 0 and not out.replay
        assert import_bundle(db, bundle).replay  # the same file twice: a replay
        assert_exactly_once(desk, sqlite_server.db_url)
        # Online later: the server already holds everything; nothing is stored twice.
        random_work(desk, clock, rng, 10, codes)
        report = sync.sync_once(desk, passphrase_provider=passphrase, options=FAST)
        assert report.ok, report.error
        assert_converged(desk, sqlite_server.db_url)
        # A stale export (from seq 1) imports as "already have most of it" + the rest.
        random_work(desk, clock, rng, 5, codes)
        stale = bundles.export_bundle(desk, tmp_path, signer=signer, from_seq=1)
        assert stale is not None
        assert import_bundle(db, stale).inserted > 0
        assert_exactly_once(desk, sqlite_server.db_url)
        junk = tmp_path / "junk.osb"
        junk.write_bytes(b"not a bundle")
        with pytest.raises(AdminError):
            import_bundle(db, junk)
    finally:
        db.close()
