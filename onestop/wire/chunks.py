"""The files lane of sync: content-addressed chunks and file commits (desk and server import it).

A digitised paper reaches the province as the chunks its ``attach`` event names (64 KiB pieces,
id = SHA-256 of the plaintext, see ``domain/attachments.py``), never in front of the events:

==========================  ==================================================================
POST /chunks/missing        signed request (``onestop-auth/1``, like every state-changing call;
                            query ``?b=<body digest>&n=<nonce>``, see :func:`body_digest`)
                            body CBOR ``[bstr id32, ...]`` (1..:data:`MAX_MISSING_IDS`)
                            → 200 CBOR ``[bstr id32, ...]``: the ids the server lacks
PUT  /chunks/{id}           signed request; body = the chunk's bytes (≤ 64 KiB). The server
                            checks SHA-256(body) == id, stores it idempotently (no session: any
                            worker takes any chunk) → 201 stored | 200 already held
POST /files/commit          signed request; body CBOR ``{1: desk, 2: seq of the attach event,
                            3: file sha256 (32 bytes)}``. The server finds that ``attach`` event
                            in its log (it came in a batch the desk signed), checks it holds
                            every chunk of the manifest (a chunk-list file is read from its
                            own store) and the whole file's SHA-256, marks the file complete →
                            200 signed ``onestop-file/1`` | 409 ``{missing: [hex ids ≤ 1024],
                            missing_count}`` | 404 the event is not on the server (yet)
==========================  ==================================================================

Only the commit's answer changes what the desk believes (the file is at the province and the
desk stops offering it), so only it is signed: ``onestop-file/1`` (server key) ``{1: desk,
2: seq, 3: sha256, 4: size, 5: server_time}``. A captive portal that answers 200 to a chunk
upload or ``[]`` to a missing-query only makes the commit answer 409, never a false success.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from onestop.crypto.signer import Signer
from onestop.domain.attachments import CHUNK_SIZE, ID_BYTES, is_chunk_id
from onestop.wire.base import API, WireError, _bytes, _int, _map, _str, dumps, loads_strict
from onestop.wire.messages import open_signed, sign

FILE_CT: Final = "onestop-file/1"

MISSING_PATH: Final = f"{API}/chunks/missing"
CHUNK_PATH: Final = f"{API}/chunks"  # + "/{id}"
COMMIT_PATH: Final = f"{API}/files/commit"

#: Chunk ids per missing-query (1024 x 35 bytes of CBOR ≈ 36 KB request).
MAX_MISSING_IDS: Final = 1024
#: Largest chunk body the server reads (a chunk is at most CHUNK_SIZE; a little framing room).
MAX_CHUNK_BODY: Final = CHUNK_SIZE + 1024
#: Missing ids listed in a 409 commit answer (the count says how many there are in all).
MAX_LISTED_MISSING: Final = 1024
#: Largest commit or missing-query body.
MAX_QUERY_BODY: Final = MAX_MISSING_IDS * (ID_BYTES + 3) + 64


def body_digest(body: bytes) -> str:
    """The ``b`` query parameter of every files-lane request: SHA-256 of its body (first 16
    bytes, hex). It is part of the signed target (``onestop-auth/1`` signs method, path and
    query), so the desk's signature covers the body; a random ``n`` parameter beside it makes
    each token unique, since state-changing tokens are accepted once only and an Ed25519
    signature of the same target in the same second would repeat."""
    return hashlib.sha256(body).hexdigest()[:32]


def chunk_path(chunk_id: str) -> str:
    return f"{CHUNK_PATH}/{chunk_id}"


def check_chunk(chunk_id: str, body: bytes) -> None:
    """A chunk as received: a valid id, at most CHUNK_SIZE bytes, hashing to its id."""
    if not is_chunk_id(chunk_id):
        raise WireError("Mã khối không hợp lệ.")
    if not 0 < len(body) <= CHUNK_SIZE:
        raise WireError("Khối dữ liệu rỗng hoặc quá lớn.")
    if hashlib.sha256(body).hexdigest() != chunk_id:
        raise WireError("Khối dữ liệu không khớp mã băm của nó.")


def encode_ids(ids: Sequence[str]) -> bytes:
    return dumps([bytes.fromhex(c) for c in ids])


def decode_ids(data: bytes, *, limit: int = MAX_MISSING_IDS, empty: bool = False) -> list[str]:
    value = loads_strict(data, "Danh sách khối", max_depth=2)
    if not isinstance(value, list) or len(value) > limit or (not value and not empty):
        raise WireError(f"Danh sách khối phải có 1 đến {limit} mã.")
    return [_bytes(v, "chunk id", ID_BYTES).hex() for v in value]


@dataclass(frozen=True)
class CommitRequest:
    desk: str
    seq: int
    sha256: str

    def encode(self) -> bytes:
        return dumps({1: self.desk, 2: self.seq, 3: bytes.fromhex(self.sha256)})

    @classmethod
    def decode(cls, data: bytes) -> CommitRequest:
        m = _map(data, "Yêu cầu ghi nhận tệp", {1, 2, 3})
        return cls(
            desk=_str(m[1], "desk"),
            seq=_int(m[2], "seq", 1),
            sha256=_bytes(m[3], "sha256", ID_BYTES).hex(),
        )


@dataclass(frozen=True)
class FileAck:
    desk: str
    seq: int
    sha256: str
    size: int
    server_time: int

    def to_map(self) -> dict[int, Any]:
        return {
            1: self.desk,
            2: self.seq,
            3: bytes.fromhex(self.sha256),
            4: self.size,
            5: self.server_time,
        }

    @classmethod
    def from_payload(cls, payload: bytes) -> FileAck:
        m = _map(payload, "Xác nhận tệp", {1, 2, 3, 4, 5})
        return cls(
            desk=_str(m[1], "desk"),
            seq=_int(m[2], "seq", 1),
            sha256=_bytes(m[3], "sha256", ID_BYTES).hex(),
            size=_int(m[4], "size", 1),
            server_time=_int(m[5], "server_time"),
        )


def sign_file_ack(signer: Signer, ack: FileAck) -> bytes:
    return sign(signer, FILE_CT, ack.to_map())


def open_file_ack(data: bytes, server_keys: Mapping[bytes, tuple[int, bytes]]) -> FileAck:
    _msg, payload = open_signed(data, FILE_CT, server_keys)
    return FileAck.from_payload(payload)


__all__ = [
    "CHUNK_PATH",
    "COMMIT_PATH",
    "FILE_CT",
    "MAX_CHUNK_BODY",
    "MAX_LISTED_MISSING",
    "MAX_MISSING_IDS",
    "MAX_QUERY_BODY",
    "MISSING_PATH",
    "CommitRequest",
    "FileAck",
    "check_chunk",
    "body_digest",
    "chunk_path",
    "decode_ids",
    "encode_ids",
    "open_file_ack",
    "sign_file_ack",
]
