"""USB bundles are encrypted to their legitimate readers: the province server and the commune's
enrolled desks (issue: bundles were readable personal data). They stay signed and idempotent."""

from __future__ import annotations

import random
import stat
from pathlib import Path

import pytest
import zstandard

from onestop.crypto.seal import recipient_kids
from onestop.crypto.trust import RootKey, export_trust_file
from onestop.domain.events import to_epoch
from onestop.server.admin import AdminError, import_bundle, open_db
from onestop.server.keys import server_signer
from onestop.services import keys as keys_svc
from onestop.services.demo import PROCEDURES
from onestop.services.desk import Applicant, Desk, IntakeForm
from onestop.services.setting_keys import PEER_KEY_PREFIX
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import base as sync_base
from onestop.services.sync import bundles
from onestop.services.sync import enroll as sync_enroll
from onestop.services.sync.client import build_batch
from onestop.wire.base import b64e, loads_strict
from onestop.wire.bundle import BUNDLE_FORMAT, encode_bundle
from onestop.wire.codec import current_dictionary, dictionaries
from tests.services.sync.helpers import (
    Clock,
    ServerProcess,
    assert_exactly_once,
    enroll,
    last_seq,
    make_desk,
    own_events,
    passphrase,
    random_work,
    server_events,
)

ROOT_PASS = "mật khẩu khóa gốc tỉnh"
PEOPLE = [
    Applicant(
        name="Hoàng Thị Thanh Xuân",
        id_number="038195012345",
        phone="0912345678",
        address="Thôn Đông, xã Thử, tỉnh Thanh Hóa",
    ),
    Applicant(
        name="Lê Văn Quyết",
        id_number="040087654321",
        phone="0387654321",
        address="Thôn Tây, xã Thử, tỉnh Thanh Hóa",
    ),
]
SECRETS = [s for p in PEOPLE for s in (p.name, p.id_number, p.phone)]


def _no_passphrase() -> str:
    raise AssertionError("the passphrase must not be asked for a bundle not meant for this desk")


def _receive_people(desk: Desk) -> list[str]:
    return [
        desk.receive(IntakeForm(procedure_code=PROCEDURES[0][0], applicant=p, fee_vnd=4_000)).code
        for p in PEOPLE
    ]


def _leaks(data: bytes) -> list[str]:
    """Personal data readable from ``data``: as is, or in any zstd frame inside it,
    decompressed with each shipped dictionary (or none)."""
    found = {s for s in SECRETS if s.encode() in data}
    magic = b"\x28\xb5\x2f\xfd"
    start = data.find(magic)
    while start >= 0:
        for d in [None, *dictionaries().values()]:
            try:
                plain = (
                    zstandard.ZstdDecompressor(dict_data=d).decompressobj().decompress(data[start:])
                )
            except zstandard.ZstdError:
                continue
            found |= {s for s in SECRETS if s.encode() in plain}
        start = data.find(magic, start + 1)
    return sorted(found)


def _trust_all(tmp_path: Path, desks: list[Desk]) -> None:
    """The province issues a trust list with every desk's key; every desk imports it."""
    root = keys_svc.create_root_key(tmp_path / "root.key", ROOT_PASS, label="Khóa gốc tỉnh 38")
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


def test_bundle_is_sealed_to_server_and_siblings_only(
    sqlite_server: ServerProcess, tmp_path: Path
) -> None:
    rng = random.Random(61)
    clock = Clock()
    a = make_desk(tmp_path / "a.sqlite", n=61, desk_no=1, clock=clock)
    b = make_desk(tmp_path / "b.sqlite", n=61, desk_no=2, clock=clock)
    x = make_desk(tmp_path / "x.sqlite", n=62, desk_no=1, clock=clock)  # another commune
    for d in (a, b, x):
        enroll(d, sqlite_server.db_url, sqlite_server.url)
    _trust_all(tmp_path, [a, b, x])
    _receive_people(a)
    random_work(a, clock, rng, 20)
    sa = sync_enroll.desk_signer(a, passphrase)
    sb = sync_enroll.desk_signer(b, passphrase)
    usb = tmp_path / "usb"
    usb.mkdir()
    path = bundles.export_bundle(a, usb, signer=sa)
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()

    # Nothing personal is readable, even with the dictionary that ships with the app...
    assert _leaks(data) == []
    # ...whereas the same batch in a plain (onestop-bundle/1) file gives it all away.
    env, body = build_batch(a, sa, 1, last_seq(a), "zstd", current_dictionary())
    plain = encode_bundle(
        desk=env.desk, alg=sa.alg, public_key=sa.public_key_bytes(), encoding="zstd", batch=body
    )
    assert _leaks(plain) == sorted(SECRETS)

    outer = loads_strict(data, "bundle", max_depth=2)
    assert outer["format"] == BUNDLE_FORMAT
    db = open_db(sqlite_server.db_url)
    try:
        server_kid = server_signer(db).kid
        assert sorted(recipient_kids(outer["sealed"])) == sorted([server_kid, sb.kid])

        # The province server opens it; the same file again is a replay.
        out = import_bundle(db, path)
        assert out.inserted > 0 and not out.replay
        assert import_bundle(db, path).replay
        assert_exactly_once(a, sqlite_server.db_url)

        # A sibling desk of the commune opens it (passphrase or unlocked key); idempotent.
        with pytest.raises(sync_base.SyncError, match="mật khẩu"):
            bundles.import_bundle(b, path)
        got = bundles.import_bundle(b, path, passphrase_provider=passphrase)
        assert got.added == got.last_seq > 0
        assert sync_apply.desk_digest(b) == sync_apply.desk_digest(a)
        assert bundles.import_bundle(b, path, signer=sb).added == 0

        # A desk of another commune is not a recipient: refused before any passphrase.
        before = sync_apply.desk_digest(x)
        with pytest.raises(sync_base.SyncError, match="Gói này không dành cho quầy này"):
            bundles.import_bundle(x, path, passphrase_provider=_no_passphrase)
        assert sync_apply.desk_digest(x) == before
        assert not x.setting(PEER_KEY_PREFIX + a.identity.desk_id)

        # One altered byte anywhere: refused by the server and by the sibling, nothing changes.
        random_work(a, clock, rng, 5)
        fresh = bundles.export_bundle(a, usb, signer=sa, from_seq=1)
        assert fresh is not None
        raw = fresh.read_bytes()
        before_b = sync_apply.desk_digest(b)
        for i in (10, len(raw) // 3, len(raw) // 2, len(raw) - 70, len(raw) - 1):
            bad = bytearray(raw)
            bad[i] ^= 0x01
            tampered = usb / "tampered.osb"
            tampered.write_bytes(bytes(bad))
            with pytest.raises(sync_base.SyncError):
                bundles.import_bundle(b, tampered, signer=sb)
            with pytest.raises(AdminError):
                import_bundle(db, tampered)
        assert sync_apply.desk_digest(b) == before_b
        assert_exactly_once_upto(a, sqlite_server.db_url, got.last_seq)
        # The untouched file still goes in, adding only the new part.
        assert bundles.import_bundle(b, fresh, signer=sb).added > 0
        assert import_bundle(db, fresh).inserted > 0
        assert_exactly_once(a, sqlite_server.db_url)
    finally:
        db.close()


def assert_exactly_once_upto(desk: Desk, db_url: str, upto: int) -> None:
    assert server_events(db_url, desk.identity.desk_id) == own_events(desk)[:upto]


def test_a_desk_that_knows_no_reader_refuses_to_export(tmp_path: Path) -> None:
    clock = Clock()
    field = make_desk(tmp_path / "field.sqlite", n=63, desk_no=2, clock=clock)
    _receive_people(field)
    signer = sync_enroll.desk_signer(field, passphrase, create=True)
    usb = tmp_path / "usb"
    usb.mkdir()
    with pytest.raises(sync_base.SyncError, match="onestop enroll"):
        bundles.export_bundle(field, usb, signer=signer, from_seq=1)
    assert list(usb.iterdir()) == []


def test_pinned_siblings_of_the_commune_are_readers(tmp_path: Path) -> None:
    """Without a trust list, the siblings whose bundles this desk imported (TOFU pins) are
    its readers; a pinned desk of another commune is not."""
    clock = Clock()
    field = make_desk(tmp_path / "field.sqlite", n=64, desk_no=2, clock=clock)
    office = make_desk(tmp_path / "office.sqlite", n=64, desk_no=1, clock=clock)
    other = make_desk(tmp_path / "other.sqlite", n=65, desk_no=1, clock=clock)
    sf = sync_enroll.desk_signer(field, passphrase, create=True)
    so = sync_enroll.desk_signer(office, passphrase, create=True)
    sx = sync_enroll.desk_signer(other, passphrase, create=True)
    for d, s in ((office, so), (other, sx)):
        field.set_setting(
            PEER_KEY_PREFIX + d.identity.desk_id, f"{s.alg}:{b64e(s.public_key_bytes())}"
        )
    assert [k for k, _, _ in bundles.bundle_recipients(field, sf)] == [so.kid]
    codes = _receive_people(field)
    path = bundles.export_bundle(field, tmp_path, signer=sf)
    assert path is not None and _leaks(path.read_bytes()) == []
    assert bundles.import_bundle(office, path, signer=so).added > 0
    assert office.get(codes[0]).applicant_name == PEOPLE[0].name
    with pytest.raises(sync_base.SyncError, match="không dành cho quầy này"):
        bundles.import_bundle(other, path, signer=sx)


def test_plain_bundles_of_earlier_versions_still_import(tmp_path: Path) -> None:
    clock = Clock()
    field = make_desk(tmp_path / "field.sqlite", n=66, desk_no=2, clock=clock)
    office = make_desk(tmp_path / "office.sqlite", n=66, desk_no=1, clock=clock)
    _receive_people(field)
    sf = sync_enroll.desk_signer(field, passphrase, create=True)
    env, body = build_batch(field, sf, 1, last_seq(field), "gzip", None)
    old = tmp_path / "old.osb"
    old.write_bytes(
        encode_bundle(
            desk=env.desk,
            alg=sf.alg,
            public_key=sf.public_key_bytes(),
            encoding="gzip",
            batch=body,
        )
    )
    got = bundles.import_bundle(office, old, passphrase_provider=_no_passphrase)
    assert got.added == got.last_seq == 2
    assert bundles.import_bundle(office, old).added == 0
