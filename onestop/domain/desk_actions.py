"""Which lifecycle actions this person may take on this dossier now: lifecycle and role together.

The desk refuses in three places — the role table (``domain/roles.acting_role``), the two-person
rule (``roles.check_two_person``) and the lifecycle (``lifecycle.decide``). A menu that asks only
one of them offers actions the desk then refuses: issue 17 measured that about half of a
dossier's keystrokes went on such refusals and on switching accounts. ``offers`` asks all three,
before anything is typed, so the action menu, the command palette and the keys offer exactly
what ``Desk.act`` will accept (a test drives the real desk to hold them to it).

Each offer says *why not* when it is not available, in a few words the menu prints next to the
dimmed action: who may do it ("Lãnh đạo thực hiện") or what the law says now. Whatever a person
types into the action's form (a reason, an amount) is checked by the desk when it runs; only
refusals that no parameter could avoid are decided here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from onestop.domain.calendar import WorkCalendar
from onestop.domain.deadlines import can_extend
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import DossierState, Status, allowed_actions
from onestop.domain.roles import ACTION_ROLES, TWO_PERSON_ACTIONS, Role, may, role_label
from onestop.i18n import t

# The actions a person takes on an existing dossier, in the order a dossier usually meets them
# (intake's receive is its own screen; refuse closes the list as the rarest).
PERSON_ACTIONS: tuple[EventKind, ...] = (
    EventKind.FORWARD,
    EventKind.START,
    EventKind.REQUEST_SUPPLEMENT,
    EventKind.RECORD_SUPPLEMENT,
    EventKind.REQUEST_PAYMENT,
    EventKind.RECORD_PAYMENT,
    EventKind.RESOLVE,
    EventKind.MARK_READY,
    EventKind.RETURN_RESULT,
    EventKind.EXTEND,
    EventKind.WITHDRAW,
    EventKind.EVALUATE,
    EventKind.REFUSE,
)


# The step a dossier usually takes next from each status, listed first (so it is "1" in the
# menu and one key away): the clerk forwards, the specialist takes up and then hands the
# dossier to the leader, the leader decides, the specialist sends the result back, the clerk
# returns it and records the evaluation.
USUAL_NEXT: dict[Status, tuple[EventKind, ...]] = {
    Status.RECEIVED: (EventKind.FORWARD, EventKind.START),
    Status.FORWARDED: (EventKind.START, EventKind.RESOLVE),
    Status.PROCESSING: (EventKind.RESOLVE, EventKind.FORWARD),
    Status.SUPPLEMENT_REQUESTED: (EventKind.RECORD_SUPPLEMENT,),
    Status.PAYMENT_REQUESTED: (EventKind.RECORD_PAYMENT,),
    Status.RESOLVED: (EventKind.MARK_READY,),
    Status.RESULT_READY: (EventKind.RETURN_RESULT,),
    Status.RETURNED: (EventKind.EVALUATE,),
}


class Blocked(StrEnum):
    """Why an action is not offered as available."""

    NONE = ""
    ROLE = "role"  # the lifecycle allows it now, another role takes it: shown with who may
    TWO_PERSON = "two_person"  # the person who received the dossier may not decide it
    USED = "used"  # a once-only step already taken, or too late for it: shown with why
    LIFECYCLE = "lifecycle"  # not a step of the dossier's present status: not listed


@dataclass(frozen=True)
class ActionOffer:
    kind: EventKind
    blocked: Blocked
    why: str = ""  # a few words for the menu ("Lãnh đạo thực hiện"), empty when available

    @property
    def available(self) -> bool:
        return self.blocked == Blocked.NONE


@dataclass(frozen=True)
class Person:
    """Who is at the desk: the roles of the logged-in account, ``None`` for a desk without
    accounts (the unrestricted programmatic API and the plain desk: no role is refused)."""

    roles: tuple[str, ...] | None
    name: str = ""


def who_takes(kind: EventKind) -> str:
    """The roles that take ``kind``, as the menu says it: "Lãnh đạo thực hiện"."""
    roles = sorted(ACTION_ROLES.get(kind, frozenset()), key=list(Role).index)
    return t("{who} thực hiện", who=t(" hoặc ").join(role_label(r) for r in roles))


def lifecycle_allows(
    state: DossierState, kind: EventKind, now: datetime | None, cal: WorkCalendar | None
) -> bool:
    """The lifecycle's answer before any parameter: the status table, the once-only rules and,
    for an extension, the deadline for writing the apology letter (one working day before)."""
    if kind not in allowed_actions(state):
        return False
    if kind == EventKind.EXTEND and state.due_at is not None and now is not None and cal:
        return can_extend(state.due_at, now, cal)
    return True


def _used_up(state: DossierState, kind: EventKind) -> str:
    """Why a step of this status is no longer possible (the once-only rules, the letter's
    deadline), in a few words; empty when the status simply has no such step."""
    from onestop.domain.lifecycle import ALLOWED

    if kind not in ALLOWED[state.status]:
        return ""
    if kind == EventKind.REQUEST_SUPPLEMENT and state.supplement_count >= 1:
        return t("chỉ được yêu cầu bổ sung một lần, đã yêu cầu")
    if kind == EventKind.EXTEND and state.extension_count >= 1:
        return t("chỉ được gia hạn một lần, đã gia hạn")
    if kind == EventKind.EXTEND and state.due_at is not None:
        return t("đã quá hạn lập phiếu")
    if kind == EventKind.EVALUATE and state.evaluation:
        return t("đã ghi nhận đánh giá")
    return ""


def offer(
    state: DossierState,
    kind: EventKind,
    person: Person,
    *,
    received_by: str = "",
    two_person_rule: bool = False,
    now: datetime | None = None,
    cal: WorkCalendar | None = None,
) -> ActionOffer:
    """One action for this person on this dossier now (see ``offers``)."""
    if not lifecycle_allows(state, kind, now, cal):
        used = _used_up(state, kind)
        if used:
            return ActionOffer(kind, Blocked.USED, used)
        return ActionOffer(kind, Blocked.LIFECYCLE, t("chưa được phép lúc này"))
    if person.roles is not None and not may(person.roles, kind):
        return ActionOffer(kind, Blocked.ROLE, who_takes(kind))
    if (
        person.roles is not None
        and two_person_rule
        and kind in TWO_PERSON_ACTIONS
        and person.name
        and person.name == received_by
    ):
        return ActionOffer(kind, Blocked.TWO_PERSON, t("người tiếp nhận không được tự giải quyết"))
    return ActionOffer(kind, Blocked.NONE)


def offers(
    state: DossierState,
    person: Person,
    *,
    received_by: str = "",
    two_person_rule: bool = False,
    now: datetime | None = None,
    cal: WorkCalendar | None = None,
    kinds: Iterable[EventKind] = PERSON_ACTIONS,
) -> tuple[ActionOffer, ...]:
    """Every action of ``kinds`` for this person on this dossier now, in menu order: the
    status's usual next steps first (``USUAL_NEXT``), then the order of ``kinds``.

    ``received_by``: the name on the dossier's receive event (the two-person rule, when the
    desk switched it on, keeps that person from deciding the dossier).
    """
    first = USUAL_NEXT.get(state.status, ())
    ordered = sorted(kinds, key=lambda k: first.index(k) if k in first else len(first))
    return tuple(
        offer(
            state,
            k,
            person,
            received_by=received_by,
            two_person_rule=two_person_rule,
            now=now,
            cal=cal,
        )
        for k in ordered
    )


def available(offered: Iterable[ActionOffer]) -> tuple[EventKind, ...]:
    return tuple(o.kind for o in offered if o.available)


__all__ = [
    "PERSON_ACTIONS",
    "USUAL_NEXT",
    "ActionOffer",
    "Blocked",
    "Person",
    "available",
    "lifecycle_allows",
    "offer",
    "offers",
    "who_takes",
]
