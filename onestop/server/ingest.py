"""Accepting a batch: verify, chain, store once, advance, project, sign — in ONE transaction.

Order of work, cheapest refusals first and the expensive checks outside the lock:

1. decompress (415 for an unknown coding or dictionary, 400 for junk, 413 for too big);
2. split the body into the signed envelope and the event bodies (400);
3. look the desk up: unknown → 403, revoked → 403; verify the envelope signature against the
   enrolled key (401);
4. decode every event (canonical CBOR only), check every text against the field policy the
   desk applied (domain/fields.py), check seqs are first..last and recompute the hash chain
   from the envelope's ``prev_head``: it must end at the signed ``head`` (400);
5. in one transaction, holding the desk row lock (``SELECT … FOR UPDATE``):
   * the same idempotency key already accepted → replay its stored ack byte for byte, or 422
     if the events differ;
   * ``first_seq != acked_seq + 1`` → 409 carrying a signed state {acked_seq, head};
   * ``prev_head`` differs from the stored head → 422 (the desk's history diverged);
   * insert the events (ON CONFLICT DO NOTHING), advance acked_seq/head, fold the events into
     the dossier projections, sign the ack, store it with the batch key; commit.

The ack is only produced after all of that is in the transaction, and returned only after the
commit: an ack the desk holds is always backed by durable rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, literal, select, text, tuple_, update

from onestop.crypto.signer import Signer
from onestop.domain import milestones
from onestop.domain.events import Event, EventFormatError, EventKind, chain, to_epoch
from onestop.domain.fields import FieldError, check_event
from onestop.domain.lifecycle import DossierState, apply
from onestop.server import repo
from onestop.server.db import ServerDB
from onestop.server.errors import ApiError
from onestop.server.models import ServerEvaluation, ServerEventAhead, metadata
from onestop.store.timefmt import dt_to_text, opt_dt_to_text
from onestop.wire.base import MAX_BATCH_EVENTS, MAX_WIRE_BYTES, WireError, b64e, now_epoch
from onestop.wire.codec import (
    ENCODINGS,
    UnsupportedEncoding,
    decompress,
    dictionaries,
    zstd_dict_id,
)
from onestop.wire.messages import Ack, sign_ack, split_batch, verify_message
from onestop.wire.state import event_key, state_from_json, state_json


@dataclass(frozen=True)
class Accepted:
    ack: bytes
    replay: bool
    inserted: int
    acked_seq: int


def unsupported_encoding(message: str) -> ApiError:
    """415 with what we do accept (RFC 7694 §3: Accept-Encoding on the 415 response)."""
    return ApiError(
        415,
        "unsupported_encoding",
        message,
        extra={"accept": list(ENCODINGS), "dict_ids": sorted(dictionaries())},
        headers={"Accept-Encoding": "zstd, gzip, identity"},
    )


def parse_encoding(header: str | None) -> str:
    enc = (header or "identity").strip().lower()
    if enc not in ENCODINGS:
        raise unsupported_encoding(f"Không hỗ trợ Content-Encoding {enc!r}.")
    return enc


def desk_keys(desk: Any) -> dict[bytes, tuple[int, bytes]]:
    return {bytes(desk["kid"]): (int(desk["alg"]), bytes(desk["public_key"]))}


def require_active(desk: Any, desk_id: str) -> None:
    if desk is None:
        raise ApiError(403, "not_enrolled", f"Quầy {desk_id} chưa đăng ký với máy chủ tỉnh.")
    if desk["status"] != "active":
        # desk + revoked_at let the app sign a proof into the answer (see app._api_error), so
        # the desk can tell a real revocation from a forged 403 (services/lockdown.py).
        raise ApiError(
            403,
            "revoked",
            f"Quầy {desk_id} đã bị thu hồi quyền đồng bộ.",
            extra={"desk": desk_id, "revoked_at": desk["revoked_at"]},
        )


# desk id -> (kid -> (alg, public key)). A desk id is bound to one key for good (re-enrolling
# an active desk with another key is refused), so the key may be cached per process; the
# desk's *status* is not cached: it is read again under the row lock for every batch.
_KEYS: dict[str, dict[bytes, tuple[int, bytes]]] = {}


def _key_of(db: ServerDB, desk_id: str) -> dict[bytes, tuple[int, bytes]]:
    cache_key = f"{db.url}|{desk_id}"
    found = _KEYS.get(cache_key)
    if found is None:
        with db.read() as conn:
            desk = repo.get_desk(conn=conn, desk_id=desk_id)
        require_active(desk, desk_id)
        found = _KEYS[cache_key] = desk_keys(desk)
    return found


def signed_state(signer: Signer, desk: Any, now: int) -> bytes:
    """The desk's current acked state, signed: sent with 409 and by GET /state."""
    return sign_ack(
        signer,
        Ack(
            desk=str(desk["desk_id"]),
            acked_seq=int(desk["acked_seq"]),
            head=bytes(desk["head"]),
            server_time=now,
            batch_key=None,
        ),
    )


def ingest_batch(
    db: ServerDB,
    signer: Signer,
    *,
    body: bytes,
    encoding: str,
    idempotency_key: str | None,
    now: int | None = None,
    allow_overlap: bool = False,
) -> Accepted:
    """Accept one batch (see the module docstring). ``allow_overlap`` is for bundle files:
    a bundle exported from a stale outbox may start before the acked sequence; the part the
    server already holds must then be identical (same chain head), and the rest is taken."""
    now = now_epoch() if now is None else now
    if len(body) > MAX_WIRE_BYTES:
        raise ApiError(413, "too_large", "Lô sự kiện quá lớn.")
    try:
        plain = decompress(body, encoding)
        raw = split_batch(plain)
        if encoding == "zstd" and zstd_dict_id(body) != raw.envelope.dict_id:
            raise WireError("Từ điển nén khác từ điển ghi trong phong bì đã ký.")
    except UnsupportedEncoding as e:
        raise unsupported_encoding(str(e)) from e
    except WireError as e:
        raise ApiError(400, "bad_batch", str(e)) from e
    env = raw.envelope
    if idempotency_key is not None and idempotency_key != env.key:
        raise ApiError(400, "bad_key", f"Idempotency-Key phải là {env.key} (khớp phong bì đã ký).")

    try:
        verify_message(raw.message, _key_of(db, env.desk))
    except WireError as e:
        raise ApiError(401, "bad_signature", f"Chữ ký lô không hợp lệ: {e}") from e

    events, rows, head, hlc_max = _check_events(env, raw.bodies, now)
    if not allow_overlap:
        _await_predecessor(db, env)

    with db.write() as conn:
        locked = repo.lock_desk(conn=conn, db=db, desk_id=env.desk)
        require_active(locked, env.desk)
        assert locked is not None
        acked = int(locked["acked_seq"])
        # A batch key can only exist for a range the server already acknowledged.
        done = (
            repo.get_batch(conn=conn, desk_id=env.desk, first=env.first_seq, last=env.last_seq)
            if env.first_seq <= acked
            else None
        )
        if done is not None:
            if bytes(done["identity"]) != env.identity():
                raise ApiError(
                    422,
                    "key_reused",
                    f"Khóa {env.key} đã dùng cho một lô có nội dung khác.",
                )
            repo.touch_desk(conn=conn, desk_id=env.desk, now=now)
            return Accepted(bytes(done["ack"]), True, 0, acked)
        if allow_overlap and env.first_seq <= acked:
            if env.last_seq <= acked:
                if repo.event_head(conn=conn, desk_id=env.desk, seq=env.last_seq) != env.head:
                    raise ApiError(422, "chain_mismatch", "Gói khác các sự kiện máy chủ đã nhận.")
                return Accepted(signed_state(signer, locked, now), True, 0, acked)
            skip = acked - env.first_seq + 1
            if rows[skip - 1]["head"] != bytes(locked["head"]):
                raise ApiError(422, "chain_mismatch", "Gói khác các sự kiện máy chủ đã nhận.")
            rows, events = rows[skip:], events[skip:]
        elif env.first_seq != acked + 1:
            raise ApiError(
                409,
                "gap",
                f"Máy chủ đã nhận đến sự kiện số {acked}; lô phải bắt đầu từ {acked + 1}.",
                extra={"acked_seq": acked, "state": b64e(signed_state(signer, locked, now))},
            )
        elif bytes(locked["head"]) != env.prev_head:
            raise ApiError(
                422,
                "chain_mismatch",
                "Chuỗi băm của quầy khác chuỗi máy chủ đã nhận: lịch sử sự kiện đã bị thay đổi.",
            )
        hlc_max = max(hlc_max, int(locked["hlc_max"]))
        by_dossier = _by_dossier(events)
        # Round trips: the desk lock above, then these three statements together (PostgreSQL
        # pipeline mode), then the two writes below together, then the commit.
        with repo.pipeline(conn, db):
            repo.lock_dossiers(conn=conn, db=db, codes=sorted(by_dossier))
            repo.insert_events(conn=conn, db=db, rows=rows)
            ahead = _ahead(events, now)
            if ahead:
                conn.execute(insert(_AHEAD), ahead)
            existing, outside = repo.projection_inputs(
                conn=conn,
                db=db,
                codes=list(by_dossier),
                desk_id=env.desk,
                first=int(rows[0]["seq"]),
                last=env.last_seq,
            )
        out, figures, drop, replayed = _fold(
            conn, events, by_dossier, existing, outside, {env.desk: str(locked["commune"])}
        )
        evaluations = _evaluations(events, figures)
        ack = sign_ack(
            signer,
            Ack(
                desk=env.desk,
                acked_seq=env.last_seq,
                head=head,
                server_time=now,
                batch_key=env.key,
            ),
        )
        with repo.pipeline(conn, db):
            if out:
                repo.upsert_dossiers(conn=conn, db=db, rows=out)
                repo.upsert_figures(conn=conn, db=db, rows=figures, drop=drop)
            if evaluations:
                repo.insert_evaluations(conn=conn, db=db, rows=evaluations)
            if replayed:
                # A dossier projected by a replay may have evaluations stored before its
                # receive arrived: they take its commune, field and reception now.
                conn.execute(_EVALUATION_DOSSIER, {"codes": replayed})
            repo.advance_and_record(
                conn=conn,
                db=db,
                desk_id=env.desk,
                acked_seq=env.last_seq,
                head=head,
                hlc_max=hlc_max,
                now=now,
                first=env.first_seq,
                identity=env.identity(),
                ack=ack,
                outbox=env.outbox,
            )
    return Accepted(ack, False, len(rows), env.last_seq)


# A desk keeps two batches in flight, on two connections. The second one can reach the desk's
# row lock first (it is shorter: less to decompress, verify and chain before the lock, or a
# faster path), and answering it 409 made the desk send both again: up to 14 % of the events
# uploaded twice (issue 19 §4). So a batch that starts at most a few batches past the
# acknowledged position waits briefly for its predecessor to commit, then is taken in order.
# Bounded well under the desks' timeouts; a predecessor that never comes (a cut connection)
# still gets the 409 after the wait, as before.
PREDECESSOR_WAIT_S = 2.0
_PIPELINE_GAP = 4 * MAX_BATCH_EVENTS  # a window of batches of the largest size the desks send


def _await_predecessor(db: ServerDB, env: Any) -> None:
    deadline = time.monotonic() + PREDECESSOR_WAIT_S
    pause = 0.005
    d = repo.DESK
    while True:
        with db.read() as conn:
            acked = conn.execute(
                select(d.c.acked_seq).where(d.c.desk_id == env.desk)
            ).scalar_one_or_none()
        if acked is None or not 0 < env.first_seq - int(acked) - 1 <= _PIPELINE_GAP:
            return
        if time.monotonic() >= deadline:
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


# An event more than this far ahead of the server's clock when it arrives is marked (issue 16):
# the desk clock runs fast, its reception times and legal deadlines are late. The desks warn
# at intake beyond the same 5 minutes (services/desk.py CLOCK_SKEW_WARN_S).
AHEAD_LIMIT_S = 5 * 60
_AHEAD = metadata.tables[ServerEventAhead.__tablename__]


def _ahead(events: list[Event], now: int) -> list[dict[str, Any]]:
    """Marks for the newly stored events whose own time is ahead of the receipt time."""
    out = []
    for ev in events:
        at = to_epoch(ev.at)
        if at - now > AHEAD_LIMIT_S:
            out.append({"desk_id": ev.desk_id, "seq": ev.seq, "event_at": at, "accepted_at": now})
    return out


def _check_events(
    env: Any, bodies: list[bytes], now: int
) -> tuple[list[Event], list[dict[str, Any]], bytes, int]:
    events: list[Event] = []
    rows: list[dict[str, Any]] = []
    head = env.prev_head
    hlc_max = 0
    for i, body in enumerate(bodies):
        try:
            ev = Event.from_body(env.desk, body)
        except EventFormatError as e:
            raise ApiError(400, "bad_event", f"Sự kiện thứ {i + 1} của lô: {e}") from e
        if ev.seq != env.first_seq + i:
            raise ApiError(
                400, "bad_event", f"Sự kiện thứ {i + 1} mang số {ev.seq}, không liền mạch."
            )
        if not ev.dossier or len(ev.dossier) > 64:
            raise ApiError(400, "bad_event", f"Sự kiện số {ev.seq}: mã hồ sơ không hợp lệ.")
        try:
            # The field policy the desk applied before appending (domain/fields.py): the same
            # function, so only a forged or foreign-built event can fail here.
            check_event(
                dossier=ev.dossier,
                actor=ev.actor,
                role=ev.role,
                note=ev.note,
                data=ev.data,
                body_len=len(body),
            )
        except FieldError as e:
            raise ApiError(400, "bad_event", f"Sự kiện số {ev.seq}: {e}") from e
        head = chain(head, body)
        hlc_max = max(hlc_max, ev.hlc)
        events.append(ev)
        rows.append(
            {
                "desk_id": env.desk,
                "seq": ev.seq,
                "hlc": ev.hlc,
                "kind": ev.kind.value,
                "dossier": ev.dossier,
                "body": body,
                "head": head,
                "accepted_at": now,
            }
        )
    if head != env.head:
        raise ApiError(
            400, "chain_mismatch", "Chuỗi băm tính lại từ các sự kiện không khớp phong bì đã ký."
        )
    if hlc_max != env.hlc_max:
        raise ApiError(400, "bad_batch", "hlc_max trong phong bì không khớp các sự kiện.")
    return events, rows, head, hlc_max


def _by_dossier(events: list[Event]) -> dict[str, list[Event]]:
    by_dossier: dict[str, list[Event]] = {}
    for e in events:
        by_dossier.setdefault(e.dossier, []).append(e)
    for evs in by_dossier.values():
        evs.sort(key=event_key)
    return by_dossier


def _fold(
    conn: Connection,
    events: list[Event],
    by_dossier: dict[str, list[Event]],
    existing: dict[str, tuple[Any, ...]],
    outside: dict[str, int],
    communes: dict[str, str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], list[str]]:
    """The projection rows to write for newly stored events, the figures' narrow rows of
    those dossiers, the dossiers that must have none, and the replayed dossiers; queries
    only for rare replays.

    Per dossier:

    * a projection row exists and every new event sorts after the last one folded in (the
      common case): the new events are applied on top of the stored state, nothing replayed;
    * no row yet, and no stored event of the dossier outside this batch (a dossier received in
      this batch): folded from the batch's own, already decoded events;
    * anything else (a late event from another desk, events that arrived before their
      dossier's receive): replayed from the dossier's whole stored log, in (hlc, desk, seq)
      order. A dossier whose receive has not arrived yet stays unprojected until it does.
    """
    cache = dict(communes)
    out: list[dict[str, Any]] = []
    figures: list[dict[str, Any]] = []
    drop: list[str] = []

    def emit(state: DossierState, ms: milestones.Milestones, last: Event, commune: str) -> None:
        out.append(_row(state, ms, last, commune))
        fig = figure_row(state, ms, commune)
        if fig is None:
            drop.append(state.code)
        else:
            figures.append(fig)

    replay: list[str] = []
    for code, evs in by_dossier.items():
        row = existing.get(code)
        if row is None:
            if outside.get(code):
                replay.append(code)
                continue
            st, ms = milestones.fold(evs)
            if st is not None and ms is not None:
                emit(st, ms, evs[-1], _commune(conn, cache, st.owner_desk))
            continue
        last_hlc, last_desk, last_seq, commune, state_text, *ms_columns = row
        if event_key(evs[0]) <= (last_hlc, last_desk, last_seq):
            replay.append(code)
            continue
        state = state_from_json(state_text)
        ms = milestones.Milestones.from_stored(_milestones_of(ms_columns))
        for e in evs:
            new = apply(state, e)
            ms = milestones.step(ms, state, new, e)
            state = new
        emit(state, ms, evs[-1], commune)
    if replay:
        in_batch = {(e.desk_id, e.seq): e for e in events}
        stored = repo.events_of_dossiers(conn=conn, codes=replay)
        for code in replay:
            log = [
                in_batch.get((d, q)) or Event.from_body(d, b) for d, q, b in stored.get(code, [])
            ]
            st, ms = milestones.fold(log)
            if st is None or ms is None:
                continue
            emit(st, ms, log[-1], _commune(conn, cache, st.owner_desk))
    return out, figures, drop, replay


def _commune(conn: Connection, cache: dict[str, str], desk_id: str) -> str:
    if desk_id not in cache:
        desk = repo.get_desk(conn=conn, desk_id=desk_id)
        cache[desk_id] = str(desk["commune"]) if desk is not None else desk_id.split("-")[0]
    return cache[desk_id]


def _row(state: Any, ms: milestones.Milestones, last: Event, commune: str) -> dict[str, Any]:
    return {
        "code": state.code,
        "commune": commune,
        "owner_desk": state.owner_desk,
        "status": str(state.status),
        "received_at": dt_to_text(state.received_at),
        "due_at": opt_dt_to_text(state.due_at),
        "last_hlc": last.hlc,
        "last_desk": last.desk_id,
        "last_seq": last.seq,
        "event_count": state.event_count,
        "state": state_json(state),
        **figure_columns(state, ms),
    }


def figure_columns(state: DossierState, ms: milestones.Milestones) -> dict[str, Any]:
    """The columns the province figures read (models.ServerDossier), from the state and its
    milestones (domain/milestones.py)."""
    finished = _text(state.finished_at)
    return {
        "field": state.field,
        "channel": state.channel,
        "finished_at": finished,
        "resolved_at": _text(state.resolved_at),
        "returned_at": _text(state.returned_at),
        "last_event_at": _text(state.last_event_at),
        "extension_count": state.extension_count,
        "finished_key": finished or OPEN_KEY,
        "ms_simple": int(ms.simple),
        "fin_at": _text(ms.fin_at),
        "fin_b": None if ms.fin_outcome is None else milestones.OUTCOME_CODES[ms.fin_outcome],
        "sup_from": _text(ms.sup_from),
        "sup_to": _text(ms.sup_to),
        "due0": _text(ms.due0),
        "due1_at": _text(ms.due1_at),
        "due1": _text(ms.due1),
        "due2_at": _text(ms.due2_at),
        "due2": _text(ms.due2),
    }


_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)


def clock_seconds(v: datetime) -> int:
    """A wall-clock time as the integer server_figure stores: seconds since 1970-01-01 00:00
    of the same clock (the time read as if it were UTC), ordered like the text columns."""
    return (v.replace(tzinfo=None) - _EPOCH) // _SECOND


def _secs(v: datetime | None) -> int | None:
    return None if v is None else clock_seconds(v)


#: ``fin_key`` of a dossier still open: ``OPEN_KEY`` as clock seconds.
OPEN_SECONDS = clock_seconds(datetime(9999, 12, 31, 23, 59, 59))


def figure_row(
    state: DossierState, ms: milestones.Milestones, commune: str
) -> dict[str, Any] | None:
    """The dossier's server_figure row (models.ServerFigure), or None for a dossier refused
    at intake: no report counts it (the desk's and the figures' candidates leave it out)."""
    if str(state.status) == "refused" and state.event_count == 1:
        return None
    finished = state.finished_at
    if not ms.simple:
        # Classified from server_dossier: its milestones are never read (and a log that
        # stopped being simple in an earlier batch kept none), so none are written.
        ms = milestones.Milestones()
    return {
        "code": state.code,
        "commune": commune,
        "field": state.field,
        "online": int(state.channel == "online"),
        "simple": int(ms.simple),
        "received": clock_seconds(state.received_at),
        "fin_key": OPEN_SECONDS if finished is None else clock_seconds(finished),
        "fin_b": None if ms.fin_outcome is None else milestones.OUTCOME_CODES[ms.fin_outcome],
        "sup_from": _secs(ms.sup_from),
        "sup_to": _secs(ms.sup_to),
        "due0": _secs(ms.due0),
        "due1_at": _secs(ms.due1_at),
        "due1": _secs(ms.due1),
        "due2_at": _secs(ms.due2_at),
        "due2": _secs(ms.due2),
    }


_OUTCOME_OF_CODE = {v: k for k, v in milestones.OUTCOME_CODES.items()}


def _milestones_of(stored: list[Any]) -> tuple[Any, ...]:
    """``Milestones.STORED`` from the columns ``repo.projection_inputs`` reads (ms_simple,
    last_event_at, fin_at, fin_b, sup_from, sup_to, due0, due1_at, due1, due2_at, due2)."""
    simple, last_at, fin_at, fin_b, *rest = stored
    return (bool(simple), last_at, fin_at, _OUTCOME_OF_CODE.get(fin_b), *rest)


def _text(v: datetime | None) -> str | None:
    # isoformat: the "YYYY-MM-DD HH:MM:SS" of store/timefmt.py at a fifth of strftime's cost
    # (this runs for every dossier a batch touches).
    if v is None:
        return None
    return v.isoformat(" ", "seconds") if v.tzinfo is None and v.year >= 1000 else dt_to_text(v)


#: ``finished_key`` of a dossier still open: after every period's start.
OPEN_KEY = "9999-12-31 23:59:59"


def _evaluations(
    events: list[Event], figures: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Rows of server_evaluation for the batch's ``evaluate`` events (every one, as the
    figures count them; the lifecycle allows one per dossier), with the commune, field and
    reception of their dossier's figure row written by the same batch (``figures``)."""
    out = []
    of: dict[str, dict[str, Any]] | None = None
    for ev in events:
        if ev.kind != EventKind.EVALUATE:
            continue
        if of is None:
            of = {f["code"]: f for f in figures or ()}
        fig = of.get(ev.dossier)
        scores = [int(x) for x in ev.data.get("scores", ())][:9]
        row: dict[str, Any] = {
            "desk_id": ev.desk_id,
            "seq": ev.seq,
            "dossier": ev.dossier,
            "at": dt_to_text(ev.at),
            "satisfaction": int(ev.data.get("satisfaction", 0)),
            "commune": None if fig is None else fig["commune"],
            "field": None if fig is None else fig["field"],
            "received": None if fig is None else fig["received"],
        }
        for i in range(9):
            row[f"s{i + 1}"] = scores[i] if i < len(scores) else 0
        out.append(row)
    return out


def backfill_figures(conn: Connection) -> None:
    """Fill the figures' columns of every stored dossier and server_evaluation from the
    stored events (migration 0006, for databases that predate them): each dossier's whole log
    is folded again, in chunks, as a replay at ingest would."""
    d, ev = repo.DOSSIER, repo.EVENT
    codes = [str(c) for (c,) in conn.execute(select(d.c.code).order_by(d.c.code))]
    for i in range(0, len(codes), 500):
        chunk = codes[i : i + 500]
        logs = repo.events_of_dossiers(conn=conn, codes=chunk)
        values = []
        for code in chunk:
            log = [Event.from_body(desk, body) for desk, _seq, body in logs.get(code, [])]
            st, ms = milestones.fold(log)
            if st is not None and ms is not None:
                values.append({"b_code": code, **figure_columns(st, ms)})
        if values:  # one executemany per chunk
            stmt = update(d).where(d.c.code == bindparam("b_code"))
            conn.execute(stmt.values({k: bindparam(k) for k in values[0] if k != "b_code"}), values)
    last = (0, "", 0)
    while True:
        rows = conn.execute(
            select(ev.c.desk_id, ev.c.seq, ev.c.body)
            .where(ev.c.kind == EventKind.EVALUATE.value)
            .where(tuple_(ev.c.desk_id, ev.c.seq) > tuple_(literal(last[1]), literal(last[2])))
            .order_by(ev.c.desk_id, ev.c.seq)
            .limit(500)
        ).all()
        if not rows:
            return
        events = [Event.from_body(str(r[0]), bytes(r[2])) for r in rows]
        # Migration 0006's columns only: 0007 adds the dossier's and fills them.
        later = ("commune", "field", "received")
        values = [{k: v for k, v in r.items() if k not in later} for r in _evaluations(events)]
        conn.execute(insert(_EVALUATION), values)
        last = (0, str(rows[-1][0]), int(rows[-1][1]))


_EVALUATION = metadata.tables[ServerEvaluation.__tablename__]
# server_evaluation's copy of its dossier's figure columns, from server_figure (None if the
# dossier has no row: not projected yet, or refused at intake).
_COPY_FIGURE = (
    "UPDATE server_evaluation SET commune = f.commune, field = f.field, received = f.received "
    "FROM server_figure f WHERE f.code = server_evaluation.dossier"
)
_EVALUATION_DOSSIER = text(f"{_COPY_FIGURE} AND server_evaluation.dossier IN :codes").bindparams(
    bindparam("codes", expanding=True)
)


def backfill_figure_rows(conn: Connection) -> int:
    """server_figure from server_dossier's figure columns, then server_evaluation's copy of
    them (migration 0007, and the bench's bulk loader): two statements, in the database. The
    text times become the same integers as ``clock_seconds`` (the naive time read as UTC, in
    either dialect). Rows already there are left alone. Returns how many were written."""
    if conn.dialect.name == "postgresql":

        def secs(c: str) -> str:
            return f"CAST(EXTRACT(EPOCH FROM CAST({c} AS timestamp)) AS BIGINT)"
    else:

        def secs(c: str) -> str:
            return f"CAST(strftime('%s', {c}) AS INTEGER)"

    def simple(v: str) -> str:  # milestones only for simple logs, as ``figure_row``
        return f"CASE WHEN ms_simple = 1 THEN {v} END"

    times = ("sup_from", "sup_to", "due0", "due1_at", "due1", "due2_at", "due2")
    sql = (
        "INSERT INTO server_figure (code, commune, field, online, simple, received, fin_key, "
        f"fin_b, {', '.join(times)}) "
        "SELECT code, commune, field, CASE WHEN channel = 'online' THEN 1 ELSE 0 END, "
        f"ms_simple, {secs('received_at')}, {secs('finished_key')}, {simple('fin_b')}, "
        f"{', '.join(simple(secs(c)) for c in times)} FROM server_dossier d "
        "WHERE NOT (status = 'refused' AND event_count = 1) "
        "AND NOT EXISTS (SELECT 1 FROM server_figure f WHERE f.code = d.code)"
    )
    written = int(conn.execute(text(sql)).rowcount or 0)
    conn.execute(text(f"{_COPY_FIGURE} AND server_evaluation.commune IS NULL"))
    return written
