"""The sync wire format, shared by the desk (services/sync.py) and the server (server/*).

Pure encoding and checking, no I/O. Every message that changes what the other side believes
is a COSE_Sign1 (crypto/cose.py) with its own content type, so a signature made for one kind of
message can never be replayed as another:

================  ===========================  ===============================================
content type      signed by                    payload (canonical CBOR, integer keys)
================  ===========================  ===============================================
onestop-batch/1   desk key                     {1: desk, 2: first_seq, 3: last_seq,
                                               4: prev_head, 5: head, 6: dict_id, 7: hlc_max,
                                               8: count}
onestop-ack/1     server key                   {1: desk, 2: acked_seq, 3: head,
                                               4: server_time, 5: batch key / null,
                                               6: news (optional, protocol >= 2):
                                               [reference version, [[desk, acked]...]]}
onestop-feed/1    server key                   {1: commune, 2: [[desk, first, last, head]...],
                                               3: server_time, 4: codec, 5: dict_id,
                                               6: more, 7: requesting desk,
                                               8: its acked_seq, 9: its head}
onestop-ref/1     server key                   {1: version, 2: {name: {1: version,
                                               2: data}}, 3: server_time, 4: [dict ids]}
onestop-auth/1    desk key                     {1: desk, 2: "GET /path?query", 3: estimate
                                               of the server's time}
onestop-time/1    server key                   {1: desk, 2: server_time, 3: SHA-256 of the
                                               refused auth token}
onestop-enroll/1  desk key (proof of           {1: code, 2: commune, 3: desk_no, 4: desk_name,
                  possession)                  5: may renumber, 6: desk time, 7: unit e-ID,
                                               8: commune name (optional)}
================  ===========================  ===============================================

Batch body, before Content-Encoding: ``[bstr envelope, [bstr event body, ...]]`` (CBOR). The
event bodies are the exact bytes the desk stored and chained, so the server recomputes the
desk's hash chain from them and compares it with the signed ``head``: one signature covers
every byte of every event (QR-AND-SYNC.md B.2: per-event signatures cost 5x the bandwidth).

Compression: zstd with a dictionary trained on real events and shipped in ``assets/sync``; the
zstd frame header names the dictionary (its dict ID), which must equal the signed ``dict_id``.
``gzip`` (dict_id 0) is the fallback when a server answers 415 (RFC 7694).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import cbor2

from onestop.crypto.cose import MalformedError, Sign1, parse_sign1, sign1, verify_sign1
from onestop.crypto.signer import InvalidPublicKeyError, Signer, public_key_from_bytes
from onestop.wire.base import (
    AUTH_SCHEME,
    MAX_EVENT_BYTES,
    MAX_SERVER_EVENTS,
    WireError,
    _bytes,
    _int,
    _map,
    _str,
    b64d,
    b64e,
    dumps,
    loads_strict,
)
from onestop.wire.codec import ENCODINGS, compress, decompress

BATCH_CT: Final = "onestop-batch/1"


ACK_CT: Final = "onestop-ack/1"


FEED_CT: Final = "onestop-feed/1"


REF_CT: Final = "onestop-ref/1"


AUTH_CT: Final = "onestop-auth/1"


ENROLL_CT: Final = "onestop-enroll/1"


TIME_CT: Final = "onestop-time/1"
#: The server's signed proof that it revoked a desk (sent with a 403; the desk locks itself).
REVOKED_CT: Final = "onestop-revoked/1"


def batch_key(desk: str, first_seq: int, last_seq: int) -> str:
    """The Idempotency-Key of a batch: ``<desk>:<first>-<last>``."""
    return f"{desk}:{first_seq}-{last_seq}"


def sign(signer: Signer, content_type: str, payload: Mapping[int, Any]) -> bytes:
    return sign1(signer, dumps(dict(payload)), content_type=content_type)


def open_signed(
    data: bytes, content_type: str, keys: Mapping[bytes, tuple[int, bytes]]
) -> tuple[Sign1, bytes]:
    """Parse and verify a COSE_Sign1 against ``keys`` (kid -> (alg, public key))."""
    msg = peek_kid(data, content_type)
    verify_message(msg, keys)
    return msg, msg.payload


def verify_message(msg: Sign1, keys: Mapping[bytes, tuple[int, bytes]]) -> None:
    """Check a parsed COSE_Sign1 against ``keys`` (kid -> (alg, public key))."""
    known = keys.get(msg.kid)
    if known is None:
        raise WireError("Thông điệp được ký bởi khóa không quen biết.")
    alg, public = known
    try:
        key = public_key_from_bytes(alg, public)
    except InvalidPublicKeyError as e:
        raise WireError(str(e)) from e
    if alg != msg.alg or not verify_sign1(msg, key):
        raise WireError("Chữ ký không hợp lệ.")


def peek_kid(data: bytes, content_type: str) -> Sign1:
    """Parse (not verify) a COSE_Sign1 to learn its kid, e.g. to look up the desk's key."""
    try:
        msg = parse_sign1(data, max_size=1024 * 1024)
    except MalformedError as e:
        raise WireError(f"Thông điệp ký không hợp lệ: {e}") from e
    if msg.content_type != content_type:
        raise WireError("Thông điệp ký sai loại nội dung.")
    return msg


_OUTBOX_KEY = 12  # the envelope's optional outbox size (9-11 left for other additions)


@dataclass(frozen=True)
class Envelope:
    desk: str
    first_seq: int
    last_seq: int
    prev_head: bytes
    head: bytes
    dict_id: int
    hlc_max: int
    count: int
    #: Events the desk still holds after this batch (its outbox beyond ``last_seq``), for the
    #: province dashboard's "events pending"; optional (key 12), older desks do not send it.
    outbox: int | None = None

    @property
    def key(self) -> str:
        return batch_key(self.desk, self.first_seq, self.last_seq)

    def identity(self) -> bytes:
        """What must be equal for a replay to be "the same batch" (not the codec or dict)."""
        return hashlib.sha256(
            dumps([self.desk, self.first_seq, self.last_seq, self.prev_head, self.head])
        ).digest()

    def to_map(self) -> dict[int, Any]:
        m: dict[int, Any] = {
            1: self.desk,
            2: self.first_seq,
            3: self.last_seq,
            4: self.prev_head,
            5: self.head,
            6: self.dict_id,
            7: self.hlc_max,
            8: self.count,
        }
        if self.outbox is not None:
            m[_OUTBOX_KEY] = self.outbox
        return m

    @classmethod
    def from_payload(cls, payload: bytes) -> Envelope:
        try:
            m = _map(payload, "Phong bì lô", set(range(1, 9)))
        except WireError:
            m = _map(payload, "Phong bì lô", {*range(1, 9), _OUTBOX_KEY})
        env = cls(
            desk=_str(m[1], "desk"),
            first_seq=_int(m[2], "first_seq", 1),
            last_seq=_int(m[3], "last_seq", 1),
            prev_head=_bytes(m[4], "prev_head", 32),
            head=_bytes(m[5], "head", 32),
            dict_id=_int(m[6], "dict_id", 0, 2**32 - 1),
            hlc_max=_int(m[7], "hlc_max"),
            count=_int(m[8], "count", 1, MAX_SERVER_EVENTS),
            outbox=_int(m[_OUTBOX_KEY], "outbox", 0) if _OUTBOX_KEY in m else None,
        )
        if env.last_seq - env.first_seq + 1 != env.count:
            raise WireError("Phong bì lô: số sự kiện không khớp khoảng số thứ tự.")
        return env


def encode_batch(signer: Signer, envelope: Envelope, bodies: Sequence[bytes]) -> bytes:
    """The uncompressed batch body: ``[bstr envelope, [bstr body...]]``."""
    return cbor2.dumps([sign(signer, BATCH_CT, envelope.to_map()), list(bodies)])


@dataclass(frozen=True)
class RawBatch:
    """A batch body split into its signed envelope (not yet verified) and event bodies."""

    message: Sign1
    envelope: Envelope
    bodies: list[bytes]


def split_batch(plain: bytes) -> RawBatch:
    top = loads_strict(plain, "Lô sự kiện", max_depth=3)
    if not isinstance(top, list) or len(top) != 2:
        raise WireError("Lô sự kiện phải là mảng [phong bì, các sự kiện].")
    cose, bodies = top
    if not isinstance(cose, bytes) or not isinstance(bodies, list):
        raise WireError("Lô sự kiện sai cấu trúc.")
    msg = peek_kid(cose, BATCH_CT)
    env = Envelope.from_payload(msg.payload)
    if len(bodies) != env.count:
        raise WireError("Số sự kiện trong lô khác số ghi trong phong bì.")
    for b in bodies:
        if not isinstance(b, bytes) or not 0 < len(b) <= MAX_EVENT_BYTES:
            raise WireError("Sự kiện trong lô phải là chuỗi byte hợp lệ.")
    return RawBatch(msg, env, bodies)


#: The most sibling desks one ack's news lists (as many as a feed request may name in
#: ``after``); a commune with more gets no news, and its desks fetch the feed as before.
MAX_NEWS_DESKS: Final = 200


@dataclass(frozen=True)
class News:
    """What the feed and reference requests would find, as of the batch's commit (ack key 6,
    protocol 2, wire/version.py ``ACK_NEWS_SINCE``): the server's reference-data version and
    the acknowledged position of every *other* desk of the commune. A desk whose own copies
    are this far already skips both requests; anything newer is fetched (and verified) as
    before. Signed inside the ack, so no one on the path can make a desk skip a download."""

    reference: int
    desks: tuple[tuple[str, int], ...]

    def to_cbor(self) -> list[Any]:
        return [self.reference, [[d, a] for d, a in self.desks]]

    @classmethod
    def from_cbor(cls, value: object) -> News:
        if not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], list):
            raise WireError("Tin mới trong xác nhận sai cấu trúc.")
        if len(value[1]) > MAX_NEWS_DESKS:
            raise WireError("Tin mới trong xác nhận liệt kê quá nhiều quầy.")
        desks: list[tuple[str, int]] = []
        for item in value[1]:
            if not isinstance(item, list) or len(item) != 2:
                raise WireError("Tin mới trong xác nhận sai cấu trúc.")
            desks.append((_str(item[0], "desk"), _int(item[1], "acked_seq")))
        if len({d for d, _ in desks}) != len(desks):
            raise WireError("Tin mới trong xác nhận lặp lại một quầy.")
        return cls(_int(value[0], "reference version"), tuple(desks))


@dataclass(frozen=True)
class Ack:
    desk: str
    acked_seq: int
    head: bytes
    server_time: int
    batch_key: str | None
    news: News | None = None

    def to_map(self) -> dict[int, Any]:
        m: dict[int, Any] = {
            1: self.desk,
            2: self.acked_seq,
            3: self.head,
            4: self.server_time,
            5: self.batch_key,
        }
        if self.news is not None:
            m[6] = self.news.to_cbor()
        return m

    @classmethod
    def from_payload(cls, payload: bytes, *, news: bool = False) -> Ack:
        """``news``: accept key 6 (a desk speaking protocol 2 or newer); without it an ack
        with key 6 is refused, exactly as a protocol-1 desk refuses it."""
        try:
            m = _map(payload, "Xác nhận", {1, 2, 3, 4, 5})
        except WireError:
            if not news:
                raise
            m = _map(payload, "Xác nhận", {1, 2, 3, 4, 5, 6})
        key = m[5]
        if key is not None:
            key = _str(key, "batch key", 200)
        return cls(
            desk=_str(m[1], "desk"),
            acked_seq=_int(m[2], "acked_seq"),
            head=_bytes(m[3], "head", 32),
            server_time=_int(m[4], "server_time"),
            batch_key=key,
            news=News.from_cbor(m[6]) if 6 in m else None,
        )


def sign_ack(signer: Signer, ack: Ack) -> bytes:
    return sign(signer, ACK_CT, ack.to_map())


def open_ack(
    data: bytes, server_keys: Mapping[bytes, tuple[int, bytes]], *, news: bool = False
) -> Ack:
    _msg, payload = open_signed(data, ACK_CT, server_keys)
    return Ack.from_payload(payload, news=news)


@dataclass(frozen=True)
class FeedRange:
    desk: str
    first_seq: int
    last_seq: int
    head: bytes


@dataclass(frozen=True)
class FeedHeader:
    commune: str
    ranges: tuple[FeedRange, ...]
    server_time: int
    codec: str
    dict_id: int
    more: bool
    requester: str
    # Where the server stands on the requester's own log: a server restored from a backup
    # is noticed by the next download, even when the desk has nothing to send.
    requester_acked: int
    requester_head: bytes

    def to_map(self) -> dict[int, Any]:
        return {
            1: self.commune,
            2: [[r.desk, r.first_seq, r.last_seq, r.head] for r in self.ranges],
            3: self.server_time,
            4: self.codec,
            5: self.dict_id,
            6: self.more,
            7: self.requester,
            8: self.requester_acked,
            9: self.requester_head,
        }

    @classmethod
    def from_payload(cls, payload: bytes) -> FeedHeader:
        m = _map(payload, "Tiêu đề gói sự kiện", set(range(1, 10)))
        if not isinstance(m[2], list) or not isinstance(m[6], bool):
            raise WireError("Tiêu đề gói sự kiện sai cấu trúc.")
        ranges = []
        for item in m[2]:
            if not isinstance(item, list) or len(item) != 4:
                raise WireError("Tiêu đề gói sự kiện sai cấu trúc.")
            first, last = _int(item[1], "first", 1), _int(item[2], "last", 1)
            if last < first:
                raise WireError("Khoảng sự kiện không hợp lệ.")
            ranges.append(
                FeedRange(_str(item[0], "desk"), first, last, _bytes(item[3], "head", 32))
            )
        codec = _str(m[4], "codec", 16)
        if codec not in ENCODINGS:
            raise WireError("Mã hóa nén không hỗ trợ.")
        return cls(
            commune=_str(m[1], "commune", 5),
            ranges=tuple(ranges),
            server_time=_int(m[3], "server_time"),
            codec=codec,
            dict_id=_int(m[5], "dict_id", 0, 2**32 - 1),
            more=m[6],
            requester=_str(m[7], "requester"),
            requester_acked=_int(m[8], "acked_seq"),
            requester_head=_bytes(m[9], "head", 32),
        )


def encode_feed(signer: Signer, header: FeedHeader, blocks: Sequence[Sequence[bytes]]) -> bytes:
    plain = cbor2.dumps([list(b) for b in blocks])
    blob = compress(plain, header.codec, header.dict_id)
    return cbor2.dumps([sign(signer, FEED_CT, header.to_map()), blob])


def decode_feed(
    data: bytes, server_keys: Mapping[bytes, tuple[int, bytes]]
) -> tuple[FeedHeader, list[list[bytes]]]:
    top = loads_strict(data, "Gói sự kiện", max_depth=2)
    if not isinstance(top, list) or len(top) != 2 or not all(isinstance(x, bytes) for x in top):
        raise WireError("Gói sự kiện sai cấu trúc.")
    _msg, payload = open_signed(top[0], FEED_CT, server_keys)
    header = FeedHeader.from_payload(payload)
    plain = decompress(top[1], header.codec)
    blocks = loads_strict(plain, "Gói sự kiện", max_depth=3)
    if not isinstance(blocks, list) or len(blocks) != len(header.ranges):
        raise WireError("Gói sự kiện không khớp tiêu đề.")
    out: list[list[bytes]] = []
    for rng, block in zip(header.ranges, blocks, strict=True):
        if (
            not isinstance(block, list)
            or len(block) != rng.last_seq - rng.first_seq + 1
            or not all(isinstance(b, bytes) for b in block)
        ):
            raise WireError("Gói sự kiện không khớp tiêu đề.")
        out.append(block)
    return header, out


AUTH_WINDOW_S: Final = 10 * 60


def auth_token(signer: Signer, desk: str, target: str, server_time_estimate: int) -> str:
    """``Authorization: Onestop <token>`` for GET requests: the desk signs method + path + query
    and its estimate of the server's time (epoch seconds)."""
    return b64e(sign(signer, AUTH_CT, {1: desk, 2: target, 3: server_time_estimate}))


def parse_auth(header: str | None) -> tuple[Sign1, str, str, int]:
    """(message, desk, target, time) from an Authorization header; the signature and the time
    are checked by the caller."""
    if not header or not header.startswith(AUTH_SCHEME + " "):
        raise WireError("Thiếu chữ ký yêu cầu (Authorization: Onestop ...).")
    msg = peek_kid(b64d(header[len(AUTH_SCHEME) + 1 :].strip()), AUTH_CT)
    m = _map(msg.payload, "Chữ ký yêu cầu", {1, 2, 3})
    return msg, _str(m[1], "desk"), _str(m[2], "target", 2000), _int(m[3], "time")


def token_digest(header: str) -> bytes:
    """What a signed time answer is bound to: SHA-256 of the Authorization header's token."""
    return hashlib.sha256(header[len(AUTH_SCHEME) + 1 :].strip().encode("ascii")).digest()


def sign_time(signer: Signer, desk: str, server_time: int, token: bytes) -> bytes:
    """The server's time for ``desk``, bound to the refused token (``token_digest``)."""
    return sign(signer, TIME_CT, {1: desk, 2: server_time, 3: token})


def open_time(
    data: bytes, server_keys: Mapping[bytes, tuple[int, bytes]], *, desk: str, token: bytes
) -> int:
    """The server time from a signed ``onestop-time/1`` answer to *this* token (else WireError)."""
    _msg, payload = open_signed(data, TIME_CT, server_keys)
    m = _map(payload, "Giờ máy chủ", {1, 2, 3})
    if m[1] != desk or m[3] != token:
        raise WireError("Giờ máy chủ không dành cho yêu cầu này.")
    return _int(m[2], "server_time")
