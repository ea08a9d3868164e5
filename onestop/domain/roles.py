"""Who may do what at the desk: the role table (pure rules, no I/O).

Four roles (issue 8):

* **clerk** (cán bộ một cửa): receives and refuses at intake, forwards the dossier to the
  resolving official, takes in supplementary papers the citizen brings back, collects fees,
  returns the result and records the citizen's evaluation;
* **specialist** (chuyên viên, the resolving official): takes the dossier up, forwards it on,
  asks for and records supplements, asks for fees, sends the result back to the desk;
* **leader** (lãnh đạo): the decision (approve / deny), extension and apology letters, and
  stopping a dossier when the citizen withdraws it (the stop notice is a signed decision);
* **admin** (quản trị): calendar, catalogue, accounts, enrollment, the desk key and the first
  pin of the province root, backup settings and restore, the offline unlock, security settings
  (``Permission``, ``PERMISSION_ROLES``, checked where ``PERMISSION_CHECKS`` says) — and **no**
  lifecycle action: the account that manages accounts does not also handle dossiers.

Two deliberate additions to the brief's split: ``forward`` and ``record_supplement`` are also a
clerk's, because the desk hands every dossier over to the resolving official, and a citizen
brings the missing papers back *to the desk* (REFERENCE.md §2.1). In a small commune one person
often holds two roles; an account may therefore have several, and the event records the role
that allowed the action.

``ACTION_ROLES`` is the rule table, readable like ``lifecycle.ALLOWED``. The *two-person rule*
(setting, off by default): the account that received a dossier may not decide it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from onestop.domain.events import EventKind
from onestop.domain.lifecycle import action_label
from onestop.i18n import t


class Role(StrEnum):
    CLERK = "clerk"
    SPECIALIST = "specialist"
    LEADER = "leader"
    ADMIN = "admin"


ROLE_LABELS: dict[Role, str] = {
    Role.CLERK: "Cán bộ một cửa",
    Role.SPECIALIST: "Chuyên viên",
    Role.LEADER: "Lãnh đạo",
    Role.ADMIN: "Quản trị",
}


class Permission(StrEnum):
    """Desk administration, outside the dossier lifecycle: admin only (``PERMISSION_ROLES``)."""

    CALENDAR = "calendar"
    CATALOGUE = "catalogue"
    USERS = "users"
    ENROLLMENT = "enrollment"
    SETTINGS = "settings"
    DESK_KEY = "desk_key"
    TRUST_ROOT = "trust_root"
    BACKUP_SETTINGS = "backup_settings"
    RESTORE = "restore"
    OFFLINE = "offline"


# What each permission allows, as the refusal says it: "Chỉ quản trị viên được <label>."
PERMISSION_LABELS: dict[Permission, str] = {
    Permission.CALENDAR: "sửa lịch làm việc và giờ làm việc",
    Permission.CATALOGUE: "nhập danh mục thủ tục",
    Permission.USERS: "quản lý tài khoản",
    Permission.ENROLLMENT: "đăng ký quầy với tỉnh",
    Permission.SETTINGS: "sửa cài đặt bảo mật của quầy",
    Permission.DESK_KEY: "tạo khóa ký của quầy",
    Permission.TRUST_ROOT: "ghim khóa gốc của tỉnh khi nhập danh sách tin cậy lần đầu",
    Permission.BACKUP_SETTINGS: "cấu hình sao lưu tự động",
    Permission.RESTORE: "khôi phục bản sao lưu",
    Permission.OFFLINE: "mở tạm tiếp nhận khi quá hạn ngoại tuyến hoặc đặt giới hạn ngoại tuyến",
}

# Where each permission is checked: one ``Desk.require(Permission.X)`` at the top of each of
# these service functions (never in the CLI or the TUI, which only hide what a role may not do).
PERMISSION_CHECKS: dict[Permission, tuple[str, ...]] = {
    Permission.CALENDAR: ("Desk.set_calendar_day", "Desk.set_office_hours"),
    Permission.CATALOGUE: ("Desk.import_catalogue",),
    Permission.USERS: (
        "accounts.list_users",
        "accounts.add_user",
        "accounts.set_password (another account's)",
        "accounts.set_roles",
        "accounts.disable_user",
    ),
    Permission.ENROLLMENT: ("sync.enroll.enroll_async",),
    Permission.SETTINGS: ("accounts.set_policy", "Desk.set_setting (ADMIN_SETTINGS keys)"),
    Permission.DESK_KEY: ("keys.create_desk_key",),
    Permission.TRUST_ROOT: ("keys.import_trust (while no root is pinned)",),
    Permission.BACKUP_SETTINGS: ("backup.configure",),
    Permission.RESTORE: ("backup.authorise_restore (before prepare_restore)",),
    Permission.OFFLINE: ("lockdown.unlock_offline", "lockdown.set_offline_limits"),
}

# Who a refusal names as the one who may ("Chỉ quản trị viên được ...").
ROLE_NOUNS: dict[Role, str] = {
    Role.CLERK: "cán bộ một cửa",
    Role.SPECIALIST: "chuyên viên",
    Role.LEADER: "lãnh đạo",
    Role.ADMIN: "quản trị viên",
}

C, S, L = Role.CLERK, Role.SPECIALIST, Role.LEADER

# The rule table: lifecycle action -> roles that may perform it. Event kinds that are not a
# person's action (facts the desk appends about its own log, e.g. a sync conflict notice) are not
# in it: no account may take them through ``Desk.act``, and the lifecycle refuses them anyway.
ACTION_ROLES: dict[EventKind, frozenset[Role]] = {
    EventKind.RECEIVE: frozenset({C}),
    EventKind.REFUSE: frozenset({C}),
    EventKind.FORWARD: frozenset({C, S}),
    EventKind.START: frozenset({S}),
    EventKind.REQUEST_SUPPLEMENT: frozenset({S}),
    EventKind.RECORD_SUPPLEMENT: frozenset({C, S}),
    EventKind.REQUEST_PAYMENT: frozenset({S}),
    EventKind.RECORD_PAYMENT: frozenset({C}),
    EventKind.RESOLVE: frozenset({L}),
    EventKind.MARK_READY: frozenset({S}),
    EventKind.RETURN_RESULT: frozenset({C}),
    EventKind.WITHDRAW: frozenset({L}),
    EventKind.EXTEND: frozenset({L}),
    EventKind.EVALUATE: frozenset({C}),
}

# The permission table: each administrative permission -> the roles holding it.
PERMISSION_ROLES: dict[Permission, frozenset[Role]] = {
    p: frozenset({Role.ADMIN}) for p in Permission
}

# Two-person rule: these actions may not be taken by the account that received the dossier.
TWO_PERSON_ACTIONS = frozenset({EventKind.RESOLVE})


class RoleError(ValueError):
    """An action this account's role(s) may not take; ``str(e)`` names who may."""


def role_label(role: str) -> str:
    return t(ROLE_LABELS[Role(role)]) if role in set(Role) else role


def _roles_text(roles: Iterable[str]) -> str:
    return ", ".join(role_label(r) for r in sorted(roles, key=lambda r: list(Role).index(Role(r))))


def acting_role(roles: Iterable[str], action: EventKind) -> Role:
    """The account's role that allows ``action`` (the one recorded on the event), or refuse."""
    mine = [Role(r) for r in roles if r in set(Role)]
    allowed = ACTION_ROLES.get(action, frozenset())
    for r in mine:
        if r in allowed:
            return r
    raise RoleError(
        t(
            "Vai trò {mine} không được «{action}». Việc này do {who} thực hiện.",
            mine=_roles_text(mine) or t("(không có vai trò)"),
            action=action_label(action),
            who=_roles_text(allowed) or t("hệ thống (không ai thao tác tay)"),
        )
    )


def may(roles: Iterable[str], action: EventKind) -> bool:
    allowed = ACTION_ROLES.get(action, frozenset())
    return any(Role(r) in allowed for r in roles if r in set(Role))


def permitted(roles: Iterable[str], permission: Permission) -> bool:
    return any(Role(r) in PERMISSION_ROLES[permission] for r in roles if r in set(Role))


def require_permission(roles: Iterable[str], permission: Permission) -> Role:
    """The account's role holding ``permission``, or ``RoleError`` naming who may."""
    mine = [Role(r) for r in roles if r in set(Role)]
    allowed = PERMISSION_ROLES[permission]
    for r in mine:
        if r in allowed:
            return r
    ordered = sorted(allowed, key=list(Role).index)
    raise RoleError(
        t(
            "Chỉ {nouns} được {what} (tài khoản này: {mine}; cần vai trò {who}).",
            nouns=t(" hoặc ").join(t(ROLE_NOUNS[r]) for r in ordered),
            what=t(PERMISSION_LABELS[permission]),
            mine=_roles_text(mine) or t("(không có vai trò)"),
            who=_roles_text(allowed),
        )
    )


def check_two_person(action: EventKind, actor: str, received_by: str) -> None:
    """Refuse a decision by the person who received the dossier (when the rule is on)."""
    if action in TWO_PERSON_ACTIONS and actor and actor == received_by:
        raise RoleError(
            t(
                "Quy định hai người: {who} đã tiếp nhận hồ sơ này nên không được «{action}». "
                "Một lãnh đạo khác phải thực hiện.",
                who=actor,
                action=action_label(action),
            )
        )


__all__ = [
    "ACTION_ROLES",
    "PERMISSION_CHECKS",
    "PERMISSION_LABELS",
    "PERMISSION_ROLES",
    "Permission",
    "Role",
    "RoleError",
    "acting_role",
    "check_two_person",
    "may",
    "permitted",
    "require_permission",
    "role_label",
]
