"""Enrollment: one-time codes, registering a desk's public key, revoking a desk.

A code is issued by the province for one commune and one desk number (the next free one
unless given), shown once, stored only as SHA-256, valid 14 days, usable once. The desk proves
it holds the private key by signing its enrollment request (content type onestop-enroll/1)
with it; the server answers with its own public key, which the desk pins only after checking
it against the code's last group (``ABCD-EFGH-JKMN-PQRS``: 12 symbols of secret, 4 of check
bound to the server key, services/_wire.py): enrollment is not trust-on-first-use. The desk
sends ``sha256:<hex>`` of the secret, never the secret itself; the raw code is still accepted
(older desks, tests).

Also here: the time check of signed requests (``check_auth_time``), the other half of a desk's
identity on the wire.

The desk number matters beyond display: it is part of every dossier code a desk issues
offline, so two desks of a commune must never share one (ARCHITECTURE: codes never collide).
The server assigns it; a fresh desk (no events yet) adopts it, a desk that already issued
codes must get a code for its own number.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from onestop.crypto.signer import InvalidPublicKeyError, Signer, kid_for
from onestop.domain.fields import FIELDS, forbidden_char
from onestop.domain.text import nfc
from onestop.server import repo
from onestop.server.db import ServerDB
from onestop.server.errors import ApiError
from onestop.server.keys import server_public_key
from onestop.server.reference import publish_revocations, reference_data
from onestop.wire.base import WireError, b64d, b64e, loads_strict, now_epoch
from onestop.wire.enroll import (
    ENROLL_ALPHABET,
    ENROLL_HASH_PREFIX,
    ENROLL_SECRET_LEN,
    enroll_check,
    enroll_secret_hash,
    group_code,
)
from onestop.wire.messages import AUTH_WINDOW_S, ENROLL_CT, open_signed, sign_time, token_digest

CODE_TTL = 14 * 24 * 3600
_COMMUNE_RE = re.compile(r"^\d{5}$")
_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
#: Methods whose signed requests may be replayed within the time window (they change nothing).
SAFE = frozenset({"GET", "HEAD"})
_ONCE_PREFIX = "auth_once:"


def code_hash(code: str) -> bytes:
    """The stored lookup key of a code: SHA-256 of its 12-symbol secret. ``code`` is the code
    (with or without its check group, any case, dashes and spaces ignored) or the
    ``sha256:<hex>`` a desk sends."""
    if _HASH_RE.match(code):
        return bytes.fromhex(code[len(ENROLL_HASH_PREFIX) :])
    return enroll_secret_hash(code)


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
    limit = FIELDS["desk_name"].max_len  # the desk's own limit (domain/fields.py)
    if not desk_name or len(desk_name) > limit or forbidden_char(desk_name) is not None:
        raise ApiError(
            400,
            "bad_desk_name",
            f"Tên quầy phải có từ 1 đến {limit} ký tự, không có ký tự điều khiển.",
        )
    raw = "".join(secrets.choice(ENROLL_ALPHABET) for _ in range(ENROLL_SECRET_LEN))
    alg, public_key = server_public_key(db)
    code = group_code(raw + enroll_check(raw, alg, public_key))
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
    # Key 8, the commune's name as the desk knows it, is optional: desks from before it enroll
    # as they did (the dashboard then falls back to the units list or the code).
    if not isinstance(req, dict) or set(req) not in (set(range(1, 8)), set(range(1, 9))):
        raise ApiError(400, "bad_request", "Yêu cầu đăng ký sai cấu trúc.")
    code, commune, desk_no, desk_name, may_renumber, _t, unit_eid = (req[i] for i in range(1, 8))
    commune_name = req.get(8, "")
    limit = FIELDS["commune_name"].max_len
    if not isinstance(commune_name, str) or len(commune_name) > limit:
        raise ApiError(400, "bad_request", "Yêu cầu đăng ký sai kiểu dữ liệu.")
    commune_name = nfc(commune_name).strip()
    if forbidden_char(commune_name) is not None:
        commune_name = ""  # never refuse an enrollment over a display name; show the code
    if not (
        isinstance(code, str)
        and isinstance(commune, str)
        and isinstance(desk_no, int)
        and not isinstance(desk_no, bool)
        and isinstance(desk_name, str)
        and isinstance(may_renumber, bool)
        and isinstance(unit_eid, str)
        and len(code) <= 80
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
            commune_name,
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
    commune_name: str = "",
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
        if commune_name:
            repo.name_commune(
                conn=conn, db=db, commune=str(row["commune"]), name=commune_name, now=now
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


def check_auth_time(
    db: ServerDB,
    signer: Signer,
    desk_id: str,
    when: int,
    header: str,
    *,
    once: bool,
    now: int | None = None,
) -> None:
    """Refuse a signed request whose time is outside ±AUTH_WINDOW_S of the server's clock
    (401 ``stale_auth`` + a signed server time bound to this token), and, when ``once``, a
    token already used: a state-changing request cannot be replayed inside the window either.

    Used tokens are remembered in ``server_setting`` (``auth_once:<sha256>`` → expiry), until
    they would be refused as stale anyway; no table of its own, so no schema change.
    """
    now = now_epoch() if now is None else now
    if abs(when - now) > AUTH_WINDOW_S:
        raise ApiError(
            401,
            "stale_auth",
            f"Chữ ký yêu cầu lệch {abs(when - now) // 60} phút so với giờ máy chủ (cho phép "
            f"{AUTH_WINDOW_S // 60} phút): yêu cầu cũ bị gửi lại, hoặc đồng hồ quầy sai.",
            extra={
                "server_time": now,
                "time": b64e(sign_time(signer, desk_id, now, token_digest(header))),
            },
        )
    if not once:
        return
    key = _ONCE_PREFIX + token_digest(header).hex()
    expires = (now + 2 * AUTH_WINDOW_S).to_bytes(8, "big")
    with db.write() as conn:
        conn.execute(
            delete(repo.SETTING).where(
                repo.SETTING.c.key.startswith(_ONCE_PREFIX),
                repo.SETTING.c.value < now.to_bytes(8, "big"),
            )
        )
        fresh = conn.execute(
            repo.insert_ignore(db, repo.SETTING, ["key"]), [{"key": key, "value": expires}]
        ).rowcount
    if fresh != 1:
        raise ApiError(401, "replayed", "Yêu cầu đã ký này đã được dùng; không chấp nhận lần hai.")


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
