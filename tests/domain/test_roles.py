"""The role table: every forbidden (role, action) pair is refused with a message naming who may."""

from __future__ import annotations

import pytest

from onestop.domain.events import EventKind
from onestop.domain.lifecycle import ALLOWED as ALLOWED_BY_STATUS
from onestop.domain.lifecycle import action_label
from onestop.domain.roles import (
    ACTION_ROLES,
    Permission,
    Role,
    RoleError,
    acting_role,
    check_two_person,
    may,
    require_permission,
    role_label,
)

FORBIDDEN = [(r, k) for k in ACTION_ROLES for r in Role if r not in ACTION_ROLES[k]]
ALLOWED = [(r, k) for k in ACTION_ROLES for r in Role if r in ACTION_ROLES[k]]


def test_every_action_has_someone_and_admin_handles_no_dossier() -> None:
    lifecycle_actions = {k for kinds in ALLOWED_BY_STATUS.values() for k in kinds}
    assert lifecycle_actions <= set(ACTION_ROLES)
    assert all(ACTION_ROLES.values())
    assert not any(Role.ADMIN in roles for roles in ACTION_ROLES.values())
    assert ACTION_ROLES[EventKind.RESOLVE] == {Role.LEADER}
    assert ACTION_ROLES[EventKind.RECEIVE] == {Role.CLERK}


@pytest.mark.parametrize(("role", "kind"), FORBIDDEN, ids=lambda x: str(x))
def test_forbidden_pair_is_refused_with_who_may(role: Role, kind: EventKind) -> None:
    assert not may([role], kind)
    with pytest.raises(RoleError) as e:
        acting_role([role], kind)
    msg = str(e.value)
    assert role_label(role) in msg and action_label(kind) in msg
    for allowed in ACTION_ROLES[kind]:
        assert role_label(allowed) in msg


@pytest.mark.parametrize(("role", "kind"), ALLOWED, ids=lambda x: str(x))
def test_allowed_pair_names_the_acting_role(role: Role, kind: EventKind) -> None:
    assert acting_role([role], kind) == role


def test_a_multi_role_account_acts_with_the_role_that_allows_it() -> None:
    roles = ["clerk", "leader"]
    assert acting_role(roles, EventKind.RECEIVE) == Role.CLERK
    assert acting_role(roles, EventKind.RESOLVE) == Role.LEADER
    with pytest.raises(RoleError):
        acting_role(roles, EventKind.START)


@pytest.mark.parametrize("permission", list(Permission))
def test_administration_is_admin_only(permission: Permission) -> None:
    assert require_permission(["admin"], permission) == Role.ADMIN
    for role in ("clerk", "specialist", "leader"):
        with pytest.raises(RoleError, match="Quản trị"):
            require_permission([role], permission)


def test_two_person_rule() -> None:
    with pytest.raises(RoleError, match="hai người"):
        check_two_person(EventKind.RESOLVE, "Lò Thị Mai", "Lò Thị Mai")
    check_two_person(EventKind.RESOLVE, "Phạm Văn Sơn", "Lò Thị Mai")
    check_two_person(EventKind.RETURN_RESULT, "Lò Thị Mai", "Lò Thị Mai")
