"""The citizen's side of the server: the trust list for the receipt page, and status lookup.

**Trust.** The page verifies a receipt in the browser against the province trust list the
province published (``onestop server publish trust FILE``, root-signed, checked on publish),
with the server's own desk revocations (``onestop server revoke-desk``) folded in: a desk
revoked on the server at time R has its key revoked as of R, exactly as if the province had
issued a new list (``Revocation(kid, R)``). The page fetches only the entries of the receipt's
key id (``/api/v1/trust/keys/{kid}``, a few hundred bytes) instead of the whole list (about
200 B per desk, hundreds of KB for a province), which keeps it under its 50 KB budget on 2G;
the whole list is also served, paged, for offline verifiers.

**Status lookup.** ``POST /api/v1/receipts/status`` takes the signed receipt itself (the
digits of the QR fragment). The server verifies it with the same trust list
(``crypto.verify.verify_receipt``) and answers only for a *valid* receipt, so knowing or
guessing a dossier code is useless: only the holder of the paper (or of its photo) can ask.
The answer carries the status and the appointment in plain words, never the ID number, phone,
address or even the name (the holder has the paper). A dossier the desk has not synced yet is
reported as such, with the desk's last contact when known. The answer names the procedure
(from the catalogue the server publishes to desks): the receipt itself carries only its code.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from onestop.crypto.trust import Revocation, TrustEntry, TrustError, TrustList, read_trust_bundle
from onestop.crypto.verify import Verdict, verify_receipt
from onestop.domain.b64 import url_encode
from onestop.domain.catalogue import CatalogueError, ProcedureInfo, parse_catalogue
from onestop.domain.cbor import MalformedError
from onestop.domain.clock import VN_TZ
from onestop.domain.lifecycle import Status, status_label
from onestop.domain.receipt import bytes_from_digits
from onestop.domain.text import date_vi
from onestop.i18n import t
from onestop.server import repo
from onestop.server.reference import reference_data
from onestop.wire.state import state_from_json

__all__ = [
    "effective_trust",
    "entry_json",
    "lookup_status",
    "procedure_name",
    "status_message",
]

_cache_lock = threading.Lock()
_cache: dict[tuple[bytes, tuple[tuple[bytes, int], ...]], TrustList] = {}


def _published(conn: Connection) -> tuple[bytes, TrustList] | None:
    data = reference_data(conn=conn, name="trust")
    if data is None:
        return None
    try:
        return data, read_trust_bundle(data).trust_list
    except TrustError:  # pragma: no cover - refused at publish time
        return None


def server_revocations(conn: Connection) -> list[tuple[bytes, int]]:
    rows = conn.execute(
        select(repo.DESK.c.kid, repo.DESK.c.revoked_at, repo.DESK.c.enrolled_at).where(
            repo.DESK.c.status == "revoked"
        )
    ).all()
    return sorted((bytes(r[0]), int(r[1] if r[1] is not None else r[2])) for r in rows)


def effective_trust(conn: Connection) -> TrustList | None:
    """The published trust list plus the server's desk revocations (None: nothing published).

    Parsed lists are cached per (list bytes, revocations): a province list of thousands of
    entries costs milliseconds to validate, and it changes rarely.
    """
    published = _published(conn)
    if published is None:
        return None
    data, tl = published
    revoked = tuple(server_revocations(conn))
    key = (data, revoked)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
    extra = [Revocation(kid=kid, revoked_at=at) for kid, at in revoked]
    merged = replace(tl, revocations=tuple(tl.revocations) + tuple(extra))
    with _cache_lock:
        _cache.clear()
        _cache[key] = merged
    return merged


_catalogue_lock = threading.Lock()
_catalogue: dict[bytes, dict[str, list[ProcedureInfo]]] = {}


def _procedures(conn: Connection) -> dict[str, list[ProcedureInfo]]:
    """The published catalogue by procedure code, parsed once per published version."""
    data = reference_data(conn=conn, name="catalogue")
    if data is None:
        return {}
    key = hashlib.sha256(data).digest()
    with _catalogue_lock:
        hit = _catalogue.get(key)
    if hit is not None:
        return hit
    by_code: dict[str, list[ProcedureInfo]] = {}
    try:
        for proc in parse_catalogue(data.decode("utf-8-sig")):
            by_code.setdefault(proc.code, []).append(proc)
    except (CatalogueError, UnicodeDecodeError):  # pragma: no cover - refused at publish time
        by_code = {}
    with _catalogue_lock:
        _catalogue.clear()
        _catalogue[key] = by_code
    return by_code


def procedure_name(conn: Connection, code: str, on: date) -> str | None:
    """The catalogue name of procedure ``code`` in force on ``on`` (else its latest version);
    None for a code the published catalogue does not hold."""
    versions = _procedures(conn).get(code)
    if not versions:
        return None
    in_force = [
        p
        for p in versions
        if p.effective_from <= on and (p.effective_to is None or on < p.effective_to)
    ]
    return max(in_force or versions, key=lambda p: p.version).name


def entry_json(tl: TrustList, entry: TrustEntry) -> dict[str, Any]:
    """One entry as the receipt page needs it; ``revoked_at`` is the effective revocation."""
    return {
        "kid": entry.kid.hex(),
        "alg": entry.alg,
        "public_key": url_encode(entry.public_key),
        "commune": entry.commune,
        "unit_eid": entry.unit_eid,
        "desk_label": entry.desk_label,
        "valid_from": entry.valid_from,
        "valid_to": entry.valid_to,
        "revoked_at": tl.revocation_time(entry),
    }


def trust_meta(tl: TrustList) -> dict[str, Any]:
    return {"province": tl.province, "version": tl.version, "issued_at": tl.issued_at}


# ----------------------------------------------------------------------------- status words


def _clock(dt: datetime) -> str:
    return f"{dt:%H:%M}"


def status_message(status: Status, due: datetime | None, finished: datetime | None) -> str:
    """The status in plain words, e.g. «Đang xử lý — hẹn trả 10:00 ngày 05 tháng 02 năm 2026»."""
    label = status_label(status)
    if status == Status.SUPPLEMENT_REQUESTED:
        return t(
            "{status} — thời hạn tạm dừng; ngày hẹn trả mới được tính khi nhận đủ hồ sơ bổ sung",
            status=label,
        )
    if status == Status.RETURNED and finished is not None:
        return t("{status} — {date}", status=label, date=date_vi(finished.date()))
    if status in (Status.REFUSED, Status.WITHDRAWN) or due is None:
        return label
    return t(
        "{status} — hẹn trả {time} {date}", status=label, time=_clock(due), date=date_vi(due.date())
    )


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat(timespec="minutes")


def _epoch_iso(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return (
        datetime.fromtimestamp(int(epoch), VN_TZ).replace(tzinfo=None).isoformat(timespec="minutes")
    )


class LookupRefused(Exception):
    def __init__(self, status: int, code: str, message: str, verdict: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.verdict = verdict


def lookup_status(conn: Connection, digits: str) -> dict[str, Any]:
    """Verify the receipt (digits of the QR fragment) and answer with the dossier's status."""
    try:
        cose = bytes_from_digits("".join(digits.split()))
    except MalformedError as e:
        raise LookupRefused(400, "bad_receipt", str(e), Verdict.MALFORMED.value) from e
    tl = effective_trust(conn)
    if tl is None:
        raise LookupRefused(
            503, "no_trust_list", t("Tỉnh chưa phát hành danh sách tin cậy; chưa tra cứu được.")
        )
    result = verify_receipt(cose, tl)
    if not result.ok or result.claims is None:
        raise LookupRefused(422, "receipt_invalid", result.label, result.verdict.value)
    claims = result.claims
    code = claims.dossier_code
    desks = conn.execute(
        select(repo.DESK.c.desk_id, repo.DESK.c.last_seen_at, repo.DESK.c.acked_seq).where(
            repo.DESK.c.kid == result.kid
        )
    ).all()
    last_seen = max((int(r[1]) for r in desks if r[1] is not None), default=None)
    row = repo.dossier_rows(conn=conn, codes=[code]).get(code)
    base: dict[str, Any] = {
        "verdict": result.verdict.value,
        "code": code,
        "commune": claims.commune,
        "commune_name": _commune_name(conn, claims.commune),
        "procedure": claims.procedure_code,
        "procedure_name": procedure_name(conn, claims.procedure_code, claims.received_at.date()),
        "desk_last_sync": _epoch_iso(last_seen),
    }
    if row is None or str(row["commune"]) != claims.commune:
        return {
            **base,
            "known": False,
            "status": None,
            "status_label": None,
            "appointment": None,
            "finished_at": None,
            "updated_at": None,
            "anchored": False,
            "message": t(
                "Tỉnh chưa nhận được dữ liệu của hồ sơ này: quầy tiếp nhận chưa đồng bộ. "
                "Biên nhận vẫn có giá trị; xin xem lại sau hoặc hỏi Bộ phận Một cửa."
            ),
        }
    state = state_from_json(str(row["state"]))
    anchored = _anchored(conn, [str(r[0]) for r in desks], claims.desk, code)
    return {
        **base,
        "known": True,
        "status": state.status.value,
        "status_label": status_label(state.status),
        "appointment": _iso(state.due_at),
        "finished_at": _iso(state.finished_at),
        "updated_at": _iso(state.last_event_at),
        "anchored": anchored,
        "message": status_message(state.status, state.due_at, state.finished_at),
    }


def _commune_name(conn: Connection, commune: str) -> str | None:
    """The name the commune's desks gave at enrollment (None: not known)."""
    c = repo.COMMUNE
    name = conn.execute(select(c.c.name).where(c.c.commune == commune)).scalar()
    return None if name is None else str(name)


def _anchored(conn: Connection, desk_ids: Sequence[str], seq: int, code: str) -> bool:
    """Whether the receipt's intake event (claim 10) is in the provincial log for this dossier."""
    for desk_id in desk_ids:
        row = conn.execute(
            select(repo.EVENT.c.dossier, repo.EVENT.c.kind).where(
                repo.EVENT.c.desk_id == desk_id, repo.EVENT.c.seq == seq
            )
        ).first()
        if row is not None and str(row[0]) == code and str(row[1]) == "receive":
            return True
    return False
