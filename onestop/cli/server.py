"""The province side: ``onestop serve`` and ``onestop server …`` (enrollment codes, revocation,
reference data, staff, desks)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from onestop.cli._common import (
    Refused,
    count,
    emit,
    json_option,
)
from onestop.cli.sync import DATABASE_URL_ENV, _server, _url_option, server_db
from onestop.i18n import t


@click.command()
@_url_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Địa chỉ lắng nghe.")
@click.option(
    "--port",
    type=count(1, 65535),
    default=8080,
    show_default=True,
    help="Cổng lắng nghe (HTTP; đặt sau một proxy HTTPS khi mở ra mạng).",
)
@click.option("--workers", type=count(1, 64), default=1, show_default=True, help="Số tiến trình.")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
    help="Mức ghi nhật ký của máy chủ: critical (ít nhất) … debug (nhiều nhất).",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(0.1, 3600),
    default=10.0,
    show_default=True,
    help="Số giây tối đa để máy khách gửi xong dòng yêu cầu và các header (quá hạn: 408, đóng).",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    help="Số giây tối đa máy khách im lặng khi đang gửi nội dung yêu cầu (quá hạn: 408, đóng).",
)
@click.option(
    "--keep-alive",
    type=count(1, 3600),
    default=5,
    show_default=True,
    help="Số giây giữ một kết nối rảnh (keep-alive) trước khi đóng.",
)
@click.option(
    "--max-connections",
    type=count(1, 1_000_000),
    default=1000,
    show_default=True,
    help="Số kết nối mở tối đa của mỗi tiến trình; vượt quá: trả 503.",
)
def serve(
    database_url: str | None,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    header_timeout: float,
    body_timeout: float,
    keep_alive: int,
    max_connections: int,
) -> None:
    """Chạy máy chủ tỉnh (HTTP API đồng bộ). Không trạng thái: chạy nhiều tiến trình được.

    Mỗi tiến trình con tự dừng khi tiến trình chính chết (không còn tiến trình mồ côi giữ cổng).

    \b
    Ví dụ: onestop serve --database-url postgresql://onestop@/onestop --workers 4 --port 8080
    """
    url = database_url or _server("db").default_database_url()
    keys, files = _server("keys"), _server("files")
    # Migrate once here, before the workers race for it.
    with server_db(url, refusing=(keys.ServerKeyError, files.StoreConfigError)) as db:
        label = _server("admin").describe(db)
        signer = keys.server_signer(db)  # a missing or wrong key passphrase: say so first
        # A wrong chunk-store setting (S3 bucket, endpoint): said here, not at the first upload.
        store = files.check_store(db, signer)
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
    click.echo(t("Kho tệp số hóa: {store}", store=store), err=True)
    run = _server("run")
    limits = run.Limits(
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        keep_alive=keep_alive,
        max_connections=max_connections,
    )
    run.serve(host=host, port=port, workers=workers, log_level=log_level, limits=limits)


@click.group()
def server() -> None:
    """Quản trị máy chủ tỉnh: mã đăng ký quầy, thu hồi quầy, dữ liệu tham chiếu."""


@server.command("enroll-code")
@click.option("--commune", required=True, help="Mã xã 5 chữ số, ví dụ 16279.")
@click.option("--desk", "desk_name", required=True, help="Tên quầy, ví dụ «Quầy 2».")
@click.option(
    "--desk-no",
    type=count(1, 99),
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
    with server_db(database_url, refusing=(admin.AdminError,)) as db:
        issued = admin.new_enroll_code(db, commune=commune, desk_name=desk_name, desk_no=desk_no)
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
    with server_db(database_url) as db:
        done = _server("admin").revoke(db, desk_id.strip())
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
    with server_db(database_url, refusing=(admin.AdminError,)) as db:
        version = admin.publish_file(db, kind, file)
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
    with server_db(database_url, refusing=(staff.StaffError,)) as db:
        who = staff.add_staff(db, username, password, display_name=display_name, reset=reset)
    if reset:
        click.echo(t("Đã đặt lại mật khẩu của {u}.", u=who.username))
    else:
        click.echo(t("Đã tạo tài khoản {u}.", u=who.username))


@server.command("staff")
@_url_option
@json_option
def staff_list(database_url: str | None, as_json: bool) -> None:
    """Danh sách tài khoản cán bộ tỉnh (không hiện mật khẩu)."""
    with server_db(database_url) as db:
        rows = _server("web.staff").list_staff(db)
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
    with server_db(database_url) as db:
        rows = _server("admin").desk_list(db)
    if as_json:
        emit(rows)
        return
    for r in rows:
        ahead = r.get("events_ahead", 0)
        note = t("  ({n} sự kiện có giờ vượt trước giờ máy chủ)", n=ahead) if ahead else ""
        click.echo(f"{r['desk_id']}  {r['status']:8}  {r['acked_seq']:>8}  {r['desk_name']}{note}")


# Replacing a lost or broken desk (cli/replace.py): province-side commands of the same group.
def _add_replacement_commands() -> None:
    from onestop.cli.replace import export_snapshot, replace_desk

    server.add_command(replace_desk)
    server.add_command(export_snapshot)


_add_replacement_commands()
