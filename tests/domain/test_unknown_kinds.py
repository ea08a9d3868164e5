"""Events of a newer onestop (issue 18): stored as they came, shown, never folded, never fatal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.events import (
    KIND_CODES,
    Event,
    EventFormatError,
    EventKind,
    is_unknown,
    kind_code,
    to_epoch,
    unknown_kind,
)
from onestop.domain.lifecycle import (
    UNKNOWN_ACTION_LABEL,
    LifecycleError,
    action_label,
    apply,
    decide,
    replay,
    set_aside,
)
from tests.domain.test_lifecycle import CAL, GOOD_PARAMS, T0, ev, received

FUTURE = max(KIND_CODES.values()) + 7  # a code no release of this program has used yet


def future_body(seq: int = 5, code: int = FUTURE, data: dict[Any, Any] | None = None) -> bytes:
    """The canonical body a newer onestop writes for a kind this one does not know."""
    return cbor2.dumps(
        {
            1: seq,
            2: seq,
            3: code,
            4: "X-260302-010001",
            5: to_epoch(T0 + timedelta(hours=2)),
            6: "Lò Thị Mai",
            7: "clerk",
            8: "",
            9: data if data is not None else {"new_field": [1, "hai"], "x": {"y": b"z"}},
        },
        canonical=True,
    )


def test_unknown_code_decodes_and_keeps_its_exact_bytes():
    body = future_body()
    e = Event.from_body("16279-02", body)
    assert is_unknown(e.kind)
    assert e.kind.value == f"unknown:{FUTURE}"
    assert kind_code(e.kind) == FUTURE
    # The same bytes again: the hash chain and the relay to other desks stay intact.
    assert e.body() == body
    assert unknown_kind(FUTURE) is e.kind


def test_unknown_kind_is_no_member():
    kind = unknown_kind(FUTURE)
    assert isinstance(kind, EventKind)
    assert kind not in list(EventKind)
    with pytest.raises(ValueError):
        EventKind(kind.value)  # no clerk input can name it
    assert not any(is_unknown(k) for k in EventKind)


@pytest.mark.parametrize("code", [0, -1, "forward", 1.5, None])
def test_a_kind_code_that_is_no_positive_integer_is_refused(code: Any):
    with pytest.raises(EventFormatError):
        Event.from_body("16279-02", future_body(code=code))


def test_history_label_says_an_update_is_needed():
    kind = unknown_kind(FUTURE)
    assert action_label(kind) == UNKNOWN_ACTION_LABEL == "Cần cập nhật phần mềm để hiển thị"
    assert action_label(kind.value) == UNKNOWN_ACTION_LABEL  # as read back from the event row


def test_projection_ignores_it_and_no_clerk_action_makes_one():
    state = received()
    e = Event.from_body("16279-02", future_body())
    assert apply(state, e) == state
    assert not set_aside(state, e)
    with pytest.raises(LifecycleError):
        decide(state, e.kind, {}, T0, CAL)


def test_dossier_first_seen_through_an_unknown_kind_has_no_state_yet():
    e = Event.from_body("16279-02", future_body())
    with pytest.raises(ValueError):
        apply(None, e)


_KINDS = [k for k in EventKind if k not in (EventKind.RECEIVE, EventKind.REFUSE)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(_KINDS), max_size=12),
    st.lists(st.integers(0, 12), max_size=4),
)
def test_unknown_events_anywhere_in_a_history_change_nothing(kinds: list[EventKind], at: list[int]):
    """Folding a history with newer-version events slipped in equals folding it without."""
    state = received()
    base = [ev(EventKind.RECEIVE, {}, T0)]
    now = T0
    for kind in kinds:
        now += timedelta(minutes=5)
        try:
            data = decide(state, kind, GOOD_PARAMS[kind], now, CAL)
        except LifecycleError:
            continue
        e = ev(kind, data, now)
        state = apply(state, e)
        base.append(e)
    mixed = list(base)
    for i, pos in enumerate(sorted(at, reverse=True)):
        stranger = Event.from_body("16279-09", future_body(seq=i + 1, code=FUTURE + i))
        mixed.insert(min(pos, len(mixed) - 1) + 1, stranger)
    assert replay(mixed) == replay(base)


def test_known_kinds_keep_their_codes():
    # Codes are part of stored, hashed bytes: the unknown-kind support renumbers nothing.
    assert KIND_CODES[EventKind.RECEIVE] == 1
    assert KIND_CODES[EventKind.DETACH] == len(KIND_CODES)
    e = ev(EventKind.FORWARD, {"to": "Công an xã"}, datetime(2026, 3, 2, 10))
    assert Event.from_body(e.desk_id, e.body()) == e
