"""The province dashboard's numbers: Biểu 06 per commune from the server's rebuilt dossiers.

The same computation as the desk's ``onestop report bieu06`` (``domain.reports``), over the
server's projection of each dossier (``server_dossier.state``, the exact values of the desk's
``dossier`` row, rebuilt from the same events with the same rules):

* a dossier whose last event is before the end of the period, and whose due date cannot have
  moved after its decision (no extension), *is* its projection at the end of the period:
  ``snapshot_from_state``;
* any other candidate is folded from its events up to the end of the period
  (``domain.reports.snapshot``), in the (hlc, desk, seq) order both sides use;
* ``domain.reports.bieu06`` then classifies and checks every identity.

That is the desk's fast path (``services.reports.bieu06_fast``) with the SQL part done in
Python, so the numbers of a commune equal the desk's report for the same period as long as the
desk and the server hold the same events (a test runs the real CLI on the desk and compares).
Satisfaction is the desk's ``evaluation_summary`` over the ``evaluate`` events of the period.

Cost: one pass over the dossiers received before the end of the period (JSON parse per row)
per request; fine for a province of a few hundred thousand dossiers per period on one worker.
A larger province would cache per (period, event count); not needed yet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from onestop.domain.catalogue import CatalogueError, parse_catalogue
from onestop.domain.clock import VN_TZ
from onestop.domain.events import Event, EventKind
from onestop.domain.lifecycle import DossierState
from onestop.domain.reports import (
    Bieu06,
    EvaluationRecord,
    EvaluationSummary,
    Period,
    bieu06,
    evaluation_summary,
    field_order,
    snapshot,
    snapshot_from_state,
)
from onestop.server import repo
from onestop.server.reference import reference_data
from onestop.store.timefmt import dt_to_text
from onestop.wire.state import state_from_json

__all__ = [
    "CommuneStats",
    "commune_bieu06",
    "commune_names",
    "field_names",
    "province_overview",
]


@dataclass
class CommuneStats:
    commune: str
    name: str
    desks: int
    bieu06: Bieu06
    evaluations: EvaluationSummary
    last_sync: int | None
    stale: bool
    #: Events the desks hold that the server has not received. The desks do not report their
    #: outbox size, so this is unknown (None) today.
    events_pending: int | None = None
    rank: int = 0
    fields: set[str] = field(default_factory=set)

    @property
    def on_time_rate(self) -> float | None:
        c = self.bieu06.total
        return (c.early + c.on_time) / c.resolved if c.resolved else None

    @property
    def online_share(self) -> float | None:
        c = self.bieu06.total
        new = c.online + c.direct
        return c.online / new if new else None

    @property
    def satisfaction(self) -> float | None:
        total = self.evaluations.total
        return total.satisfied / total.count if total.count else None


def _states(conn: Connection, p: Period, commune: str | None) -> Iterator[tuple[str, DossierState]]:
    """(commune, state) of every dossier received before the end of ``p``."""
    d = repo.DOSSIER
    stmt = select(d.c.commune, d.c.state).where(d.c.received_at < dt_to_text(p.end_at))
    if commune is not None:
        stmt = stmt.where(d.c.commune == commune)
    for row in conn.execute(stmt):
        yield str(row[0]), state_from_json(str(row[1]))


def _needs_replay(s: DossierState, p: Period) -> bool:
    # The desk's _NEEDS_REPLAY (services/reports.py), on the decoded row.
    if s.last_event_at is not None and s.last_event_at >= p.end_at:
        return True
    return s.finished_at is not None and s.extension_count > 0


def _snapshots(conn: Connection, states: Sequence[DossierState], p: Period) -> list[Any]:
    snaps: list[Any] = []
    replay: list[str] = []
    for s in states:
        if s.finished_at is not None and s.finished_at < p.start_at:
            continue  # finished before the period: in no column
        if _needs_replay(s, p):
            replay.append(s.code)
        else:
            snaps.append(snapshot_from_state(s))
    logs = repo.events_of_dossiers(conn=conn, codes=sorted(replay))
    for code in sorted(replay):
        events = [Event.from_body(desk, body) for desk, _seq, body in logs.get(code, [])]
        snap = snapshot(events, p.end_at)
        if snap is not None:
            snaps.append(snap)
    return snaps


def _evaluations(
    conn: Connection,
    p: Period,
    fields_by_code: dict[str, str],
    field_name: str | None,
) -> EvaluationSummary:
    e = repo.EVENT
    records: list[EvaluationRecord] = []
    codes = sorted(fields_by_code)
    for i in range(0, len(codes), 500):
        rows = conn.execute(
            select(e.c.desk_id, e.c.body).where(
                e.c.kind == EventKind.EVALUATE.value, e.c.dossier.in_(codes[i : i + 500])
            )
        ).all()
        for desk_id, body in rows:
            ev = Event.from_body(str(desk_id), bytes(body))
            if not p.contains(ev.at):
                continue
            scores = tuple(int(x) for x in ev.data.get("scores", ()))
            records.append(
                EvaluationRecord(
                    ev.dossier,
                    fields_by_code[ev.dossier],
                    ev.at,
                    scores,
                    int(ev.data.get("satisfaction", 0)),
                )
            )
    return evaluation_summary(records, p, field=field_name)


def commune_bieu06(
    conn: Connection,
    commune: str,
    p: Period,
    *,
    field_name: str | None = None,
    today: date | None = None,
) -> Bieu06:
    """Biểu 06 of one commune: what ``onestop report bieu06`` prints on its desk."""
    states = [s for _c, s in _states(conn, p, commune)]
    return bieu06(_snapshots(conn, states, p), p, field=field_name, today=today)


def commune_names(conn: Connection) -> dict[str, str]:
    data = reference_data(conn=conn, name="units")
    if data is None:
        return {}
    out: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))):
        code = (row.get("code") or "").strip()
        if code:
            out[code] = (row.get("name") or "").strip()
    return out


def field_names(conn: Connection, seen: Iterable[str] = ()) -> list[str]:
    """Fields of the published catalogue plus any field seen in the data, in report order."""
    names = set(seen)
    data = reference_data(conn=conn, name="catalogue")
    if data is not None:
        try:
            names |= {proc.field for proc in parse_catalogue(data.decode("utf-8-sig"))}
        except (CatalogueError, UnicodeDecodeError):  # pragma: no cover - checked on publish
            pass
    return sorted((n for n in names if n), key=field_order)


def province_overview(
    conn: Connection,
    p: Period,
    *,
    field_name: str | None,
    today: date,
    now: int,
    stale_days: int,
) -> list[CommuneStats]:
    """Every commune with a desk or a dossier, ranked by on-time rate (then volume)."""
    by_commune: dict[str, list[DossierState]] = {}
    for commune, state in _states(conn, p, None):
        by_commune.setdefault(commune, []).append(state)
    desks: dict[str, list[int | None]] = {}
    for commune, seen in conn.execute(select(repo.DESK.c.commune, repo.DESK.c.last_seen_at)):
        desks.setdefault(str(commune), []).append(None if seen is None else int(seen))
    names = commune_names(conn)
    out: list[CommuneStats] = []
    for commune in sorted(set(by_commune) | set(desks)):
        states = by_commune.get(commune, [])
        b = bieu06(_snapshots(conn, states, p), p, field=field_name, today=today)
        fields_by_code = {s.code: s.field for s in states}
        evals = _evaluations(conn, p, fields_by_code, field_name)
        seen_times = [x for x in desks.get(commune, []) if x is not None]
        last = max(seen_times) if seen_times else None
        stale = last is None or now - last >= stale_days * 86400
        out.append(
            CommuneStats(
                commune=commune,
                name=names.get(commune, ""),
                desks=len(desks.get(commune, [])),
                bieu06=b,
                evaluations=evals,
                last_sync=last,
                stale=stale,
                fields={s.field for s in states},
            )
        )

    def key(s: CommuneStats) -> tuple[int, float, int, str]:
        rate = s.on_time_rate
        return (rate is None, -(rate or 0.0), -s.bieu06.total.received, s.commune)

    out.sort(key=key)
    for i, s in enumerate(out, start=1):
        s.rank = i
    return out


def epoch_local(epoch: int | None) -> datetime | None:
    """Epoch seconds as naive Vietnam local time (the app's convention)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, VN_TZ).replace(tzinfo=None)
