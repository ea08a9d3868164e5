"""What every ``onestop`` command module shares: options, the desk clock, errors, output.

Kept apart from ``cli.py`` so the command modules (receipts, reports, sync) import it without
importing the main group, and ``cli.py`` attaches them without a circular import.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from onestop.config import ConfigError, Settings, load_settings
from onestop.domain.clock import (
    FIRST_DAY,
    FROZEN_NOW_FORMAT,
    LAST_DAY,
    MAX_TYPED_TEXT,
    parse_typed,
    vn_now,
)
from onestop.i18n import get_language, set_language, t
from onestop.paths import desk_file_problem, has_keyring
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


class SetupError(Refused):
    """A desk file or setting that cannot work (``--db /dev/null``, a folder): exit 2."""

    exit_code = 2


# --- Input bounds: one place, documented in the README ("Supported ranges") ---------------
MAX_VND = 10**12  # any one amount of money (fee, payment): 0 ≤ amount ≤ 1 000 000 000 000 đ
MAX_CURSOR = 2**62  # a page cursor is a dossier row id: positive, well inside SQLite INTEGER
_MAX_INPUT = MAX_TYPED_TEXT  # longer number or date text is refused before it is parsed
_DIGITS = re.compile(r"[+-]?[0-9]{1,30}")  # ASCII only: not "1e23", "nan", "١٢", "1_000"


def _shown(value: object) -> str:
    """Typed text as it goes back into a message: short, and safe for the terminal."""
    from onestop.domain.fields import escape_display

    text = str(value)
    return escape_display(text if len(text) <= 40 else text[:40] + "…")


def _grouped(n: int) -> str:
    # 1000000 -> 1.000.000, as Vietnamese writes it; years and small counts stay as they are
    return f"{n:,}".replace(",", ".") if abs(n) >= 10_000 else str(n)


class BoundedInt(click.ParamType[int]):
    """The one integer option type: ASCII digits only, within ``low..high`` (both included).

    Money (``MONEY``), counts (``count(1, 200)``), years (``YEAR``) and page cursors
    (``CURSOR``) all go through it, so a 20-digit number never reaches SQLite or a date.
    """

    name = "integer"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            if len(text) > _MAX_INPUT or not _DIGITS.fullmatch(text):
                self.fail(
                    t(
                        "phải là số nguyên viết bằng chữ số 0–9 (không dấu chấm, dấu phẩy, "
                        "khoảng trắng); nhận được «{v}».",
                        v=_shown(value),
                    ),
                    param,
                    ctx,
                )
            number = int(text)
        if not self.low <= number <= self.high:
            self.fail(
                t(
                    "phải từ {low} đến {high}; nhận được {v}.",
                    low=_grouped(self.low),
                    high=_grouped(self.high),
                    v=_shown(value),
                ),
                param,
                ctx,
            )
        return number


class PageCursor(BoundedInt):
    """``--after``: the keyset cursor printed at the end of the previous page (a row id)."""

    def __init__(self) -> None:
        super().__init__(1, MAX_CURSOR)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(
                t(
                    "không phải con trỏ trang: dùng đúng số in ở dòng «Còn nữa: thêm --after …» "
                    "của trang trước; nhận được «{v}».",
                    v=_shown(value),
                ),
                param,
                ctx,
            )


def count(low: int, high: int) -> BoundedInt:
    """A bounded whole number option (days, workers, limits...)."""
    return BoundedInt(low, high)


MONEY = BoundedInt(0, MAX_VND)
YEAR = BoundedInt(FIRST_DAY.year, LAST_DAY.year)
CURSOR = PageCursor()


def _check_day(day: date, what: str, value: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise click.BadParameter(
            t(
                "{what} phải trong khoảng {first} đến {last}; nhận được «{v}».",
                what=what,
                first=f"{FIRST_DAY:%d/%m/%Y}",
                last=f"{LAST_DAY:%d/%m/%Y}",
                v=_shown(value),
            )
        )


_parse = parse_typed  # the one reading of typed date and time text (domain/clock.py)


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
        at = _parse(frozen, (FROZEN_NOW_FORMAT,))
        if at is None:
            click.echo(
                t("ONESTOP_NOW phải có dạng YYYY-MM-DD HH:MM, ví dụ 2026-02-05 10:00."), err=True
            )
            sys.exit(2)
        try:
            _check_day(at.date(), "ONESTOP_NOW", frozen)
        except click.BadParameter as e:
            click.echo(e.message, err=True)
            sys.exit(2)
        return at
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


def check_desk_file(db: Path) -> None:
    """The one check before a desk file is opened (``paths.desk_file_problem``): exit 2 with
    its sentence."""
    problem = desk_file_problem(db)
    if problem is not None:
        raise SetupError(problem)


def _is_database_error(e: BaseException) -> bool:
    """SQLite (or SQLCipher) refusing the file itself, wrapped or not by SQLAlchemy."""
    import sqlite3

    cause: BaseException | None = e
    while cause is not None:
        if isinstance(cause, sqlite3.DatabaseError) or type(cause).__name__ in (
            "DatabaseError",
            "OperationalError",
        ):
            return True
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False


@contextmanager
def open_desk(db: Path | None) -> Iterator[Desk]:
    settings = settings_or_exit(db)
    set_language(settings.language)
    check_desk_file(settings.db)
    try:
        desk = open_settings_desk(settings)
    except DeskError as e:
        raise Refused(str(e)) from e
    except Exception as e:
        if not _is_database_error(e):
            raise
        raise SetupError(
            t(
                "Không mở được cơ sở dữ liệu của quầy {path}: tệp hỏng hoặc không phải tệp của "
                "quầy ({err}).",
                path=settings.db,
                err=_shown(getattr(e, "orig", None) or e),
            )
        ) from e
    try:
        yield desk
    finally:
        desk.close()


def file_option(*decls: str, help_text: str, required: bool = False) -> Callable[[F], F]:
    """An option naming one file, given to the command as a ``Path`` (None when left out and
    not ``required``): click refuses a folder before the command runs, so every command that
    reads or writes a named file (``--out``, ``--pdf``, ``--pin-file``…) says it alike.
    ``decls`` are click's: the option's names, then the parameter's if it differs."""

    def decorate(f: F) -> F:
        return click.option(
            *decls,
            type=click.Path(dir_okay=False, path_type=Path),
            required=required,
            default=None,
            help=help_text,
        )(f)

    return decorate


def passphrase_file_option(help_text: str) -> Callable[[F], F]:
    """``--passphrase-file FILE`` (first line): never a ``--passphrase`` option, which would
    stay in the shell history and show in ``ps``. ``help_text`` says whose passphrase it is."""
    return file_option("--passphrase-file", help_text=help_text)


def pin_file_option(help_text: str) -> Callable[[F], F]:
    """``--pin-file FILE`` (first line): the token PIN or signing-key password, for the same
    reason as ``passphrase_file_option``; without it the command asks at a hidden prompt."""
    return file_option("--pin-file", help_text=help_text)


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
    """The one date-and-time parser of the command line: three written forms, and a date in
    ``FIRST_DAY..LAST_DAY`` (so no deadline is ever computed towards year 9999)."""
    at = _parse(value, ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"))
    if at is None:
        raise click.BadParameter(
            t(
                "{what} phải có dạng «YYYY-MM-DD HH:MM», ví dụ «2026-02-05 10:00»; nhận được «{v}».",
                what=what,
                v=_shown(value),
            )
        )
    _check_day(at.date(), what, value)
    return at


def parse_day(value: str, what: str) -> date:
    """The one day parser (report periods): «YYYY-MM-DD» or «DD/MM/YYYY», in the same range."""
    at = _parse(value, ("%Y-%m-%d", "%d/%m/%Y"))
    if at is None:
        raise click.BadParameter(
            t(
                "{what} phải có dạng «YYYY-MM-DD» hoặc «DD/MM/YYYY», ví dụ «2026-03-31»; nhận được «{v}».",
                what=what,
                v=_shown(value),
            )
        )
    _check_day(at.date(), what, value)
    return at.date()


def fmt_due(dt: datetime | None) -> str:
    from onestop.domain.text import datetime_text

    return datetime_text(dt) if dt else t("Không có ngày hẹn trả cụ thể theo quy định")


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


# --- click's own messages, in the desk's language ------------------------------------------
# click writes its usage errors through gettext (``from gettext import gettext as _`` in each of
# its modules, looked up when the message is made). ``install_click_translations`` points those
# names at ``_click_gettext``: the English template -> our Vietnamese text through ``t()``, so
# under ``language = "en"`` en.json gives click's own English back. One table, one hook.


def _click_messages() -> dict[str, str]:
    return {
        "Usage:": t("Cách dùng:"),
        "Try '{command} {option}' for help.": t("Gõ «{command} {option}» để xem hướng dẫn."),
        "Error: {message}": t("Lỗi: {message}"),
        "Missing argument": t("Thiếu tham số"),
        "Missing option": t("Thiếu tùy chọn"),
        "Missing parameter": t("Thiếu tham số"),
        "Missing {param_type}": t("Thiếu {param_type}"),
        "Missing parameter: {param_name}": t("Thiếu tham số: {param_name}"),
        "Missing command.": t("Thiếu lệnh."),
        "No such option {name!r}.": t("Không có tùy chọn «{name}»."),
        "No such command {name!r}.": t("Không có lệnh «{name}»."),
        "Did you mean {possibility}?": t("Có phải ý bạn là {possibility}?"),
        "(Did you mean one of: {possibilities}?)": t(
            "(Có phải ý bạn là một trong: {possibilities}?)"
        ),
        "Invalid value: {message}": t("Giá trị không hợp lệ: {message}"),
        "Invalid value for {param_hint}: {message}": t(
            "Giá trị không hợp lệ cho {param_hint}: {message}"
        ),
        "Got unexpected extra argument ({args})": t("Thừa tham số không cần ({args})"),
        "Got unexpected extra arguments ({args})": t("Thừa các tham số không cần ({args})"),
        "Option {name!r} does not take a value.": t("Tùy chọn «{name}» không nhận giá trị."),
        "Option {name!r} requires an argument.": t("Tùy chọn «{name}» cần một giá trị."),
        "Option {name!r} requires {nargs} arguments.": t("Tùy chọn «{name}» cần {nargs} giá trị."),
        "Argument {name!r} takes {nargs} values.": t("Tham số «{name}» nhận {nargs} giá trị."),
        "{value!r} is not {choice}.": t("«{value}» không phải {choice}."),
        "{value!r} is not one of {choices}.": t("«{value}» không phải một trong {choices}."),
        "{value!r} is not a valid {number_type}.": t(
            "«{value}» không phải số hợp lệ ({number_type})."
        ),
        "{value} is not in the range {range}.": t("{value} nằm ngoài khoảng {range}."),
        "{value!r} is not a valid boolean. Recognized values: {states}": t(
            "«{value}» không phải giá trị đúng/sai. Các giá trị nhận: {states}"
        ),
        "{value!r} does not match the format {format}.": t("«{value}» không đúng dạng {format}."),
        "{value!r} does not match the formats {formats}.": t(
            "«{value}» không đúng các dạng {formats}."
        ),
        "{name} {filename!r} does not exist.": t("{name} «{filename}» không tồn tại."),
        "{name} {filename!r} is a file.": t("{name} «{filename}» là một tệp."),
        "{name} {filename!r} is a directory.": t("{name} «{filename}» là một thư mục."),
        "{name} {filename!r} is not readable.": t("{name} «{filename}» không đọc được."),
        "{name} {filename!r} is not writable.": t("{name} «{filename}» không ghi được."),
        "{name} {filename!r} is not executable.": t("{name} «{filename}» không chạy được."),
        "Could not open file {filename!r}: {message}": t(
            "Không mở được tệp «{filename}»: {message}"
        ),
        "file": t("Tệp"),
        "directory": t("Thư mục"),
        "path": t("Đường dẫn"),
        "Aborted!": t("Đã hủy."),
        "Show this message and exit.": t("Hiện hướng dẫn này rồi thoát."),
        "Show the version and exit.": t("Hiện số phiên bản rồi thoát."),
        "Error: The two entered values do not match.": t("Lỗi: hai lần nhập không khớp nhau."),
        "Error: invalid input": t("Lỗi: giá trị nhập không hợp lệ"),
        "Repeat for confirmation": t("Nhập lại để xác nhận"),
        "Options": t("Tùy chọn"),
        "Commands": t("Lệnh"),
        "default: {default}": t("mặc định: {default}"),
        "env var: {var}": t("biến môi trường: {var}"),
        "required": t("bắt buộc"),
    }


def _click_gettext(message: str) -> str:
    if get_language() == "en":
        return message
    return _click_messages().get(message, message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    return _click_gettext(singular if n == 1 else plural)


_CLICK_MODULES = ("core", "exceptions", "parser", "types", "formatting", "termui", "decorators")


def install_click_translations() -> None:
    """Route click's messages through ``t()`` (idempotent; the root group calls it)."""
    import importlib

    for name in _CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = _click_gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]


def translate_version_help(command: click.Command) -> None:
    """``--version``'s help was written by click when the root group was decorated, before the
    translations were installed and the language chosen: say it again in the desk's language."""
    for param in command.params:
        if isinstance(param, click.Option) and "--version" in param.opts:
            param.help = _click_gettext("Show the version and exit.")


def adopt_configured_language() -> None:
    """Take the language from the settings before click parses anything, so a usage error is
    already in it. A broken configuration is reported later by the command itself."""
    try:
        set_language(load_settings().language)
    except (ConfigError, ValueError, OSError):
        pass


# --- Unexpected failures -------------------------------------------------------------------
DEBUG_ENV = "ONESTOP_DEBUG"  # =1: let the traceback through (developers)
ERROR_LOG_MAX = 1_000_000  # bytes; the log is moved to errors.log.1 beyond this


def error_log_path() -> Path:
    from platformdirs import user_data_path

    from onestop.config import APP_NAME

    return user_data_path(APP_NAME, appauthor=False) / "logs" / "errors.log"


def _write_error_log(exc: BaseException, command: str) -> Path:
    import traceback

    path = error_log_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if path.stat().st_size > ERROR_LOG_MAX:
            os.replace(path, path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        if os.name == "posix":  # Windows: the profile folder's ACL (store/engine.py)
            os.fchmod(f.fileno(), 0o600)
        f.write(f"--- {datetime.now().isoformat(timespec='seconds')} onestop {command}\n")
        f.write("".join(traceback.format_exception(exc)))
    return path


class Unexpected(Refused):
    """A bug or an unforeseen state: one sentence for the clerk, the traceback in the log."""

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


def unexpected(exc: Exception, command: str) -> click.ClickException:
    """What the root group raises for any exception no command turned into a message."""
    try:
        where = str(_write_error_log(exc, command))
    except OSError as e:
        where = t("(không ghi được nhật ký lỗi: {err})", err=e.strerror or e)
    return Unexpected(
        t(
            "Lỗi không lường trước: {kind}. Hãy báo cho quản trị viên; chi tiết đã ghi vào {log}.",
            kind=type(exc).__name__,
            log=where,
        )
    )


def passes_through(exc: BaseException) -> bool:
    """Exceptions click itself turns into exits (usage, abort, EOF, a closed pipe) or that a
    developer asked to see (``ONESTOP_DEBUG=1``)."""
    if isinstance(exc, click.ClickException | click.exceptions.Exit | click.Abort | EOFError):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
        return True
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def guard(f: F) -> F:
    """Domain refusals become exit 1 with a readable message, never a traceback (anything else
    reaches the root group's catch-all, ``unexpected``)."""

    @wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except IntakeError as e:
            raise Refused(t("Hồ sơ chưa hợp lệ, chưa lưu gì:\n{errs}", errs=str(e))) from e
        except DeskError as e:
            raise Refused(str(e)) from e
        except Exception as e:
            # Imported here: ``--help`` and the commands that never parse a CCCD do not load
            # its tables (issue 19 §3, start time).
            from onestop.domain.cccd import CccdError

            if isinstance(e, CccdError):
                raise Refused(str(e)) from e
            raise

    return cast(F, wrapper)
