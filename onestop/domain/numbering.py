"""Numbers of the official slips ("Số: 12-03/PXL"), per ND 30/2020 (pure).

ND 30/2020 on clerical work numbers a unit's documents from 01 on 1 January to 31 December,
per document type. A commune's one-stop centre has several desks that issue slips offline, so
the number carries the desk: ``{seq:02d}-{desk}`` where ``seq`` is the desk's own counter
for that document type and year (01, 02, … 99, 100, …) and ``desk`` the desk part of its
dossier codes: the desk number 01–99 of the unit, or ``00TTTTTT`` (``00`` + its 6-digit tag)
for a desk the province has not numbered yet. Two desks of one unit can never print the
same number however long they stay offline; each desk's numbers still start at 01 every year.

The number is allocated when the event that produces the slip is appended (receipt and
control slip at ``receive``, refusal at ``refuse``, supplement request, apology letter at
``extend``, stop notice at ``withdraw``) and stored in that event's data under
:data:`NUMBERS_KEY`, so it syncs with the event, a reprint shows the same number, and
replaying the log (:func:`counters_from_events`) recovers every counter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from onestop.domain.events import Event, EventKind

__all__ = [
    "DOCS_OF_EVENT",
    "NUMBERS_KEY",
    "DocKind",
    "allocate",
    "counter_key",
    "counters_from_events",
    "desk_part",
    "format_number",
    "number_for",
    "numbers_of",
    "parse_number",
]

NUMBERS_KEY = "doc_no"


class DocKind(StrEnum):
    """The numbered documents (the same values as ``forms.slips.SlipKind``)."""

    RECEIPT = "receipt"
    SUPPLEMENT = "supplement"
    REFUSAL = "refusal"
    APOLOGY = "apology"
    STOP = "stop"
    CONTROL = "control"


DOCS_OF_EVENT: dict[EventKind, tuple[DocKind, ...]] = {
    EventKind.RECEIVE: (DocKind.RECEIPT, DocKind.CONTROL),
    EventKind.REFUSE: (DocKind.REFUSAL,),
    EventKind.REQUEST_SUPPLEMENT: (DocKind.SUPPLEMENT,),
    EventKind.EXTEND: (DocKind.APOLOGY,),
    EventKind.WITHDRAW: (DocKind.STOP,),
}
_EVENT_OF_DOC = {doc: kind for kind, docs in DOCS_OF_EVENT.items() for doc in docs}

_DESK_RE = re.compile(r"^(0[1-9]|[1-9]\d|00\d{6})$")
_NUMBER_RE = re.compile(r"^(\d{2,})-(\d{2}|00\d{6})$")


def desk_part(desk_no: int, tag: int | None = None) -> str:
    """The desk in a number: "03", or for a desk with no number yet (desk 00, issue 16,
    ``domain/codes.PROVISIONAL_DESK_NO``) "00" + its 6-digit tag, as in its dossier codes:
    two unnumbered desks must not share "00"."""
    if desk_no == 0:
        if tag is None or not 0 <= tag <= 999_999:
            raise ValueError(f"desk 00 needs its 6-digit tag, not {tag!r}")
        return f"00{tag:06d}"
    if not 1 <= desk_no <= 99:
        raise ValueError(f"bad desk number {desk_no!r}")
    return f"{desk_no:02d}"


def format_number(seq: int, desk: str) -> str:
    """ "12-03": the 12th of its type this year at desk 03 (``desk`` from :func:`desk_part`)."""
    if seq < 1 or not _DESK_RE.match(desk):
        raise ValueError(f"bad slip number {seq}/{desk}")
    return f"{seq:02d}-{desk}"


def parse_number(text: str) -> tuple[int, str] | None:
    """``(seq, desk)`` of a number written by :func:`format_number`, else ``None``."""
    m = _NUMBER_RE.match(text.strip())
    return (int(m.group(1)), m.group(2)) if m else None


def counter_key(desk: str, year: int, doc: DocKind | str) -> str:
    """The settings key of one counter (the last number issued)."""
    return f"doc_counter:{desk}:{year}:{DocKind(doc).value}"


def allocate(
    kind: EventKind, *, desk: str, last: dict[DocKind, int]
) -> tuple[dict[str, str], dict[DocKind, int]]:
    """The numbers an event of ``kind`` takes, from the desk's ``last`` numbers of its year.

    Returns the event's ``{doc kind: number}`` and the new last numbers to store.
    """
    numbers: dict[str, str] = {}
    new_last: dict[DocKind, int] = {}
    for doc in DOCS_OF_EVENT.get(kind, ()):
        seq = last.get(doc, 0) + 1
        numbers[doc.value] = format_number(seq, desk)
        new_last[doc] = seq
    return numbers, new_last


def numbers_of(event: Event) -> dict[str, str]:
    """The slip numbers stored in ``event`` (none for events written before numbering)."""
    raw: Any = event.data.get(NUMBERS_KEY)
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str)}


def number_for(doc: DocKind | str, events: Iterable[Event]) -> str | None:
    """The number of slip ``doc`` of a dossier: from the last event that produced it."""
    doc = DocKind(doc)
    kind = _EVENT_OF_DOC[doc]
    found: str | None = None
    for e in events:
        if e.kind == kind:
            found = numbers_of(e).get(doc.value)
    return found


def counters_from_events(events: Iterable[Event], desk: str) -> dict[tuple[int, DocKind], int]:
    """The last number issued by ``desk`` (:func:`desk_part`) per (year, document type)."""
    out: dict[tuple[int, DocKind], int] = {}
    for e in events:
        for doc, text in numbers_of(e).items():
            parsed = parse_number(text)
            if parsed is None or parsed[1] != desk:
                continue
            try:
                key = (e.at.year, DocKind(doc))
            except ValueError:
                continue
            out[key] = max(out.get(key, 0), parsed[0])
    return out
