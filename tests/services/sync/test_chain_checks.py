"""The chain checks a desk applies to other desks' events, shared by the sync/bundle path
(``apply_foreign``, SyncError) and the replacement-desk pages (``bulk_apply``, WireError):
both refuse the same ranges with the same Vietnamese message, and store nothing of them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from onestop.domain.events import GENESIS_HEAD, chain
from onestop.services.desk import Desk
from onestop.services.sync.apply import apply_foreign
from onestop.services.sync.base import SyncError
from onestop.services.sync.replace import bulk_apply
from onestop.store.models import DeskState, EventRow
from onestop.wire.base import WireError
from tests.services.sync.helpers import Clock, make_desk, own_events, random_work

N = 41  # this module's commune

Apply = Callable[[Desk, list[tuple[str, int, bytes, list[bytes]]]], int]
PATHS: list[tuple[Apply, type[Exception]]] = [
    (lambda desk, ranges: apply_foreign(desk, ranges), SyncError),
    (bulk_apply, WireError),
]


def _head(bodies: list[bytes], head: bytes = GENESIS_HEAD) -> bytes:
    for body in bodies:
        head = chain(head, body)
    return head


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[bytes]]:
    """Desk 1's id and its events (desk 2 of the same commune receives them)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESTOP_SCRYPT_N", "1024")
        clock = Clock()
        desk = make_desk(tmp_path_factory.mktemp("d1") / "d1.sqlite", n=N, clock=clock)
        random_work(desk, clock, random.Random(5), 6)
        return desk.identity.desk_id, [b for _, b in own_events(desk)]


@pytest.fixture
def receiver(tmp_path: Path) -> Desk:
    return make_desk(tmp_path / "d2.sqlite", n=N, desk_no=2)


def _held(desk: Desk, desk_id: str) -> tuple[int, int]:
    with desk.store.read() as db:
        st = db.get(DeskState, desk_id)
        n = len(db.exec(select(EventRow).where(EventRow.desk_id == desk_id)).all())
    return (st.last_seq if st else 0), n


@pytest.mark.parametrize(("apply", "error"), PATHS, ids=["apply_foreign", "bulk_apply"])
def test_both_paths_refuse_a_broken_range_alike_and_keep_nothing(
    apply: Apply,
    error: type[Exception],
    other: tuple[str, list[bytes]],
    receiver: Desk,
) -> None:
    desk_id, bodies = other
    own = receiver.identity.desk_id
    before = _held(receiver, desk_id)
    refused = [
        ([(own, 1, _head(bodies), bodies)], "Không nhận sự kiện mang số hiệu của chính quầy này."),
        (
            [(desk_id, 3, _head(bodies[2:]), bodies[2:])],
            f"Thiếu sự kiện của quầy {desk_id}: đang có đến số 0, gói bắt đầu từ 3.",
        ),
        (
            [(desk_id, 1, _head(bodies[1:]), bodies[1:])],
            f"Sự kiện {desk_id}#1 mang sai số thứ tự.",
        ),
        ([(desk_id, 1, GENESIS_HEAD, [b"\x00 not an event"])], f"{desk_id}#1: "),
        (
            [(desk_id, 1, _head(bodies[:-1]), bodies)],
            f"Chuỗi băm của quầy {desk_id} không khớp: dữ liệu đã bị sửa.",
        ),
    ]
    for ranges, message in refused:
        with pytest.raises(error) as e:
            apply(receiver, ranges)
        assert str(e.value).startswith(message)
        assert _held(receiver, desk_id) == before

    # Held events must be byte-identical: a page that starts again at 1 with another body.
    assert apply(receiver, [(desk_id, 1, _head(bodies[:2]), bodies[:2])]) == 2
    held = _held(receiver, desk_id)
    with pytest.raises(error) as e:
        apply(receiver, [(desk_id, 1, _head(bodies), [bodies[1], *bodies[1:]])])
    assert str(e.value) == f"Sự kiện {desk_id}#1 khác bản quầy đang giữ."
    assert _held(receiver, desk_id) == held

    # The rest, overlapping what is held, is accepted and continues the chain.
    assert apply(receiver, [(desk_id, 1, _head(bodies), bodies)]) == len(bodies) - 2
    assert _held(receiver, desk_id) == (len(bodies), len(bodies))
