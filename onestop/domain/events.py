"""Events: the one record of every change to a dossier.

An event is identified by ``(desk_id, seq)``; ``seq`` is gap-free per desk. Its *body* is
canonical CBOR with integer keys, and the body bytes are exactly what is stored, hashed into
the desk's chain and later sent to the province — so the hash a server recomputes is the hash
the desk computed (QR-AND-SYNC.md, "Store and hash exactly the bytes that are sent").

Times are naive local Vietnam wall-clock datetimes (UTC+7, no daylight saving). On the wire
they become epoch seconds of that instant, so a server in any timezone reads the same moment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import cbor2

from onestop.domain.clock import VN_TZ
from onestop.i18n import t

_EPOCH_LOCAL = datetime(1970, 1, 1) + VN_TZ.utcoffset(None)
GENESIS_HEAD = bytes(32)


class EventKind(StrEnum):
    """Every lifecycle action is also the kind of the event it appends."""

    RECEIVE = "receive"
    REFUSE = "refuse"
    FORWARD = "forward"
    START = "start"
    REQUEST_SUPPLEMENT = "request_supplement"
    RECORD_SUPPLEMENT = "record_supplement"
    REQUEST_PAYMENT = "request_payment"
    RECORD_PAYMENT = "record_payment"
    RESOLVE = "resolve"
    MARK_READY = "mark_ready"
    RETURN_RESULT = "return_result"
    WITHDRAW = "withdraw"
    EXTEND = "extend"
    EVALUATE = "evaluate"
    # Not clerk actions: facts about the log itself, appended by the desk that noticed them
    # (services/conflicts.py). They leave the dossier's state unchanged. Append new kinds here
    # only, at the end: the codes below follow this order.
    CONFLICT = "conflict"
    CONFLICT_SEEN = "conflict_seen"
    # Digitised papers (domain/attachments.py): the manifest of a scanned component or of the
    # result document, and its removal. Facts about the dossier's files, not lifecycle steps.
    ATTACH = "attach"
    DETACH = "detach"


# Small integers on the wire: the kind is sent with every event, and a byte beats a word.
# Never renumber: these codes are part of the stored, hashed bytes.
KIND_CODES: dict[EventKind, int] = {kind: i for i, kind in enumerate(EventKind, start=1)}
_KIND_BY_CODE = {v: k for k, v in KIND_CODES.items()}
#: Events about a dossier's files (services/attachments.py writes them, not ``Desk.act``).
FILE_KINDS: frozenset[EventKind] = frozenset({EventKind.ATTACH, EventKind.DETACH})
#: Kinds no lifecycle action produces (``decide`` refuses them; ``apply`` leaves the state as
#: is): notes about the log, and the file manifests, which never change a dossier's status.
SYSTEM_KINDS: frozenset[EventKind] = (
    frozenset({EventKind.CONFLICT, EventKind.CONFLICT_SEEN}) | FILE_KINDS
)


#: The prefix of the value of a kind this software does not know (``unknown:<code>``).
UNKNOWN_PREFIX = "unknown:"
_UNKNOWN: dict[int, EventKind] = {}


def unknown_kind(code: int) -> EventKind:
    """The kind of an event written by a newer onestop, whose kind code this one does not know.

    Desks update at different times, so a desk must store, chain, relay and list such an event
    without understanding it (issue 18): refusing it would stop the whole feed. It is an
    ``EventKind`` pseudo-member (as ``enum.Flag`` builds for unnamed combinations), so every
    ``event.kind`` stays one type, but it is not a member: ``EventKind(value)`` and iteration
    never yield it, so no clerk input or action menu can produce one. Its value
    ``unknown:<code>`` is what the event row stores, which is how a later, upgraded program
    finds the events to fold again (store/replay.py).
    """
    kind = _UNKNOWN.get(code)
    if kind is None:
        kind = str.__new__(EventKind, f"{UNKNOWN_PREFIX}{code}")
        kind._name_ = f"UNKNOWN_{code}"
        kind._value_ = f"{UNKNOWN_PREFIX}{code}"
        _UNKNOWN[code] = kind
    return kind


def is_unknown(kind: EventKind) -> bool:
    """True for a kind from a newer onestop (``unknown_kind``): stored and shown, never folded."""
    return kind.value.startswith(UNKNOWN_PREFIX)


def kind_code(kind: EventKind) -> int:
    """The wire code of ``kind``, known or not (an unknown one keeps the code it came with)."""
    if is_unknown(kind):
        return int(kind.value.removeprefix(UNKNOWN_PREFIX))
    return KIND_CODES[kind]


def known_kind_count() -> int:
    """How many kind codes this program decodes (codes run 1..n, never renumbered)."""
    return len(_KIND_BY_CODE)


def kind_from_code(code: int) -> EventKind:
    """The kind a body's code names: a member, or ``unknown_kind`` for a code from a newer onestop."""
    known = _KIND_BY_CODE.get(code)
    return known if known is not None else unknown_kind(code)


def to_epoch(dt: datetime) -> int:
    """Naive local Vietnam time -> epoch seconds."""
    return int((dt - _EPOCH_LOCAL).total_seconds())


def from_epoch(seconds: int) -> datetime:
    return _EPOCH_LOCAL + timedelta(seconds=seconds)


class EventFormatError(ValueError):
    """Event bytes that do not decode into a valid event."""


@dataclass(frozen=True)
class Event:
    desk_id: str
    seq: int
    hlc: int
    kind: EventKind
    dossier: str
    at: datetime
    actor: str
    role: str
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        """Canonical CBOR of everything but the desk id (the batch envelope carries that)."""
        return cbor2.dumps(
            {
                1: self.seq,
                2: self.hlc,
                3: kind_code(self.kind),
                4: self.dossier,
                5: to_epoch(self.at),
                6: self.actor,
                7: self.role,
                8: self.note,
                9: self.data,
            },
            canonical=True,
        )

    @classmethod
    def from_body(cls, desk_id: str, body: bytes) -> Event:
        try:
            raw = cbor2.loads(body)
        except Exception as e:  # cbor2 raises several unrelated types on junk
            raise EventFormatError(t("Sự kiện không giải mã được: {error}", error=e)) from e
        try:
            if not isinstance(raw, dict):
                raise TypeError("not a map")
            code = raw[3]
            if type(code) is not int or code < 1:
                raise TypeError("the kind code must be a positive integer")
            # A code this program does not know is an event of a newer onestop: kept as is.
            kind = kind_from_code(code)
            values = (raw[1], raw[2], raw[4], raw[5], raw[6], raw[7], raw[8], raw[9])
            seq, hlc, dossier, at, actor, role, note, data = values
            if not (isinstance(seq, int) and isinstance(hlc, int) and isinstance(at, int)):
                raise TypeError("seq/hlc/at must be integers")
            if not all(isinstance(s, str) for s in (dossier, actor, role, note)):
                raise TypeError("text fields must be strings")
            if not isinstance(data, dict):
                raise TypeError("data must be a map")
        except (KeyError, TypeError, ValueError) as e:
            raise EventFormatError(t("Sự kiện sai cấu trúc: {error}", error=e)) from e
        event = cls(desk_id, seq, hlc, kind, dossier, from_epoch(at), actor, role, note, data)
        # Same test as ``event.body() != body`` (exactly keys 1..9, the kind code and the time
        # plain ints, so re-encoding the decoded map gives body()'s bytes), at half the cost:
        # the server runs it on every event it accepts.
        if (
            len(raw) != 9
            or type(raw[3]) is not int
            or type(at) is not int
            or cbor2.dumps(raw, canonical=True) != body
        ):
            # Only canonical encodings are accepted, so one event has exactly one hash.
            raise EventFormatError(t("Sự kiện không ở dạng chuẩn (canonical CBOR)."))
        return event


def chain(prev_head: bytes, body: bytes) -> bytes:
    """head_i = SHA-256(head_{i-1} || event_bytes): any edit or removal breaks every later head."""
    return hashlib.sha256(prev_head + body).digest()


def next_hlc(prev: int, now: datetime) -> int:
    """Hybrid logical clock: (wall ms << 16) | counter, strictly increasing even if the wall clock steps back."""
    wall = to_epoch(now) * 1000 + now.microsecond // 1000
    return max(prev + 1, wall << 16)
