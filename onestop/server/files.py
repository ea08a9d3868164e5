"""The server's side of the files lane: the chunk store, file commits, and staff downloads.

**Chunk store** (:class:`ChunkStore`, four methods: ``has``/``missing``/``get``/``put``). The
default :class:`FsChunkStore` is a filesystem object store: ``<data dir>/chunks/aa/<id>`` (the
first two hex digits of the id as sub-folder, folders 0700, files 0600), each chunk written to
a temp file, fsynced and renamed (atomic: a reader sees the whole chunk or none; two workers
storing the same chunk both write a complete file and the last rename wins). The data dir is
``ONESTOP_SERVER_DATA_DIR``, else the folder of the SQLite database, else the user data folder
(PostgreSQL). Anything with the four methods plugs in instead: ``ONESTOP_SERVER_CHUNK_STORE=s3``
selects :class:`onestop.server.s3store.S3ChunkStore` (any S3-compatible bucket through boto3:
``has`` = HEAD, ``put`` = PUT of the same sealed bytes, atomic there too; the key is
``<prefix><aa>/<id>``).

**At rest: encrypted.** A chunk on the server's disk is ``b"OSS1" || nonce(12) ||
AES-256-GCM(key, nonce, plaintext, aad = b"OSS1" || id)`` under a key derived (HKDF-SHA256,
info ``onestop server chunks v1``) from the server's signing key — the one secret every worker
already has and that is itself encrypted under the server passphrase. A copied chunk folder or
bucket therefore reveals no page; the AAD binds each object to its id, so objects cannot be
swapped. The desk's own store key is never shared: chunks travel as plaintext-addressed
content over TLS (sync is https-only), and each side seals them under its own key. Price: the
server key cannot change without re-sealing the chunks (there is no key rotation anyway: every
desk pinned the key). Names stay the plain chunk ids (the server is the province's own store,
and dedup across desks needs the id as key).

**Commit** (:func:`commit`): the desk names the ``attach`` event (desk, seq) and the file hash;
the event must be on the server already (events first), be an ``attach`` of that file, and
every chunk of its manifest — inline, or read from the chunk-list file in this store — must be
present; then the whole file is read back and its SHA-256 compared before ``server_file``
records it complete. A later commit of a file already complete is one lookup.

**Staff download** (:func:`dossier_files`, :func:`stream_file`): the dossier's attachments are
the fold of its events (``domain/attachments.fold``); a complete file is streamed chunk by
chunk, each chunk authenticated by its seal and its hash. The citizen page never shows files.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from platformdirs import user_data_path
from sqlalchemy import Table, select
from sqlalchemy.engine import make_url

from onestop.crypto.signer import SoftwareSigner
from onestop.domain.attachments import (
    CHUNK_SIZE,
    ID_BYTES,
    Attachment,
    fold,
    is_chunk_id,
    missing_chunks,
)
from onestop.domain.events import Event, EventFormatError, EventKind
from onestop.server import repo
from onestop.server.db import ServerDB
from onestop.server.errors import ApiError
from onestop.server.models import ServerFile, metadata
from onestop.wire.base import now_epoch
from onestop.wire.chunks import MAX_LISTED_MISSING, CommitRequest, FileAck, sign_file_ack

DATA_DIR_ENV: Final = "ONESTOP_SERVER_DATA_DIR"
STORE_ENV: Final = "ONESTOP_SERVER_CHUNK_STORE"
STORE_KINDS: Final = ("fs", "s3")
FILE: Table = metadata.tables[ServerFile.__tablename__]
MAGIC: Final = b"OSS1"
_NONCE: Final = 12
_TMP: Final = ".tmp-"


class ChunkStoreError(Exception):
    """A stored chunk is missing, damaged or was sealed under another key."""


class StoreConfigError(ValueError):
    """The chunk store's settings are wrong (Vietnamese message naming the variable)."""


def store_kind() -> str:
    """``fs`` or ``s3`` from ``ONESTOP_SERVER_CHUNK_STORE`` (empty: ``fs``)."""
    raw = os.environ.get(STORE_ENV, "").strip().lower()
    if not raw:
        return "fs"
    if raw not in STORE_KINDS:
        raise StoreConfigError(
            f"{STORE_ENV} phải là «fs» (thư mục trên đĩa) hoặc «s3» (kho tương thích S3), "
            f"đang là «{raw[:40]}»."
        )
    return raw


def check_store(db: ServerDB, signer: SoftwareSigner) -> str:
    """Open the configured store once and say which it is (``onestop serve`` calls this before
    starting workers, so a wrong bucket or endpoint is said at once, not at the first upload)."""
    store = open_store(db, signer)
    describe = getattr(store, "describe", None)
    return str(describe()) if callable(describe) else f"fs:{data_dir(db) / 'chunks'}"


class ChunkStore(Protocol):
    """Where the server keeps chunks; keyed by the chunk id (SHA-256 hex of the plaintext)."""

    def has(self, chunk_id: str) -> bool: ...

    def missing(self, chunk_ids: Iterable[str]) -> list[str]: ...

    def get(self, chunk_id: str) -> bytes: ...

    def put(self, chunk_id: str, data: bytes) -> bool:
        """Store (the caller checked the hash); True if it was not there before."""
        ...


def data_dir(db: ServerDB) -> Path:
    """Where the server keeps files: ONESTOP_SERVER_DATA_DIR, the SQLite file's folder, or the
    user data folder."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured)
    if db.dialect == "sqlite":
        database = make_url(db.url).database
        if database and database != ":memory:":
            return Path(database).parent
    return user_data_path("onestop", appauthor=False) / "server"


def chunk_key(signer: SoftwareSigner) -> bytes:
    """The at-rest key of the chunk store, derived from the server's signing key."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"onestop server files v1",
        info=b"onestop server chunks v1",
    ).derive(signer.private_key_pkcs8())


def seal_chunk(aead: AESGCM, chunk_id: str, data: bytes) -> bytes:
    """``MAGIC || nonce || AES-256-GCM(data, aad = MAGIC || id)`` (the module docstring)."""
    nonce = secrets.token_bytes(_NONCE)
    return MAGIC + nonce + aead.encrypt(nonce, data, MAGIC + bytes.fromhex(chunk_id))


def unseal_chunk(aead: AESGCM, chunk_id: str, raw: bytes) -> bytes:
    """The plaintext of a sealed chunk, checked against its id; ChunkStoreError otherwise."""
    if raw[: len(MAGIC)] != MAGIC:
        raise ChunkStoreError(f"chunk {chunk_id[:12]}… is damaged")
    nonce = raw[len(MAGIC) : len(MAGIC) + _NONCE]
    try:
        plain = aead.decrypt(nonce, raw[len(MAGIC) + _NONCE :], MAGIC + bytes.fromhex(chunk_id))
    except (InvalidTag, ValueError) as e:
        raise ChunkStoreError(f"chunk {chunk_id[:12]}… is damaged") from e
    if hashlib.sha256(plain).hexdigest() != chunk_id:
        raise ChunkStoreError(f"chunk {chunk_id[:12]}… is damaged")
    return plain


class FsChunkStore:
    """The default :class:`ChunkStore`: sealed chunk files under ``<folder>/aa/<id>``."""

    def __init__(self, folder: Path, key: bytes) -> None:
        self.folder = folder
        self._aead = AESGCM(key)

    def _path(self, chunk_id: str) -> Path:
        if not is_chunk_id(chunk_id):
            raise ChunkStoreError("bad chunk id")
        return self.folder / chunk_id[:2] / chunk_id

    def has(self, chunk_id: str) -> bool:
        return is_chunk_id(chunk_id) and self._path(chunk_id).is_file()

    def missing(self, chunk_ids: Iterable[str]) -> list[str]:
        return missing_chunks(chunk_ids, self.has)

    def get(self, chunk_id: str) -> bytes:
        try:
            raw = self._path(chunk_id).read_bytes()
        except FileNotFoundError as e:
            raise ChunkStoreError(f"chunk {chunk_id[:12]}… is missing") from e
        return unseal_chunk(self._aead, chunk_id, raw)

    def put(self, chunk_id: str, data: bytes) -> bool:
        path = self._path(chunk_id)
        if path.is_file():
            return False
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        sealed = seal_chunk(self._aead, chunk_id, data)
        tmp = path.parent / f"{_TMP}{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            try:
                view = memoryview(sealed)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                tmp.unlink()
            raise
        if os.name != "nt":
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        return True


def open_store(db: ServerDB, signer: SoftwareSigner) -> ChunkStore:
    """The configured chunk store (``ONESTOP_SERVER_CHUNK_STORE``: ``fs``, the default, or
    ``s3``; ``server/s3store.py`` reads the S3 settings). A bad setting raises
    :class:`StoreConfigError` with a Vietnamese message (``onestop serve`` checks it first)."""
    kind = store_kind()
    if kind == "s3":
        from onestop.server import s3store  # boto3 loads only on a server configured for it

        return s3store.S3ChunkStore.from_config(s3store.config_from_env(), chunk_key(signer))
    folder = data_dir(db) / "chunks"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(OSError):
        os.chmod(folder, 0o700)
    return FsChunkStore(folder, chunk_key(signer))


# ----------------------------------------------------------------------------- manifests


def _attach_event(db: ServerDB, desk_id: str, seq: int) -> Event | None:
    with db.read() as conn:
        row = conn.execute(
            select(repo.EVENT.c.body).where(
                repo.EVENT.c.desk_id == desk_id, repo.EVENT.c.seq == seq
            )
        ).first()
    if row is None:
        return None
    try:
        return Event.from_body(desk_id, bytes(row[0]))
    except (EventFormatError, ValueError):
        return None


def _read_index(store: ChunkStore, index: Iterable[str], size: int) -> list[str]:
    data = b"".join(store.get(c) for c in index)
    if len(data) != -(-size // CHUNK_SIZE) * ID_BYTES:
        raise ChunkStoreError("chunk list does not match the file size")
    return [data[i : i + ID_BYTES].hex() for i in range(0, len(data), ID_BYTES)]


def _incomplete(missing: list[str]) -> ApiError:
    return ApiError(
        409,
        "incomplete",
        "Máy chủ chưa có đủ các khối của tệp.",
        extra={"missing": missing[:MAX_LISTED_MISSING], "missing_count": len(missing)},
    )


def is_complete(db: ServerDB, sha256: str) -> bool:
    with db.read() as conn:
        return (
            conn.execute(select(FILE.c.sha256).where(FILE.c.sha256 == sha256)).first() is not None
        )


def commit(
    db: ServerDB, store: ChunkStore, signer: SoftwareSigner, desk_id: str, req: CommitRequest
) -> bytes:
    """Mark the file of ``req`` complete and return the signed ``onestop-file/1`` answer;
    404 when the attach event is not on the server, 409 with the missing chunk ids."""
    if req.desk != desk_id:
        raise ApiError(403, "forbidden", "Quầy chỉ ghi nhận được tệp của chính mình.")
    event = _attach_event(db, req.desk, req.seq)
    if event is None:
        raise ApiError(
            404, "unknown_event", "Máy chủ chưa có sự kiện đính kèm này; gửi sự kiện trước."
        )
    if event.kind != EventKind.ATTACH or event.data.get("sha256") != req.sha256:
        raise ApiError(422, "not_attach", "Sự kiện này không đính kèm tệp có mã băm đã nêu.")
    size = int(event.data.get("size", 0))
    ack = FileAck(req.desk, req.seq, req.sha256, size, now_epoch())
    if is_complete(db, req.sha256):
        return sign_file_ack(signer, ack)
    index = [str(c) for c in event.data.get("index") or []]
    chunks = [str(c) for c in event.data.get("chunks") or []]
    if index:
        lacking = store.missing(index)
        if lacking:
            raise _incomplete(lacking)
        try:
            chunks = _read_index(store, index, size)
        except ChunkStoreError as e:
            raise ApiError(422, "bad_index", f"Danh sách khối của tệp bị hỏng: {e}") from e
    lacking = store.missing(chunks)
    if lacking:
        raise _incomplete(lacking)
    h = hashlib.sha256()
    total = 0
    try:
        for c in chunks:
            piece = store.get(c)
            total += len(piece)
            h.update(piece)
    except ChunkStoreError as e:
        raise ApiError(500, "damaged", f"Khối lưu trên máy chủ bị hỏng: {e}") from e
    if total != size or h.hexdigest() != req.sha256:
        raise ApiError(422, "hash_mismatch", "Tệp ghép lại không khớp mã băm đã ghi nhận.")
    with db.write() as conn:
        conn.execute(
            repo.insert_ignore(db, FILE, ["sha256"]),
            [
                {
                    "sha256": req.sha256,
                    "size": size,
                    "chunk_count": len(chunks),
                    "desk_id": req.desk,
                    "seq": req.seq,
                    "completed_at": ack.server_time,
                }
            ],
        )
    return sign_file_ack(signer, ack)


# ----------------------------------------------------------------------------- staff side


def dossier_files(db: ServerDB, code: str) -> list[tuple[Attachment, bool]]:
    """The dossier's attachments (detached ones left out) and whether the server holds each."""
    with db.read() as conn:
        rows = repo.events_of_dossiers(conn=conn, codes=[code]).get(code, [])
        events: list[Event] = []
        for d, _seq, body in rows:
            with suppress(EventFormatError, ValueError):
                events.append(Event.from_body(d, body))
        attachments = fold(events)
        done = {
            str(r[0])
            for r in conn.execute(
                select(FILE.c.sha256).where(FILE.c.sha256.in_([a.sha256 for a in attachments]))
            )
        }
    return [(a, a.sha256 in done) for a in attachments]


def find_file(db: ServerDB, code: str, file_id: str) -> Attachment | None:
    """A complete file of the dossier by id (a prefix of its SHA-256), else None."""
    wanted = file_id.strip().lower()
    hits = [a for a, ok in dossier_files(db, code) if ok and wanted and a.sha256.startswith(wanted)]
    if len(hits) != 1:
        return None
    return hits[0]


def chunk_ids(store: ChunkStore, a: Attachment) -> list[str]:
    return list(a.chunks) if a.chunks else _read_index(store, a.index, a.size)


def stream_file(store: ChunkStore, chunks: list[str]) -> Iterator[bytes]:
    for c in chunks:
        yield store.get(c)


def as_json(a: Attachment, complete: bool) -> dict[str, Any]:
    return {**a.as_dict(), "on_server": complete}


__all__ = [
    "DATA_DIR_ENV",
    "STORE_ENV",
    "ChunkStore",
    "ChunkStoreError",
    "FsChunkStore",
    "StoreConfigError",
    "as_json",
    "chunk_ids",
    "commit",
    "data_dir",
    "dossier_files",
    "find_file",
    "is_complete",
    "check_store",
    "open_store",
    "seal_chunk",
    "store_kind",
    "stream_file",
    "unseal_chunk",
]
