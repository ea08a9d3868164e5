"""Where a dossier stands in Biểu 06 at the end of *any* period, from a few stored milestones.

The province dashboard classifies a million dossiers per request. Replaying each dossier's log
up to the end of the period (``domain.reports.snapshot``) is exact but costs a decode per event;
the projection row alone is exact only for dossiers with nothing after the end of the period.
What Biểu 06 reads of a snapshot at ``end`` is small: whether the dossier was received, when
and by which channel, when it finished and how (the outcome judged at that moment), whether it
was waiting for a supplement at ``end`` and the due date in force at ``end``. For most logs
those are step functions of ``end`` with at most a few steps, so they can be folded once, when
the events arrive, into a handful of columns that SQL compares with the period's bounds:

* ``fin_at``/``fin_outcome``: the event that ended it (as ``snapshot`` sees it: the first
  resolve/withdraw/refuse after the receive) and its Biểu 06 outcome, classified right then
  against the due date in force (``deadlines.classify``);
* ``sup_from``/``sup_to``: the one supplement pause;
* ``due0`` and up to two later changes of the due date (a supplement recorded, an extension).

This holds when the log is *simple*: event times never go backwards in fold order (so the
events before ``end`` are a prefix of the log), the finish is a real one that sets
``finished_at`` once and for all, at most one pause and two due-date changes. Anything else
(a clock running backwards between two desks, a withdrawal overridden by a concurrent
decision, a set-aside finish) is marked not simple and the caller falls back to the exact
replay. :func:`line_at` is the rule in Python; the server's SQL is the same rule, and the tests
hold both to ``bieu06_line(snapshot(events, end), period)`` on random histories.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from onestop.domain.deadlines import Timeliness, classify
from onestop.domain.events import SYSTEM_KINDS, Event, EventKind
from onestop.domain.lifecycle import Channel, DossierState, Status, apply
from onestop.domain.reports import Period, overdue_cut

__all__ = ["OUTCOME_CODES", "Milestones", "fold", "line_at", "step"]

_FINISH_KINDS = frozenset({EventKind.RESOLVE, EventKind.WITHDRAW, EventKind.REFUSE})
_OUTCOME = {Timeliness.EARLY: "early", Timeliness.ON_TIME: "on_time", Timeliness.LATE: "late"}
#: Outcome -> the small integer the server stores and groups by (the desk's bucket encoding,
#: services/reports.py: 3 within and 4 overdue are only ever computed, never stored).
OUTCOME_CODES = {"early": 0, "on_time": 1, "late": 2, "stopped": 5}


@dataclass(slots=True)
class Milestones:
    """What a dossier's log says about its Biểu 06 line at any instant (see the module doc).

    Mutable: :func:`step` updates it in place (ingest folds a batch's events into the one
    object read back for the dossier; a copy per event was a tenth of the ingest CPU)."""

    simple: bool = False
    received: bool = False  # the first event is a receive (not refused at intake)
    last_at: datetime | None = None  # the time of the last lifecycle event folded
    finish_seen: bool = False  # snapshot's ``finish`` is set (maybe by a set-aside event)
    fin_at: datetime | None = None
    fin_outcome: str | None = None  # early | on_time | late | stopped
    sup_from: datetime | None = None
    sup_to: datetime | None = None
    due0: datetime | None = None
    due_changes: int = 0
    due1_at: datetime | None = None
    due1: datetime | None = None
    due2_at: datetime | None = None
    due2: datetime | None = None

    #: What the server stores (as columns): enough to go on folding a simple log, because
    #: there ``received`` is true, ``last_at`` is the projection's ``last_event_at``, a finish
    #: was seen exactly when ``fin_at`` is set and the due changes are the ``due*_at`` set.
    #: A log that is not simple stays so whatever comes, and nothing else of it is read.
    STORED = (
        "simple",
        "last_at",
        "fin_at",
        "fin_outcome",
        "sup_from",
        "sup_to",
        "due0",
        "due1_at",
        "due1",
        "due2_at",
        "due2",
    )

    def stored(self) -> tuple[Any, ...]:
        return tuple(getattr(self, k) for k in self.STORED)

    @classmethod
    def from_stored(cls, values: tuple[Any, ...]) -> Milestones:
        """The inverse of :meth:`stored` (datetimes, or their "YYYY-MM-DD HH:MM:SS" text)."""
        v = dict(zip(cls.STORED, values, strict=True))
        if not v["simple"]:
            return cls(simple=False)
        for k in _DT_FIELDS:
            x = v.get(k)
            if isinstance(x, str):
                v[k] = datetime.fromisoformat(x)
        return cls(
            simple=True,
            received=True,
            last_at=v["last_at"],
            finish_seen=v["fin_at"] is not None,
            fin_at=v["fin_at"],
            fin_outcome=v["fin_outcome"],
            sup_from=v["sup_from"],
            sup_to=v["sup_to"],
            due0=v["due0"],
            due_changes=(v["due1_at"] is not None) + (v["due2_at"] is not None),
            due1_at=v["due1_at"],
            due1=v["due1"],
            due2_at=v["due2_at"],
            due2=v["due2"],
        )

    def due_at(self, end: datetime) -> datetime | None:
        """The due date in force just before ``end``."""
        if self.due2_at is not None and self.due2_at < end:
            return self.due2
        if self.due1_at is not None and self.due1_at < end:
            return self.due1
        return self.due0


# Every stored field but the flag and the outcome is a datetime (or None).
_DT_FIELDS = tuple(k for k in Milestones.STORED if k not in ("simple", "fin_outcome"))


def step(
    m: Milestones | None, before: DossierState | None, after: DossierState, e: Event
) -> Milestones:
    """Fold one event into ``m`` (updated in place and returned; a new one for the first
    event): ``before`` and ``after`` are the dossier's state around ``apply``."""
    if before is None or m is None:
        received = e.kind == EventKind.RECEIVE
        return Milestones(simple=received, received=received, last_at=e.at, due0=after.due_at)
    if e.kind in SYSTEM_KINDS:
        return m  # a note about the log: no lifecycle change, and the fold skips it too
    simple = m.simple and (m.last_at is None or e.at >= m.last_at)
    changes: dict[str, Any] = {"last_at": e.at if m.last_at is None else max(m.last_at, e.at)}
    if not m.finish_seen and m.received and e.kind in _FINISH_KINDS:
        changes["finish_seen"] = True
        if before.finished_at is None and after.finished_at is not None:
            changes["fin_at"] = after.finished_at
            if e.kind == EventKind.RESOLVE:
                changes["fin_outcome"] = _OUTCOME[classify(after.finished_at, after.due_at)]
            else:
                changes["fin_outcome"] = "stopped"
        else:
            simple = False  # a finish that the lifecycle set aside
    elif after.finished_at != before.finished_at:
        simple = False  # a decision reinstating a withdrawn dossier moves finished_at
    was = before.status == Status.SUPPLEMENT_REQUESTED
    now = after.status == Status.SUPPLEMENT_REQUESTED
    if now and not was:
        if m.sup_from is not None:
            simple = False
        changes["sup_from"] = e.at
    elif was and not now:
        if m.sup_to is not None:
            simple = False
        changes["sup_to"] = e.at
    if after.due_at != before.due_at:
        n = m.due_changes + 1
        changes["due_changes"] = n
        if n == 1:
            changes["due1_at"], changes["due1"] = e.at, after.due_at
        elif n == 2:
            changes["due2_at"], changes["due2"] = e.at, after.due_at
        else:
            simple = False
    changes["simple"] = simple
    for k, v in changes.items():
        setattr(m, k, v)
    return m


def fold(events: Iterable[Event]) -> tuple[DossierState | None, Milestones | None]:
    """State and milestones of a whole log in fold order (None before its receive/refuse)."""
    state: DossierState | None = None
    m: Milestones | None = None
    for e in events:
        if state is None and e.kind not in (EventKind.RECEIVE, EventKind.REFUSE):
            return None, None
        new = apply(state, e)
        m = step(m, state, new, e)
        state = new
    return state, m


def line_at(
    m: Milestones,
    received_at: datetime,
    channel: str,
    p: Period,
    today: date | datetime | None = None,
) -> tuple[str, str, bool] | None:
    """The dossier's Biểu 06 line for ``p`` (``domain.reports.bieu06_line`` of its snapshot at
    ``p.end_at``), for a simple log. The server's SQL computes exactly this."""
    if not m.simple:
        raise ValueError("line_at needs a simple log")
    end = p.end_at
    if not m.received or received_at >= end:
        return None
    if received_at < p.start_at:
        intake = "carried"
    elif channel == Channel.ONLINE:
        intake = "online"
    else:
        intake = "direct"
    if m.fin_at is not None and m.fin_at < end:
        if m.fin_at < p.start_at:
            return None
        if m.fin_outcome == "stopped":
            return intake, "on_time", True
        assert m.fin_outcome is not None
        return intake, m.fin_outcome, False
    if m.sup_from is not None and m.sup_from < end and (m.sup_to is None or m.sup_to >= end):
        return intake, "within", False
    due = m.due_at(end)
    if due is None or due >= overdue_cut(p, today):
        return intake, "within", False
    return intake, "overdue", False
