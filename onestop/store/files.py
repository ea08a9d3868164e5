"""The desk's file store: scanned papers, encrypted and content-addressed, beside the database.

Layout: ``<db stem>.files/`` next to the desk database (``desk.sqlite`` -> ``desk.files/``),
mode 0700, one file per chunk (mode 0600) in 256 sub-folders named by the first two hex digits
of the chunk's on-disk name.

* A file is cut into 64 KiB pieces (``domain/attachments.CHUNK_SIZE``). A chunk's **id** is the
  SHA-256 of its plaintext (what the event log records and what sync will exchange).
* Its **name on disk** is ``HMAC-SHA256(names_key, id)`` in hex: a stolen folder does not say
  which known document (a published form, a well-known ID card copy) is present.
* Its **content on disk** is ``b"OSC1" || nonce (12 random bytes) || AES-256-GCM(content_key,
  nonce, id || plaintext, aad = b"OSC1" || name)``. The AAD binds the ciphertext to its name
  and therefore to its id (the name is the HMAC of the id): a chunk copied under another name
  does not decrypt. The id travels inside the ciphertext so :meth:`FileStore.verify_all` can
  check every chunk on disk — decrypts, id matches the name, SHA-256 of the plaintext matches
  the id — without the event log. (The brief said ``aad = id``; binding the name instead is the
  same binding and keeps the folder self-verifying.)
* ``names_key`` and ``content_key`` are HKDF-SHA256 of the store's **root key** (salt
  ``b"onestop files v1"``, infos ``b"chunk names"`` / ``b"chunk content"``). The service layer
  picks the root key (``services/attachments.py``): the desk's SQLCipher data key, or — on a
  plain desk, and on a desk encrypted after its store was created — a random per-desk secret
  kept in the desk's settings table. A plain desk's files are therefore only as safe as its
  database: whoever can read ``desk.sqlite`` can read ``desk.files/``.

Writes: every missing chunk is written to a temp file (``os.write``), ``fsync``'ed, renamed to
its name, and the sub-folders are ``fsync``'ed before :meth:`put` returns. Only then does the
caller record the manifest (an ``attach`` event) — so a crash or a full disk in between can
leave chunk files no manifest references (orphans), never a manifest without its chunks.
:meth:`garbage` removes orphans (and temp files left by a crash). Any ``OSError`` becomes a
:class:`FileStoreError` with a Vietnamese message; the temp file is removed.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import secrets
import stat
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from onestop.domain.attachments import (
    CHUNK_SIZE,
    ID_BYTES,
    MAX_FILE_BYTES,
    is_chunk_id,
    missing_chunks,
)
from onestop.i18n import t

__all__ = [
    "FileRef",
    "FileStore",
    "FileStoreError",
    "VerifyReport",
    "files_dir",
]

MAGIC: Final = b"OSC1"
_NONCE: Final = 12
_TAG: Final = 16
_SALT: Final = b"onestop files v1"
_TMP_PREFIX: Final = ".tmp-"
FILES_SUFFIX: Final = ".files"


def files_dir(db: Path) -> Path:
    """``desk.sqlite`` -> ``desk.files`` (same folder, copied together with the database)."""
    return db.with_name(db.stem + FILES_SUFFIX)


class FileStoreError(Exception):
    """A file could not be stored or read back; ``str(e)`` is Vietnamese. Nothing half-stored."""


@dataclass(frozen=True)
class FileRef:
    sha256: str  # hex of the whole file
    size: int
    chunks: list[str] = field(default_factory=list)  # chunk ids (hex), in order


@dataclass
class VerifyReport:
    chunks: int = 0  # chunk files that verified
    damaged: list[str] = field(default_factory=list)  # on-disk names that failed
    missing: list[str] = field(default_factory=list)  # referenced chunk ids not on disk
    temp_files: int = 0  # left by an interrupted write (garbage removes them)

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.missing


def _hkdf(root: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=info).derive(root)


def _io_error(e: OSError, folder: Path) -> FileStoreError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return FileStoreError(
            t(
                "Ổ đĩa đã đầy, không lưu được bản số hóa vào {p}. Chưa ghi nhận gì; "
                "hãy giải phóng dung lượng rồi làm lại.",
                p=folder,
            )
        )
    return FileStoreError(
        t(
            "Lỗi đọc/ghi kho tệp số hóa {p}: {e}. Chưa ghi nhận gì.",
            p=folder,
            e=e.strerror or e,
        )
    )


class FileStore:
    """Chunks of one desk's files. ``root_key``: 32 secret bytes (see the module docstring)."""

    def __init__(self, folder: Path, root_key: bytes) -> None:
        if len(root_key) < 32:
            raise ValueError("the file store root key is at least 32 bytes")
        self.folder = folder
        self._names_key = _hkdf(root_key, b"chunk names")
        self._aead = AESGCM(_hkdf(root_key, b"chunk content"))

    # ------------------------------------------------------------------ naming

    def name_of(self, chunk_id: str) -> str:
        """The on-disk name of a chunk (HMAC of its id)."""
        return hmac.new(self._names_key, bytes.fromhex(chunk_id), hashlib.sha256).hexdigest()

    def _path(self, name: str) -> Path:
        return self.folder / name[:2] / name

    def _ensure_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with suppress(OSError):
            os.chmod(self.folder, 0o700)

    # ------------------------------------------------------------------ writing

    def put(self, data: bytes) -> FileRef:
        """Store ``data``; idempotent (chunks already present are not written again)."""
        if not data:
            raise FileStoreError(t("Tệp rỗng (0 byte): không có gì để lưu."))
        if len(data) > MAX_FILE_BYTES:
            raise FileStoreError(
                t(
                    "Tệp quá lớn ({n} MB, tối đa {max} MB).",
                    n=len(data) // (1024 * 1024),
                    max=MAX_FILE_BYTES // (1024 * 1024),
                )
            )
        view = memoryview(data)
        ids: list[str] = []
        touched: set[Path] = set()
        try:
            self._ensure_folder()
            for off in range(0, len(data), CHUNK_SIZE):
                piece = bytes(view[off : off + CHUNK_SIZE])
                cid = hashlib.sha256(piece).hexdigest()
                ids.append(cid)
                sub = self._write_chunk(cid, piece)
                if sub is not None:
                    touched.add(sub)
            for sub in sorted(touched):
                _fsync_dir(sub)
            if touched:
                _fsync_dir(self.folder)
        except OSError as e:
            raise _io_error(e, self.folder) from e
        return FileRef(hashlib.sha256(data).hexdigest(), len(data), ids)

    def put_chunk(self, chunk_id: str, data: bytes) -> None:
        """Store one chunk received from elsewhere (sync); refused unless ``id == sha256(data)``."""
        if not is_chunk_id(chunk_id) or len(data) > CHUNK_SIZE:
            raise FileStoreError(t("Khối dữ liệu không hợp lệ."))
        if hashlib.sha256(data).hexdigest() != chunk_id:
            raise FileStoreError(t("Khối dữ liệu không khớp mã băm của nó; không lưu."))
        try:
            self._ensure_folder()
            sub = self._write_chunk(chunk_id, data)
            if sub is not None:
                _fsync_dir(sub)
                _fsync_dir(self.folder)
        except OSError as e:
            raise _io_error(e, self.folder) from e

    def put_chunk_list(self, ids: list[str]) -> FileRef:
        """Store a chunk list (the ids as 32-byte binary, one after the other) as a file."""
        return self.put(b"".join(bytes.fromhex(c) for c in ids))

    def _write_chunk(self, chunk_id: str, plain: bytes) -> Path | None:
        """Write one chunk unless present; the sub-folder to fsync if a file was created."""
        name = self.name_of(chunk_id)
        path = self._path(name)
        if path.exists():
            return None
        path.parent.mkdir(mode=0o700, exist_ok=True)
        nonce = secrets.token_bytes(_NONCE)
        sealed = (
            MAGIC
            + nonce
            + self._aead.encrypt(
                nonce, bytes.fromhex(chunk_id) + plain, MAGIC + bytes.fromhex(name)
            )
        )
        tmp = path.parent / f"{_TMP_PREFIX}{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            try:
                view = memoryview(sealed)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                tmp.unlink()
            raise
        return path.parent

    # ------------------------------------------------------------------ reading

    def has_chunk(self, chunk_id: str) -> bool:
        return is_chunk_id(chunk_id) and self._path(self.name_of(chunk_id)).is_file()

    def missing(self, chunk_ids: Iterable[str]) -> list[str]:
        """The ids (in the order given, once each) this store does not hold."""
        return missing_chunks(chunk_ids, self.has_chunk)

    def get_chunk(self, chunk_id: str) -> bytes:
        """One chunk's plaintext, verified (decrypts, carries this id, hashes to it)."""
        if not is_chunk_id(chunk_id):
            raise FileStoreError(t("Mã khối không hợp lệ."))
        name = self.name_of(chunk_id)
        try:
            raw = self._path(name).read_bytes()
        except FileNotFoundError as e:
            raise FileStoreError(
                t("Thiếu một khối của tệp ({id}…) trong kho tệp.", id=chunk_id[:12])
            ) from e
        except OSError as e:
            raise _io_error(e, self.folder) from e
        plain = self._open(name, raw)
        if plain is None or plain[:ID_BYTES] != bytes.fromhex(chunk_id):
            raise FileStoreError(t("Khối {id}… của tệp bị hỏng hoặc đã bị sửa.", id=chunk_id[:12]))
        data = plain[ID_BYTES:]
        if hashlib.sha256(data).hexdigest() != chunk_id:
            raise FileStoreError(t("Khối {id}… của tệp bị hỏng hoặc đã bị sửa.", id=chunk_id[:12]))
        return data

    def _open(self, name: str, raw: bytes) -> bytes | None:
        if len(raw) < len(MAGIC) + _NONCE + _TAG + ID_BYTES or raw[: len(MAGIC)] != MAGIC:
            return None
        nonce = raw[len(MAGIC) : len(MAGIC) + _NONCE]
        try:
            return self._aead.decrypt(
                nonce, raw[len(MAGIC) + _NONCE :], MAGIC + bytes.fromhex(name)
            )
        except (InvalidTag, ValueError):
            return None

    def get(self, ref: FileRef) -> bytes:
        """The whole file, every chunk verified, then its size and SHA-256."""
        out = bytearray()
        for cid in ref.chunks:
            out += self.get_chunk(cid)
        data = bytes(out)
        if len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha256:
            raise FileStoreError(t("Tệp ghép lại không khớp mã băm đã ghi nhận; không mở."))
        return data

    def read_chunk_list(self, index: list[str], size: int) -> list[str]:
        """The chunk ids kept in a chunk-list file (``index``: its own chunk ids)."""
        out = bytearray()
        for cid in index:
            out += self.get_chunk(cid)
        if len(out) != -(-size // CHUNK_SIZE) * ID_BYTES:
            raise FileStoreError(t("Danh sách khối của tệp bị hỏng."))
        return [out[i : i + ID_BYTES].hex() for i in range(0, len(out), ID_BYTES)]

    # ------------------------------------------------------------------ checking, cleaning

    def _files(self) -> Iterable[Path]:
        if not self.folder.is_dir():
            return
        for sub in sorted(self.folder.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                yield from sorted(sub.iterdir())

    def chunk_files(self) -> list[Path]:
        """Every chunk file (temp files left out), for backups."""
        return [p for p in self._files() if not p.name.startswith(_TMP_PREFIX)]

    def verify_all(self, referenced: Iterable[str] | None = None) -> VerifyReport:
        """Check every chunk on disk (decrypts, id matches its name, plaintext hashes to its id)
        and, with ``referenced``, that each of those chunk ids is present."""
        report = VerifyReport()
        for p in self._files():
            if p.name.startswith(_TMP_PREFIX):
                report.temp_files += 1
                continue
            if not self.verify_file(p):
                report.damaged.append(p.name)
            else:
                report.chunks += 1
        if referenced is not None:
            report.missing = self.missing(referenced)
        return report

    def verify_file(self, p: Path) -> bool:
        """One chunk file (possibly outside the store, e.g. staged by a restore) is genuine."""
        try:
            st = p.lstat()
            if not stat.S_ISREG(st.st_mode) or st.st_size > CHUNK_SIZE + 128:
                return False
            raw = p.read_bytes()
        except OSError:
            return False
        plain = self._open(p.name, raw) if _is_name(p.name) else None
        if plain is None:
            return False
        cid = plain[:ID_BYTES].hex()
        return self.name_of(cid) == p.name and hashlib.sha256(plain[ID_BYTES:]).hexdigest() == cid

    def garbage(self, referenced_chunk_ids: Iterable[str], *, min_age_s: float = 0.0) -> int:
        """Remove chunk files no manifest references (and stale temp files) whose last change
        is at least ``min_age_s`` old (an attach running elsewhere writes its chunks before
        it records the manifest); returns how many were removed."""
        keep = {self.name_of(c) for c in referenced_chunk_ids if is_chunk_id(c)}
        removed = 0
        cutoff = time.time() - min_age_s
        try:
            for p in list(self._files()):
                if p.name not in keep and (min_age_s <= 0 or p.stat().st_mtime < cutoff):
                    p.unlink()
                    removed += 1
        except OSError as e:
            raise _io_error(e, self.folder) from e
        return removed


def _is_name(name: str) -> bool:
    return is_chunk_id(name)


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # pragma: no cover
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
