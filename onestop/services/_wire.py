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
                                               4: server_time, 5: batch key / null}
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
                  possession)                  5: may renumber, 6: desk time, 7: unit e-ID}
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

import base64
import gzip
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, Final

import cbor2
import zstandard

from onestop.crypto.cose import MalformedError, Sign1, parse_sign1, sign1, verify_sign1
from onestop.crypto.signer import InvalidPublicKeyError, Signer, public_key_from_bytes
from onestop.domain.events import Event, EventKind
from onestop.domain.lifecycle import DossierState, Status, apply
from onestop.domain.receipt import decode_cbor_strict
from onestop.paths import asset_path
from onestop.store.timefmt import dt_to_text

BATCH_CT: Final = "onestop-batch/1"
ACK_CT: Final = "onestop-ack/1"
FEED_CT: Final = "onestop-feed/1"
REF_CT: Final = "onestop-ref/1"
AUTH_CT: Final = "onestop-auth/1"
ENROLL_CT: Final = "onestop-enroll/1"
TIME_CT: Final = "onestop-time/1"
BUNDLE_FORMAT: Final = "onestop-bundle/1"

API: Final = "/sync/v1"
CBOR_MEDIA: Final = "application/cbor"
AUTH_SCHEME: Final = "Onestop"

#: Largest batch a desk sends over HTTP (QR-AND-SYNC.md: "double on success up to 200").
MAX_BATCH_EVENTS: Final = 200
#: Largest batch the server accepts at all (a bundle file of a month offline is one batch).
MAX_SERVER_EVENTS: Final = 50_000
#: Compressed request size limit, and the decompressed limit (a zip bomb stops here).
MAX_WIRE_BYTES: Final = 16 * 1024 * 1024
MAX_PLAIN_BYTES: Final = 64 * 1024 * 1024
#: One event body (a receive with a long document list is ~600 B; refuse absurd ones early).
MAX_EVENT_BYTES: Final = 64 * 1024

ENCODINGS: Final = ("zstd", "gzip", "identity")
ZSTD_LEVEL: Final = 19  # 0.7-1.9 ms per 25 events on 2 cores (QR-AND-SYNC.md B.2)


class WireError(ValueError):
    """A message that does not decode or check; ``str(e)`` is safe to show (Vietnamese)."""


# ----------------------------------------------------------------------------- helpers


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64d(text: str) -> bytes:
    if not isinstance(text, str) or len(text) > 4 * MAX_WIRE_BYTES:
        raise WireError("Chuỗi base64 không hợp lệ.")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as e:
        raise WireError("Chuỗi base64 không hợp lệ.") from e


def dumps(value: Any) -> bytes:
    return cbor2.dumps(value, canonical=True)


def loads_strict(data: bytes, what: str, *, max_depth: int = 6) -> Any:
    try:
        return decode_cbor_strict(data, max_depth=max_depth)
    except MalformedError as e:
        raise WireError(f"{what}: {e}") from e


def batch_key(desk: str, first_seq: int, last_seq: int) -> str:
    """The Idempotency-Key of a batch: ``<desk>:<first>-<last>``."""
    return f"{desk}:{first_seq}-{last_seq}"


def now_epoch() -> int:
    return int(time.time())


def _int(v: object, what: str, lo: int = 0, hi: int = 2**63 - 1) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise WireError(f"Trường {what} phải là số nguyên trong khoảng cho phép.")
    return v


def _str(v: object, what: str, max_len: int = 64) -> str:
    if not isinstance(v, str) or not 0 < len(v) <= max_len:
        raise WireError(f"Trường {what} phải là chuỗi ký tự (tối đa {max_len}).")
    return v


def _bytes(v: object, what: str, length: int | None = None) -> bytes:
    if not isinstance(v, bytes) or (length is not None and len(v) != length):
        raise WireError(
            f"Trường {what} phải là chuỗi byte{'' if length is None else f' {length} byte'}."
        )
    return v


def _map(payload: bytes, what: str, keys: set[int]) -> dict[int, Any]:
    value = loads_strict(payload, what)
    if not isinstance(value, dict) or set(value) != keys:
        raise WireError(f"{what}: sai cấu trúc.")
    return value


# ----------------------------------------------------------------------------- signing


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


# ----------------------------------------------------------------------------- dictionaries


@cache
def dictionaries() -> dict[int, zstandard.ZstdCompressionDict]:
    """Every shipped dictionary by its zstd dict ID (assets/sync/*.zdict)."""
    out: dict[int, zstandard.ZstdCompressionDict] = {}
    folder = asset_path("sync")
    if folder.is_dir():
        for path in sorted(folder.glob("*.zdict")):
            d = zstandard.ZstdCompressionDict(path.read_bytes())
            out[d.dict_id()] = d
    return out


@cache
def current_dictionary() -> zstandard.ZstdCompressionDict | None:
    """The dictionary a desk compresses with: the newest file (names sort by version)."""
    folder = asset_path("sync")
    paths = sorted(folder.glob("*.zdict")) if folder.is_dir() else []
    if not paths:
        return None
    return dictionaries()[zstandard.ZstdCompressionDict(paths[-1].read_bytes()).dict_id()]


# ----------------------------------------------------------------------------- compression


class UnsupportedEncoding(WireError):
    """Content-Encoding (or zstd dictionary) the receiver does not have: HTTP 415."""


def compress(data: bytes, encoding: str, dict_id: int = 0) -> bytes:
    if encoding == "identity":
        return data
    if encoding == "gzip":
        return gzip.compress(data, compresslevel=9, mtime=0)
    if encoding == "zstd":
        d = dictionaries().get(dict_id) if dict_id else None
        if dict_id and d is None:
            raise UnsupportedEncoding(f"Không có từ điển nén {dict_id}.")
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, dict_data=d, write_checksum=False)
        return cctx.compress(data)
    raise UnsupportedEncoding(f"Không hỗ trợ mã hóa nén {encoding!r}.")


def zstd_dict_id(data: bytes) -> int:
    try:
        return int(zstandard.get_frame_parameters(data).dict_id)
    except zstandard.ZstdError as e:
        raise WireError("Dữ liệu zstd hỏng.") from e


def decompress(data: bytes, encoding: str, *, limit: int = MAX_PLAIN_BYTES) -> bytes:
    """Undo ``compress``; refuses output over ``limit`` (zip bombs) and any trailing junk."""
    if encoding == "identity":
        if len(data) > limit:
            raise WireError("Dữ liệu quá lớn.")
        return data
    if encoding == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(data, limit + 1)
        except zlib.error as e:
            raise WireError("Dữ liệu gzip hỏng.") from e
        if len(out) > limit:
            raise WireError("Dữ liệu giải nén quá lớn.")
        if not d.eof or d.unused_data:
            raise WireError("Dữ liệu gzip bị cắt cụt hoặc thừa byte.")
        return out
    if encoding == "zstd":
        dict_id = zstd_dict_id(data)
        zd = dictionaries().get(dict_id) if dict_id else None
        if dict_id and zd is None:
            raise UnsupportedEncoding(f"Máy chủ không có từ điển nén {dict_id}.")
        dctx = zstandard.ZstdDecompressor(dict_data=zd)
        try:
            obj = dctx.decompressobj()
            out = obj.decompress(data)
            if len(out) > limit:
                raise WireError("Dữ liệu giải nén quá lớn.")
            if not obj.eof or obj.unused_data:
                raise WireError("Dữ liệu zstd bị cắt cụt hoặc thừa byte.")
        except zstandard.ZstdError as e:
            raise WireError("Dữ liệu zstd hỏng.") from e
        return out
    raise UnsupportedEncoding(f"Không hỗ trợ mã hóa nén {encoding!r}.")


# ----------------------------------------------------------------------------- batches


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

    @property
    def key(self) -> str:
        return batch_key(self.desk, self.first_seq, self.last_seq)

    def identity(self) -> bytes:
        """What must be equal for a replay to be "the same batch" (not the codec or dict)."""
        return hashlib.sha256(
            dumps([self.desk, self.first_seq, self.last_seq, self.prev_head, self.head])
        ).digest()

    def to_map(self) -> dict[int, Any]:
        return {
            1: self.desk,
            2: self.first_seq,
            3: self.last_seq,
            4: self.prev_head,
            5: self.head,
            6: self.dict_id,
            7: self.hlc_max,
            8: self.count,
        }

    @classmethod
    def from_payload(cls, payload: bytes) -> Envelope:
        m = _map(payload, "Phong bì lô", set(range(1, 9)))
        env = cls(
            desk=_str(m[1], "desk"),
            first_seq=_int(m[2], "first_seq", 1),
            last_seq=_int(m[3], "last_seq", 1),
            prev_head=_bytes(m[4], "prev_head", 32),
            head=_bytes(m[5], "head", 32),
            dict_id=_int(m[6], "dict_id", 0, 2**32 - 1),
            hlc_max=_int(m[7], "hlc_max"),
            count=_int(m[8], "count", 1, MAX_SERVER_EVENTS),
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


# ----------------------------------------------------------------------------- acks


@dataclass(frozen=True)
class Ack:
    desk: str
    acked_seq: int
    head: bytes
    server_time: int
    batch_key: str | None

    def to_map(self) -> dict[int, Any]:
        return {
            1: self.desk,
            2: self.acked_seq,
            3: self.head,
            4: self.server_time,
            5: self.batch_key,
        }

    @classmethod
    def from_payload(cls, payload: bytes) -> Ack:
        m = _map(payload, "Xác nhận", {1, 2, 3, 4, 5})
        key = m[5]
        if key is not None:
            key = _str(key, "batch key", 200)
        return cls(
            desk=_str(m[1], "desk"),
            acked_seq=_int(m[2], "acked_seq"),
            head=_bytes(m[3], "head", 32),
            server_time=_int(m[4], "server_time"),
            batch_key=key,
        )


def sign_ack(signer: Signer, ack: Ack) -> bytes:
    return sign(signer, ACK_CT, ack.to_map())


def open_ack(data: bytes, server_keys: Mapping[bytes, tuple[int, bytes]]) -> Ack:
    _msg, payload = open_signed(data, ACK_CT, server_keys)
    return Ack.from_payload(payload)


# ----------------------------------------------------------------------------- feed (download)


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


# ----------------------------------------------------------------------------- auth tokens
#
# A signed GET carries the desk's estimate of the *server's* clock (desk clock + the offset
# learned from the last server-signed time: acks, feeds, reference answers, the enrollment
# answer), not its own wall clock, so a field laptop whose clock is days off still
# authenticates. The server refuses a token outside ±AUTH_WINDOW_S of its clock with 401
# ``stale_auth`` carrying a server-signed time bound to that very token (onestop-time/1); the
# desk takes the offset from it and retries once. A captured token is thus useless after ten
# minutes; a request that changes state (any method but GET/HEAD) is accepted once only.

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


# ----------------------------------------------------------------------------- enrollment codes
#
# A code is 16 symbols in 4 groups, read over the phone: ``ABCD-EFGH-JKMN-PQRS``. The first
# 12 are the one-time secret (~59 bits); the last 4 are a check of the server's public key:
# base-30 of HMAC-SHA256(key = the secret, "onestop-enroll-check/1" || alg || public key). The
# desk sends only SHA-256 of the secret (what the server stores anyway), so the check can be
# computed only by someone who was told the code: a server (or a machine in the middle) that
# does not hold the key the province issued the code for matches it by luck once in 810,000.

ENROLL_ALPHABET: Final = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U
ENROLL_SECRET_LEN: Final = 12
ENROLL_CHECK_LEN: Final = 4
ENROLL_HASH_PREFIX: Final = "sha256:"


def normalise_enroll_code(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace() and ch != "-").upper()


def group_code(symbols: str) -> str:
    return "-".join(symbols[i : i + 4] for i in range(0, len(symbols), 4))


def enroll_secret_hash(secret: str) -> bytes:
    """SHA-256 of the normalised secret (the first 12 symbols of a code)."""
    return hashlib.sha256(normalise_enroll_code(secret)[:ENROLL_SECRET_LEN].encode()).digest()


def enroll_check(secret: str, alg: int, public_key: bytes) -> str:
    """The 4-symbol check group binding a code's secret to the server key it was issued under."""
    key = normalise_enroll_code(secret)[:ENROLL_SECRET_LEN].encode()
    msg = b"onestop-enroll-check/1" + alg.to_bytes(4, "big", signed=True) + public_key
    n = int.from_bytes(hmac.new(key, msg, hashlib.sha256).digest()[:8], "big")
    out = []
    for _ in range(ENROLL_CHECK_LEN):
        n, r = divmod(n, len(ENROLL_ALPHABET))
        out.append(ENROLL_ALPHABET[r])
    return "".join(out)


# ----------------------------------------------------------------------------- bundles


def encode_bundle(*, desk: str, alg: int, public_key: bytes, encoding: str, batch: bytes) -> bytes:
    return dumps(
        {
            "format": BUNDLE_FORMAT,
            "desk": desk,
            "alg": alg,
            "public_key": public_key,
            "encoding": encoding,
            "batch": batch,
        }
    )


@dataclass(frozen=True)
class Bundle:
    desk: str
    alg: int
    public_key: bytes
    encoding: str
    batch: bytes


def decode_bundle(data: bytes) -> Bundle:
    m = loads_strict(data, "Tệp gói đồng bộ", max_depth=2)
    if not isinstance(m, dict) or m.get("format") != BUNDLE_FORMAT:
        raise WireError(f"Không phải tệp gói đồng bộ ({BUNDLE_FORMAT}).")
    if set(m) != {"format", "desk", "alg", "public_key", "encoding", "batch"}:
        raise WireError("Tệp gói đồng bộ sai cấu trúc.")
    encoding = _str(m["encoding"], "encoding", 16)
    if encoding not in ENCODINGS:
        raise WireError("Tệp gói đồng bộ dùng mã hóa nén không hỗ trợ.")
    return Bundle(
        desk=_str(m["desk"], "desk"),
        alg=_int(m["alg"], "alg", -(2**31), 2**31),
        public_key=_bytes(m["public_key"], "public_key"),
        encoding=encoding,
        batch=_bytes(m["batch"], "batch"),
    )


# ----------------------------------------------------------------------------- projections
#
# Desk and server fold a dossier's events in the same total order, (hlc, desk, seq) — the order
# of ``repo_events.events_for`` — with the same ``lifecycle.apply``: holding the same events,
# they hold the same state, whatever order the events arrived in.

EventKey = tuple[int, str, int]


def event_key(e: Event) -> EventKey:
    return (e.hlc, e.desk_id, e.seq)


def replay_or_none(events: Iterable[Event]) -> DossierState | None:
    """Fold events in order; None while the dossier's receive/refuse has not arrived yet."""
    state: DossierState | None = None
    for e in events:
        if state is None and e.kind not in (EventKind.RECEIVE, EventKind.REFUSE):
            return None
        state = apply(state, e)
    return state


_STATE_FIELDS = tuple(f.name for f in fields(DossierState))
_DT_FIELDS = frozenset(f.name for f in fields(DossierState) if "datetime" in str(f.type))
_JSON_FIELDS = frozenset({"proxy", "evaluation"})
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def _dt_text(v: datetime) -> str:
    # isoformat is ~5x cheaper than strftime and gives the same "YYYY-MM-DD HH:MM:SS" for the
    # naive, 4-digit-year datetimes a dossier holds (store/timefmt.py).
    if v.tzinfo is None and v.year >= 1000:
        return v.isoformat(" ", "seconds")
    return dt_to_text(v)


def state_json(state: DossierState) -> str:
    """The JSON of ``state_to_values``: the values of the desk's ``dossier`` row.

    Byte-identical to ``json.dumps(state_to_values(state), ensure_ascii=False,
    sort_keys=True)`` (a test holds it to that), written out for the server's ingest path,
    where it runs once per dossier written: it was a sixth of the ingest CPU.
    """
    held = state.__dict__
    values: dict[str, Any] = {name: held[name] for name in _STATE_FIELDS}
    for name in _DT_FIELDS:
        v = values[name]
        if v is not None:
            values[name] = _dt_text(v)
    values["documents"] = _JSON.encode(list(values["documents"]))
    values["proxy"] = _JSON.encode(values["proxy"])
    values["evaluation"] = _JSON.encode(values["evaluation"])
    values["status"] = str(values["status"])
    if values["resume_status"] is not None:
        values["resume_status"] = str(values["resume_status"])
    values["clock_running"] = state.clock_running
    return _JSON.encode(values)


def state_from_json(text: str) -> DossierState:
    """The inverse of ``state_json`` (the same conversions as ``repo_dossiers.row_to_state``,
    without building an ORM row: that costs ~0.5 ms per dossier on the ingest path)."""
    values: dict[str, Any] = json.loads(text)
    kw: dict[str, Any] = {}
    for name in _STATE_FIELDS:
        v = values[name]
        if name in _DT_FIELDS:
            # "YYYY-MM-DD HH:MM:SS" (store/timefmt.py) is ISO 8601; fromisoformat is C, ~10x
            # faster than strptime.
            v = None if v is None else datetime.fromisoformat(v)
        elif name == "documents":
            v = tuple(json.loads(v))
        elif name in _JSON_FIELDS:
            v = json.loads(v)
        elif name == "status" or (name == "resume_status" and v is not None):
            v = Status(v)
        kw[name] = v
    # As lifecycle._evolve: no __init__ over 37 fields for a state read back from JSON.
    state = object.__new__(DossierState)
    state.__dict__.update(kw)
    return state


def digest(pairs: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over (code, state JSON) sorted by code: equal digests, equal dossiers."""
    h = hashlib.sha256()
    for code, text in sorted(pairs):
        h.update(code.encode() + b"\n" + text.encode() + b"\n")
    return h.hexdigest()
