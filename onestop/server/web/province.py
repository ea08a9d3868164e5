"""The province dashboard's numbers: Biểu 06 per commune, computed in the database.

The same numbers as the desk's ``onestop report bieu06`` (``services.reports.bieu06_fast``)
for every commune, without reading history (issue 19: the previous pass decoded every dossier
received before the end of the period, 80-97 s and 3.2 GB for a month at 1 M dossiers):

* **A narrow table, bounded candidates.** ``server_figure`` (one row per dossier, written by
  ingest in the batch's transaction: commune, field, channel, reception, finish, milestones,
  times as integers) instead of ``server_dossier``, whose rows carry a kilobyte of state JSON:
  a cold year at 1 M dossiers read 1.6 GB of heap and took 5 s. Candidates are received
  before the end of the period and not finished before its start, through indexes;
  refused-at-intake dossiers have no row, as the desk leaves them out.
* **Classified in SQL, grouped by (commune, field, bucket).** A *simple* log (nearly all of
  them) is classified at the end of any period from the milestones ingest keeps
  (``domain/milestones.py``: the finish and its outcome, the supplement pause, the due-date
  steps): finished within the period, its stored outcome (grouped on the raw columns, the
  bulk of a year); open at its end, within or overdue. Any other dossier (rare, through a
  partial index on ``server_dossier``) is classified as the desk does: from its projection
  columns when nothing happened after the end of the period, else replayed from its events
  (``domain.reports.snapshot``); ``domain.reports.bieu06`` then checks every identity.
* **Satisfaction** from ``server_evaluation`` (one row per ``evaluate`` event, written by
  ingest with its dossier's commune, field and reception, so no join), grouped per commune,
  field and level: the desk's ``evaluation_summary``.
* **Cached per period** (and field, commune, overdue cut) in each worker, keyed by a digest of
  every desk's acknowledged position: any accepted batch changes it, so the next request
  recomputes; a page reload or the JSON API after the page costs one small query.

A test builds several communes' desks, syncs them to a real server and compares the figures
with each desk's own report for a month, a quarter and a year.
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select, text

from onestop.domain.catalogue import CatalogueError, parse_catalogue
from onestop.domain.clock import VN_TZ
from onestop.domain.events import Event
from onestop.domain.lifecycle import EVALUATION_INDICATORS, SATISFACTION_LEVELS
from onestop.domain.reports import (
    Bieu06,
    Bieu06Counts,
    EvaluationRow,
    EvaluationSummary,
    Period,
    bieu06,
    field_order,
    overdue_cut,
    snapshot,
)
from onestop.i18n import t
from onestop.server import repo
from onestop.server.ingest import OPEN_SECONDS, clock_seconds
from onestop.server.reference import reference_data
from onestop.store.timefmt import dt_to_text

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
    #: Events the desks hold that the server has not received, as each desk last reported it
    #: in a batch envelope (the sum over the commune's desks); None while no desk reported.
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


# ----------------------------------------------------------------------------- the figures' SQL

# Simple logs (nearly all): classified at the end of any period from the milestones ingest
# keeps in server_figure (domain/milestones.py ``line_at``), times as clock seconds. Each row
# of the answer is (commune, field, bucket, count), bucket = intake * 6 + outcome (early, on
# time, late, within, overdue, stopped), the desk's encoding (services/reports.py). In a
# simple log the finish is ``finished_at`` (``fin_key``), so the candidates split on it:
#
# * finished within the period (the bulk of a year): the outcome is the one stored at the
#   finish (``fin_b``); grouped on the raw columns first, the bucket computed per group;
# * still open at its end (few): waiting for a supplement, or the due date in force then
#   against the overdue cut: within or overdue.
#
# Both are ranges of one index each (server_figure's), bounded by the period on both sides.
_INTAKE_OF = "(CASE WHEN received < :s THEN 2 WHEN online = 1 THEN 0 ELSE 1 END) * 6"
_SIMPLE_SQL = f"""
SELECT commune, field, (CASE WHEN carried = 1 THEN 2 WHEN online = 1 THEN 0 ELSE 1 END) * 6
       + fin_b, n
FROM (SELECT commune, field, online, CASE WHEN received < :s THEN 1 ELSE 0 END AS carried,
             fin_b, count(*) AS n
      FROM server_figure
      WHERE simple = 1 AND fin_key >= :s AND fin_key < :e AND received < :e{{flt}}
      GROUP BY commune, field, online, CASE WHEN received < :s THEN 1 ELSE 0 END, fin_b) AS f
UNION ALL
SELECT commune, field, b, count(*) FROM (
  SELECT commune, field, {_INTAKE_OF} +
    CASE
      WHEN sup_from < :e AND (sup_to IS NULL OR sup_to >= :e) THEN 3
      WHEN COALESCE(CASE WHEN due2_at < :e THEN due2 WHEN due1_at < :e THEN due1 ELSE due0 END,
                    :open) >= :cut THEN 3
      ELSE 4
    END AS b
  FROM server_figure WHERE simple = 1 AND fin_key >= :e AND received < :e{{flt}}) AS o
GROUP BY commune, field, b"""

# The other dossiers (rare: ms_simple = 0, through a partial index), as the desk does, on
# server_dossier's text columns (services/reports.py ``_NEEDS_REPLAY``, ``_WITHIN``, the
# bucket CASE of ``_ROW_SQL``): from the projection when nothing happened after the end of
# the period, else -1: replay the log.
_NEEDS_REPLAY = "(last_event_at >= :te OR (finished_at IS NOT NULL AND extension_count > 0))"
_WITHIN = "(status = 'supplement_requested' OR due_at IS NULL OR due_at >= :tcut)"
_INTAKE = "(CASE WHEN received_at < :ts THEN 2 WHEN channel = 'online' THEN 0 ELSE 1 END) * 6"
_BUCKET = f"""
CASE
  WHEN {_NEEDS_REPLAY} THEN -1
  ELSE {_INTAKE} +
    CASE
      WHEN finished_at IS NULL THEN CASE WHEN {_WITHIN} THEN 3 ELSE 4 END
      WHEN resolved_at IS NULL THEN 5
      WHEN due_at IS NULL THEN 1
      WHEN resolved_at < substr(due_at, 1, 10) THEN 0
      WHEN substr(resolved_at, 1, 10) > due_at THEN 2
      ELSE 1
    END
END"""
_CANDIDATES = (
    "ms_simple = 0 AND received_at < :te AND finished_key >= :ts "
    "AND NOT (status = 'refused' AND event_count = 1)"
)
_INTAKES = ("online", "direct", "carried")
_OUTCOMES = ("early", "on_time", "late", "within", "overdue", "stopped")


def _filters(commune: str | None, field_name: str | None, prefix: str = "") -> str:
    out = ""
    if commune is not None:
        out += f" AND {prefix}commune = :c"
    if field_name:
        out += f" AND {prefix}field = :f"
    return out


@dataclass
class _Figures:
    """One commune's figures for one period (what the cache keeps)."""

    extra: dict[str, Bieu06Counts] = field(default_factory=dict)
    snapshots: list[Any] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    evaluations: dict[str, list[tuple[int, int, list[int]]]] = field(default_factory=dict)


def _figures(
    conn: Connection, p: Period, commune: str | None, field_name: str | None, today: date | None
) -> dict[str, _Figures]:
    """Per commune: Biểu 06 counts from SQL, the rare snapshots replayed, the evaluations."""
    cut = overdue_cut(p, today)
    params: dict[str, Any] = {
        "s": clock_seconds(p.start_at),
        "e": clock_seconds(p.end_at),
        "cut": clock_seconds(cut),
        "open": OPEN_SECONDS,
        "ts": dt_to_text(p.start_at),
        "te": dt_to_text(p.end_at),
        "tcut": dt_to_text(cut),
        "c": commune,
        "f": field_name,
    }
    flt = _filters(commune, field_name)
    out: dict[str, _Figures] = {}
    sql = (
        f"{_SIMPLE_SQL.format(flt=flt)} UNION ALL "
        f"SELECT commune, field, b, count(*) FROM (SELECT commune, field, {_BUCKET} AS b "
        f"FROM server_dossier WHERE {_CANDIDATES}{flt}) AS y GROUP BY commune, field, b"
    )
    replay = False
    for c, name, bucket, n in conn.execute(text(sql), params):
        fig = out.setdefault(str(c), _Figures())
        fig.fields.add(str(name))
        counts = fig.extra.setdefault(str(name), Bieu06Counts())
        if bucket < 0:
            replay = True
            continue
        outcome = _OUTCOMES[bucket % 6]
        counts.add_lines(
            _INTAKES[bucket // 6],
            "on_time" if outcome == "stopped" else outcome,
            int(n),
            stopped=outcome == "stopped",
        )
    if replay:
        rows = conn.execute(
            text(
                f"SELECT code, commune FROM server_dossier WHERE {_CANDIDATES}{flt} "
                f"AND {_NEEDS_REPLAY} ORDER BY code"
            ),
            params,
        ).all()
        commune_of = {str(code): str(c) for code, c in rows}
        logs = repo.events_of_dossiers(conn=conn, codes=list(commune_of))
        for code, c in commune_of.items():
            events = [Event.from_body(desk, body) for desk, _seq, body in logs.get(code, [])]
            snap = snapshot(events, p.end_at)
            if snap is not None:
                out[c].snapshots.append(snap)
    sums = ", ".join(f"sum(v.s{i})" for i in range(1, 10))
    evals = (
        f"SELECT v.commune, v.field, v.satisfaction, count(*), {sums} "
        "FROM server_evaluation v "
        f"WHERE v.at >= :ts AND v.at < :te AND v.received < :e"
        f"{_filters(commune, field_name, 'v.')} "
        "GROUP BY v.commune, v.field, v.satisfaction"
    )
    for c, name, level, n, *score_sums in conn.execute(text(evals), params):
        fig = out.setdefault(str(c), _Figures())
        fig.evaluations.setdefault(str(name), []).append(
            (int(level), int(n), [int(x or 0) for x in score_sums])
        )
    return out


def _evaluation_row(name: str, groups: list[tuple[int, int, list[int]]]) -> EvaluationRow:
    # domain.reports._evaluation_row, from per-level counts and score sums.
    n = sum(count for _level, count, _sums in groups)
    sums = [sum(s[i] for _l, _c, s in groups) for i in range(EVALUATION_INDICATORS)]
    averages = tuple(round(v / n, 2) if n else None for v in sums)
    levels = dict.fromkeys(sorted(SATISFACTION_LEVELS, reverse=True), 0)
    for level, count, _sums in groups:
        levels[level] = levels.get(level, 0) + count
    return EvaluationRow(name, n, averages, levels)


def _evaluation_summary(fig: _Figures, p: Period, field_name: str | None) -> EvaluationSummary:
    by_field = dict(fig.evaluations)
    if field_name:
        by_field.setdefault(field_name, [])
    rows = tuple(_evaluation_row(f, by_field[f]) for f in sorted(by_field, key=field_order))
    total = _evaluation_row(t("Tổng cộng"), [g for f in by_field.values() for g in f])
    return EvaluationSummary(p, rows, total)


# Figures per (database, period, cut, field, commune), valid while the desks' acknowledged
# positions are what they were: every ingest advances one, so the next request recomputes.
_CACHE: OrderedDict[tuple[str, ...], tuple[bytes, dict[str, _Figures]]] = OrderedDict()
_CACHE_SIZE = 64
_CACHE_LOCK = threading.Lock()


def _fingerprint(conn: Connection) -> bytes:
    h = hashlib.sha256()
    d = repo.DESK
    for desk_id, acked in conn.execute(select(d.c.desk_id, d.c.acked_seq).order_by(d.c.desk_id)):
        h.update(f"{desk_id}:{acked};".encode())
    return h.digest()


def _cached_figures(
    conn: Connection, p: Period, commune: str | None, field_name: str | None, today: date | None
) -> dict[str, _Figures]:
    cut = dt_to_text(overdue_cut(p, today))
    key = (
        str(conn.engine.url),
        p.start.isoformat(),
        p.end.isoformat(),
        cut,
        field_name or "",
        commune or "",
    )
    mark = _fingerprint(conn)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] == mark:
            _CACHE.move_to_end(key)
            return hit[1]
    figures = _figures(conn, p, commune, field_name, today)
    with _CACHE_LOCK:
        _CACHE[key] = (mark, figures)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return figures


def commune_bieu06(
    conn: Connection,
    commune: str,
    p: Period,
    *,
    field_name: str | None = None,
    today: date | None = None,
) -> Bieu06:
    """Biểu 06 of one commune: what ``onestop report bieu06`` prints on its desk."""
    fig = _cached_figures(conn, p, commune, field_name, today).get(commune, _Figures())
    return bieu06(fig.snapshots, p, field=field_name, extra=fig.extra, today=today)


def commune_names(conn: Connection) -> dict[str, str]:
    """Names from the published units list, else the name the commune's desks gave."""
    out = repo.commune_names(conn=conn)
    data = reference_data(conn=conn, name="units")
    if data is None:
        return out
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))):
        code, name = (row.get("code") or "").strip(), (row.get("name") or "").strip()
        if code and name:
            out[code] = name
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
    figures = _cached_figures(conn, p, None, field_name, today)
    desks: dict[str, list[tuple[int | None, int | None]]] = {}
    d = repo.DESK
    for commune, seen, outbox in conn.execute(select(d.c.commune, d.c.last_seen_at, d.c.outbox)):
        desks.setdefault(str(commune), []).append(
            (None if seen is None else int(seen), None if outbox is None else int(outbox))
        )
    names = commune_names(conn)
    out: list[CommuneStats] = []
    for commune in sorted(set(figures) | set(desks)):
        fig = figures.get(commune, _Figures())
        b = bieu06(fig.snapshots, p, field=field_name, extra=fig.extra, today=today)
        seen_times = [x for x, _o in desks.get(commune, []) if x is not None]
        last = max(seen_times) if seen_times else None
        stale = last is None or now - last >= stale_days * 86400
        reported = [o for _x, o in desks.get(commune, []) if o is not None]
        out.append(
            CommuneStats(
                commune=commune,
                name=names.get(commune, ""),
                desks=len(desks.get(commune, [])),
                bieu06=b,
                evaluations=_evaluation_summary(fig, p, field_name),
                last_sync=last,
                stale=stale,
                events_pending=sum(reported) if reported else None,
                fields=set(fig.fields),
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
