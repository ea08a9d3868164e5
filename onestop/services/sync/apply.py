"""Folding what the province sends into the desk: other desks' events of the commune, reference
data (catalogue, calendar, units, trust list), and the digest that proves both sides agree."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from onestop.crypto.signer import InvalidPublicKeyError, kid_for
from onestop.domain.calendar import DayKind
from onestop.domain.events import GENESIS_HEAD, Event, EventFormatError, chain, from_epoch
from onestop.i18n import t
from onestop.services import catalogue
from onestop.services.desk import Desk
from onestop.services.keys import (
    ReceiptError,
    import_trust_from_server,
    trust_list,
)
from onestop.services.lockdown import downloaded_revocations
from onestop.services.setting_keys import S_ACKED, S_REVOCATIONS
from onestop.services.sync import conflicts
from onestop.services.sync.base import SyncError
from onestop.store.models import DeskState, DossierRow, EventRow, Setting, Unit
from onestop.store.repo_dossiers import row_to_state, save_dossier
from onestop.store.repo_events import events_for
from onestop.store.timefmt import dt_to_text
from onestop.wire.base import WireError, loads_strict
from onestop.wire.state import digest, replay_or_none, state_json


def check_foreign_source(desk: Desk, desk_id: str, signed_by: tuple[int, bytes] | None) -> None:
    """May events of desk ``desk_id`` be accepted here? Raises SyncError (Vietnamese) if not.

    ``signed_by`` is the (alg, public key) that signed them when they come straight from that
    desk (a USB bundle), None when the province relays them (its signed feed).

    The province's rule is the one applied, so desk and province always agree: the server
    refuses *every* batch or bundle of a revoked desk from the moment of revocation, whatever
    the times written in its events (a stolen laptop can write any time), and keeps — and
    serves in its feed — only what it had accepted before. Hence:

    * relayed by the province: accepted (the province already applied the rule);
    * straight from the desk: refused if the province revoked that desk or that key — in the
      server-signed revocations list sync downloads (``lockdown.downloaded_revocations``) or
      in the province trust list, whichever the desk holds; there is no "before the
      revocation time" exception, since only the province can tell what reached it in time.
    """
    if signed_by is None:
        return
    alg, public_key = signed_by
    try:
        kid: bytes | None = kid_for(alg, public_key)
    except InvalidPublicKeyError:
        kid = None
    times = [
        r.revoked_at for r in downloaded_revocations(desk) if r.desk == desk_id or r.kid == kid
    ]
    tl = trust_list(desk)
    if tl is not None and kid is not None:
        times += [r.revoked_at for r in tl.revocations if r.kid == kid]
        for entry in tl.entries_for(kid):
            at = tl.revocation_time(entry) if entry.public_key == public_key else None
            if at is not None:
                times.append(at)
    if not times:
        return
    first = min(times)
    raise SyncError(
        t(
            "Không nhận sự kiện của quầy {d}: tỉnh đã thu hồi quyền hoạt động của quầy này "
            "(từ {when}). Sự kiện của quầy bị thu hồi chỉ đến được các quầy khác qua máy chủ "
            "tỉnh; quầy này không thay đổi gì. Hãy báo Văn phòng UBND tỉnh.",
            d=desk_id,
            when=f"{from_epoch(first):%H:%M %d/%m/%Y}" if first else "?",
        )
    )


class ChainError(Exception):
    """A range that does not continue the chain this desk holds; ``str(e)`` is Vietnamese.

    Raised by ``range_state`` and ``new_events``, the checks ``apply_foreign`` (sync, bundles)
    and ``replace.bulk_apply`` (snapshot pages) share; each raises it again as its own error
    (SyncError, WireError), so its callers keep catching what they caught before.
    """


def _desk_state(db: Session, desk_id: str) -> DeskState:
    """Where this desk stands in ``desk_id``'s chain; the chain's start if it holds none."""
    return db.get(DeskState, desk_id) or DeskState(
        desk_id=desk_id, last_seq=0, head=GENESIS_HEAD, hlc=0
    )


def raise_own_hlc(db: Session, own: str, max_hlc: int) -> None:
    """Raise this desk's HLC past ``max_hlc`` (the HLC receive rule), so its next event sorts
    after the events just stored; 0 (nothing stored) changes nothing."""
    if not max_hlc:
        return
    mine = _desk_state(db, own)
    if mine.hlc < max_hlc:
        mine.hlc = max_hlc
        db.add(mine)


def range_state(db: Session, own: str, desk_id: str, first: int) -> DeskState:
    """Where this desk stands in ``desk_id``'s chain, for a range starting at ``first``.

    Refuses events carrying this desk's own number and a range that would leave a gap.
    """
    if desk_id == own:
        raise ChainError(t("Không nhận sự kiện mang số hiệu của chính quầy này."))
    st = _desk_state(db, desk_id)
    if first > st.last_seq + 1:
        raise ChainError(
            t(
                "Thiếu sự kiện của quầy {d}: đang có đến số {n}, gói bắt đầu từ {f}.",
                d=desk_id,
                n=st.last_seq,
                f=first,
            )
        )
    return st


def new_events(
    db: Session, st: DeskState, first: int, bodies: Sequence[bytes]
) -> Iterator[tuple[int, bytes, Event, bytes]]:
    """The events of a range this desk does not hold yet: (seq, body, event, chain head after).

    Events already held must be byte-identical to ours; each new one must decode and carry
    its place's number. The head is chained on from ``st``'s; the caller compares the last
    one with the range's claimed head (its own rule for when) and stores the rows.
    """
    desk_id, held_to = st.desk_id, st.last_seq
    head = bytes(st.head)
    for i, body in enumerate(bodies):
        seq = first + i
        if seq <= held_to:
            held = db.get(EventRow, (desk_id, seq))
            if held is None or bytes(held.body) != body:
                raise ChainError(t("Sự kiện {d}#{n} khác bản quầy đang giữ.", d=desk_id, n=seq))
            continue
        try:
            ev = Event.from_body(desk_id, body)
        except EventFormatError as e:
            raise ChainError(f"{desk_id}#{seq}: {e}") from e
        if ev.seq != seq:
            raise ChainError(t("Sự kiện {d}#{n} mang sai số thứ tự.", d=desk_id, n=seq))
        head = chain(head, body)
        yield seq, body, ev, head


def apply_foreign(
    desk: Desk,
    ranges: Sequence[tuple[str, int, bytes | None, Sequence[bytes]]],
    *,
    unseen_after: int | None = None,
    signed_by: tuple[int, bytes] | None = None,
) -> int:
    """Store other desks' events (desk, first_seq, head after last or None, bodies) and project.

    One transaction. Each desk's chain is recomputed from the head we hold for it; events we
    already hold must be byte-identical; a gap or a head mismatch refuses the whole call.
    Touched dossiers are replayed from all their events in (hlc, desk, seq) order — the order
    the server uses — and this desk's HLC is raised past everything seen, so its next event
    sorts after them (the HLC receive rule). Then, in the same transaction, actions of this
    desk that were concurrent with the new events and came out differently are flagged
    (services/conflicts.py); ``unseen_after`` = this desk's acked seq before the current sync
    run (default: now), beyond which no other desk can have seen its events.

    ``signed_by``: the key of the desk the events come straight from (a bundle); None when the
    province relays them. Every range passes ``check_foreign_source`` before anything is stored.
    """
    own = desk.identity.desk_id
    for desk_id in sorted({r[0] for r in ranges}):
        check_foreign_source(desk, desk_id, signed_by)
    added = 0
    fresh: list[Event] = []
    touched: set[str] = set()
    max_hlc = 0
    with desk.store.write() as db:
        for desk_id, first, head_after, bodies in ranges:
            try:
                st = range_state(db, own, desk_id, first)
                new = list(new_events(db, st, first, bodies))
            except ChainError as e:
                raise SyncError(str(e)) from e
            head, last_hlc = bytes(st.head), st.hlc  # head: the last new event's, if any
            for seq, body, ev, head in new:
                db.add(
                    EventRow(
                        desk_id=desk_id,
                        seq=seq,
                        hlc=ev.hlc,
                        kind=ev.kind.value,
                        dossier=ev.dossier,
                        at=dt_to_text(ev.at),
                        actor=ev.actor,
                        role=ev.role,
                        body=body,
                        head=head,
                    )
                )
                touched.add(ev.dossier)
                fresh.append(ev)
                last_hlc = max(last_hlc, ev.hlc)
                max_hlc = max(max_hlc, ev.hlc)
                st.last_seq, st.head, st.hlc = seq, head, last_hlc
                added += 1
            end = first + len(bodies) - 1
            if head_after is not None and bodies and st.last_seq == end and head != head_after:
                raise SyncError(
                    t("Chuỗi băm của quầy {d} không khớp: dữ liệu đã bị sửa.", d=desk_id)
                )
            db.add(st)
        raise_own_hlc(db, own, max_hlc)
        db.flush()
        for code in sorted(touched):
            state = replay_or_none(events_for(db=db, dossier=code))
            if state is not None:
                save_dossier(db=db, state=state)
        if fresh:
            if unseen_after is None:
                row = db.get(Setting, S_ACKED)
                unseen_after = int(row.value or 0) if row is not None else 0
            conflicts.detect(db, desk, fresh, unseen_after=unseen_after)
    return added


def _store_trust(desk: Desk, data: bytes) -> bool:
    """Hand a server-delivered trust list to services/receipts (the one trust store).

    The list arrives over a channel signed by the pinned server key. The first list pins the
    province root (its fingerprint is shown at enrollment for comparison); later lists must be
    signed by that root and be at least as new, or they are ignored.
    """
    fd, tmp = tempfile.mkstemp(prefix=".trust.", suffix=".cbor")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        import_trust_from_server(desk, Path(tmp))
    except ReceiptError:
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)
    return True


def apply_reference(desk: Desk, items: dict[Any, Any]) -> list[str]:
    """Fold reference items into the desk. Returns the names that changed something."""
    changed: list[str] = []
    calendar: list[tuple[date, DayKind, str]] = []
    trust = items.get("trust")
    if isinstance(trust, dict) and isinstance(trust.get(2), bytes) and _store_trust(desk, trust[2]):
        changed.append("trust")
    with desk.store.write() as db:
        for name, item in sorted(items.items()):
            if not isinstance(item, dict) or not isinstance(item.get(2), bytes):
                continue
            data: bytes = item[2]
            if name == "catalogue":
                try:
                    procs = catalogue.parse_catalogue(data.decode("utf-8-sig"), source="server")
                except (catalogue.CatalogueError, UnicodeDecodeError):
                    continue
                added, _kept = catalogue.import_catalogue(db=db, procedures=procs)
                if added:
                    changed.append(name)
            elif name == "units":
                if _merge_units(db, data):
                    changed.append(name)
            elif name == "calendar":
                try:
                    days = loads_strict(data, "calendar", max_depth=3)
                    calendar = [(date.fromisoformat(d), DayKind(k), str(n)) for d, k, n in days]
                except (WireError, ValueError, TypeError):
                    continue
                changed.append(name)
            elif name == "revocations":
                try:
                    rows = loads_strict(data, "revocations", max_depth=3)
                    text = json.dumps(
                        [{"desk": r[0], "kid": r[1].hex(), "revoked_at": r[2]} for r in rows]
                    )
                except (WireError, TypeError, IndexError, AttributeError):
                    continue
                db.merge(Setting(key=S_REVOCATIONS, value=text))
                changed.append(name)
    for day, kind, note in calendar:
        desk.apply_calendar_day(day, kind, note)  # province data, whoever runs the sync
    return changed


def _merge_units(db: Session, data: bytes) -> bool:
    try:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    except UnicodeDecodeError:
        return False
    have = {(u.code, u.effective_from) for u in db.exec(select(Unit)).all()}
    added = False
    for r in rows:
        key = (r.get("code", ""), r.get("effective_from") or "2025-07-01")
        if not key[0] or key in have:
            continue
        db.add(
            Unit(
                code=key[0],
                name=r.get("name", ""),
                level=r.get("level", ""),
                parent_code=r.get("parent_code") or None,
                effective_from=key[1],
                effective_to=r.get("effective_to") or None,
            )
        )
        have.add(key)
        added = True
    return added


def desk_digest(desk: Desk) -> tuple[int, str]:
    """(dossiers, digest) over every dossier this desk holds, comparable with GET /digest."""
    with desk.store.read() as db:
        rows = db.exec(select(DossierRow)).all()
        pairs = [(r.code, state_json(row_to_state(r))) for r in rows]
    return len(pairs), digest(pairs)
