"""Operator actions on a server database, for ``onestop server …`` and ``onestop sync import``.

No FastAPI here: these run in the CLI process against the same database the workers use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from onestop.server import repo
from onestop.server.db import ServerDB, backend_label, migrate
from onestop.server.enroll import IssuedCode, issue_code, revoke_desk
from onestop.server.errors import ApiError
from onestop.server.ingest import ingest_batch
from onestop.server.keys import ServerKeyError, server_signer
from onestop.server.reference import NAMES, publish, seed
from onestop.wire.base import WireError
from onestop.wire.bundle import decode_bundle

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


def import_bundle(db: ServerDB, path: Path) -> ImportOutcome:
    """Apply a desk's bundle file as if it had arrived over HTTP (same checks, same ack)."""
    try:
        bundle = decode_bundle(path.read_bytes())
    except OSError as e:
        raise AdminError(f"Không đọc được tệp {path}: {e.strerror or e}") from e
    except WireError as e:
        raise AdminError(f"Tệp gói đồng bộ không hợp lệ: {e}") from e
    try:
        signer = server_signer(db)
    except ServerKeyError as e:
        raise AdminError(str(e)) from e
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
    return ImportOutcome(bundle.desk, result.inserted, result.acked_seq, result.replay)


def desk_list(db: ServerDB) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(select(repo.DESK).order_by(repo.DESK.c.desk_id)).mappings().all()
    return [
        {
            "desk_id": r["desk_id"],
            "desk_name": r["desk_name"],
            "status": r["status"],
            "acked_seq": int(r["acked_seq"]),
            "last_seen_at": r["last_seen_at"],
            "kid": bytes(r["kid"]).hex(),
        }
        for r in rows
    ]
