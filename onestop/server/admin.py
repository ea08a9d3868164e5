"""Operator actions on a server database, for ``onestop server …`` and ``onestop sync import``.

No FastAPI here: these run in the CLI process against the same database the workers use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from onestop.crypto.seal import SealError, ecdh_key_for, open_sealed, recipient_kids
from onestop.crypto.signer import SoftwareSigner
from onestop.server import repo
from onestop.server.db import ServerDB, backend_label, migrate
from onestop.server.enroll import IssuedCode, issue_code, revoke_desk
from onestop.server.errors import ApiError
from onestop.server.ingest import ingest_batch
from onestop.server.keys import ServerKeyError, server_signer
from onestop.server.models import ServerEventAhead, metadata
from onestop.server.reference import NAMES, publish, seed
from onestop.wire.base import WireError
from onestop.wire.bundle import MAX_BUNDLE_READ_BYTES, SealedBundle, decode_bundle
from onestop.wire.files import is_truncated, read_bounded

__all__ = [
    "AdminError",
    "ImportOutcome",
    "desk_list",
    "import_bundle",
    "new_enroll_code",
    "open_db",
    "publish_file",
    "revoke",
]


class AdminError(Exception):
    """Refused operator input; the message says why (Vietnamese)."""


def open_db(url: str) -> ServerDB:
    try:
        db = ServerDB(url)
    except ValueError as e:
        raise AdminError(str(e)) from e
    migrate(db)
    seed(db)
    return db


def describe(db: ServerDB) -> str:
    return backend_label(db)


def new_enroll_code(
    db: ServerDB, *, commune: str, desk_name: str, desk_no: int | None = None
) -> IssuedCode:
    try:
        return issue_code(db, commune=commune, desk_name=desk_name, desk_no=desk_no)
    except ApiError as e:
        raise AdminError(e.message) from e


def revoke(db: ServerDB, desk_id: str) -> bool:
    return revoke_desk(db, desk_id)


def publish_file(db: ServerDB, name: str, path: Path) -> int | None:
    if name not in NAMES or name == "revocations":
        raise AdminError(f"Loại dữ liệu phải là một trong: {', '.join(NAMES[:-1])}.")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise AdminError(f"Không đọc được tệp {path}: {e.strerror or e}") from e
    try:
        return publish(db, name, data)
    except ApiError as e:
        raise AdminError(e.message) from e


@dataclass(frozen=True)
class ImportOutcome:
    desk: str
    inserted: int
    acked_seq: int
    replay: bool
    files: int = 0  # scanned files the bundle carried, now complete on the server


def _server_opener(signer: SoftwareSigner) -> Callable[[SealedBundle], bytes]:
    """Decrypts an ``onestop-bundle/2`` or ``/3`` with the server key (wire/bundle.py, crypto/seal.py)."""

    def open_(sb: SealedBundle) -> bytes:
        try:
            if signer.kid not in recipient_kids(sb.sealed):
                raise AdminError(
                    f"Gói này không dành cho máy chủ tỉnh này: gói của quầy {sb.desk} không được "
                    "mã hóa cho khóa của máy chủ (quầy đã đăng ký với máy chủ khác, hoặc chưa "
                    "đăng ký). Hãy đăng ký quầy với máy chủ này rồi xuất lại gói."
                )
            return open_sealed(sb.sealed, signer.kid, ecdh_key_for(signer), aad=sb.aad)
        except SealError as e:
            raise AdminError(f"Tệp gói đồng bộ không hợp lệ: {e}") from e

    return open_


def import_bundle(db: ServerDB, path: Path) -> ImportOutcome:
    """Apply a desk's bundle file as if it had arrived over HTTP (same checks, same ack).

    Encrypted bundles (onestop-bundle/2) are checked against their outer signature, then
    opened with the server key; plain onestop-bundle/1 files of earlier versions are still
    accepted. Either way the batch inside is authenticated by ``ingest_batch`` against the key
    the desk enrolled with, exactly as online.
    """
    try:
        signer = server_signer(db)
    except ServerKeyError as e:
        raise AdminError(str(e)) from e
    try:
        # Bounded before reading: /dev/zero, a FIFO or a 2 GB file is refused, never loaded.
        data = read_bounded(path, MAX_BUNDLE_READ_BYTES)
    except OSError as e:
        raise AdminError(f"Không đọc được tệp {path}: {e.strerror or e}") from e
    except WireError as e:
        raise AdminError(f"Tệp gói đồng bộ không hợp lệ: {e}") from e
    try:
        bundle = decode_bundle(data, opener=_server_opener(signer))
    except WireError as e:
        if not data or is_truncated(e):
            raise AdminError(
                f"Tệp gói {path.name} không đầy đủ (bị cắt ngang khi chép). Hãy chép lại tệp "
                "từ máy của quầy gửi rồi nhập lại."
            ) from e
        raise AdminError(f"Tệp gói đồng bộ không hợp lệ: {e}") from e
    carried = _check_carried(bundle)
    try:
        result = ingest_batch(
            db,
            signer,
            body=bundle.batch,
            encoding=bundle.encoding,
            idempotency_key=None,
            allow_overlap=True,
        )
    except ApiError as e:
        raise AdminError(e.message) from e
    files = _store_carried(db, signer, bundle.desk, carried) if carried else 0
    return ImportOutcome(bundle.desk, result.inserted, result.acked_seq, result.replay, files)


def _check_carried(bundle: Any) -> tuple[list[Any], dict[str, bytes]] | None:
    """The scanned files an ``onestop-bundle/3`` carries, each checked against its signed
    manifest in the batch (wire.bundle.carried_files) before anything is stored."""
    from onestop.domain.events import Event, EventFormatError
    from onestop.wire.bundle import carried_files
    from onestop.wire.codec import decompress
    from onestop.wire.messages import split_batch

    if not bundle.files and not bundle.chunks:
        return None
    try:
        raw = split_batch(decompress(bundle.batch, bundle.encoding))
        events = [Event.from_body(bundle.desk, b) for b in raw.bodies]
        return carried_files(bundle, events)
    except (WireError, EventFormatError, ValueError) as e:
        raise AdminError(f"Tệp gói đồng bộ không hợp lệ: {e}. Chưa nhận gì.") from e


def _store_carried(
    db: ServerDB, signer: SoftwareSigner, desk: str, carried: tuple[list[Any], dict[str, bytes]]
) -> int:
    """Store the checked chunks, then record each file complete (files.commit reads it back
    and checks its hash): a file is never recorded without every chunk."""
    from onestop.server import files as server_files
    from onestop.wire.chunks import CommitRequest

    found, by_id = carried
    try:
        store = server_files.open_store(db, signer)
        for cid, piece in by_id.items():
            store.put(cid, piece)
        for f in found:
            a = f.attachment
            server_files.commit(db, store, signer, desk, CommitRequest(desk, a.seq, a.sha256))
    except (server_files.StoreConfigError, server_files.ChunkStoreError, OSError) as e:
        raise AdminError(
            f"Đã nhận các sự kiện nhưng chưa lưu được tệp số hóa trong gói: {e}. Nhập lại gói "
            "sau khi sửa (nhập lại không nhận trùng sự kiện nào)."
        ) from e
    except ApiError as e:
        raise AdminError(e.message) from e
    return len(found)


def desk_list(db: ServerDB) -> list[dict[str, Any]]:
    ahead_t = metadata.tables[ServerEventAhead.__tablename__]
    with db.read() as conn:
        rows = conn.execute(select(repo.DESK).order_by(repo.DESK.c.desk_id)).mappings().all()
        # Events whose time was ahead of the server's receipt (a fast desk clock; ingest.py).
        ahead: dict[str, int] = dict(
            conn.execute(select(ahead_t.c.desk_id, func.count()).group_by(ahead_t.c.desk_id)).all()
        )
    return [
        {
            "desk_id": r["desk_id"],
            "desk_name": r["desk_name"],
            "status": r["status"],
            "acked_seq": int(r["acked_seq"]),
            "last_seen_at": r["last_seen_at"],
            "kid": bytes(r["kid"]).hex(),
            "events_ahead": int(ahead.get(r["desk_id"], 0)),
        }
        for r in rows
    ]
