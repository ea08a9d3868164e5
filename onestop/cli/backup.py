"""Commands for backups, restore, and the desk's lock-down state.

``onestop backup --to DIR`` / ``--auto`` / ``--set-dir DIR [--keep N]``, ``onestop restore
FILE``, and under ``onestop desk``: ``status``, ``unlock-offline --days N``, ``offline-limits``.

``desk`` is the command that opens the desk (and the default command). To hang sub-commands
under it without touching it, ``register`` rebuilds it as a group with the same options and
callback, invoked when no sub-command is given: ``onestop``, ``onestop desk --web`` and
``onestop desk status`` all work.

Exit codes: 0 done; 1 refused (wrong passphrase, damaged or truncated file, different desk
without ``--replace-desk``, restore not confirmed, folder missing...); 2 usage.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from onestop.cli._common import (
    Refused,
    count,
    credentials,
    db_option,
    desk_now,
    emit,
    guard,
    json_option,
    open_desk,
    passphrase_file_option,
    read_passphrase,
    settings_or_exit,
)
from onestop.i18n import set_language, t
from onestop.paths import has_keyring
from onestop.services import backup as bk
from onestop.services import lockdown

_passphrase_option = passphrase_file_option(
    "Tệp chứa mật khẩu bản sao lưu (dòng đầu), cho quầy chưa mã hóa; hoặc biến "
    "ONESTOP_BACKUP_PASSPHRASE; không có thì hỏi ẩn."
)


def _read_backup_passphrase(path: Path | None, *, confirm: bool) -> str:
    if path is None and not os.environ.get(bk.PASSPHRASE_ENV) and not sys.stdin.isatty():
        raise Refused(
            t(
                "Cần mật khẩu bản sao lưu: dùng --passphrase-file hoặc biến {env}.",
                env=bk.PASSPHRASE_ENV,
            )
        )
    return read_passphrase(path, what=t("bản sao lưu"), confirm=confirm, env_var=bk.PASSPHRASE_ENV)


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A click progress bar on a terminal (stderr); nothing for scripts and ``--json``."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


@click.command("backup")
@db_option
@click.option(
    "--to",
    "to_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Thư mục ghi bản sao lưu (ví dụ ổ USB).",
)
@click.option(
    "--auto",
    is_flag=True,
    help="Sao lưu tự động vào thư mục đã cấu hình (tối đa một lần mỗi ngày, xoay vòng); "
    "dùng cho cron / systemd timer.",
)
@click.option(
    "--set-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cấu hình thư mục sao lưu tự động (quản trị viên).",
)
@click.option("--unset-dir", is_flag=True, help="Tắt sao lưu tự động.")
@click.option("--keep", type=count(1, 365), default=None, help="Số bản sao lưu tự động giữ lại.")
@_passphrase_option
@json_option
@guard
def backup(
    db: Path | None,
    to_dir: Path | None,
    auto: bool,
    set_dir: Path | None,
    unset_dir: bool,
    keep: int | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Sao lưu quầy, mã hóa, không làm gián đoạn quầy đang chạy.

    \b
    onestop backup --to /media/usb          một bản sao lưu ngay
    onestop backup --set-dir /media/usb     cấu hình sao lưu tự động (giữ 7 bản)
    onestop backup --auto                   chạy hằng ngày bằng cron / systemd timer
    """
    modes = sum((to_dir is not None, auto, set_dir is not None or unset_dir or keep is not None))
    if modes != 1:
        raise click.UsageError(t("Chọn đúng một trong: --to DIR, --auto, --set-dir/--keep."))
    with open_desk(db) as desk:
        if to_dir is None and not auto:
            folder = None if unset_dir else set_dir or bk.backup_dir_setting(desk)
            bk.configure(desk, folder.resolve() if folder else None, keep)
            conf = {"backup_dir": str(folder) if folder else None, "keep": bk.keep_setting(desk)}
            if as_json:
                emit(conf)
            elif folder is None:
                click.echo(t("Đã tắt sao lưu tự động."))
            else:
                click.echo(
                    t(
                        "Sao lưu tự động vào {p}, giữ {n} bản gần nhất.",
                        p=folder,
                        n=conf["keep"],
                    )
                )
            return
        passphrase = None
        if bk.data_key_of(desk) is None and (
            to_dir is not None or not os.environ.get(bk.PASSPHRASE_ENV)
        ):
            passphrase = _read_backup_passphrase(passphrase_file, confirm=to_dir is not None)
        with _progress(t("Đang sao lưu"), not as_json) as progress:
            if auto:
                outcome = bk.maybe_backup(
                    desk, desk.clock(), passphrase=passphrase, progress=progress
                )
                if as_json:
                    emit(
                        {
                            "status": outcome.status,
                            "message": outcome.message,
                            "path": str(outcome.path) if outcome.path else None,
                        }
                    )
                else:
                    click.echo(outcome.message)
                if outcome.status == "failed":
                    sys.exit(1)
                return
            assert to_dir is not None
            result = bk.create_backup(desk, to_dir, passphrase=passphrase, progress=progress)
    out: dict[str, Any] = {
        "path": str(result.path),
        "bytes": result.size,
        "encrypted_db": result.encrypted_db,
        "duration_s": round(result.duration_s, 3),
        "members": list(result.members),
        **result.summary.as_dict(),
    }
    if as_json:
        emit(out)
    else:
        click.echo(
            t(
                "Đã sao lưu quầy {d} ({n} hồ sơ, {e} sự kiện) vào {p} ({size}).",
                d=result.summary.desk_id,
                n=result.summary.dossiers,
                e=result.summary.events,
                p=result.path,
                size=_mib(result.size),
            )
        )


def _describe(summary: bk.DbSummary | None) -> str:
    if summary is None:
        return "—"
    return t(
        "quầy {d}: {n} hồ sơ, {e} sự kiện, sự kiện cuối lúc {last}",
        d=summary.desk_id,
        n=summary.dossiers,
        e=summary.events,
        last=summary.last_event_at or "—",
    )


@click.command("restore")
@db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Không hỏi xác nhận (cho script).")
@click.option(
    "--replace-desk",
    is_flag=True,
    help="Cho phép thay cơ sở dữ liệu của một quầy KHÁC bằng bản sao lưu này.",
)
@_passphrase_option
@json_option
@click.pass_context
@guard
def restore(
    ctx: click.Context,
    db: Path | None,
    file: Path,
    yes: bool,
    replace_desk: bool,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Khôi phục quầy từ tệp sao lưu FILE (.osbk).

    Kiểm tra toàn bộ tệp (mã xác thực từng khối, khối cuối, toàn vẹn CSDL, chuỗi băm) TRƯỚC khi
    thay; cơ sở dữ liệu cũ được giữ lại thành <db>.before-restore-<thời điểm>. Đóng quầy trước.
    """
    settings = settings_or_exit(db)
    set_language(settings.language)
    target = settings.db
    info = bk.read_backup_info(file)
    user = password = passphrase = None
    if info.wrap_kind != "passphrase" or has_keyring(target):
        # An encrypted live desk: its admin logs in, whatever kind of backup replaces it.
        user, password = credentials(target)
    if info.wrap_kind == "passphrase":
        passphrase = _read_backup_passphrase(passphrase_file, confirm=False)
    creds = bk.Credentials(passphrase=passphrase, username=user, password=password)
    with _progress(t("Đang kiểm tra"), not as_json) as progress:
        plan = bk.prepare_restore(file, target, creds, progress=progress, now=desk_now())
    with plan:
        out: dict[str, Any] = {
            "file": str(file),
            "db": str(target),
            "backup": plan.backup.as_dict(),
            "current": plan.current.as_dict() if plan.current else None,
            "created_at": info.created_at,
        }
        if not as_json:
            click.echo(
                t(
                    "Bản sao lưu tạo lúc {when}: {what}.",
                    when=info.created_at,
                    what=_describe(plan.backup),
                )
            )
            if plan.current_unreadable:
                click.echo(t("Sẽ thay cơ sở dữ liệu {p} (không đọc được nội dung).", p=target))
            elif plan.current is not None:
                click.echo(t("Sẽ thay {p}: {what}.", p=target, what=_describe(plan.current)))
        if plan.different_desk and not replace_desk:
            raise Refused(
                t(
                    "Bản sao lưu là của quầy {b}, nhưng {p} là cơ sở dữ liệu của {c}. Không thay; "
                    "nếu thật sự muốn, thêm --replace-desk.",
                    b=plan.backup.desk_id,
                    p=target,
                    c=plan.current.desk_id if plan.current else t("một quầy khác (không đọc được)"),
                )
            )
        if not yes:
            if not sys.stdin.isatty():
                raise Refused(
                    t(
                        "Chưa xác nhận khôi phục: thêm --yes (cho script) hoặc chạy trong cửa sổ lệnh."
                    )
                )
            if not click.confirm(
                t("Khôi phục và thay cơ sở dữ liệu hiện tại?"), default=False, err=True
            ):
                raise Refused(t("Đã hủy; không thay đổi gì."))
        kept = plan.commit(now=desk_now())
    out["kept_previous"] = str(kept) if kept else None
    if as_json:
        emit(out)
    else:
        click.echo(t("Đã khôi phục {p} từ {f}.", p=target, f=file))
        if kept is not None:
            click.echo(t("Cơ sở dữ liệu cũ được giữ tại {k}.", k=kept))


def _status_dict(desk: Any) -> dict[str, Any]:
    now = desk.clock()
    lock = lockdown.lock_state(desk)
    offline = lockdown.offline_state(desk, now)
    folder = bk.backup_dir_setting(desk)
    return {
        "desk": desk.identity.desk_id,
        "revoked": lock is not None,
        "lock_message": lock.message(desk.identity.desk_id) if lock else None,
        "offline": offline.as_dict(),
        "backup_dir": str(folder) if folder else None,
        "backup_keep": bk.keep_setting(desk),
        "backup_last_auto_at": desk.setting(bk.S_LAST_AUTO) or None,
        "backup_last_error": desk.setting(bk.S_LAST_ERROR) or None,
    }
