"""``onestop user …``: accounts of an encrypted desk (issue 8).

Every sub-command logs in first (``--user``/``ONESTOP_USER``, ``ONESTOP_PASSWORD`` or a hidden
prompt); all but ``passwd`` for one's own account need the admin role. New passwords are typed
twice at a hidden prompt, or come from ``ONESTOP_NEW_PASSWORD`` in scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from onestop.cli._common import (
    PASSWORD_ENV,
    Refused,
    count,
    db_option,
    desk_now,
    emit,
    guard,
    json_option,
    open_desk,
    read_new_password,
    settings_or_exit,
)
from onestop.domain.roles import Permission, Role, role_label
from onestop.i18n import t
from onestop.services import accounts

ROLE_HELP = "Vai trò: clerk (một cửa), specialist (chuyên viên), leader (lãnh đạo), admin (quản trị); nhiều vai trò cách nhau bằng dấu phẩy."


@click.group()
def user() -> None:
    """Tài khoản và vai trò của quầy (chỉ quản trị viên)."""


@user.command("list")
@db_option
@json_option
@guard
def user_list(db: Path | None, as_json: bool) -> None:
    """Danh sách tài khoản."""
    with open_desk(db) as desk:
        people = accounts.list_users(desk)
        pol = accounts.get_policy(desk)
        idle = desk.idle_lock_minutes()
        two = desk.two_person_rule()
    if as_json:
        emit(
            {
                "accounts": [
                    {
                        "username": a.username,
                        "name": a.display_name,
                        "roles": list(a.roles),
                        "disabled": a.disabled,
                        "failed": a.failed,
                        "locked_until": a.locked_until.isoformat(sep=" ")
                        if a.locked_until
                        else None,
                    }
                    for a in people
                ],
                "policy": {
                    "max_failures": pol.max_failures,
                    "lockout_minutes": pol.lockout_minutes,
                    "idle_lock_minutes": idle,
                    "two_person_rule": two,
                },
            }
        )
        return
    for a in people:
        roles = ", ".join(role_label(r) for r in a.roles)
        state = t("đã vô hiệu hóa") if a.disabled else ""
        if a.locked_until:
            state = t("khóa đến {until}", until=f"{a.locked_until:%H:%M %d/%m/%Y}")
        click.echo(f"{a.username:<16} {a.display_name:<24} {roles:<28} {state}".rstrip())
    click.echo(
        t(
            "Khóa sau {n} lần sai trong {m} phút; tự khóa màn hình sau {i} phút; quy định hai "
            "người: {two}.",
            n=pol.max_failures,
            m=pol.lockout_minutes,
            i=idle,
            two=t("bật") if two else t("tắt"),
        )
    )


def _roles(value: str) -> tuple[str, ...]:
    return tuple(r.strip() for r in value.split(",") if r.strip())


@user.command("add")
@db_option
@click.argument("username")
@click.option("--name", "display_name", default="", help="Họ tên (ghi vào nhật ký và phiếu).")
@click.option("--role", "role", required=True, help=ROLE_HELP)
@json_option
@guard
def user_add(db: Path | None, username: str, display_name: str, role: str, as_json: bool) -> None:
    """Thêm tài khoản (bọc khóa dữ liệu bằng mật khẩu của người đó)."""
    with open_desk(db) as desk:
        desk.require(Permission.USERS)  # before asking for a password
        password = read_new_password(what=username)
        acc = accounts.add_user(desk, username, display_name, _roles(role), password)
    if as_json:
        emit({"username": acc.username, "name": acc.display_name, "roles": list(acc.roles)})
    else:
        click.echo(
            t(
                "Đã thêm tài khoản {u} ({name}), vai trò: {roles}.",
                u=acc.username,
                name=acc.display_name,
                roles=", ".join(role_label(r) for r in acc.roles),
            )
        )


@user.command("passwd")
@db_option
@click.argument("username", required=False)
@guard
def user_passwd(db: Path | None, username: str | None) -> None:
    """Đổi mật khẩu (của mình, hoặc quản trị viên đặt lại cho người khác và mở lại tài khoản)."""
    with open_desk(db) as desk:
        target = username or (desk.account.username if desk.account else "")
        password = read_new_password(what=target)
        accounts.set_password(desk, target, password)
    click.echo(t("Đã đổi mật khẩu của {u}.", u=target))


@user.command("disable")
@db_option
@click.argument("username")
@guard
def user_disable(db: Path | None, username: str) -> None:
    """Vô hiệu hóa tài khoản (xóa khóa đã bọc; mở lại bằng «user passwd»)."""
    with open_desk(db) as desk:
        accounts.disable_user(desk, username)
    click.echo(t("Đã vô hiệu hóa tài khoản {u}.", u=username))


@user.command("set-role")
@db_option
@click.argument("username")
@click.argument("roles")
@guard
def user_set_role(db: Path | None, username: str, roles: str) -> None:
    """Đổi vai trò: ROLES là clerk, specialist, leader, admin (cách nhau bằng dấu phẩy)."""
    with open_desk(db) as desk:
        accounts.set_roles(desk, username, _roles(roles))
    click.echo(
        t(
            "Vai trò của {u}: {roles}.",
            u=username,
            roles=", ".join(role_label(r) for r in _roles(roles) if r in set(Role)),
        )
    )


@user.command("policy")
@db_option
@click.option(
    "--max-failures",
    type=count(1, 100),
    default=None,
    help="Số lần sai mật khẩu trước khi khóa (mặc định 5).",
)
@click.option(
    "--lockout-minutes",
    type=count(1, 1440),
    default=None,
    help="Thời gian khóa tài khoản, phút (mặc định 15).",
)
@click.option(
    "--idle-minutes",
    type=count(0, 1440),
    default=None,
    help="Tự khóa màn hình sau bấy nhiêu phút không dùng; 0 là không tự khóa (mặc định 10).",
)
@click.option(
    "--two-person/--no-two-person",
    default=None,
    help="Quy định hai người: người tiếp nhận không được tự phê duyệt hồ sơ.",
)
@guard
def user_policy(
    db: Path | None,
    max_failures: int | None,
    lockout_minutes: int | None,
    idle_minutes: int | None,
    two_person: bool | None,
) -> None:
    """Cài đặt bảo mật: khóa sau nhiều lần sai, tự khóa màn hình, quy định hai người."""
    with open_desk(db) as desk:
        accounts.set_policy(
            desk,
            max_failures=max_failures,
            lockout_minutes=lockout_minutes,
            idle_lock_minutes=idle_minutes,
            two_person_rule=two_person,
        )
    click.echo(t("Đã lưu cài đặt bảo mật."))


@click.command("encrypt")
@db_option
@click.option("--admin", required=True, help="Tên đăng nhập của quản trị viên đầu tiên.")
@click.option("--admin-name", default="", help="Họ tên quản trị viên (ghi vào nhật ký).")
@click.option(
    "--keep-plain",
    is_flag=True,
    help="Giữ lại bản chưa mã hóa thành <db>.plain-<thời điểm> (mặc định: xóa sau khi xong).",
)
@click.option("--yes", is_flag=True, help="Không hỏi xác nhận (cho script).")
@json_option
@guard
def encrypt(
    db: Path | None, admin: str, admin_name: str, keep_plain: bool, yes: bool, as_json: bool
) -> None:
    """Mã hóa một quầy cũ chưa mã hóa và tạo tài khoản quản trị đầu tiên.

    \b
    Quầy tạo trước khi có tài khoản (hoặc bằng script) lưu dữ liệu không mã hóa. Lệnh này chép
    toàn bộ sang một tệp SQLCipher với khóa mới, kiểm tra bản chép (mở được, đủ hồ sơ và sự kiện,
    chuỗi băm đúng) rồi mới thay. Mật khẩu quản trị: gõ hai lần, hoặc biến ONESTOP_PASSWORD.
    Đóng quầy ở mọi chương trình khác trước khi chạy.
    """
    settings = settings_or_exit(db)
    if not yes:
        if not sys.stdin.isatty():
            raise Refused(
                t("Chưa xác nhận mã hóa: thêm --yes (cho script) hoặc chạy trong cửa sổ lệnh.")
            )
        if not click.confirm(
            t("Mã hóa quầy {p} và tạo quản trị viên {u}?", p=settings.db, u=admin),
            default=False,
            err=True,
        ):
            raise Refused(t("Đã hủy; chưa thay gì."))
    password = read_new_password(what=admin, env_var=PASSWORD_ENV)
    desk = accounts.encrypt_plain_desk(
        settings.db,
        admin=admin,
        admin_name=admin_name,
        password=password,
        keep_plain=keep_plain,
        clock=desk_now,
    )
    try:
        total = desk.counts().total
    finally:
        desk.close()
    if as_json:
        emit({"db": str(settings.db), "admin": admin, "dossiers": total, "kept_plain": keep_plain})
    else:
        click.echo(
            t(
                "Đã mã hóa {p} ({n} hồ sơ). Từ nay đăng nhập: onestop --user {u}.",
                p=settings.db,
                n=total,
                u=admin,
            )
        )
