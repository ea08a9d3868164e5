"""Encrypted backups of a desk, and restoring them without ever risking the live database.

What a backup holds: a consistent copy of the desk database taken online with ``VACUUM INTO``
on a *read* connection (in WAL mode a reader never blocks the writer, so the clerk keeps
receiving dossiers while it runs; the copy is one snapshot, compacted, and on an encrypted
desk SQLCipher writes it encrypted under the same key), plus the files of the desk's keys
folder (``<db>.keys/``: the desk signing key, itself encrypted under the official's
passphrase, and the province trust list), so a restore on a new laptop can sign and sync, and
every chunk file of the desk's file store (``<db stem>.files/``, the scanned papers: each chunk
already AES-256-GCM under the store's key, and sealed once more here).

The copy is made next to the live database (never on the backup medium: a USB stick pulled
out mid-way must not keep a plaintext copy), then streamed through authenticated encryption
into ``onestop-<desk_id>-<YYYYmmdd-HHMMSS>.osbk`` in the target folder, written under a temp
name, fsync'ed and renamed; the temp copy is deleted whatever happens.

File format ``onestop-backup/1``::

    magic    8 bytes   b"OSBK\\x00\\x01\\r\\n"
    hlen     4 bytes   big-endian length of the header
    header   hlen      UTF-8 JSON object, keys sorted (fields below)
    chunks             each: 4-byte big-endian length L, then L bytes = AES-256-GCM
                       ciphertext || 16-byte tag of up to ``chunk_size`` plaintext bytes

    header = {"format": "onestop-backup/1", "desk_id", "created_at" (local ISO time),
              "app_version", "chunk_size" (1 MiB), "nonce_prefix" (4 random bytes, b64),
              "members": [{"name": "desk.sqlite" | "keys/<file>" | "files/<chunk name>",
                           "size": bytes}, ...],
              "files": true (the file store is included; absent in older backups),
              "db_encrypted": bool, "keyring": b64 of the keyring file | null,
              "summary": {"dossiers", "events", "last_event_at"},
              "wrap": {"kind": "data-key", "salt", "nonce", "key"}
                    | {"kind": "passphrase", "n", "r", "p", "salt", "nonce", "key"}}

The plaintext stream is the members one after the other (sizes in the header), each member
file opened only while its bytes are streamed (a store of thousands of chunks keeps memory and
open files bounded). Chunk ``i``
is sealed with a random per-backup *content key*, nonce = ``nonce_prefix || i`` (8 bytes
big-endian) and AAD = ``SHA-256(magic || header) || i (8 bytes) || final`` (1 byte, 1 only on
the last chunk). So a flipped bit anywhere in the header or a chunk, a reordered or dropped
chunk, a file cut at a chunk boundary (no chunk carries the final flag) or bytes appended
after the final chunk are all detected, and ``restore`` refuses the file.

The content key is wrapped (AES-256-GCM, AAD ``b"onestop backup v1"``) under a key-encryption
key:

* encrypted desk (SQLCipher, ``Desk.data_key`` set): KEK = HKDF-SHA256(data_key, salt,
  info=``b"onestop backup v1"``). The header carries a copy of the keyring file (the data key
  wrapped under each account's password), so a restore on a new machine works with any
  admin's username and password: ``keyring.unlock`` gives the data key, which both unwraps the
  content key and opens the restored SQLCipher file;
* plain desk: KEK = scrypt(passphrase, salt, n, r=8, p=1); the passphrase comes from
  ``--passphrase-file``, ``ONESTOP_BACKUP_PASSPHRASE`` or a hidden prompt.

The header itself is not secret: desk id, creation time, sizes, counts of dossiers and events.

Restore (``restore_backup``) verifies every tag and the final flag in a first pass before it
writes anything, decrypts into a temp file beside the target, runs ``PRAGMA integrity_check``,
migrates a backup of an older schema forward, runs ``Desk.rebuild(fix=False)`` (projections
and hash chains), verifies every staged chunk of the file store (it decrypts under the root key
of the *staged* database — its SQLCipher data key, or the ``files_secret`` setting of a plain
desk —, carries the id its name is the HMAC of, and hashes to it) and that every chunk of every
live ``attach`` manifest is present, and only then, after the caller's confirmation, swaps
atomically: the live database is checkpointed, hard-linked (or copied) to
``<db>.before-restore-<ts>`` and replaced with ``os.replace``; the live ``<stem>.files/`` is
renamed ``<stem>.files.before-restore-<ts>`` beside it and the staged folder renamed into its
place. A backup made before the file store was included (no ``"files"`` in its header) leaves
the live ``<stem>.files/`` where it is. Close the desk first: a desk busy in another program makes the checkpoint
fail (or leaves a non-empty WAL) and the restore is refused; an idle desk left open elsewhere is
not detectable this way and would keep writing into the kept previous file.

Automatic daily backups: ``maybe_backup(desk, now)`` — the TUI calls it from a background
thread worker (it blocks for the copy and the encryption), ``onestop backup --auto`` from
cron or a systemd timer. It runs at most once per calendar day into the desk setting
``backup_dir`` (e.g. a USB stick mount) and keeps the newest ``backup_keep`` (default 7)
backups of this desk there.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import text

from onestop import __version__
from onestop.crypto import kdf
from onestop.domain import b64
from onestop.domain.attachments import is_chunk_id
from onestop.domain.clock import vn_now
from onestop.domain.roles import Permission, RoleError, require_permission
from onestop.i18n import t
from onestop.paths import fsync_folder
from onestop.services.desk import Desk, DeskError, NotInitialisedError
from onestop.services.setting_keys import S_FILES_SECRET
from onestop.store import keyring, migrate
from onestop.store.engine import Store, StoreKeyError, fold_wal, raw_connection
from onestop.store.files import FileStore, files_dir

__all__ = [
    "BACKUP_SUFFIX",
    "BackupError",
    "BackupInfo",
    "BackupOutcome",
    "BackupResult",
    "DbSummary",
    "RestorePlan",
    "authorise_restore",
    "backup_dir_setting",
    "create_backup",
    "data_key_of",
    "maybe_backup",
    "prepare_restore",
    "read_backup_info",
    "rotate",
]

MAGIC: Final = b"OSBK\x00\x01\r\n"
FORMAT: Final = "onestop-backup/1"
BACKUP_SUFFIX: Final = ".osbk"
CHUNK_SIZE: Final = 1024 * 1024
WRAP_AAD: Final = b"onestop backup v1"
HKDF_INFO: Final = b"onestop backup v1"
PASSPHRASE_ENV: Final = "ONESTOP_BACKUP_PASSPHRASE"
_MAX_HEADER: Final = 64 * 1024 * 1024  # the keyring copy is small; this bounds junk input
_MAX_CHUNK: Final = 64 * 1024 * 1024
DB_MEMBER: Final = "desk.sqlite"
FILES_PREFIX: Final = "files/"
KEYS_PREFIX: Final = "keys/"

# Desk settings (key/value rows; they travel with the database).
S_DIR: Final = "backup_dir"
S_KEEP: Final = "backup_keep"
S_LAST_AUTO: Final = "backup_last_auto_at"
S_LAST_ATTEMPT: Final = "backup_last_attempt_at"
S_LAST_ERROR: Final = "backup_last_error"
S_LAST_FILE: Final = "backup_last_file"
DEFAULT_KEEP: Final = 7
RETRY_AFTER: Final = timedelta(hours=1)  # after a failed automatic backup (USB stick missing)

Progress = Callable[[int, int], None]


class BackupError(DeskError):
    """A backup or restore that cannot go on; ``str(e)`` says why in Vietnamese.

    Raised before anything of the live database was touched."""


# ----------------------------------------------------------------------------- small helpers


def _unb64(value: object, what: str) -> bytes:
    try:
        return b64.std_decode(value)
    except ValueError as e:
        raise BackupError(t("Tệp sao lưu hỏng: trường {f} không hợp lệ.", f=what)) from e


def _scrypt_n() -> int:
    try:
        return kdf.scrypt_n()
    except kdf.KdfSettingError as e:
        raise BackupError(str(e)) from e


def data_key_of(desk: Desk) -> bytes | None:
    """The desk's SQLCipher data key, or None for a plain SQLite desk."""
    return desk.data_key or None


def _keyring_path(db: Path) -> Path:
    return keyring.keyring_path(db)


def _unlock_keyring(keyring_bytes: bytes, username: str, password: str) -> bytes:
    try:
        return keyring.unlock(keyring_bytes, username, password)
    except keyring.KeyringError as e:
        raise WrongKeyError(
            t("Tên đăng nhập hoặc mật khẩu không mở được bản sao lưu: {e}", e=e)
        ) from e


def _open_store(path: Path, key: bytes | None) -> Store:
    try:
        return Store(path, key=key)
    except StoreKeyError as e:
        raise BackupError(str(e)) from e


# ----------------------------------------------------------------------------- key wrapping


def _kek_from_data_key(data_key: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=HKDF_INFO).derive(data_key)


def _kek_from_passphrase(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    secret = passphrase.encode("utf-8")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(secret)


def _wrap(kek: bytes, content_key: bytes) -> tuple[bytes, bytes]:
    nonce = secrets.token_bytes(12)
    return nonce, AESGCM(kek).encrypt(nonce, content_key, WRAP_AAD)


def _unwrap(kek: bytes, wrap: dict[str, Any]) -> bytes:
    nonce = _unb64(wrap.get("nonce"), "wrap.nonce")
    blob = _unb64(wrap.get("key"), "wrap.key")
    try:
        key = AESGCM(kek).decrypt(nonce, blob, WRAP_AAD)
    except (InvalidTag, ValueError) as e:
        raise WrongKeyError(
            t("Sai mật khẩu bản sao lưu (hoặc sai tài khoản): không mở được khóa của tệp.")
        ) from e
    if len(key) != 32:
        raise BackupError(t("Tệp sao lưu hỏng: khóa nội dung sai độ dài."))
    return key


class WrongKeyError(BackupError):
    """The passphrase, account or data key does not open this backup."""


@dataclass(frozen=True)
class Credentials:
    """What may open a backup: a passphrase (plain desk) or a data key / account (encrypted)."""

    passphrase: str | None = None
    data_key: bytes | None = None
    username: str | None = None
    password: str | None = None


# ----------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class DbSummary:
    desk_id: str
    dossiers: int
    events: int
    last_event_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "desk_id": self.desk_id,
            "dossiers": self.dossiers,
            "events": self.events,
            "last_event_at": self.last_event_at,
        }


def _summary_of(desk: Desk) -> DbSummary:
    with desk.store.read() as db:
        dossiers = int(db.execute(text("SELECT count(*) FROM dossier")).scalar_one())
        events = int(db.execute(text("SELECT count(*) FROM event")).scalar_one())
        last = db.execute(text("SELECT max(at) FROM event")).scalar_one()
    return DbSummary(desk.identity.desk_id, dossiers, events, None if last is None else str(last))


# ----------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    summary: DbSummary
    encrypted_db: bool
    duration_s: float
    members: tuple[str, ...] = ()


def backup_name(desk_id: str, when: datetime) -> str:
    return f"onestop-{desk_id}-{when:%Y%m%d-%H%M%S}{BACKUP_SUFFIX}"


def _remove_stale_temps(folder: Path, prefix: str) -> None:
    """Temp copies left by a killed backup (never on the backup medium: see module doc)."""
    cutoff = time.time() - 3600
    for p in folder.glob(prefix + "*"):
        with suppress(OSError):
            if p.stat().st_mtime < cutoff:
                p.unlink()


@contextmanager
def _snapshot(desk: Desk) -> Iterator[Path]:
    """A consistent copy of the live database (``VACUUM INTO`` on a read connection)."""
    db_path = desk.store.path
    prefix = f".{db_path.name}.backup-"
    _remove_stale_temps(db_path.parent, prefix)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=db_path.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # VACUUM INTO wants a path that does not exist yet
    try:
        raw = desk.store.read_engine.raw_connection()
        try:
            conn: Any = raw.driver_connection
            # The engine's connections are in driver autocommit (see store/engine.py), so no
            # transaction is open and VACUUM may run; the snapshot is the read's start.
            conn.execute("VACUUM INTO ?", (str(tmp),))
        finally:
            raw.close()
        yield tmp
    except sqlite3.Error as e:
        raise BackupError(t("Không sao chép được cơ sở dữ liệu: {e}", e=e)) from e
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with suppress(OSError):
                Path(str(tmp) + suffix).unlink()


def _key_files(db_path: Path) -> list[Path]:
    from onestop.services.keys import keys_dir

    folder = keys_dir(db_path)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _chunk_files(desk: Desk) -> list[Path]:
    """Every chunk file of the desk's file store (none if the store was never used)."""
    from onestop.services import attachments as att

    key = att.root_key_from({S_FILES_SECRET: desk.setting(S_FILES_SECRET)}, data_key_of(desk))
    if key is None:
        return []
    return FileStore(files_dir(desk.store.path), key).chunk_files()


def _sizes(members: list[tuple[str, Path]]) -> list[tuple[str, int]]:
    try:
        return [(name, p.stat().st_size) for name, p in members]
    except OSError as e:
        raise BackupError(
            t("Không đọc được {p} để sao lưu: {e}", p=e.filename, e=e.strerror or e)
        ) from e


def create_backup(
    desk: Desk,
    to_dir: Path,
    *,
    passphrase: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> BackupResult:
    """Write an encrypted backup of ``desk`` into ``to_dir``; returns where and what.

    An encrypted desk wraps the content key under its data key (``passphrase`` is ignored); a
    plain desk needs ``passphrase`` (``BackupError`` without one). Nothing is left behind on
    failure: neither the temp copy of the database nor a partial backup file.
    """
    started = time.monotonic()
    data_key = data_key_of(desk)
    if data_key is None and not passphrase:
        raise BackupError(
            t(
                "Cần mật khẩu cho bản sao lưu (quầy chưa mã hóa cơ sở dữ liệu): dùng "
                "--passphrase-file, biến {env} hoặc nhập khi được hỏi.",
                env=PASSPHRASE_ENV,
            )
        )
    _check_folder(to_dir)
    when = now or desk.clock()
    content_key = AESGCM.generate_key(bit_length=256)
    salt = secrets.token_bytes(16)
    wrap: dict[str, Any]
    keyring_copy: bytes | None = None
    if data_key is not None:
        kek = _kek_from_data_key(data_key, salt)
        nonce, blob = _wrap(kek, content_key)
        wrap = {
            "kind": "data-key",
            "salt": b64.std_encode(salt),
            "nonce": b64.std_encode(nonce),
            "key": b64.std_encode(blob),
        }
        ring = _keyring_path(desk.store.path)
        if ring.exists():
            keyring_copy = ring.read_bytes()
    else:
        assert passphrase is not None
        n = _scrypt_n()
        kek = _kek_from_passphrase(passphrase, salt, n, kdf.SCRYPT_R, kdf.SCRYPT_P)
        nonce, blob = _wrap(kek, content_key)
        wrap = {
            "kind": "passphrase",
            "n": n,
            "r": kdf.SCRYPT_R,
            "p": kdf.SCRYPT_P,
            "salt": b64.std_encode(salt),
            "nonce": b64.std_encode(nonce),
            "key": b64.std_encode(blob),
        }
    with _snapshot(desk) as copy:
        summary, _unreadable = _current_summary(copy, data_key)
        if summary is None:
            raise BackupError(t("Bản sao vừa tạo không đọc được; chưa ghi bản sao lưu nào."))
        members: list[tuple[str, Path]] = [(DB_MEMBER, copy)]
        members += [(f"{KEYS_PREFIX}{p.name}", p) for p in _key_files(desk.store.path)]
        # After the snapshot: every chunk it references is already on disk (chunks are written
        # before their manifest); chunks written since are orphans to the copy, harmless.
        members += [(f"{FILES_PREFIX}{p.name}", p) for p in _chunk_files(desk)]
        sizes = _sizes(members)
        header = {
            "format": FORMAT,
            "desk_id": desk.identity.desk_id,
            "created_at": when.isoformat(timespec="seconds"),
            "app_version": __version__,
            "chunk_size": chunk_size,
            "nonce_prefix": b64.std_encode(secrets.token_bytes(4)),
            "members": [{"name": name, "size": size} for name, size in sizes],
            "db_encrypted": data_key is not None,
            "files": True,
            "keyring": b64.std_encode(keyring_copy) if keyring_copy is not None else None,
            "summary": summary.as_dict(),
            "wrap": wrap,
        }
        target = to_dir / backup_name(desk.identity.desk_id, when)
        total = sum(size for _, size in sizes)
        size = _write_encrypted(target, header, members, sizes, content_key, total, progress)
    return BackupResult(
        path=target,
        size=size,
        summary=summary,
        encrypted_db=data_key is not None,
        duration_s=time.monotonic() - started,
        members=tuple(name for name, _ in sizes),
    )


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise BackupError(
            t(
                "Thư mục sao lưu {p} không tồn tại (chưa cắm USB hoặc chưa gắn ổ?).",
                p=folder,
            )
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BackupError(t("Không ghi được vào thư mục sao lưu {p}.", p=folder))


def _header_bytes(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _aad(header_hash: bytes, index: int, final: bool) -> bytes:
    return header_hash + struct.pack(">QB", index, 1 if final else 0)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">Q", index)


def _plain_chunks(
    members: list[tuple[str, Path]], sizes: list[tuple[str, int]], chunk_size: int
) -> Iterator[bytes]:
    """The members' bytes one after the other, cut in ``chunk_size`` pieces; one member file
    open at a time. A member whose size changed since the header was written (a chunk removed
    by a garbage run meanwhile) stops the backup: the header would not match the stream."""
    buf = bytearray()
    for (name, path), (_, size) in zip(members, sizes, strict=True):
        read = 0
        try:
            with path.open("rb") as f:
                while True:
                    piece = f.read(min(chunk_size - len(buf), size - read + 1))
                    if not piece:
                        break
                    read += len(piece)
                    if read > size:
                        break
                    buf += piece
                    if len(buf) == chunk_size:
                        yield bytes(buf)
                        buf.clear()
        except FileNotFoundError:
            read = -1
        if read != size:
            raise BackupError(
                t(
                    "Tệp {name} thay đổi trong lúc sao lưu (có việc khác đang chạy?); "
                    "chưa ghi bản sao lưu nào, hãy sao lưu lại.",
                    name=name,
                )
            )
    yield bytes(buf)  # the last (maybe short, maybe empty) chunk carries the final flag


def _write_encrypted(
    target: Path,
    header: dict[str, Any],
    members: list[tuple[str, Path]],
    sizes: list[tuple[str, int]],
    content_key: bytes,
    total: int,
    progress: Progress | None,
) -> int:
    header_raw = _header_bytes(header)
    header_hash = hashlib.sha256(MAGIC + header_raw).digest()
    prefix = b64.std_decode(header["nonce_prefix"])
    chunk_size = int(header["chunk_size"])
    aead = AESGCM(content_key)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + struct.pack(">I", len(header_raw)) + header_raw)
            done = 0
            chunks = _plain_chunks(members, sizes, chunk_size)
            current = next(chunks)
            index = 0
            # One piece of look-ahead: the piece with nothing after it carries the final flag
            # (it may be short, or empty when the size is a multiple of the chunk size).
            for upcoming in chunks:
                _seal(out, aead, prefix, header_hash, index, current, False)
                done += len(current)
                index += 1
                if progress is not None:
                    progress(done, total)
                current = upcoming
            _seal(out, aead, prefix, header_hash, index, current, True)
            done += len(current)
            if progress is not None:
                progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
        fsync_folder(target.parent)
    except OSError as e:
        with suppress(OSError):
            tmp.unlink()
        raise BackupError(t("Không ghi được bản sao lưu vào {p}: {e}", p=target.parent, e=e)) from e
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    return target.stat().st_size


def _seal(
    out: IO[bytes],
    aead: AESGCM,
    prefix: bytes,
    header_hash: bytes,
    index: int,
    plain: bytes,
    final: bool,
) -> None:
    sealed = aead.encrypt(_nonce(prefix, index), plain, _aad(header_hash, index, final))
    out.write(struct.pack(">I", len(sealed)) + sealed)


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class BackupInfo:
    """The parsed (not yet authenticated) header of a backup file."""

    path: Path
    header: dict[str, Any]
    header_hash: bytes
    data_offset: int
    file_size: int

    @property
    def desk_id(self) -> str:
        return str(self.header.get("desk_id", ""))

    @property
    def wrap_kind(self) -> str:
        wrap = self.header.get("wrap")
        return str(wrap.get("kind", "")) if isinstance(wrap, dict) else ""

    @property
    def created_at(self) -> str:
        return str(self.header.get("created_at", ""))

    @property
    def members(self) -> list[tuple[str, int]]:
        return [(str(m["name"]), int(m["size"])) for m in self.header["members"]]


def _member_name_ok(name: str) -> bool:
    if name.startswith(KEYS_PREFIX):
        rest = name[len(KEYS_PREFIX) :]
        return "/" not in rest and rest not in ("", ".", "..")
    if name.startswith(FILES_PREFIX):
        return is_chunk_id(name[len(FILES_PREFIX) :])  # 64 lowercase hex: no path tricks
    return False


def _damaged(why: str) -> BackupError:
    return BackupError(
        t(
            "Tệp sao lưu bị hỏng hoặc đã bị sửa ({why}); không khôi phục từ tệp này. "
            "Cơ sở dữ liệu hiện tại không bị thay đổi.",
            why=why,
        )
    )


def read_backup_info(path: Path) -> BackupInfo:
    """Parse the magic and header of ``path`` (their integrity is proven by the chunks)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(len(MAGIC) + 4)
            if len(head) < len(MAGIC) + 4 or head[: len(MAGIC)] != MAGIC:
                raise BackupError(t("{p} không phải tệp sao lưu onestop (.osbk).", p=path))
            (hlen,) = struct.unpack(">I", head[len(MAGIC) :])
            if hlen > _MAX_HEADER or hlen > size:
                raise _damaged(t("phần đầu tệp"))
            raw = f.read(hlen)
    except OSError as e:
        raise BackupError(t("Không đọc được tệp {p}: {e}", p=path, e=e.strerror or e)) from e
    if len(raw) != hlen:
        raise _damaged(t("tệp bị cắt cụt"))
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("format")
        members = header["members"]
        if not isinstance(members, list) or not members or members[0].get("name") != DB_MEMBER:
            raise ValueError("members")
        for m in members:
            name, msize = m["name"], m["size"]
            if not isinstance(name, str) or not isinstance(msize, int) or msize < 0:
                raise ValueError("member")
            if name != DB_MEMBER and not _member_name_ok(name):
                raise ValueError("member name")
        chunk = header["chunk_size"]
        if not isinstance(chunk, int) or not 1 <= chunk <= _MAX_CHUNK:
            raise ValueError("chunk_size")
        if len(_unb64(header.get("nonce_prefix"), "nonce_prefix")) != 4:
            raise ValueError("nonce_prefix")
        if not isinstance(header.get("wrap"), dict):
            raise ValueError("wrap")
    except (ValueError, KeyError, TypeError, AttributeError, BackupError) as e:
        raise _damaged(t("phần đầu tệp")) from e
    return BackupInfo(
        path=path,
        header=header,
        header_hash=hashlib.sha256(MAGIC + raw).digest(),
        data_offset=len(MAGIC) + 4 + hlen,
        file_size=size,
    )


def open_keys(info: BackupInfo, creds: Credentials) -> tuple[bytes, bytes | None]:
    """(content key, data key of an encrypted desk or None); ``WrongKeyError`` if ``creds``
    do not open the backup."""
    wrap: dict[str, Any] = info.header["wrap"]
    salt = _unb64(wrap.get("salt"), "wrap.salt")
    kind = wrap.get("kind")
    if kind == "passphrase":
        if not creds.passphrase:
            raise WrongKeyError(t("Cần mật khẩu của bản sao lưu."))
        try:
            n, r, p = int(wrap["n"]), int(wrap["r"]), int(wrap["p"])
            if not (2**10 <= n <= 2**20) or n & (n - 1) or not 1 <= r <= 16 or not 1 <= p <= 4:
                raise ValueError("scrypt")
        except (KeyError, TypeError, ValueError) as e:
            raise _damaged(t("phần đầu tệp")) from e
        return _unwrap(_kek_from_passphrase(creds.passphrase, salt, n, r, p), wrap), None
    if kind != "data-key":
        raise _damaged(t("phần đầu tệp"))
    candidates: list[bytes] = []
    if creds.data_key:
        candidates.append(creds.data_key)
    ring = info.header.get("keyring")
    if creds.username and creds.password is not None:
        if not isinstance(ring, str):
            raise WrongKeyError(t("Bản sao lưu không mang bản sao sổ khóa tài khoản."))
        candidates.append(_unlock_keyring(_unb64(ring, "keyring"), creds.username, creds.password))
    if not candidates:
        raise WrongKeyError(
            t("Bản sao lưu của quầy đã mã hóa: cần tên đăng nhập và mật khẩu quản trị.")
        )
    error: WrongKeyError | None = None
    for key in candidates:
        try:
            return _unwrap(_kek_from_data_key(key, salt), wrap), key
        except WrongKeyError as e:
            error = e
    assert error is not None
    raise error


def _iter_plain(info: BackupInfo, ckey: bytes, progress: Progress | None = None) -> Iterator[bytes]:
    """Decrypt and authenticate every chunk, in order; raise on any damage, at the end too."""
    aead = AESGCM(ckey)
    prefix = b64.std_decode(info.header["nonce_prefix"])
    max_sealed = int(info.header["chunk_size"]) + 16
    total = sum(size for _, size in info.members)
    done = 0
    try:
        with info.path.open("rb") as f:
            f.seek(info.data_offset)
            index = 0
            while True:
                head = f.read(4)
                if not head:
                    raise _damaged(t("tệp bị cắt cụt, thiếu phần cuối"))
                if len(head) != 4:
                    raise _damaged(t("tệp bị cắt cụt"))
                (n,) = struct.unpack(">I", head)
                if not 16 <= n <= max_sealed:
                    raise _damaged(t("độ dài khối {i} sai", i=index))
                sealed = f.read(n)
                if len(sealed) != n:
                    raise _damaged(t("tệp bị cắt cụt"))
                nonce = _nonce(prefix, index)
                try:
                    plain = aead.decrypt(nonce, sealed, _aad(info.header_hash, index, False))
                    final = False
                except InvalidTag:
                    try:
                        plain = aead.decrypt(nonce, sealed, _aad(info.header_hash, index, True))
                        final = True
                    except InvalidTag as e:
                        raise _damaged(t("khối dữ liệu {i} sai mã xác thực", i=index)) from e
                done += len(plain)
                if done > total:
                    raise _damaged(t("dữ liệu dài hơn phần đầu tệp ghi"))
                yield plain
                if progress is not None:
                    progress(done, total)
                index += 1
                if final:
                    if f.read(1):
                        raise _damaged(t("có dữ liệu lạ sau khối cuối"))
                    break
    except OSError as e:
        raise BackupError(t("Không đọc được tệp {p}: {e}", p=info.path, e=e.strerror or e)) from e
    if done != total:
        raise _damaged(t("dữ liệu ngắn hơn phần đầu tệp ghi"))


def verify_backup(info: BackupInfo, ckey: bytes, progress: Progress | None = None) -> None:
    """Authenticate the whole file without writing anything."""
    for _ in _iter_plain(info, ckey, progress):
        pass


# ----------------------------------------------------------------------------- restoring


@dataclass
class RestorePlan:
    """A verified backup decrypted next to the target, waiting for confirmation.

    ``commit()`` swaps it in; ``discard()`` (also on ``with`` exit without commit) deletes it."""

    target: Path
    info: BackupInfo
    backup: DbSummary
    current: DbSummary | None
    current_unreadable: bool
    data_key: bytes | None
    staged: Path
    staged_keys: dict[str, Path] = field(default_factory=dict)
    committed: Path | None = None  # the kept previous database, once committed
    staged_files: Path | None = None  # the verified file store (a backup that includes it)
    files_kept: Path | None = None  # where the previous file store went, once committed
    chunks: int = 0  # chunk files restored (each verified)

    @property
    def different_desk(self) -> bool:
        if self.current is None:
            return self.current_unreadable
        return self.current.desk_id != self.backup.desk_id

    def commit(self, *, now: datetime) -> Path | None:
        """Atomically replace the target; returns where the previous database was kept."""
        stamp = f"{now:%Y%m%d-%H%M%S}"
        kept: Path | None = None
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if self.target.exists():
            if self.current_unreadable:
                _refuse_if_in_use(self.target)  # cannot open it: at least no live WAL
            else:
                _checkpoint_or_refuse(self.target, self.data_key)
            kept = self.target.with_name(f"{self.target.name}.before-restore-{stamp}")
            try:
                os.link(self.target, kept)
            except OSError:
                shutil.copy2(self.target, kept)
        live_files = files_dir(self.target)
        if self.staged_files is not None and live_files.exists():
            # Kept beside the kept database, as that one is (the old desk stays whole).
            self.files_kept = live_files.with_name(f"{live_files.name}.before-restore-{stamp}")
            os.replace(live_files, self.files_kept)
        os.replace(self.staged, self.target)
        if self.staged_files is not None:
            os.replace(self.staged_files, live_files)
            self.staged_files = None
        for suffix in ("-wal", "-shm"):
            with suppress(OSError):
                Path(str(self.target) + suffix).unlink()
        fsync_folder(self.target.parent)
        self._install_keys(stamp)
        self.committed = kept
        return kept

    def _install_keys(self, stamp: str) -> None:
        from onestop.services.keys import keys_dir

        if self.staged_keys:
            folder = keys_dir(self.target)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for name, staged in self.staged_keys.items():
                dest = folder / name
                if dest.exists():
                    if dest.read_bytes() == staged.read_bytes():
                        staged.unlink()
                        continue
                    os.replace(dest, dest.with_name(f"{name}.before-restore-{stamp}"))
                os.replace(staged, dest)
        ring = self.info.header.get("keyring")
        ring_path = _keyring_path(self.target)
        if not isinstance(ring, str) and ring_path.exists():
            # A plain backup over an encrypted desk: its keyring no longer fits the database.
            os.replace(ring_path, ring_path.with_name(f"{ring_path.name}.before-restore-{stamp}"))
        if isinstance(ring, str):
            data = b64.std_decode(ring)
            if ring_path.exists() and ring_path.read_bytes() != data:
                os.replace(
                    ring_path, ring_path.with_name(f"{ring_path.name}.before-restore-{stamp}")
                )
            keyring.write_keyring(ring_path, data)

    def discard(self) -> None:
        for p in [self.staged, *self.staged_keys.values()]:
            for suffix in ("", "-wal", "-shm"):
                with suppress(OSError):
                    Path(str(p) + suffix).unlink()
        staged_files = files_dir(self.staged)
        if staged_files.exists():
            shutil.rmtree(staged_files, ignore_errors=True)

    def __enter__(self) -> RestorePlan:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.committed is None:
            self.discard()


def _checkpoint_or_refuse(path: Path, key: bytes | None) -> None:
    """Fold the WAL into the main file so the kept copy is complete; refuse if in use."""
    try:
        folded = fold_wal(path, key)
    except Exception as e:  # noqa: BLE001 - sqlite3 and sqlcipher3 have distinct error types
        raise BackupError(t("Không đọc được cơ sở dữ liệu hiện tại {p}: {e}", p=path, e=e)) from e
    if not folded:
        raise _in_use(path)
    _refuse_if_in_use(path)


def _in_use(path: Path) -> BackupError:
    return BackupError(
        t(
            "Cơ sở dữ liệu {p} đang được một chương trình khác dùng (quầy đang mở?). "
            "Đóng quầy rồi khôi phục lại; chưa thay đổi gì.",
            p=path,
        )
    )


def _refuse_if_in_use(path: Path) -> None:
    wal = Path(str(path) + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise _in_use(path)


def _require_restore(roles: tuple[str, ...]) -> None:
    try:
        require_permission(roles, Permission.RESTORE)
    except RoleError as e:
        raise BackupError(str(e)) from e


def authorise_restore(
    target: Path, info: BackupInfo, creds: Credentials, *, now: datetime | None = None
) -> Credentials:
    """Only an admin restores (``Permission.RESTORE``): checked before anything is decrypted.

    * ``target`` has a keyring (a live encrypted desk): ``creds`` must log in to *that* keyring
      (lockout counted) as an account holding the permission, whatever opens the backup — a
      clerk's password, or only the passphrase of a plain desk's backup, never replaces it;
    * no live keyring, a backup of an encrypted desk opened with an account: that account must
      hold the permission in the backup's own keyring (an admin restores on a new laptop);
    * no live keyring, a plain desk's backup: there is no account to check (as before).

    A data key given without an account is the programmatic API, which already holds the
    database. Returns ``creds`` with the data key the login unlocked (it opens a backup of the
    same desk without a second key derivation).
    """
    if creds.username is None and creds.data_key is not None:
        return creds
    ring_path = _keyring_path(target)
    if ring_path.exists():
        if not creds.username or creds.password is None:
            raise BackupError(
                t(
                    "Quầy {p} đã được mã hóa: chỉ quản trị viên được khôi phục bản sao lưu; "
                    "hãy đăng nhập bằng tài khoản quản trị.",
                    p=target,
                )
            )
        try:
            account, data_key = keyring.login(
                ring_path, creds.username, creds.password, now=now or vn_now()
            )
        except keyring.KeyringError as e:
            raise BackupError(str(e)) from e
        _require_restore(account.roles)
        return replace(creds, data_key=data_key)
    ring = info.header.get("keyring")
    if info.wrap_kind != "data-key" or not creds.username or not isinstance(ring, str):
        return creds  # a passphrase backup; or nothing to log in with (open_keys refuses)
    ring_bytes = _unb64(ring, "keyring")
    data_key = _unlock_keyring(ring_bytes, creds.username, creds.password or "")
    _require_restore(keyring.account(ring_bytes, creds.username).roles)
    return replace(creds, data_key=data_key)


def prepare_restore(
    backup_path: Path,
    target: Path,
    creds: Credentials,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> RestorePlan:
    """Verify ``backup_path`` completely, decrypt it beside ``target`` and check the copy.

    Touches nothing of ``target``. Raises ``BackupError`` (``WrongKeyError`` for a wrong
    passphrase or account) with a Vietnamese message on any problem; first of all, unless an
    admin asks (``authorise_restore``).
    """
    info = read_backup_info(backup_path)
    creds = authorise_restore(target, info, creds, now=now)
    ckey, data_key = open_keys(info, creds)
    verify_backup(info, ckey)  # pass 1: every tag and the final flag, nothing written
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.restore-", suffix=".tmp", dir=target.parent)
    staged = Path(name)
    plan = RestorePlan(
        target=target,
        info=info,
        backup=DbSummary(info.desk_id, 0, 0, None),
        current=None,
        current_unreadable=False,
        data_key=data_key,
        staged=staged,
    )
    try:
        with os.fdopen(fd, "wb") as db_out:
            _split_members(info, ckey, db_out, plan, progress)
            db_out.flush()
            os.fsync(db_out.fileno())
        plan.backup, plan.chunks = _check_restored(staged, data_key, info)
        if info.header.get("files") is True:
            plan.staged_files = files_dir(staged)
            plan.staged_files.mkdir(mode=0o700, exist_ok=True)
        plan.current, plan.current_unreadable = _current_summary(target, data_key)
    except BaseException:
        plan.discard()
        raise
    return plan


def _open_member(name: str, plan: RestorePlan) -> tuple[IO[bytes], Path | None]:
    """Where member ``name`` (not the database) is staged: keys as temp files beside the
    target, chunks in ``<staged stem>.files/`` laid out like a file store (0700/0600); and the
    folder to fsync for a chunk."""
    if name.startswith(KEYS_PREFIX):
        fd, tmp = tempfile.mkstemp(prefix=".restore-key-", dir=plan.target.parent)
        plan.staged_keys[name[len(KEYS_PREFIX) :]] = Path(tmp)
        return os.fdopen(fd, "wb"), None
    chunk = name[len(FILES_PREFIX) :]
    sub = files_dir(plan.staged) / chunk[:2]
    sub.parent.mkdir(mode=0o700, exist_ok=True)
    sub.mkdir(mode=0o700, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(sub / chunk, flags, 0o600), "wb"), sub


def _close_member(out: IO[bytes]) -> None:
    out.flush()
    os.fsync(out.fileno())
    out.close()


def _split_members(
    info: BackupInfo, ckey: bytes, db_out: IO[bytes], plan: RestorePlan, progress: Progress | None
) -> None:
    """Write each member where it is staged, one output open at a time (bounded memory and
    file handles for thousands of chunks); chunk files are fsynced, then their folders."""
    members = info.members
    i, left = 0, members[0][1]
    out: IO[bytes] = db_out
    touched: set[Path] = set()

    def advance() -> None:
        nonlocal out, i, left
        if out is not db_out:
            _close_member(out)
        out = db_out  # until the next one is open (a failed open must not close db_out twice)
        i += 1
        out, folder = _open_member(members[i][0], plan)
        if folder is not None:
            touched.add(folder)
        left = members[i][1]

    try:
        for plain in _iter_plain(info, ckey, progress):
            view = memoryview(plain)
            while view:
                while left == 0 and i + 1 < len(members):
                    advance()
                take = min(left, len(view))
                out.write(view[:take])
                view = view[take:]
                left -= take
        while i + 1 < len(members):  # empty members after the last byte exist too
            advance()
        if out is not db_out:
            _close_member(out)
            out = db_out
    finally:
        if out is not db_out:
            out.close()
    for folder in sorted(touched):
        fsync_folder(folder)
    if touched:
        fsync_folder(files_dir(plan.staged))


def _verify_staged_files(desk: Desk) -> int:
    """Every staged chunk verifies under the staged database's root key, and every chunk of
    every live ``attach`` manifest is present; returns how many chunk files there are."""
    from onestop.services import attachments as att

    folder = files_dir(desk.store.path)
    root = att.root_key_from({S_FILES_SECRET: desk.setting(S_FILES_SECRET)}, desk.data_key)
    if root is None:  # the store was never used by this desk: there may be no chunk
        if folder.exists() and any(p.is_file() for p in folder.rglob("*")):
            raise _damaged(t("kho tệp số hóa không có khóa trong cơ sở dữ liệu"))
        return 0
    report = att.verify_files(desk)
    if report.damaged:
        raise _damaged(t("{n} khối của kho tệp số hóa không xác thực được", n=len(report.damaged)))
    if report.missing:
        raise _damaged(
            t(
                "thiếu {n} khối của các bản số hóa đang đính kèm (kho tệp không đầy đủ)",
                n=len(report.missing),
            )
        )
    return report.chunks


def _check_restored(staged: Path, key: bytes | None, info: BackupInfo) -> tuple[DbSummary, int]:
    store = _open_store(staged, key)
    try:
        try:
            with store.read() as db:
                ok = str(db.execute(text("PRAGMA integrity_check")).scalar_one())
        except Exception as e:  # noqa: BLE001
            raise BackupError(t("Bản sao lưu không mở được như một cơ sở dữ liệu: {e}", e=e)) from e
        if ok != "ok":
            raise BackupError(t("Cơ sở dữ liệu trong bản sao lưu không toàn vẹn: {e}", e=ok))
        try:
            migrate.upgrade(store.write_engine, keep_copy=False)  # a staged copy already
        except Exception as e:  # noqa: BLE001 - a schema newer than this program
            raise BackupError(
                t(
                    "Bản sao lưu được tạo bởi phiên bản onestop mới hơn (hoặc cấu trúc lạ): {e}",
                    e=e,
                )
            ) from e
        try:
            desk = Desk(store)
        except NotInitialisedError as e:
            raise BackupError(t("Bản sao lưu không chứa một quầy đã khởi tạo.")) from e
        report = desk.rebuild(fix=False)
        if not report.ok:
            problems = [*report.chain_errors, *report.fixed][:5]
            raise BackupError(
                t(
                    "Dữ liệu trong bản sao lưu không nhất quán (chuỗi băm hoặc hồ sơ): {p}",
                    p="; ".join(problems),
                )
            )
        summary = _summary_of(desk)
        if summary.desk_id != info.desk_id:
            raise _damaged(t("mã quầy trong tệp khác phần đầu"))
        chunks = _verify_staged_files(desk) if info.header.get("files") is True else 0
        raw = store.write_engine.raw_connection()
        try:
            # Everything into the main file: only that file is moved into place.
            cast(Any, raw.driver_connection).execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        return summary, chunks
    finally:
        store.close()


def _current_summary(target: Path, key: bytes | None) -> tuple[DbSummary | None, bool]:
    """(summary of the database about to be replaced, True if it exists but cannot be read)."""
    if not target.exists():
        return None, False
    try:
        conn = raw_connection(target, key)
    except Exception:  # noqa: BLE001
        return None, True
    try:
        settings = dict(conn.execute("SELECT key, value FROM setting").fetchall())
        dossiers = int(conn.execute("SELECT count(*) FROM dossier").fetchone()[0])
        events = int(conn.execute("SELECT count(*) FROM event").fetchone()[0])
        last = conn.execute("SELECT max(at) FROM event").fetchone()[0]
    except Exception:  # noqa: BLE001 - encrypted with another key, damaged, not a desk
        return None, True
    finally:
        conn.close()
    if "unit_eid" not in settings:
        return None, False
    desk_id = f"{settings.get('commune_code', '')}-{int(settings.get('desk_no', '0')):02d}"
    return DbSummary(desk_id, dossiers, events, None if last is None else str(last)), False


# ----------------------------------------------------------------------------- automatic


@dataclass(frozen=True)
class BackupOutcome:
    """What ``maybe_backup`` did: ``done``, ``skipped`` (not due, not configured) or ``failed``."""

    status: str
    message: str
    path: Path | None = None


def backup_dir_setting(desk: Desk) -> Path | None:
    raw = desk.setting(S_DIR).strip()
    return Path(raw).expanduser() if raw else None


def keep_setting(desk: Desk) -> int:
    raw = desk.setting(S_KEEP, str(DEFAULT_KEEP)).strip()
    return int(raw) if raw.isdigit() and int(raw) >= 1 else DEFAULT_KEEP


def configure(desk: Desk, folder: Path | None, keep: int | None = None) -> None:
    """Set (or with ``folder=None`` clear) the automatic backup folder and how many to keep."""
    desk.require(Permission.BACKUP_SETTINGS)
    desk.set_setting(S_DIR, str(folder) if folder is not None else "")
    if keep is not None:
        if keep < 1:
            raise BackupError(t("Số bản sao lưu giữ lại phải từ 1 trở lên."))
        desk.set_setting(S_KEEP, str(keep))


def rotate(folder: Path, desk_id: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of ``desk_id`` in ``folder``; return deleted."""
    mine = sorted(folder.glob(f"onestop-{desk_id}-*{BACKUP_SUFFIX}"), key=lambda p: p.name)
    doomed = mine[: max(0, len(mine) - keep)]
    removed: list[Path] = []
    for p in doomed:
        with suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


def _auto_passphrase() -> str | None:
    return os.environ.get(PASSPHRASE_ENV) or None


def maybe_backup(
    desk: Desk,
    now: datetime,
    *,
    passphrase: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> BackupOutcome:
    """The automatic daily backup: at most one per calendar day, into setting ``backup_dir``.

    For the TUI: call it from a ``@work(thread=True)`` worker (it blocks for the copy and the
    encryption; the desk keeps working meanwhile), e.g. every few minutes, and show
    ``message`` when ``status == "failed"``. For cron and systemd timers: ``onestop backup
    --auto``. Never raises for a missing or unwritable folder (USB stick not plugged in): the
    outcome says so, the error is kept in setting ``backup_last_error``, and the next attempt
    is allowed one hour later. A plain (not encrypted) desk needs ``passphrase`` or
    ``ONESTOP_BACKUP_PASSPHRASE``.
    """
    folder = backup_dir_setting(desk)
    if folder is None:
        return BackupOutcome("skipped", t("Chưa cấu hình thư mục sao lưu tự động."))
    if not force:
        last = _parse_dt(desk.setting(S_LAST_AUTO))
        if last is not None and last.date() >= now.date():
            return BackupOutcome("skipped", t("Hôm nay đã sao lưu tự động."))
        attempt = _parse_dt(desk.setting(S_LAST_ATTEMPT))
        if attempt is not None and desk.setting(S_LAST_ERROR) and now - attempt < RETRY_AFTER:
            return BackupOutcome("skipped", t("Đợi thử lại sao lưu tự động sau lần lỗi trước."))
    desk.set_setting(S_LAST_ATTEMPT, now.isoformat(timespec="seconds"))
    try:
        result = create_backup(
            desk, folder, passphrase=passphrase or _auto_passphrase(), now=now, progress=progress
        )
        removed = rotate(folder, desk.identity.desk_id, keep_setting(desk))
    except (BackupError, OSError) as e:
        message = str(e) if isinstance(e, BackupError) else t("Lỗi ghi tệp: {e}", e=e)
        desk.set_setting(S_LAST_ERROR, message)
        return BackupOutcome("failed", message)
    desk.set_setting(S_LAST_AUTO, now.isoformat(timespec="seconds"))
    desk.set_setting(S_LAST_ERROR, "")
    desk.set_setting(S_LAST_FILE, str(result.path))
    return BackupOutcome(
        "done",
        t(
            "Đã sao lưu tự động vào {p} (xóa {n} bản cũ).",
            p=result.path,
            n=len(removed),
        ),
        result.path,
    )


def _parse_dt(raw: str) -> datetime | None:
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None
