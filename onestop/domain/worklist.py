""" "Việc chờ tôi": what waits for each role at the desk (pure definitions, no I/O).

Each queue is a set of dossier conditions that the store counts and lists
(``store/worklist.py``); which queues a person sees follows from their roles. A queue is the
place where the role's *next action* is due, so every dossier in it has that action available
to that role (``domain/desk_actions.offers``; a test checks the pairing):

* clerk — received and not yet handed over; citizen's supplement awaited; fee to collect;
  result to return; evaluation to record;
* specialist — forwarded to me; supplement received on a dossier I handle; decided, result to
  send back to the desk;
* leader — to decide (forwarded to me or handled by me); due within two working days with no
  apology letter yet (the letter the leader signs).

"Me" is the handler written by the forward or take-up event: the person's display name or
user name (what the forward form asks for).
"""

from __future__ import annotations

from dataclasses import dataclass

from onestop.domain.events import EventKind
from onestop.domain.lifecycle import Status
from onestop.domain.roles import Role


@dataclass(frozen=True)
class Queue:
    key: str
    label: str  # Vietnamese source text (t() when shown)
    role: Role
    statuses: tuple[Status, ...]
    next_action: EventKind  # what the role does with a dossier of this queue
    mine: bool = False  # only dossiers whose handler is this person
    supplemented: bool = False  # supplement_count > 0 (papers came back)
    not_evaluated: bool = False  # no citizen evaluation recorded yet
    due_soon_no_letter: bool = False  # clock running, due by the "soon" limit, no extension yet


QUEUES: tuple[Queue, ...] = (
    Queue("clerk_forward", "Chờ chuyển xử lý", Role.CLERK, (Status.RECEIVED,), EventKind.FORWARD),
    Queue(
        "clerk_supplement",
        "Chờ công dân bổ sung",
        Role.CLERK,
        (Status.SUPPLEMENT_REQUESTED,),
        EventKind.RECORD_SUPPLEMENT,
    ),
    Queue(
        "clerk_fee",
        "Chờ thu phí, lệ phí",
        Role.CLERK,
        (Status.PAYMENT_REQUESTED,),
        EventKind.RECORD_PAYMENT,
    ),
    Queue(
        "clerk_return",
        "Kết quả chờ trả",
        Role.CLERK,
        (Status.RESULT_READY,),
        EventKind.RETURN_RESULT,
    ),
    Queue(
        "clerk_evaluate",
        "Chờ ghi đánh giá",
        Role.CLERK,
        (Status.RETURNED,),
        EventKind.EVALUATE,
        not_evaluated=True,
    ),
    Queue(
        "spec_forwarded",
        "Chuyển đến tôi",
        Role.SPECIALIST,
        (Status.FORWARDED,),
        EventKind.START,
        mine=True,
    ),
    Queue(
        "spec_supplemented",
        "Đã nhận bổ sung",
        Role.SPECIALIST,
        (Status.PROCESSING,),
        EventKind.FORWARD,
        mine=True,
        supplemented=True,
    ),
    Queue(
        "spec_ready",
        "Đã quyết định, chờ chuyển kết quả",
        Role.SPECIALIST,
        (Status.RESOLVED,),
        EventKind.MARK_READY,
    ),
    Queue(
        "lead_decide",
        "Chờ tôi quyết định",
        Role.LEADER,
        (Status.FORWARDED, Status.PROCESSING),
        EventKind.RESOLVE,
        mine=True,
    ),
    Queue(
        "lead_letter",
        "Sắp đến hạn, chưa có thư xin lỗi",
        Role.LEADER,
        (Status.RECEIVED, Status.FORWARDED, Status.PROCESSING, Status.PAYMENT_REQUESTED),
        EventKind.EXTEND,
        due_soon_no_letter=True,
    ),
)

QUEUES_BY_KEY = {q.key: q for q in QUEUES}


def queues_for(roles: tuple[str, ...] | None) -> tuple[Queue, ...]:
    """The queues a person sees, in role order then queue order; none without an account."""
    if roles is None:
        return ()
    mine = {r for r in roles if r in set(Role)}
    return tuple(q for q in QUEUES if q.role.value in mine)


__all__ = ["QUEUES", "QUEUES_BY_KEY", "Queue", "queues_for"]
