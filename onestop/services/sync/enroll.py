"""Enrolling a desk with the provincial server, and the keys sync signs and checks with."""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlmodel import Session, select

from onestop.crypto.signer import InvalidPublicKeyError, Signer, kid_for
from onestop.domain.events import to_epoch
from onestop.domain.roles import Permission
from onestop.i18n import t
from onestop.services.desk import Desk
from onestop.services.keys import (
    DESK_KEY_FILE,
    create_desk_key,
    desk_key_info,
    keys_dir,
    unlock_desk_key,
)
from onestop.services.setting_keys import S_ENROLLED_AT, S_SERVER_ALG, S_SERVER_KEY, S_SKEW, S_URL
from onestop.services.sync.apply import _store_trust
from onestop.services.sync.base import PassphraseProvider, SyncError, _describe, _json_or_none
from onestop.services.sync.url import (
    check_server_url,
    insecure_http_warning,
    is_plain_http_elsewhere,
    plain_http_allowed,
)
from onestop.store.models import CodeCounter, DeskState, Setting
from onestop.wire import version
from onestop.wire.base import API, WireError, b64d, b64e
from onestop.wire.enroll import (
    ENROLL_ALPHABET,
    ENROLL_CHECK_LEN,
    ENROLL_HASH_PREFIX,
    ENROLL_SECRET_LEN,
    enroll_check,
    enroll_secret_hash,
    normalise_enroll_code,
)
from onestop.wire.messages import (
    ENROLL_CT,
    sign,
)

log = logging.getLogger("onestop.sync")


def key_path(db_path: Path) -> Path:
    """Where this desk's signing key lives: the same file receipts are signed with."""
    return keys_dir(db_path) / DESK_KEY_FILE


def desk_signer(
    desk: Desk, passphrase_provider: PassphraseProvider, *, create: bool = False
) -> Signer:
    """Unlock the desk key (services/receipts.py), creating it first when ``create``."""
    if desk_key_info(desk) is None:
        if not create:
            raise SyncError(
                t(
                    "Quầy chưa có khóa ký ({path}); chạy «onestop enroll» trước.",
                    path=key_path(desk.store.path),
                )
            )
        passphrase = passphrase_provider()
        create_desk_key(desk, passphrase)
        return unlock_desk_key(desk, passphrase)
    return unlock_desk_key(desk, passphrase_provider())


def _server_keys(desk: Desk) -> dict[bytes, tuple[int, bytes]]:
    alg, pub = desk.setting(S_SERVER_ALG), desk.setting(S_SERVER_KEY)
    if not alg or not pub:
        raise SyncError(t("Quầy chưa đăng ký với máy chủ tỉnh; chạy «onestop enroll»."))
    public = b64d(pub)
    return {kid_for(int(alg), public): (int(alg), public)}


def server_fingerprint(desk: Desk) -> str:
    (kid,) = _server_keys(desk)
    h = kid.hex()
    return " ".join(h[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class EnrollResult:
    desk_id: str
    desk_no: int
    renumbered: bool
    server_fingerprint: str
    trust_list: bool
    warning: str | None = None
    """Set when the desk enrolled over plain http to another machine (allow_insecure_http)."""


def _has_own_history(desk: Desk) -> bool:
    with desk.store.read() as db:
        st = db.get(DeskState, desk.identity.desk_id)
        counters = db.exec(select(CodeCounter).limit(1)).first()
    return (st is not None and st.last_seq > 0) or counters is not None


def _rename_own_log(db: Session, old: str, new: str) -> None:
    """Move this desk's own events from its provisional id (``<commune>-00``) to the number the
    province assigned, in the enrolment's transaction.

    Nothing of it has left the desk (sync needs enrolment), and the desk id is not inside an
    event's bytes or its chain (``head = SHA-256(prev || body)``), so every chain head stays
    valid; dossier codes are untouched (their provisional form cannot clash).
    """
    if old == new:
        return
    db.flush()
    for stmt in (
        "UPDATE event SET desk_id = :new WHERE desk_id = :old",
        "UPDATE desk_state SET desk_id = :new WHERE desk_id = :old",
        "UPDATE dossier SET owner_desk = :new WHERE owner_desk = :old",
    ):
        db.execute(text(stmt), {"old": old, "new": new})


async def enroll_async(
    desk: Desk,
    server_url: str,
    code: str,
    *,
    passphrase_provider: PassphraseProvider,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 30.0,
    allow_plain_http: bool | None = None,
) -> EnrollResult:
    """Register this desk's key with the server using a one-time code; pin the server key.

    The address must be https://, or http:// to this machine, unless ``allow_plain_http``
    (default: the ``allow_insecure_http`` setting) — checked before anything is asked or
    stored (services/sync/url.py); the result's ``warning`` says when plain http to another
    machine was allowed. By default an injected ``transport`` (an in-process app, a test
    double) is exempt: it carries nothing over a network. Admin only
    (``Permission.ENROLLMENT``), refused before anything is checked, asked or sent.
    """
    desk.require(Permission.ENROLLMENT)
    explicit = allow_plain_http is not None
    if allow_plain_http is None:
        allow_plain_http = transport is not None or plain_http_allowed()
    server_url = check_server_url(server_url, allow_plain_http)
    warning = None
    if is_plain_http_elsewhere(server_url) and (transport is None or explicit):
        warning = insecure_http_warning(server_url)
        log.warning("%s", warning)
    secret, check = _parse_enroll_code(code)
    signer = desk_signer(desk, passphrase_provider, create=True)
    ident = desk.identity
    # A desk with no number yet (00) issued only codes that cannot clash with any numbered
    # desk, so it may take whatever number the province assigns, history or not.
    may_renumber = not desk.numbered or not _has_own_history(desk)
    request = sign(
        signer,
        ENROLL_CT,
        {
            # Only the secret's hash leaves the desk: whoever answers cannot learn the secret,
            # so cannot compute the check group for a key of its own.
            1: ENROLL_HASH_PREFIX + enroll_secret_hash(secret).hex(),
            2: ident.commune_code,
            3: ident.desk_no,
            4: ident.desk_name,
            5: may_renumber,
            6: to_epoch(desk.clock()),
            7: ident.unit_eid,
            8: ident.commune_name,  # shown on the province dashboard
        },
    )
    body = {
        "alg": signer.alg,
        "public_key": b64e(signer.public_key_bytes()),
        "request": b64e(request),
    }
    headers = {version.HEADER: str(version.PROTOCOL)}  # the server's gate (wire/version.py)
    async with httpx.AsyncClient(transport=transport, timeout=timeout, headers=headers) as client:
        try:
            resp = await client.post(f"{server_url}{API}/enroll", json=body)
        except httpx.HTTPError as e:
            raise SyncError(t("Không kết nối được máy chủ tỉnh: {e}", e=_describe(e))) from e
    data = _json_or_none(resp)
    if resp.status_code == 426:
        said = data.get("message", "") if isinstance(data, dict) else ""
        raise SyncError(version.refusal_seen_by_desk(resp.headers.get(version.HEADER), said))
    if resp.status_code != 200 or data is None:
        msg = data.get("message") if isinstance(data, dict) else None
        raise SyncError(
            t(
                "Máy chủ từ chối đăng ký (HTTP {s}): {m}",
                s=resp.status_code,
                m=msg or resp.text[:200],
            )
        )
    try:
        server = data["server"]
        server_alg, server_pub = int(server["alg"]), b64d(server["public_key"])
        kid_for(server_alg, server_pub)
        desk_no, desk_id = int(data["desk_no"]), str(data["desk_id"])
        trust = b64d(data["trust_list"]) if data.get("trust_list") else None
        server_time = data.get("server_time")
    except (KeyError, TypeError, ValueError, WireError, InvalidPublicKeyError) as e:
        raise SyncError(t("Máy chủ trả lời đăng ký không hợp lệ.")) from e
    # Not trust on first use: the key must match the check group the province read out with
    # the code, before anything from this answer is believed or stored.
    if not hmac.compare_digest(enroll_check(secret, server_alg, server_pub), check):
        raise SyncError(
            t(
                "Khóa của máy chủ {u} không khớp nhóm kiểm tra «{c}» của mã đăng ký: có thể "
                "đã đọc sai nhóm cuối của mã, hoặc đang kết nối tới một máy chủ giả mạo. "
                "Quầy chưa lưu gì; hãy đối chiếu lại mã với tỉnh.",
                u=server_url,
                c=check,
            )
        )
    renumbered = desk_no != ident.desk_no
    if renumbered and not may_renumber:
        raise SyncError(t("Máy chủ cấp số quầy khác trong khi quầy đã có dữ liệu."))
    with desk.store.write() as db:
        values = {
            S_URL: server_url,
            S_SERVER_ALG: str(server_alg),
            S_SERVER_KEY: b64e(server_pub),
            S_ENROLLED_AT: desk.clock().isoformat(timespec="seconds"),
        }
        if isinstance(server_time, int) and not isinstance(server_time, bool):
            # The first offset for signed requests (the next signed answer refines it).
            values[S_SKEW] = str(server_time - to_epoch(desk.clock()))
        if renumbered:
            values["desk_no"] = str(desk_no)
            if not desk.numbered and ident.desk_name == t("Quầy chưa có số"):
                values["desk_name"] = t("Quầy {n}", n=desk_no)
        for k, v in values.items():
            db.merge(Setting(key=k, value=v))
        if renumbered:
            _rename_own_log(db, ident.desk_id, desk_id)
    if renumbered:
        name = values.get("desk_name", ident.desk_name)
        desk.identity = replace(ident, desk_no=desk_no, desk_name=name)
    if trust:
        trust = trust if _store_trust(desk, trust) else None
    assert desk.identity.desk_id == desk_id, (desk.identity.desk_id, desk_id)
    return EnrollResult(
        desk_id, desk_no, renumbered, server_fingerprint(desk), bool(trust), warning
    )


def _parse_enroll_code(code: str) -> tuple[str, str]:
    """(secret, check group) of a code ``ABCD-EFGH-JKMN-PQRS``, or a clear SyncError."""
    symbols = normalise_enroll_code(code)
    if len(symbols) != ENROLL_SECRET_LEN + ENROLL_CHECK_LEN or any(
        ch not in ENROLL_ALPHABET for ch in symbols
    ):
        raise SyncError(
            t(
                "Mã đăng ký phải gồm 16 ký tự chia 4 nhóm, ví dụ ABCD-EFGH-JKMN-PQRS (không có "
                "chữ O, I, L, U và số 0, 1); nhóm cuối dùng để kiểm tra khóa của máy chủ."
            )
        )
    return symbols[:ENROLL_SECRET_LEN], symbols[ENROLL_SECRET_LEN:]


def enroll(
    desk: Desk,
    server_url: str,
    code: str,
    *,
    passphrase_provider: PassphraseProvider,
    transport: httpx.AsyncBaseTransport | None = None,
    allow_plain_http: bool | None = None,
) -> EnrollResult:
    return asyncio.run(
        enroll_async(
            desk,
            server_url,
            code,
            passphrase_provider=passphrase_provider,
            transport=transport,
            allow_plain_http=allow_plain_http,
        )
    )
