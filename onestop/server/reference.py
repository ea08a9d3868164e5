"""Reference data the server hands down to desks, versioned for cheap pulls.

Items (each a byte string, versioned by one server-wide counter):

* ``catalogue``   — the procedure catalogue CSV (same format as assets/catalogue);
* ``calendar``    — province calendar overrides, CBOR ``[[ "YYYY-MM-DD", kind, note ], ...]``;
* ``units``       — administrative units CSV (assets/units format);
* ``trust``       — the province trust list container (crypto/trust.py), if published;
* ``revocations`` — CBOR ``[[desk_id, kid, revoked_at], ...]``, rewritten on every revoke.

A desk sends the version it holds as ``cursor`` (and the ETag it got last time as
If-None-Match); items newer than the cursor come back, and an unchanged pull is a 304 with no
body. The catalogue and units are seeded from the shipped assets at first start.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select, update

from onestop.crypto.trust import TrustError, read_trust_bundle
from onestop.domain.calendar import DayKind
from onestop.domain.catalogue import CatalogueError, parse_catalogue
from onestop.paths import asset_path
from onestop.server import repo
from onestop.server.db import ServerDB
from onestop.server.errors import ApiError
from onestop.wire.base import dumps, now_epoch

NAMES = ("catalogue", "calendar", "units", "trust", "revocations")
_COUNTER = "reference_version"


def _next_version(conn: Connection, db: ServerDB) -> int:
    conn.execute(
        repo.insert_ignore(db, repo.SETTING, ["key"]),
        [{"key": _COUNTER, "value": (0).to_bytes(8, "big")}],
    )
    row = conn.execute(
        select(repo.SETTING.c.value).where(repo.SETTING.c.key == _COUNTER).with_for_update()
    ).one()
    version = int.from_bytes(bytes(row[0]), "big") + 1
    conn.execute(
        update(repo.SETTING)
        .where(repo.SETTING.c.key == _COUNTER)
        .values(value=version.to_bytes(8, "big"))
    )
    return version


def _put(conn: Connection, db: ServerDB, name: str, data: bytes, now: int) -> int | None:
    """Store ``data`` as the new version of ``name``; None (no new version) if unchanged."""
    digest = hashlib.sha256(data).digest()
    old = conn.execute(select(repo.REFERENCE.c.sha256).where(repo.REFERENCE.c.name == name)).first()
    if old is not None and bytes(old[0]) == digest:
        return None
    version = _next_version(conn, db)
    conn.execute(
        repo.upsert(db, repo.REFERENCE, ["name"]),
        [{"name": name, "version": version, "sha256": digest, "data": data, "updated_at": now}],
    )
    return version


def validate(name: str, data: bytes) -> bytes:
    """Refuse reference data a desk could not use (ApiError 400 with the reason)."""
    try:
        text = data.decode("utf-8-sig") if name in ("catalogue", "calendar", "units") else ""
    except UnicodeDecodeError as e:
        raise ApiError(400, "bad_reference", f"{name}: tệp không phải UTF-8.") from e
    if name == "catalogue":
        try:
            parse_catalogue(text, source="catalogue")
        except CatalogueError as e:
            raise ApiError(400, "bad_reference", str(e)) from e
        return text.encode()
    if name == "units":
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows or not {"code", "name", "level", "parent_code"} <= set(rows[0]):
            raise ApiError(400, "bad_reference", "units: cần các cột code,name,level,parent_code.")
        return text.encode()
    if name == "calendar":
        days: list[list[str]] = []
        for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or row[0].strip().lower() in ("", "day"):
                continue
            try:
                day = date.fromisoformat(row[0].strip())
                kind = DayKind(row[1].strip())
            except (ValueError, IndexError) as e:
                raise ApiError(
                    400, "bad_reference", f"calendar dòng {n}: cần «YYYY-MM-DD,kind,ghi chú»."
                ) from e
            days.append([day.isoformat(), kind.value, row[2].strip() if len(row) > 2 else ""])
        return dumps(days)
    if name == "trust":
        try:
            read_trust_bundle(data)
        except TrustError as e:
            raise ApiError(400, "bad_reference", str(e)) from e
        return data
    raise ApiError(400, "bad_reference", f"Loại dữ liệu tham chiếu không hỗ trợ: {name}.")


def publish(db: ServerDB, name: str, data: bytes, *, now: int | None = None) -> int | None:
    """Validate and publish one item; returns its new version (None if unchanged)."""
    clean = validate(name, data)
    with db.write() as conn:
        return _put(conn, db, name, clean, now_epoch() if now is None else now)


def publish_revocations(*, conn: Connection, db: ServerDB, now: int) -> None:
    rows = conn.execute(
        select(repo.DESK.c.desk_id, repo.DESK.c.kid, repo.DESK.c.revoked_at)
        .where(repo.DESK.c.status == "revoked")
        .order_by(repo.DESK.c.desk_id)
    ).all()
    _put(conn, db, "revocations", dumps([[r[0], bytes(r[1]), r[2]] for r in rows]), now)


def seed(db: ServerDB, *, now: int | None = None) -> None:
    """Catalogue and units from the shipped assets, the first time only."""
    now = now_epoch() if now is None else now
    with db.write() as conn:
        have = {r[0] for r in conn.execute(select(repo.REFERENCE.c.name)).all()}
        for name, path in (
            ("catalogue", asset_path("catalogue", "procedures.csv")),
            ("units", asset_path("units", "units.csv")),
        ):
            if name not in have:
                _put(conn, db, name, path.read_bytes(), now)


def reference_data(*, conn: Connection, name: str) -> bytes | None:
    row = conn.execute(select(repo.REFERENCE.c.data).where(repo.REFERENCE.c.name == name)).first()
    return None if row is None else bytes(row[0])


def current_version(*, conn: Connection) -> int:
    return int(
        conn.execute(select(func.coalesce(func.max(repo.REFERENCE.c.version), 0))).scalar_one()
    )


def changed_since(*, conn: Connection, cursor: int) -> tuple[int, dict[str, dict[int, Any]]]:
    """(current version, {name: {1: version, 2: data}}) of items newer than ``cursor``."""
    rows = conn.execute(
        select(repo.REFERENCE.c.name, repo.REFERENCE.c.version, repo.REFERENCE.c.data).where(
            repo.REFERENCE.c.version > cursor
        )
    ).all()
    items = {str(r[0]): {1: int(r[1]), 2: bytes(r[2])} for r in rows}
    return current_version(conn=conn), items
