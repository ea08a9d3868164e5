"""The USB bundle (``.osb``): a batch in a file, for communes with no link at all.

Two formats, both canonical CBOR with text keys.

``onestop-bundle/2`` (written since bundles are encrypted; see crypto/seal.py)::

    {"format": "onestop-bundle/2", "desk": "20040-02", "alg": -7, "public_key": h'04…',
     "sealed": h'…',   # onestop-seal/1 of CBOR {"encoding": "zstd", "batch": h'…'}
     "sig": h'…'}      # 64 B, the desk key over the CBOR of every other field

The batch inside is byte for byte what the desk would POST (its own signed envelope, the
compressed event bodies), so importing a bundle is the online ingest path and stays
idempotent. Readers check, in this order: the outer signature with the embedded key (any
altered byte fails here, before any decryption work), then decrypt with their own key (the
seal's associated data binds format, desk, alg and public key, so the sealed part cannot be
moved under another sender's header), then — the callers' business — that the embedded key is
the desk's known key and that it signed the batch envelope. The recipient kids are visible
(they are public keys' hashes, and let a desk say "not for this desk" without its passphrase);
the desk id, event count and sizes are visible too. Names, ID numbers and phones are not.

``onestop-bundle/3`` (written since bundles carry scanned papers): the same container as /2;
the sealed part is CBOR ``{"encoding", "batch", "files": [sha256 hex…], "chunks": [h'…', …]}``.
``files`` names the files whose chunks the bundle carries *whole* — every chunk of each (and,
for a file with a chunk-list file, that list's chunks too), in ``chunks``, each at most one
64 KiB chunk, at most :data:`MAX_CARRIED_BYTES` in all. A reader (:func:`carried_files`)
finds each listed file's ``attach`` manifest among the batch's events, rebuilds it from the
carried chunks and checks its size and SHA-256; a chunk no listed file uses, a listed file with
no manifest in the batch, a missing or altered chunk: the whole bundle is refused before
anything is stored. An ``attach`` whose file is not listed (over the size budget, or the
exporter chose not to) is fine: its file follows by the files lane or a later bundle.

``onestop-bundle/2`` (events only) and ``onestop-bundle/1`` (the plain signed bundle of earlier
versions) are still read, so bundles already on sticks in the field are not lost; nothing writes
them any more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from onestop.crypto.seal import Recipient, seal
from onestop.crypto.signer import (
    InvalidPublicKeyError,
    Signer,
    public_key_from_bytes,
    verify_signature,
)
from onestop.domain.attachments import CHUNK_SIZE, ID_BYTES, Attachment, fold
from onestop.domain.events import Event
from onestop.wire.base import MAX_BUNDLE_BYTES, WireError, _bytes, _int, _str, dumps, loads_strict
from onestop.wire.codec import ENCODINGS

BUNDLE_FORMAT_PLAIN: Final = "onestop-bundle/1"
BUNDLE_FORMAT_V2: Final = "onestop-bundle/2"
BUNDLE_FORMAT: Final = "onestop-bundle/3"
_FORMATS: Final = (BUNDLE_FORMAT_PLAIN, BUNDLE_FORMAT_V2, BUNDLE_FORMAT)
_SEALED_FORMATS: Final = (BUNDLE_FORMAT_V2, BUNDLE_FORMAT)

#: Chunk bytes one bundle carries at most (about 1,100 normalised pages at 58 KB): a USB file
#: a reader holds in memory, opens and checks in seconds. Files beyond it wait for the next
#: bundle or the files lane.
MAX_CARRIED_BYTES: Final = 64 * 1024 * 1024
MAX_CARRIED_CHUNKS: Final = MAX_CARRIED_BYTES // CHUNK_SIZE + 64
#: Largest bundle file read at all: the events' bound plus the carried chunks and their framing.
MAX_BUNDLE_READ_BYTES: Final = MAX_BUNDLE_BYTES + MAX_CARRIED_BYTES + 1024 * 1024


def encode_bundle(*, desk: str, alg: int, public_key: bytes, encoding: str, batch: bytes) -> bytes:
    """The plain ``onestop-bundle/1`` form (kept for tests of the compatibility path)."""
    return dumps(
        {
            "format": BUNDLE_FORMAT_PLAIN,
            "desk": desk,
            "alg": alg,
            "public_key": public_key,
            "encoding": encoding,
            "batch": batch,
        }
    )


def _header(desk: str, alg: int, public_key: bytes, fmt: str = BUNDLE_FORMAT) -> dict[str, object]:
    return {"format": fmt, "desk": desk, "alg": alg, "public_key": public_key}


def encode_sealed_bundle(
    *,
    desk: str,
    signer: Signer,
    encoding: str,
    batch: bytes,
    recipients: Sequence[Recipient],
    files: Sequence[str] = (),
    chunks: Sequence[bytes] = (),
    fmt: str = BUNDLE_FORMAT,
) -> bytes:
    """``onestop-bundle/3`` (``/2`` with ``fmt``, for tests of the old path): the batch and
    the carried files' chunks sealed to ``recipients``, the container signed."""
    header = _header(desk, signer.alg, signer.public_key_bytes(), fmt)
    if fmt == BUNDLE_FORMAT:
        if sum(len(c) for c in chunks) > MAX_CARRIED_BYTES or len(chunks) > MAX_CARRIED_CHUNKS:
            raise WireError("Tệp gói mang quá nhiều dữ liệu tệp số hóa.")
        inner = dumps(
            {"encoding": encoding, "batch": batch, "files": list(files), "chunks": list(chunks)}
        )
    elif files or chunks:
        raise WireError(f"{BUNDLE_FORMAT_V2} không mang được tệp số hóa.")
    else:
        inner = dumps({"encoding": encoding, "batch": batch})
    unsigned = {**header, "sealed": seal(inner, recipients, aad=dumps(header))}
    return dumps({**unsigned, "sig": signer.sign(dumps(unsigned))})


@dataclass(frozen=True)
class Bundle:
    desk: str
    alg: int
    public_key: bytes
    encoding: str
    batch: bytes
    sealed: bool = False
    files: tuple[str, ...] = ()  # SHA-256 of the files carried whole (onestop-bundle/3)
    chunks: tuple[bytes, ...] = ()  # their chunks
    format: str = BUNDLE_FORMAT


@dataclass(frozen=True)
class SealedBundle:
    """A v2 bundle whose signature checked out, before decryption (what an opener sees)."""

    desk: str
    alg: int
    public_key: bytes
    sealed: bytes
    aad: bytes


#: Decrypts ``SealedBundle.sealed`` (with ``aad``) for whoever reads; raises to refuse.
Opener = Callable[[SealedBundle], bytes]


def _encoding(v: object) -> str:
    encoding = _str(v, "encoding", 16)
    if encoding not in ENCODINGS:
        raise WireError("Tệp gói đồng bộ dùng mã hóa nén không hỗ trợ.")
    return encoding


def decode_bundle(data: bytes, *, opener: Opener | None = None) -> Bundle:
    """Parse a bundle; a sealed one is verified, then opened with ``opener``."""
    m = loads_strict(data, "Tệp gói đồng bộ", max_depth=2)
    if not isinstance(m, dict) or m.get("format") not in _FORMATS:
        raise WireError(f"Không phải tệp gói đồng bộ ({BUNDLE_FORMAT}).")
    if m["format"] == BUNDLE_FORMAT_PLAIN:
        if set(m) != {"format", "desk", "alg", "public_key", "encoding", "batch"}:
            raise WireError("Tệp gói đồng bộ sai cấu trúc.")
        return Bundle(
            desk=_str(m["desk"], "desk"),
            alg=_int(m["alg"], "alg", -(2**31), 2**31),
            public_key=_bytes(m["public_key"], "public_key"),
            encoding=_encoding(m["encoding"]),
            batch=_bytes(m["batch"], "batch"),
            format=BUNDLE_FORMAT_PLAIN,
        )
    if set(m) != {"format", "desk", "alg", "public_key", "sealed", "sig"}:
        raise WireError("Tệp gói đồng bộ sai cấu trúc.")
    fmt = str(m["format"])
    desk = _str(m["desk"], "desk")
    alg = _int(m["alg"], "alg", -(2**31), 2**31)
    public_key = _bytes(m["public_key"], "public_key")
    sealed = _bytes(m["sealed"], "sealed")
    sig = _bytes(m["sig"], "sig")
    try:
        key = public_key_from_bytes(alg, public_key)
    except InvalidPublicKeyError as e:
        raise WireError(str(e)) from e
    unsigned = {k: v for k, v in m.items() if k != "sig"}
    if not verify_signature(alg, key, dumps(unsigned), sig):
        raise WireError("Chữ ký của tệp gói không đúng: tệp đã bị sửa hoặc hỏng.")
    if opener is None:
        raise WireError("Tệp gói đã mã hóa; cần khóa của nơi nhận để mở.")
    header = dumps(_header(desk, alg, public_key, fmt))
    inner = loads_strict(
        opener(SealedBundle(desk, alg, public_key, sealed, header)), "Nội dung gói", max_depth=2
    )
    keys = {"encoding", "batch"} | ({"files", "chunks"} if fmt == BUNDLE_FORMAT else set())
    if not isinstance(inner, dict) or set(inner) != keys:
        raise WireError("Nội dung tệp gói sai cấu trúc.")
    files: tuple[str, ...] = ()
    chunks: tuple[bytes, ...] = ()
    if fmt == BUNDLE_FORMAT:
        files = _file_ids(inner["files"])
        chunks = _chunks(inner["chunks"])
    return Bundle(
        desk=desk,
        alg=alg,
        public_key=public_key,
        encoding=_encoding(inner["encoding"]),
        batch=_bytes(inner["batch"], "batch"),
        sealed=True,
        files=files,
        chunks=chunks,
        format=fmt,
    )


def _file_ids(v: object) -> tuple[str, ...]:
    if not isinstance(v, list) or len(v) > MAX_CARRIED_CHUNKS:
        raise WireError("Danh sách tệp số hóa trong gói sai cấu trúc.")
    out: list[str] = []
    for x in v:
        if not isinstance(x, str) or len(x) != 64 or any(c not in "0123456789abcdef" for c in x):
            raise WireError("Danh sách tệp số hóa trong gói có mã băm không hợp lệ.")
        out.append(x)
    if len(set(out)) != len(out):
        raise WireError("Danh sách tệp số hóa trong gói nêu một tệp hai lần.")
    return tuple(out)


def _chunks(v: object) -> tuple[bytes, ...]:
    if not isinstance(v, list) or len(v) > MAX_CARRIED_CHUNKS:
        raise WireError("Các khối tệp số hóa trong gói sai cấu trúc.")
    if not all(isinstance(c, bytes) and 0 < len(c) <= CHUNK_SIZE for c in v):
        raise WireError("Một khối tệp số hóa trong gói không hợp lệ.")
    if sum(len(c) for c in v) > MAX_CARRIED_BYTES:
        raise WireError("Tệp gói mang quá nhiều dữ liệu tệp số hóa.")
    return tuple(v)


# ----------------------------------------------------------------------------- carried files


@dataclass(frozen=True)
class CarriedFile:
    """A file a bundle carries whole, checked: its manifest and its chunk ids in order."""

    attachment: Attachment
    chunk_ids: tuple[str, ...]  # the file's chunks, then (if any) its chunk-list's


def carried_files(
    bundle: Bundle, events: Iterable[Event]
) -> tuple[list[CarriedFile], dict[str, bytes]]:
    """Check the files a bundle carries against the ``attach`` manifests among ``events`` (the
    batch's): every listed file rebuilt from the carried chunks matches its size and SHA-256,
    and every carried chunk belongs to a listed file. Returns the files and the chunks by id;
    raises WireError (Vietnamese, naming the file) otherwise — nothing is to be stored then."""
    by_id: dict[str, bytes] = {}
    for c in bundle.chunks:
        by_id[hashlib.sha256(c).hexdigest()] = c
    manifests: dict[str, Attachment] = {}
    for found in fold(events):
        manifests.setdefault(found.sha256, found)
    used: set[str] = set()
    out: list[CarriedFile] = []
    for sha in bundle.files:
        a = manifests.get(sha)
        if a is None:
            raise WireError(
                f"Gói mang tệp {sha[:12]} nhưng không có sự kiện đính kèm nào của tệp đó."
            )
        ids = list(a.chunks)
        if not ids:  # a large file: its chunk list is itself carried
            listing = bytearray()
            for cid in a.index:
                piece = by_id.get(cid)
                if piece is None:
                    raise _missing(a)
                listing += piece
                used.add(cid)
            if len(listing) != -(-a.size // CHUNK_SIZE) * ID_BYTES:
                raise WireError(f"Danh sách khối của tệp {a.id} trong gói bị hỏng.")
            ids = [listing[i : i + ID_BYTES].hex() for i in range(0, len(listing), ID_BYTES)]
        h = hashlib.sha256()
        size = 0
        for cid in ids:
            piece = by_id.get(cid)
            if piece is None:
                raise _missing(a)
            h.update(piece)
            size += len(piece)
            used.add(cid)
        if size != a.size or h.hexdigest() != a.sha256:
            raise WireError(f"Tệp {a.id} ghép từ các khối trong gói không khớp mã băm đã ký.")
        out.append(CarriedFile(a, tuple(ids) + tuple(a.index)))
    stray = set(by_id) - used
    if stray or len(by_id) != len(bundle.chunks):
        raise WireError("Gói mang khối dữ liệu không thuộc tệp nào đã nêu (hỏng hoặc bị sửa).")
    return out, by_id


def _missing(a: Attachment) -> WireError:
    return WireError(
        f"Gói thiếu khối của tệp {a.id} (thành phần {a.component}): gói hỏng hoặc chép thiếu."
    )
