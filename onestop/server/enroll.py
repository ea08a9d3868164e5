"""Enrollment: one-time codes, registering a desk's public key, revoking a desk.

A code is issued by the province for one commune and one desk number (the next free one
unless given), shown once, stored only as SHA-256, valid 14 days, usable once. The desk proves
it holds the private key by signing its enrollment request (content type onestop-enroll/1)
with it; the server answers with its own public key, which the desk pins.

The desk number matters beyond display: it is part of every dossier code a desk issues
offline, so two desks of a commune must never share one (ARCHITECTURE: codes never collide).
The server assigns it; a fresh desk (no events yet) adopts it, a desk that already issued
codes must get a code for its own number.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from onestop.crypto.signer import InvalidPublicKeyError, Signer, kid_for
from onestop.server import repo
from onestop.server.db import ServerDB
from onestop.server.errors import ApiError
from onestop.server.reference import publish_revocations, reference_data
from onestop.services._wire import (
    ENROLL_CT,
    WireError,
    b64d,
    b64e,
    loads_strict,
    now_epoch,
    open_signed,
)

CODE_TTL = 14 * 24 * 3600
_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: read over the phone
_COMMUNE_RE = re.compile(r"^\d{5}$")


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def code_hash(code: str) -> bytes:
    return hashlib.sha256(_normalise(code).encode()).digest()


@dataclass(frozen=True)
class IssuedCode:
    code: str
    commune: str
    desk_no: int
    desk_name: str
    expires_at: int


def issue_code(
    db: ServerDB,
    *,
    commune: str,
    desk_name: str,
    desk_no: int | None = None,
    now: int | None = None,
) -> IssuedCode:
    now = now_epoch() if now is None else now
    commune = commune.strip()
    if not _COMMUNE_RE.match(commune):
        raise ApiError(400, "bad_commune", "Mã xã phải gồm đúng 5 chữ số, ví dụ 16279.")
    desk_name = desk_name.strip()
    if not desk_name or len(desk_name) > 100:
        raise ApiError(400, "bad_desk_name", "Tên quầy phải có từ 1 đến 100 ký tự.")
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
    with db.write() as conn:
        if desk_no is None:
            used = conn.execute(
                select(func.max(repo.DESK.c.desk_no)).where(repo.DESK.c.commune == commune)
            ).scalar()
            pending = conn.execute(
                select(func.max(repo.CODE.c.desk_no)).where(
                    repo.CODE.c.commune == commune,
                    repo.CODE.c.used_at.is_(None),
                    repo.CODE.c.expires_at > now,
                )
            ).scalar()
            desk_no = max(int(used or 0), int(pending or 0)) + 1
        if not 1 <= desk_no <= 99:
            raise ApiError(400, "bad_desk_no", "Số hiệu quầy phải từ 1 đến 99.")
        taken = repo.get_desk(conn=conn, desk_id=f"{commune}-{desk_no:02d}")
        if taken is not None and taken["status"] == "revoked":
            raise ApiError(
                409, "desk_revoked", f"Quầy {commune}-{desk_no:02d} đã bị thu hồi; dùng số khác."
            )
        conn.execute(
            repo.CODE.insert().values(
                code_hash=code_hash(code),
                commune=commune,
                desk_no=desk_no,
                desk_name=desk_name,
                created_at=now,
                expires_at=now + CODE_TTL,
            )
        )
    return IssuedCode(code, commune, desk_no, desk_name, now + CODE_TTL)


def _field(body: Any, key: str, kind: type) -> Any:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ApiError(400, "bad_request", f"Thiếu hoặc sai trường {key!r}.")
    return value


def enroll(db: ServerDB, signer: Signer, body: Any, *, now: int | None = None) -> dict[str, Any]:
    """Register the desk key carried by an enrollment request (JSON body, see sync.enroll)."""
    now = now_epoch() if now is None else now
    alg = _field(body, "alg", int)
    try:
        public_key = b64d(_field(body, "public_key", str))
        request = b64d(_field(body, "request", str))
        kid = kid_for(alg, public_key)
    except (WireError, InvalidPublicKeyError) as e:
        raise ApiError(400, "bad_request", f"Khóa công khai không hợp lệ: {e}") from e
    try:
        _msg, payload = open_signed(request, ENROLL_CT, {kid: (alg, public_key)})
        req = loads_strict(payload, "Yêu cầu đăng ký")
    except WireError as e:
        raise ApiError(401, "bad_signature", f"Yêu cầu đăng ký không hợp lệ: {e}") from e
    if not isinstance(req, dict) or set(req) != set(range(1, 8)):
        raise ApiError(400, "bad_request", "Yêu cầu đăng ký sai cấu trúc.")
    code, commune, desk_no, desk_name, may_renumber, _t, unit_eid = (req[i] for i in range(1, 8))
    if not (
        isinstance(code, str)
        and isinstance(commune, str)
        and isinstance(desk_no, int)
        and not isinstance(desk_no, bool)
        and isinstance(desk_name, str)
        and isinstance(may_renumber, bool)
        and isinstance(unit_eid, str)
        and len(code) <= 64
        and len(desk_name) <= 200
        and len(unit_eid) <= 64
    ):
        raise ApiError(400, "bad_request", "Yêu cầu đăng ký sai kiểu dữ liệu.")

    try:
        return _enroll_locked(
            db,
            signer,
            code,
            commune,
            desk_no,
            desk_name,
            may_renumber,
            unit_eid,
            alg,
            public_key,
            kid,
            now,
        )
    except IntegrityError as e:
        # Two desks racing for one desk number with two codes: the loser gets a clear 409.
        raise ApiError(
            409, "already_enrolled", "Số hiệu quầy này vừa được một quầy khác đăng ký."
        ) from e


def _enroll_locked(
    db: ServerDB,
    signer: Signer,
    code: str,
    commune: str,
    desk_no: int,
    desk_name: str,
    may_renumber: bool,
    unit_eid: str,
    alg: int,
    public_key: bytes,
    kid: bytes,
    now: int,
) -> dict[str, Any]:
    with db.write() as conn:
        row = (
            conn.execute(
                select(repo.CODE).where(repo.CODE.c.code_hash == code_hash(code)).with_for_update()
            )
            .mappings()
            .first()
        )
        if row is None:
            raise ApiError(403, "bad_code", "Mã đăng ký không đúng.")
        desk_id = f"{row['commune']}-{int(row['desk_no']):02d}"
        existing = repo.get_desk(conn=conn, desk_id=desk_id, lock=True)
        if row["used_at"] is not None:
            # A retry after a lost response: same code, same key -> the same answer again.
            if not (
                row["desk_id"] == desk_id
                and existing is not None
                and bytes(existing["public_key"]) == public_key
                and existing["status"] == "active"
            ):
                raise ApiError(403, "code_used", "Mã đăng ký này đã được sử dụng.")
        else:
            if int(row["expires_at"]) <= now:
                raise ApiError(403, "code_expired", "Mã đăng ký đã hết hạn; xin cấp mã mới.")
            if row["commune"] != commune:
                raise ApiError(
                    403,
                    "wrong_commune",
                    f"Mã đăng ký này cấp cho xã {row['commune']}, không phải {commune}.",
                )
            if int(row["desk_no"]) != desk_no and not may_renumber:
                raise ApiError(
                    409,
                    "wrong_desk_no",
                    f"Mã đăng ký cấp cho quầy số {int(row['desk_no'])}, nhưng quầy này là số "
                    f"{desk_no} và đã có dữ liệu; xin mã cho quầy số {desk_no}.",
                )
            if existing is not None:
                if existing["status"] != "active":
                    raise ApiError(403, "revoked", f"Quầy {desk_id} đã bị thu hồi.")
                raise ApiError(409, "already_enrolled", f"Quầy {desk_id} đã đăng ký với khóa khác.")
            conn.execute(
                repo.DESK.insert().values(
                    desk_id=desk_id,
                    commune=row["commune"],
                    desk_no=int(row["desk_no"]),
                    desk_name=desk_name or str(row["desk_name"]),
                    unit_eid=unit_eid,
                    alg=alg,
                    public_key=public_key,
                    kid=kid,
                    status="active",
                    enrolled_at=now,
                    acked_seq=0,
                    head=bytes(32),
                    hlc_max=0,
                    last_seen_at=now,
                )
            )
            conn.execute(
                update(repo.CODE)
                .where(repo.CODE.c.code_hash == row["code_hash"])
                .values(used_at=now, desk_id=desk_id)
            )
        trust = reference_data(conn=conn, name="trust")
    return {
        "desk_id": desk_id,
        "desk_no": int(row["desk_no"]),
        "commune": str(row["commune"]),
        "server": {"alg": signer.alg, "public_key": b64e(signer.public_key_bytes())},
        "trust_list": b64e(trust) if trust else None,
        "server_time": now,
    }


def revoke_desk(db: ServerDB, desk_id: str, *, now: int | None = None) -> bool:
    """Refuse every later request of this desk. False if it is unknown or already revoked."""
    now = now_epoch() if now is None else now
    with db.write() as conn:
        desk = repo.get_desk(conn=conn, desk_id=desk_id, lock=True)
        if desk is None or desk["status"] != "active":
            return False
        conn.execute(
            update(repo.DESK)
            .where(repo.DESK.c.desk_id == desk_id)
            .values(status="revoked", revoked_at=now)
        )
        publish_revocations(conn=conn, db=db, now=now)
    return True
