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
``onestop.server`` (import-linter contract "onestop.cli | onestop.server").
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from onestop.cli_common import (
    F,
    Refused,
    db_option,
    emit,
    json_option,
    open_desk,
    read_passphrase,
)
from onestop.config import load_settings
from onestop.i18n import t
from onestop.services.desk import DeskError

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


# ---------------------------------------------------------------------------- serve, server


@click.command()
@_url_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Địa chỉ lắng nghe.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Số tiến trình."
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
)
def serve(database_url: str | None, host: str, port: int, workers: int, log_level: str) -> None:
    """Chạy máy chủ tỉnh (HTTP API đồng bộ). Không trạng thái: chạy nhiều tiến trình được."""
    import uvicorn

    url = database_url or _server("db").default_database_url()
    db = _server_db(url)  # migrate once here, before the workers race for it
    label = _server("admin").describe(db)
    keys = _server("keys")
    try:
        keys.server_signer(db)  # a missing or wrong key passphrase: say so before any worker
    except keys.ServerKeyError as e:
        raise Refused(str(e)) from e
    finally:
        db.close()
    os.environ[DATABASE_URL_ENV] = url
    click.echo(
        t(
            "Máy chủ tỉnh: http://{h}:{p} ({db}, {w} tiến trình)",
            h=host,
            p=port,
            db=label,
            w=workers,
        ),
        err=True,
    )
    uvicorn.run(
        "onestop.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=log_level in ("info", "debug"),
        # Every byte counts on a 64 kbit/s link: no "server: uvicorn", no "date" header.
        server_header=False,
        date_header=False,
    )


@click.group()
def server() -> None:
    """Quản trị máy chủ tỉnh: mã đăng ký quầy, thu hồi quầy, dữ liệu tham chiếu."""


@server.command("enroll-code")
@click.option("--commune", required=True, help="Mã xã 5 chữ số, ví dụ 16279.")
@click.option("--desk", "desk_name", required=True, help="Tên quầy, ví dụ «Quầy 2».")
@click.option(
    "--desk-no",
    type=click.IntRange(1, 99),
    default=None,
    help="Số hiệu quầy (mặc định: số tiếp theo còn trống của xã).",
)
@_url_option
@json_option
def enroll_code(
    commune: str, desk_name: str, desk_no: int | None, database_url: str | None, as_json: bool
) -> None:
    """Cấp mã đăng ký dùng một lần cho một quầy (hết hạn sau 14 ngày)."""
    admin = _server("admin")
    db = _server_db(database_url)
    try:
        issued = admin.new_enroll_code(db, commune=commune, desk_name=desk_name, desk_no=desk_no)
    except admin.AdminError as e:
        raise Refused(str(e)) from e
    finally:
        db.close()
    desk_id = f"{issued.commune}-{issued.desk_no:02d}"
    if as_json:
        emit(
            {
                "code": issued.code,
                "commune": issued.commune,
                "desk_no": issued.desk_no,
                "desk_id": desk_id,
                "expires_at": issued.expires_at,
            }
        )
        return
    click.echo(issued.code)
    click.echo(
        t("Quầy {d} ({n}); mã dùng một lần, hết hạn sau 14 ngày.", d=desk_id, n=issued.desk_name),
        err=True,
    )


@server.command("revoke-desk")
@click.argument("desk_id")
@_url_option
def revoke_desk(desk_id: str, database_url: str | None) -> None:
    """Thu hồi quyền đồng bộ của một quầy (mọi yêu cầu sau đó bị từ chối)."""
    db = _server_db(database_url)
    try:
        done = _server("admin").revoke(db, desk_id.strip())
    finally:
        db.close()
    if not done:
        raise Refused(t("Không có quầy {d} đang hoạt động.", d=desk_id))
    click.echo(t("Đã thu hồi quầy {d}.", d=desk_id))


@server.command("publish")
@click.argument("kind", type=click.Choice(["catalogue", "calendar", "units", "trust"]))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_url_option
def publish(kind: str, file: Path, database_url: str | None) -> None:
    """Phát hành dữ liệu tham chiếu cho các quầy (danh mục, lịch, đơn vị, danh sách tin cậy)."""
    admin = _server("admin")
    db = _server_db(database_url)
    try:
        version = admin.publish_file(db, kind, file)
    except admin.AdminError as e:
        raise Refused(str(e)) from e
    finally:
        db.close()
    if version is None:
        click.echo(t("{k}: không có gì thay đổi.", k=kind))
    else:
        click.echo(t("{k}: đã phát hành phiên bản {v}.", k=kind, v=version))


STAFF_PASSWORD_ENV = "ONESTOP_STAFF_PASSWORD"


@server.command("add-staff")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Họ tên hiển thị trên bảng điều hành.")
@click.option("--reset", is_flag=True, help="Đặt lại mật khẩu, mở khóa và đăng xuất mọi phiên.")
@_url_option
def add_staff(username: str, display_name: str, reset: bool, database_url: str | None) -> None:
    """Tạo tài khoản cán bộ tỉnh cho bảng điều hành (mật khẩu: ONESTOP_STAFF_PASSWORD hoặc nhập)."""
    password = os.environ.get(STAFF_PASSWORD_ENV) or click.prompt(
        t("Mật khẩu cho {u}", u=username),
        hide_input=True,
        confirmation_prompt=t("Nhập lại mật khẩu"),
        err=True,
    )
    staff = _server("web.staff")
    db = _server_db(database_url)
    try:
        who = staff.add_staff(db, username, password, display_name=display_name, reset=reset)
    except staff.StaffError as e:
        raise Refused(str(e)) from e
    finally:
        db.close()
    if reset:
        click.echo(t("Đã đặt lại mật khẩu của {u}.", u=who.username))
    else:
        click.echo(t("Đã tạo tài khoản {u}.", u=who.username))


@server.command("staff")
@_url_option
@json_option
def staff_list(database_url: str | None, as_json: bool) -> None:
    """Danh sách tài khoản cán bộ tỉnh (không hiện mật khẩu)."""
    db = _server_db(database_url)
    try:
        rows = _server("web.staff").list_staff(db)
    finally:
        db.close()
    if as_json:
        emit(rows)
        return
    for r in rows:
        locked = t("tạm khóa") if (r["locked_until"] or 0) > time.time() else ""
        click.echo(f"{r['username']:<24} {r['display_name']:<30} {locked}")


@server.command("desks")
@_url_option
@json_option
def desks(database_url: str | None, as_json: bool) -> None:
    """Danh sách quầy đã đăng ký và số sự kiện đã nhận."""
    db = _server_db(database_url)
    try:
        rows = _server("admin").desk_list(db)
    finally:
        db.close()
    if as_json:
        emit(rows)
        return
    for r in rows:
        click.echo(f"{r['desk_id']}  {r['status']:8}  {r['acked_seq']:>8}  {r['desk_name']}")


# ---------------------------------------------------------------------------- desk side


@click.command()
@db_option
@click.option("--server", "server_url", required=True, help="Địa chỉ máy chủ tỉnh.")
@click.option("--code", required=True, help="Mã đăng ký do tỉnh cấp.")
@json_option
def enroll(db: Path | None, server_url: str, code: str, as_json: bool) -> None:
    """Đăng ký quầy với máy chủ tỉnh (tạo khóa ký nếu chưa có)."""
    from onestop.services import sync

    with open_desk(db) as desk:
        try:
            result = sync.enroll(
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
        click.echo(t("Còn {n} sự kiện chưa gửi.", n=report.outbox))
    if report.error:
        click.echo(t("Lỗi đồng bộ: {e}", e=report.error), err=True)


@click.group(invoke_without_command=True)
@db_option
@click.option("--once", is_flag=True, help="Đồng bộ một lần rồi thoát.")
@click.option(
    "--server", "server_url", default=None, help="Địa chỉ máy chủ (mặc định: đã đăng ký)."
)
@click.option(
    "--interval",
    type=click.IntRange(5, 24 * 3600),
    default=300,
    show_default=True,
    help="Giây giữa hai lần đồng bộ (khi không có --once).",
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
    from onestop.services import sync as svc

    with open_desk(db) as desk:
        try:
            signer = svc.desk_signer(desk, _passphrase(confirm=False))
        except DeskError as e:
            raise Refused(str(e)) from e
        if not server_url and not desk.setting(svc.S_URL):
            # Enrollment records the server; the config file's server_url is the fallback.
            server_url = load_settings(db=db).server_url or None
        while True:
            try:
                report = svc.sync_once(desk, server_url, signer=signer)
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
    from onestop.services import sync as svc

    with open_desk(db or ctx.obj.get("db")) as desk:
        try:
            # A field laptop that never met the server may have no key yet: make one.
            fresh = not svc.key_path(desk.store.path).exists()
            signer = svc.desk_signer(desk, _passphrase(confirm=fresh), create=True)
            path = svc.export_bundle(
                desk, to_dir, signer=signer, from_seq=1 if everything else None
            )
        except DeskError as e:
            raise Refused(str(e)) from e
    if as_json:
        emit({"file": str(path) if path else None})
    elif path is None:
        click.echo(t("Không có sự kiện nào cần xuất."))
    else:
        click.echo(str(path))


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
        sdb = _server_db(database_url)
        try:
            out = admin.import_bundle(sdb, file)
        except admin.AdminError as e:
            raise Refused(str(e)) from e
        finally:
            sdb.close()
        data = {"desk": out.desk, "added": out.inserted, "acked_seq": out.acked_seq}
    else:
        from onestop.services import sync as svc

        with open_desk(db or ctx.obj.get("db")) as desk:
            try:
                res = svc.import_bundle(desk, file)
            except DeskError as e:
                raise Refused(str(e)) from e
        data = {"desk": res.desk, "added": res.added, "acked_seq": res.last_seq}
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


COMMANDS = (serve, server, enroll, sync)


@click.group()
def sync_main() -> None:
    """Stand-alone entry (``python -m onestop.cli_sync``) until cli.py attaches COMMANDS."""


for _cmd in COMMANDS:
    sync_main.add_command(_cmd)

if __name__ == "__main__":
    sync_main()
