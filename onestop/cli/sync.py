"""Sync and provincial-server commands, attached to ``onestop`` by cli.py (``main.add_command``).

    onestop serve [--database-url URL] [--host 127.0.0.1] [--port 8080] [--workers N]
    onestop server enroll-code --commune 16279 --desk "Quầy 2" [--desk-no N]
    onestop server revoke-desk 16279-02
    onestop server publish catalogue|calendar|units|trust FILE
    onestop server desks
    onestop server add-staff USERNAME [--name "Họ tên"] [--reset]; onestop server staff
    onestop enroll --server URL --code CODE
    onestop sync [--once] [--json] [--server URL] [--interval S]
    onestop sync export --to DIR [--all]
    onestop sync import FILE [--database-url URL]

Exit codes as everywhere: 0 done, 1 refused (the message says why), 2 usage/configuration.
The desk key's passphrase comes from ``ONESTOP_PASSPHRASE`` or a prompt.

The server package is imported lazily (importlib) inside the server commands: the desk's own
start-up must not pay for FastAPI/uvicorn, and the CLI layer stays independent of
``onestop.server`` (import-linter contract "onestop.cli.main | onestop.server").
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from onestop.cli._common import (
    F,
    Refused,
    count,
    db_option,
    emit,
    json_option,
    open_desk,
    read_passphrase,
)
from onestop.config import SYNC_INTERVAL_DEFAULT_S, load_settings
from onestop.i18n import t, tn
from onestop.services import setting_keys
from onestop.services.desk import DeskError
from onestop.services.sync import bundles
from onestop.services.sync import client as sync_client
from onestop.services.sync import enroll as sync_enroll

DATABASE_URL_ENV = "ONESTOP_SERVER_DATABASE_URL"


def _server(module: str) -> ModuleType:
    return importlib.import_module(f"onestop.server.{module}")


def _passphrase(*, confirm: bool) -> Callable[[], str]:
    def provide() -> str:
        return read_passphrase(None, what=t("khóa ký của quầy"), confirm=confirm)

    return provide


def _url_option(f: F) -> F:
    return click.option(
        "--database-url",
        envvar=DATABASE_URL_ENV,
        default=None,
        help="CSDL của máy chủ: sqlite:///đường/dẫn.sqlite hoặc postgresql://… "
        "(biến ONESTOP_SERVER_DATABASE_URL; mặc định tệp SQLite trong thư mục dữ liệu).",
    )(f)


def _server_db(url: str | None) -> Any:
    admin = _server("admin")
    real = url or _server("db").default_database_url()
    try:
        return admin.open_db(real)
    except admin.AdminError as e:
        raise Refused(str(e)) from e
    except Exception as e:  # a URL the driver cannot reach: say so, no traceback
        raise Refused(t("Không mở được CSDL máy chủ {u}: {e}", u=real, e=e)) from e


@contextmanager
def server_db(url: str | None, *, refusing: tuple[type[Exception], ...] = ()) -> Iterator[Any]:
    """The server database for one ``onestop server …`` command, closed when the block ends
    (also when it fails). The ``refusing`` errors — the server modules' own, whose text is
    already the Vietnamese message — become a Refused (exit 1), never a traceback."""
    db = _server_db(url)
    try:
        yield db
    except refusing as e:
        raise Refused(str(e)) from e
    finally:
        db.close()


@click.command()
@db_option
@click.option("--server", "server_url", default=None, help="Địa chỉ máy chủ tỉnh.")
@click.option("--code", default=None, help="Mã đăng ký do tỉnh cấp.")
@click.option(
    "--replace",
    "replaces",
    default=None,
    metavar="DESK",
    help="Thay quầy bị mất/hỏng (ví dụ 16279-01, mã do «onestop server replace-desk» cấp): "
    "đăng ký rồi tải toàn bộ hồ sơ của xã; chạy lại để tải tiếp khi bị ngắt.",
)
@click.option(
    "--from",
    "from_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Với --replace: nhập hồ sơ từ tệp tỉnh xuất («onestop server export-snapshot») "
    "thay vì tải qua mạng.",
)
@json_option
def enroll(
    db: Path | None,
    server_url: str | None,
    code: str | None,
    replaces: str | None,
    from_file: Path | None,
    as_json: bool,
) -> None:
    """Đăng ký quầy với máy chủ tỉnh (tạo khóa ký nếu chưa có).

    \b
    Ví dụ (mã do tỉnh in bằng «onestop server enroll-code»):
    onestop enroll --server https://motcua.tinh.gov.vn --code 7KQ2-M9XD-4HTA-P3WC
    Quầy thay thế (mã do «onestop server replace-desk 16279-01» cấp):
    onestop enroll --replace 16279-01 --server https://motcua.tinh.gov.vn --code …
    """
    if replaces is not None:
        from onestop.cli.replace import enroll_replacement

        enroll_replacement(db, replaces, server_url, code, from_file, as_json)
        return
    if from_file is not None:
        raise click.UsageError(t("--from chỉ dùng cùng --replace."))
    if not server_url or not code:
        raise click.UsageError(t("Cần --server và --code (mã đăng ký do tỉnh cấp)."))
    with open_desk(db) as desk:
        try:
            result = sync_enroll.enroll(
                desk, server_url, code, passphrase_provider=_passphrase(confirm=True)
            )
        except DeskError as e:
            raise Refused(str(e)) from e
    if as_json:
        emit(result.__dict__)
        return
    click.echo(t("Đã đăng ký quầy {d} với máy chủ {u}.", d=result.desk_id, u=server_url))
    click.echo(
        t("Dấu vân tay khóa máy chủ: {f} (đối chiếu với tỉnh).", f=result.server_fingerprint)
    )
    if result.renumbered:
        click.echo(t("Quầy được cấp số hiệu mới: {n}.", n=result.desk_no))
    if result.warning:
        click.echo(result.warning, err=True)


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        emit(report.as_dict())
        return
    click.echo(
        t(
            "Đã gửi {s} sự kiện ({b} lô), nhận {r} sự kiện; {w} byte trên đường truyền; {d:.1f} s.",
            s=report.sent_events,
            b=report.batches,
            r=report.received_events,
            w=report.bytes_on_wire,
            d=report.duration_s,
        )
    )
    if report.reference_updated:
        click.echo(t("Cập nhật dữ liệu tham chiếu: {n}.", n=", ".join(report.reference_updated)))
    if report.skew_flagged:
        click.echo(
            t(
                "Cảnh báo: đồng hồ quầy lệch {m} phút so với máy chủ; hãy chỉnh lại giờ máy.",
                m=round(report.skew_s / 60),
            ),
            err=True,
        )
    if report.outbox:
        click.echo(tn("Còn {n} sự kiện chưa gửi.", report.outbox))
    if report.error:
        # One sentence from services/sync/base.py (what happened, what to do); never a class
        # name or a bare status code.
        click.echo(t("Lỗi đồng bộ: {e}", e=report.error), err=True)
        if not report.recorded:
            click.echo(
                t("Không ghi được lỗi này vào quầy vì ổ đĩa đầy; hãy giải phóng dung lượng."),
                err=True,
            )


@click.group(invoke_without_command=True)
@db_option
@click.option("--once", is_flag=True, help="Đồng bộ một lần rồi thoát.")
@click.option(
    "--server", "server_url", default=None, help="Địa chỉ máy chủ (mặc định: đã đăng ký)."
)
@click.option(
    "--interval",
    type=count(5, 24 * 3600),
    default=SYNC_INTERVAL_DEFAULT_S,
    show_default=True,
    help="Giây giữa hai lần đồng bộ (khi không có --once); mặc định bằng cài đặt "
    "sync_interval của quầy.",
)
@json_option
@click.pass_context
def sync(
    ctx: click.Context,
    db: Path | None,
    once: bool,
    server_url: str | None,
    interval: int,
    as_json: bool,
) -> None:
    """Đồng bộ với máy chủ tỉnh: gửi sự kiện chưa gửi, nhận sự kiện của quầy khác cùng xã."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    if ctx.invoked_subcommand is not None:
        return

    with open_desk(db) as desk:
        try:
            signer = sync_enroll.desk_signer(desk, _passphrase(confirm=False))
        except DeskError as e:
            raise Refused(str(e)) from e
        if not server_url and not desk.setting(setting_keys.S_URL):
            # Enrollment records the server; the config file's server_url is the fallback.
            server_url = load_settings(db=db).server_url or None
        while True:
            try:
                report = sync_client.sync_once(desk, server_url, signer=signer)
            except DeskError as e:
                raise Refused(str(e)) from e
            _print_report(report, as_json)
            if once:
                if report.error:
                    sys.exit(1)
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:  # pragma: no cover - interactive
                return


@sync.command("export")
@db_option
@click.option("--to", "to_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--all", "everything", is_flag=True, help="Xuất toàn bộ sự kiện, không chỉ phần chưa gửi."
)
@json_option
@click.pass_context
def sync_export(
    ctx: click.Context, db: Path | None, to_dir: Path, everything: bool, as_json: bool
) -> None:
    """Ghi các sự kiện chưa gửi ra một tệp gói đã ký (mang bằng USB khi không có mạng)."""

    with open_desk(db or ctx.obj.get("db")) as desk:
        try:
            # A field laptop that never met the server may have no key yet: make one.
            fresh = not sync_enroll.key_path(desk.store.path).exists()
            signer = sync_enroll.desk_signer(desk, _passphrase(confirm=fresh), create=True)
            done = bundles.export_bundle_files(
                desk, to_dir, signer=signer, from_seq=1 if everything else None
            )
        except DeskError as e:
            raise Refused(str(e)) from e
    path = done.path if done is not None else None
    if as_json:
        emit(
            {
                "file": str(path) if path else None,
                "files": done.files if done else 0,
                "file_bytes": done.file_bytes if done else 0,
                "left_out": list(done.left_out) if done else [],
            }
        )
    elif done is None:
        click.echo(t("Không có sự kiện nào cần xuất."))
    else:
        click.echo(str(done.path))
        if done.files:
            click.echo(
                t(
                    "Kèm {n} tệp số hóa ({kb} KB).",
                    n=done.files,
                    kb=(done.file_bytes + 1023) // 1024,
                ),
                err=True,
            )
        for why in done.left_out:
            click.echo(t("Chưa kèm: {why}", why=why), err=True)


@sync.command("import")
@db_option
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--database-url",
    default=None,
    help="Nhập vào CSDL máy chủ tỉnh thay vì vào quầy (sqlite:///… hoặc postgresql://…).",
)
@json_option
@click.pass_context
def sync_import(
    ctx: click.Context, db: Path | None, file: Path, database_url: str | None, as_json: bool
) -> None:
    """Nhập tệp gói của một quầy (vào quầy này, hoặc vào máy chủ với --database-url)."""
    if database_url:
        admin = _server("admin")
        with server_db(database_url, refusing=(admin.AdminError,)) as sdb:
            out = admin.import_bundle(sdb, file)
        data = {
            "desk": out.desk,
            "added": out.inserted,
            "acked_seq": out.acked_seq,
            "files": out.files,
        }
    else:
        with open_desk(db or ctx.obj.get("db")) as desk:
            try:
                res = bundles.import_bundle(
                    desk, file, passphrase_provider=_passphrase(confirm=False)
                )
            except DeskError as e:
                raise Refused(str(e)) from e
        data = {
            "desk": res.desk,
            "added": res.added,
            "acked_seq": res.last_seq,
            "files": res.files,
        }
    if as_json:
        emit(data)
    else:
        click.echo(
            t(
                "Đã nhận {n} sự kiện mới của quầy {d} (đến số {s}).",
                n=data["added"],
                d=data["desk"],
                s=data["acked_seq"],
            )
        )
        if data["files"]:
            click.echo(t("Đã nhận và kiểm tra {n} tệp số hóa kèm theo.", n=data["files"]))
