"""What every ``onestop`` command module shares: options, the desk clock, errors, output.

Kept apart from ``cli.py`` so the command modules (receipts, reports, sync) import it without
importing the main group, and ``cli.py`` attaches them without a circular import.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from onestop.config import ConfigError, Settings, load_settings
from onestop.domain.cccd import CccdError
from onestop.domain.clock import vn_now
from onestop.domain.text import datetime_vi
from onestop.i18n import set_language, t
from onestop.paths import has_keyring
from onestop.services.base import DeskError, IntakeError

if TYPE_CHECKING:  # the desk's libraries load when a command opens the desk, not for --help
    from onestop.services.desk import Desk

F = TypeVar("F", bound=Callable[..., Any])
PASSPHRASE_ENV = "ONESTOP_PASSPHRASE"
USER_ENV = "ONESTOP_USER"
PASSWORD_ENV = "ONESTOP_PASSWORD"  # for scripts and tests; people type it at the hidden prompt
USER_META = "onestop.user"  # where the group's --user option leaves the name (ctx.meta)


class Refused(click.ClickException):
    """Refused input: exit 1 with the reason (click's usage errors keep exit 2)."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(t("Lỗi: {msg}", msg=self.message), err=True)


def settings_or_exit(db: Path | None) -> Settings:
    """The settings, or exit 2 with a readable message when the configuration is bad."""
    try:
        return load_settings(db=db)
    except ConfigError as e:
        click.echo(str(e), err=True)
        sys.exit(2)


def desk_now() -> datetime:
    """The desk clock; ``ONESTOP_NOW="YYYY-MM-DD HH:MM"`` freezes it (demos, end-to-end tests)."""
    frozen = os.environ.get("ONESTOP_NOW")
    if frozen:
        try:
            return datetime.strptime(frozen, "%Y-%m-%d %H:%M")
        except ValueError:
            click.echo(
                t("ONESTOP_NOW phải có dạng YYYY-MM-DD HH:MM, ví dụ 2026-02-05 10:00."), err=True
            )
            sys.exit(2)
    return vn_now()


def credentials(db: Path) -> tuple[str, str]:
    """Who is logging in: ``--user``/``ONESTOP_USER`` and ``ONESTOP_PASSWORD``, else a prompt
    (hidden for the password) when stdin is a terminal; without a terminal, refuse clearly."""
    ctx = click.get_current_context(silent=True)
    user = str(ctx.meta.get(USER_META) or "") if ctx is not None else ""
    user = user or os.environ.get(USER_ENV, "")
    password = os.environ.get(PASSWORD_ENV)
    interactive = sys.stdin.isatty()
    if (not user or password is None) and not interactive:
        raise Refused(
            t(
                "Quầy {db} đã được mã hóa: cần đăng nhập. Ghi «onestop --user TÊN …» (hoặc biến "
                "ONESTOP_USER) và mật khẩu trong biến ONESTOP_PASSWORD.",
                db=db,
            )
        )
    if not user:
        user = str(click.prompt(t("Tên đăng nhập"), err=True))
    if password is None:
        password = str(click.prompt(t("Mật khẩu của {u}", u=user), hide_input=True, err=True))
    return user, password


def open_settings_desk(settings: Settings) -> Desk:
    """Open the configured desk: log in when it has a keyring (encrypted desk).

    A plain desk without a keyring (created before accounts existed, or by scripts) still opens
    as before, under the deprecated ``official``/``role`` settings.
    """
    from onestop.services.accounts import open_logged_in
    from onestop.services.desk import Desk

    if has_keyring(settings.db):
        user, password = credentials(settings.db)
        return open_logged_in(settings.db, user, password, clock=desk_now)
    return Desk.open(settings.db, clock=desk_now, actor=settings.official, role=settings.role)


@contextmanager
def open_desk(db: Path | None) -> Iterator[Desk]:
    settings = settings_or_exit(db)
    set_language(settings.language)
    try:
        desk = open_settings_desk(settings)
    except DeskError as e:
        raise Refused(str(e)) from e
    try:
        yield desk
    finally:
        desk.close()


def db_option(f: F) -> F:
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="ONESTOP_DB",
        help="Tệp cơ sở dữ liệu của quầy (mặc định trong thư mục dữ liệu người dùng; biến ONESTOP_DB).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")(f)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def parse_dt(value: str, what: str) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"):
        try:
            return datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    raise click.BadParameter(
        t(
            "{what} phải có dạng «YYYY-MM-DD HH:MM», ví dụ «2026-02-05 10:00»; nhận được «{v}».",
            what=what,
            v=value,
        )
    )


def fmt_due(dt: datetime | None) -> str:
    return datetime_vi(dt) if dt else t("Không có ngày hẹn trả cụ thể theo quy định")


NEW_PASSWORD_ENV = "ONESTOP_NEW_PASSWORD"


def read_new_password(*, what: str, env_var: str = NEW_PASSWORD_ENV) -> str:
    """A new account password: from ``env_var``, else typed twice at a hidden prompt.

    ``init`` reads ``ONESTOP_PASSWORD`` (nobody is logged in yet); ``user add|passwd`` read
    ``ONESTOP_NEW_PASSWORD``, because ``ONESTOP_PASSWORD`` is then the admin's own login.
    """
    env = os.environ.get(env_var)
    if env:
        return env
    if not sys.stdin.isatty():
        raise Refused(
            t(
                "Cần mật khẩu cho {what}: gõ khi được hỏi, hoặc đặt biến {var}.",
                what=what,
                var=env_var,
            )
        )
    value: str = click.prompt(
        t("Mật khẩu mới cho {what}", what=what),
        hide_input=True,
        confirmation_prompt=t("Nhập lại mật khẩu"),
        err=True,
    )
    return value


def read_passphrase(
    path: Path | None, *, what: str, confirm: bool = False, env_var: str = PASSPHRASE_ENV
) -> str:
    """From ``--passphrase-file``, else ``env_var`` (``ONESTOP_PASSPHRASE``), else a hidden
    prompt."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise Refused(t("Không đọc được tệp mật khẩu {path}: {e}", path=path, e=e)) from e
        lines = text.splitlines()
        return lines[0] if lines else ""
    env = os.environ.get(env_var)
    if env:
        return env
    value: str = click.prompt(
        t("Mật khẩu {what}", what=what),
        hide_input=True,
        confirmation_prompt=t("Nhập lại mật khẩu") if confirm else False,
        err=True,
    )
    return value


def guard(f: F) -> F:
    """Domain refusals become exit 1 with a readable message, never a traceback."""

    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except IntakeError as e:
            raise Refused(t("Hồ sơ chưa hợp lệ, chưa lưu gì:\n{errs}", errs=str(e))) from e
        except (DeskError, CccdError) as e:
            raise Refused(str(e)) from e

    return cast(F, wrapper)
