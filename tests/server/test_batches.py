"""The batch endpoint's contract, in process: ack, replay, 409, 415, 422, refusals."""

from __future__ import annotations

import threading

import cbor2
import pytest
import zstandard

from onestop.crypto.signer import SoftwareSigner
from onestop.domain.events import GENESIS_HEAD, chain
from onestop.server import repo
from onestop.server.admin import revoke
from onestop.server.keys import server_signer
from onestop.services.sync.client import build_batch
from onestop.wire.base import b64d
from onestop.wire.codec import current_dictionary
from onestop.wire.messages import Envelope, encode_batch, open_ack, sign_ack
from tests.server.conftest import EnrolledDesk, Server
from tests.services.sync.helpers import last_seq

API = "/sync/v1/batches"


def post(server: Server, body: bytes, key: str, encoding: str = "zstd"):
    headers = {"Idempotency-Key": key, "Content-Type": "application/cbor"}
    if encoding != "identity":
        headers["Content-Encoding"] = encoding
    return server.client.post(API, content=body, headers=headers)


def batch(e: EnrolledDesk, first: int, last: int, encoding: str = "zstd"):
    return build_batch(e.desk, e.signer, first, last, encoding, current_dictionary())


def keys(server: Server):
    s = server_signer(server.db)
    return {s.kid: (s.alg, s.public_key_bytes())}


def test_ack_replay_and_conflicts(server: Server, enrolled: EnrolledDesk):
    env, body = batch(enrolled, 1, 25)
    first = post(server, body, env.key)
    assert first.status_code == 200, first.text
    ack = open_ack(first.content, keys(server))
    assert (ack.desk, ack.acked_seq, ack.batch_key) == (env.desk, 25, env.key)
    assert ack.head == env.head

    # The same batch again (lost response, duplicate): the stored ack, byte for byte.
    again = post(server, body, env.key)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    # The same batch as gzip, re-signed: still the same events, still the stored ack.
    env_g, body_g = batch(enrolled, 1, 25, "gzip")
    assert post(server, body_g, env_g.key, "gzip").content == first.content

    # Events that do not follow each other (a buggy or tampering desk): refused, 4xx.
    raw = cbor2.loads(zstandard.ZstdDecompressor(dict_data=current_dictionary()).decompress(body))
    bodies = list(raw[1])
    bodies[0] = bodies[1]
    head = env.prev_head
    for b in bodies:
        head = chain(head, b)
    bad = Envelope(env.desk, 1, 25, env.prev_head, head, 0, env.hlc_max, 25)
    resp = post(server, encode_batch(enrolled.signer, bad, bodies), bad.key, "identity")
    assert resp.status_code == 400 and resp.json()["error"] == "bad_event"

    # A gap: 409 with a signed state {acked_seq: 25}.
    env3, body3 = batch(enrolled, 30, 35)
    gap = post(server, body3, env3.key)
    assert gap.status_code == 409
    data = gap.json()
    assert data["acked_seq"] == 25
    state = open_ack(b64d(data["state"]), keys(server))
    assert state.acked_seq == 25 and state.batch_key is None and state.head == env.head

    # Continuing from 26 works; every event is stored once.
    env2, body2 = batch(enrolled, 26, last_seq(enrolled.desk))
    assert post(server, body2, env2.key).status_code == 200
    with server.db.read() as conn:
        assert repo.count_events(conn=conn) == last_seq(enrolled.desk)


def test_same_key_different_events_is_422(server: Server, enrolled: EnrolledDesk):
    env, body = batch(enrolled, 1, 10)
    assert post(server, body, env.key).status_code == 200
    # A desk restored from an old backup re-issues seqs 1-10 with other content.
    bodies = [b for _s, b in _own(enrolled)[10:20]]
    fake = []
    for i, b in enumerate(bodies):  # re-number the later events as 1..10
        d = cbor2.loads(b)
        d[1] = i + 1
        fake.append(cbor2.dumps(d, canonical=True))
    head = GENESIS_HEAD
    for b in fake:
        head = chain(head, b)
    hlc_max = max(cbor2.loads(b)[2] for b in fake)
    env2 = Envelope(env.desk, 1, 10, GENESIS_HEAD, head, 0, hlc_max, 10)
    resp = post(server, encode_batch(enrolled.signer, env2, fake), env2.key, "identity")
    assert resp.status_code == 422 and resp.json()["error"] == "key_reused"


def _own(e: EnrolledDesk):
    from tests.services.sync.helpers import own_events

    return own_events(e.desk)


def test_refusals(server: Server, enrolled: EnrolledDesk):
    env, body = batch(enrolled, 1, 5)
    # Idempotency-Key must match the signed envelope.
    assert post(server, body, "20001-01:1-6").status_code == 400
    # Signed by another key: 401.
    stranger = SoftwareSigner.generate()
    env_s, body_s = build_batch(enrolled.desk, stranger, 1, 5, "gzip")
    resp = post(server, body_s, env_s.key, "gzip")
    assert resp.status_code == 401 and resp.json()["error"] == "bad_signature"
    # Unknown Content-Encoding or dictionary: 415 with what is accepted.
    resp = post(server, body, env.key, "br")
    assert resp.status_code == 415 and "gzip" in resp.json()["accept"]
    assert "gzip" in resp.headers["accept-encoding"]
    odd = zstandard.train_dictionary(
        2048, [bytes([i % 7]) * (50 + i) + b"x" * i for i in range(200)], dict_id=0x4F53FFFF
    )
    env_o = Envelope(env.desk, 1, 5, env.prev_head, env.head, 0x4F53FFFF, env.hlc_max, 5)
    plain = encode_batch(enrolled.signer, env_o, [b for _s, b in _own(enrolled)[:5]])
    blob = zstandard.ZstdCompressor(dict_data=odd).compress(plain)
    resp = post(server, blob, env_o.key, "zstd")
    assert resp.status_code == 415 and resp.json()["error"] == "unsupported_encoding"
    # Revoked desk: 403, and nothing was stored.
    assert revoke(server.db, env.desk)
    resp = post(server, body, env.key)
    assert resp.status_code == 403 and resp.json()["error"] == "revoked"
    with server.db.read() as conn:
        assert repo.count_events(conn=conn) == 0


def test_unenrolled_desk_is_refused(server: Server, enrolled: EnrolledDesk):
    env, body = batch(enrolled, 1, 5)
    with server.db.write() as conn:
        conn.execute(repo.DESK.delete())
    resp = post(server, body, env.key)
    assert resp.status_code == 403 and resp.json()["error"] == "not_enrolled"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00",
        b"<html>hello</html>",
        cbor2.dumps([b"", []]),
        cbor2.dumps([1, 2, 3]),
        cbor2.dumps({"a": 1}),
        b"\x9f" * 5000,  # deep indefinite arrays
        cbor2.dumps([cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b""])), [b"x"]]),
    ],
)
def test_junk_batches_are_400(server: Server, enrolled: EnrolledDesk, body: bytes):
    resp = post(server, body, "20001-01:1-1", "identity")
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["error"]


def test_zip_bomb_and_truncated_compression(server: Server, enrolled: EnrolledDesk):
    import gzip

    bomb = gzip.compress(b"\x00" * (80 * 1024 * 1024))
    resp = post(server, bomb, "20001-01:1-1", "gzip")
    assert resp.status_code == 400
    env, body = batch(enrolled, 1, 5)
    resp = post(server, body[: len(body) // 2], env.key)
    assert resp.status_code == 400


def test_forged_ack_shape_is_not_ours(server: Server, enrolled: EnrolledDesk):
    """An ack signed by any key but the pinned server key does not open."""
    from onestop.wire.base import WireError
    from onestop.wire.messages import Ack

    fake = sign_ack(SoftwareSigner.generate(), Ack("20001-01", 999, bytes(32), 0, "x"))
    with pytest.raises(WireError):
        open_ack(fake, keys(server))


def test_concurrent_duplicates_store_events_once(server: Server, enrolled: EnrolledDesk):
    env, body = batch(enrolled, 1, 30)
    results: list[tuple[int, bytes]] = []

    def go() -> None:
        r = post(server, body, env.key)
        results.append((r.status_code, r.content))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {s for s, _ in results} == {200}
    assert len({c for _, c in results}) == 1  # every caller got the same signed ack
    with server.db.read() as conn:
        assert repo.count_events(conn=conn) == 30
