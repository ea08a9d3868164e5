"""The ``onestop`` command line. Talks only to services.

Exit codes: 0 done; 1 refused input (the message says why, nothing was changed);
2 usage or configuration error. Every command that prints data takes ``--json``.

The other commands live in the modules of this package, one per command group, and load on
demand (``LazyGroup``); only the desk command is here, so ``onestop`` opens the desk without
importing the rest of the CLI.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click
from click.utils import _make_default_short_help as _short_help

from onestop import __version__
from onestop.cli._common import (
    USER_META,
    Refused,
    _click_gettext,
    adopt_configured_language,
    check_desk_file,
    count,
    db_option,
    desk_now,
    emit,
    guard,
    install_click_translations,
    json_option,
    open_desk,
    passes_through,
    settings_or_exit,
    translate_version_help,
    unexpected,
)
from onestop.cli.short_help import DESK_SHORT_HELP, SHORT_HELP
from onestop.i18n import t

# Before the decorators below: click asks gettext for --version's help text when the root group
# is decorated, and gettext searches the disk for catalogues and imports ``locale`` to do it.
# Routed through t() from here on (``DefaultGroup.main`` installs again, idempotent).
install_click_translations()


class LazyGroup(click.Group):
    """A group whose sub-commands live in other modules, imported only when one of them runs
    (or ``--help`` lists them): the desk's start must not wait for the whole CLI's imports."""

    def __init__(
        self,
        *args: Any,
        lazy: dict[str, str] | None = None,
        summaries: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})  # command name -> "module:attribute"
        # command name -> its one-line help (cli/short_help.py), so --help imports nothing
        self.summaries = dict(summaries or {})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing, except that a lazy command not yet loaded is described from
        ``summaries`` instead of importing its module (every module: ~0.6 s for --help).
        A command missing from the table is imported and asked, as click does."""
        rows: list[tuple[str, click.Command | str]] = []
        for name in self.list_commands(ctx):
            if name not in self.commands and name in self.summaries:
                rows.append((name, self.summaries[name]))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd))
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        listing = [
            (
                name,
                _short_help(about, limit)
                if isinstance(about, str)
                else about.get_short_help_str(limit),
            )
            for name, about in rows
        ]
        with formatter.section(_click_gettext("Commands")):
            formatter.write_dl(listing)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command) and command.name == cmd_name
            self.add_command(command)
        return super().get_command(ctx, cmd_name)


class DefaultGroup(LazyGroup):
    """``onestop`` with no sub-command opens the desk; ``--user NAME`` may come first.

    As the root it is also where every error ends: click's own usage messages speak the desk's
    language (``install_click_translations``), and an exception no command turned into a
    message becomes one Vietnamese sentence, exit 1, the traceback in the error log
    (``unexpected``; ``ONESTOP_DEBUG=1`` shows it instead).
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        install_click_translations()
        adopt_configured_language()
        translate_version_help(self)
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as e:
            if passes_through(e):
                raise
            raise unexpected(e, ctx.invoked_subcommand or "desk") from e

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        head: list[str] = []
        rest = list(args)
        while rest and (rest[0] == "--user" or rest[0].startswith("--user=")):
            take = 2 if rest[0] == "--user" else 1
            head, rest = head + rest[:take], rest[take:]
        if not rest or (rest[0].startswith("-") and rest[0] not in ("--help", "-h", "--version")):
            rest = ["desk", *rest]
        return super().parse_args(ctx, head + rest)


def _lazy(module: str, *names: str) -> dict[str, str]:
    return {name: f"{module}:{name.replace('-', '_')}" for name in names}


COMMANDS = {
    **_lazy("onestop.cli.dossiers", "due", "receive", "refuse", "dossier", "act", "rebuild"),
    **_lazy("onestop.cli.checks", "check-id"),  # opens no desk: a module with few imports
    **_lazy("onestop.cli.desk", "init", "demo", "migrate"),
    **_lazy("onestop.cli.keys", "keys"),
    **_lazy("onestop.cli.receipts", "receipt", "slip", "verify"),
    **_lazy("onestop.cli.backup", "backup", "restore"),
    **_lazy("onestop.cli.accounts", "user", "encrypt"),
    **_lazy("onestop.cli.reports", "report"),
    **_lazy("onestop.cli.server", "serve", "server"),
    **_lazy("onestop.cli.sync", "enroll", "sync"),
    **_lazy("onestop.cli.conflicts", "conflicts"),
    **_lazy("onestop.cli.pdfsign", "verify-pdf", "sign-pdf", "signer"),
    **_lazy(
        "onestop.cli.files",
        *("attach", "detach", "files", "file-get", "scan", "scanners", "separator", "hotfolder"),
    ),
}
DESK_COMMANDS = {
    "status": "onestop.cli.desk:desk_status",
    **_lazy("onestop.cli.desk", "unlock-offline", "offline-limits", "slip-settings"),
}


@click.group(
    cls=DefaultGroup,
    lazy=COMMANDS,
    summaries=SHORT_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="onestop")
@click.option(
    "--user",
    default=None,
    envvar="ONESTOP_USER",
    help="Tài khoản đăng nhập quầy đã mã hóa (biến ONESTOP_USER); mật khẩu hỏi ẩn hoặc lấy "
    "từ ONESTOP_PASSWORD.",
)
@click.pass_context
def main(ctx: click.Context, user: str | None) -> None:
    """onestop — quầy Một cửa cấp xã, làm việc không cần mạng.

    \b
    Bắt đầu nhanh:
      onestop demo            tạo dữ liệu mẫu
      onestop                 mở quầy (giao diện cửa sổ dòng lệnh)
      onestop receive ...     tiếp nhận hồ sơ bằng lệnh
      onestop dossier list    xem danh sách hồ sơ
    """
    ctx.meta[USER_META] = user


@main.group(
    cls=LazyGroup,
    lazy=DESK_COMMANDS,
    summaries=DESK_SHORT_HELP,
    invoke_without_command=True,
)
@db_option
@click.option(
    "--web", is_flag=True, help="Mở quầy trong trình duyệt (localhost) bằng textual-serve."
)
@click.option(
    "--port", type=count(1, 65535), default=8765, show_default=True, help="Cổng cho --web."
)
@json_option
@guard
@click.pass_context
def desk(ctx: click.Context, db: Path | None, web: bool, port: int, as_json: bool) -> None:
    """Mở quầy (mặc định khi gõ «onestop»)."""
    if ctx.invoked_subcommand is not None:
        return  # «onestop desk status»: the group's callback runs first; nothing to open
    settings = settings_or_exit(db)
    if as_json or (not web and not sys.stdout.isatty()):
        # Without a terminal (scripts, CI) print today's dashboard counts instead of the TUI.
        # Not with --web: the browser desk needs no terminal, and runs under a service
        # manager or nohup with its output in a file.
        out = _glance_counts(settings.db)
        if out is None:  # encrypted, to migrate, ...: only the opened desk can tell
            with open_desk(db) as d:
                c = d.counts()
                out = {**c.__dict__, "outbox": d.outbox_size(), "desk": d.identity.desk_id}
        if as_json:
            emit(out)
        else:
            for k, v in out.items():
                click.echo(f"{k}: {v}")
        return
    try:
        from onestop.tui.app import run_desk
    except ImportError:  # pragma: no cover - the TUI module is part of the package
        raise Refused(t("Giao diện quầy chưa sẵn sàng.")) from None
    check_desk_file(settings.db)
    run_desk(settings, now=desk_now, web=web, port=port)


def _glance_counts(path: Path) -> dict[str, object] | None:
    """A plain desk's counts read like the desk's first screen (``services/glance.py``): the
    same query and calendar, without loading the database libraries (~0.4 s of a script's run)."""
    from onestop.services.glance import glance

    g = glance(path, desk_now())
    if g is None:
        return None
    return {**g.dashboard.counts.__dict__, "outbox": g.outbox, "desk": g.identity.desk_id}


if __name__ == "__main__":  # pragma: no cover
    main()
