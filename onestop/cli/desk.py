"""``onestop init``, ``demo`` and ``migrate`` set a desk up; ``onestop desk status``,
``unlock-offline`` and ``offline-limits`` tell and bound its state (revocation, days offline,
backups)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from onestop.cli._common import (
    PASSWORD_ENV,
    Refused,
    count,
    credentials,
    db_option,
    desk_now,
    emit,
    guard,
    json_option,
    open_desk,
    read_new_password,
    settings_or_exit,
)
from onestop.cli.backup import _status_dict
from onestop.domain.roles import role_label
from onestop.i18n import t
from onestop.services import lockdown


@click.command()
@db_option
@click.option(
    "--unit-id", required=True, help="Mã định danh điện tử của đơn vị, ví dụ 000.00.14.H56."
)
@click.option("--commune-code", required=True, help="Mã xã 5 chữ số (QĐ 19/2025/QĐ-TTg).")
@click.option("--commune-name", default="", help="Tên xã, ví dụ «Xã Mường Lát».")
@click.option("--province", default=None, help="Mã tỉnh 2 chữ số, ví dụ 38 (Thanh Hóa).")
@click.option(
    "--desk-no",
    type=count(1, 99),
    default=None,
    help="Số hiệu quầy trong đơn vị (1–99) đã được tỉnh cấp. Bỏ trống: quầy chưa có số, dùng mã "
    "hồ sơ tạm không thể trùng (…-00<mã tạm><số thứ tự>) cho tới khi đăng ký với tỉnh.",
)
@click.option("--desk-name", default="", help="Tên quầy, ví dụ «Quầy 1».")
@click.option(
    "--admin",
    required=True,
    help="Tên đăng nhập của quản trị viên đầu tiên, ví dụ «quantri». Mật khẩu hỏi ẩn hai lần "
    "(hoặc lấy từ ONESTOP_PASSWORD).",
)
@click.option("--admin-name", default="", help="Họ tên quản trị viên (ghi vào nhật ký).")
@json_option
@guard
def init(
    db: Path | None,
    unit_id: str,
    commune_code: str,
    commune_name: str,
    province: str | None,
    desk_no: int | None,
    desk_name: str,
    admin: str,
    admin_name: str,
    as_json: bool,
) -> None:
    """Khởi tạo quầy: cơ sở dữ liệu mã hóa, danh tính quầy và tài khoản quản trị đầu tiên."""
    from onestop.services.accounts import create_encrypted_desk

    settings = settings_or_exit(db)
    password = read_new_password(what=admin, env_var=PASSWORD_ENV)
    desk = create_encrypted_desk(
        settings.db,
        admin=admin,
        admin_name=admin_name,
        password=password,
        unit_eid=unit_id,
        commune_code=commune_code,
        commune_name=commune_name,
        province_code=province,
        desk_no=desk_no,
        desk_name=desk_name,
        clock=desk_now,
    )
    ident = desk.identity
    desk.close()
    if as_json:
        emit(
            {
                "db": str(settings.db),
                "desk_id": ident.desk_id,
                "unit_eid": ident.unit_eid,
                "admin": admin.strip().lower(),
                "encrypted": True,
            }
        )
    else:
        click.echo(
            t(
                "Đã khởi tạo quầy {d} ({name}) tại {path}, đã mã hóa. Quản trị viên: {admin}. "
                "Thêm tài khoản: onestop --user {admin} user add …",
                d=ident.desk_id,
                name=ident.desk_name,
                path=settings.db,
                admin=admin.strip().lower(),
            )
        )
        if desk_no is None:
            click.echo(
                t(
                    "Quầy chưa có số hiệu: mã hồ sơ tạm có dạng …-00<mã tạm><số thứ tự>, không "
                    "trùng với quầy nào. Tỉnh cấp số hiệu khi đăng ký (onestop enroll); các hồ sơ "
                    "đã nhận giữ nguyên mã."
                )
            )


@click.command()
@db_option
@click.option(
    "--dossiers",
    type=count(1, 2_000_000),
    default=300,
    show_default=True,
    help="Số hồ sơ mẫu.",
)
@click.option(
    "--force", is_flag=True, help="Tạo lại một quầy mẫu đã có (không bao giờ xóa quầy thật)."
)
@click.option(
    "--seed",
    type=count(0, 2**31 - 1),
    default=2026,
    show_default=True,
    help="Hạt giống ngẫu nhiên (dữ liệu lặp lại được).",
)
@json_option
@guard
def demo(db: Path | None, dossiers: int, force: bool, seed: int, as_json: bool) -> None:
    """Tạo một quầy mẫu (đã mã hóa, có tài khoản mẫu) với hồ sơ trải trên nhiều tháng."""
    from onestop.services.demo import build_demo, is_demo_desk, remove_demo_desk
    from onestop.services.keys import DEMO_PASSPHRASE

    settings = settings_or_exit(db)
    path = settings.db
    if path.exists() or Path(str(path) + ".keyring").exists():
        if not is_demo_desk(path):
            # Never offer --force here: a real desk is never replaced by a demo.
            raise Refused(
                t(
                    "{path} là một quầy thật, không phải quầy mẫu: onestop demo không bao giờ "
                    "thay thế nó. Hãy chọn tệp khác bằng --db.",
                    path=path,
                )
            )
        if not force:
            raise Refused(t("Đã có quầy mẫu {path}. Thêm --force để tạo lại quầy mẫu.", path=path))
        remove_demo_desk(path)

    def progress(done: int, total: int) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"\r{t('Đang tạo hồ sơ mẫu')}: {done}/{total}", nl=False, err=True)

    summary = build_demo(
        path, dossiers=dossiers, seed=seed, now=desk_now(), progress=progress, encrypted=True
    )
    if not as_json and sys.stderr.isatty():
        click.echo("", err=True)
    if as_json:
        emit(summary)
    else:
        click.echo(
            t(
                "Đã tạo {n} hồ sơ mẫu tại {path}. Mở quầy: onestop --db {path}",
                n=summary["dossiers"],
                path=path,
            )
        )
        click.echo(t("Quầy mẫu đã mã hóa. Tài khoản mẫu (mật khẩu «{pw}»):", pw=DEMO_PASSPHRASE))
        for acc in summary["accounts"]:
            click.echo(f"  {acc['username']:<12} {role_label(acc['role']):<16} {acc['name']}")


@click.command()
@db_option
def migrate(db: Path | None) -> None:
    """Nâng cấp cấu trúc cơ sở dữ liệu lên bản mới nhất."""
    from onestop.services.accounts import LoginError, has_keyring, login
    from onestop.store import migrate as mig
    from onestop.store.engine import Store, StoreKeyError

    settings = settings_or_exit(db)
    key: bytes | None = None
    try:
        if has_keyring(settings.db):
            user, password = credentials(settings.db)
            key = login(settings.db, user, password, now=desk_now())[1]
        store = Store(settings.db, key=key)
    except (LoginError, StoreKeyError) as e:
        raise Refused(str(e)) from e
    mig.upgrade(store.write_engine)
    click.echo(
        t(
            "Cơ sở dữ liệu {p} ở phiên bản {r}.",
            p=settings.db,
            r=mig.current_revision(store.write_engine),
        )
    )
    store.close()


@click.command("status")
@db_option
@json_option
@guard
def desk_status(db: Path | None, as_json: bool) -> None:
    """Tình trạng an toàn của quầy: thu hồi, thời gian chưa đồng bộ, sao lưu tự động.

    Mã thoát 1 khi quầy bị thu hồi hoặc đang ngừng tiếp nhận vì quá lâu chưa đồng bộ.
    """
    with open_desk(db) as desk:
        out = _status_dict(desk)
        out.update(_sync_dict(desk))
    refused = out["revoked"] or out["offline"]["blocks_intake"]
    if as_json:
        emit(out)
        sys.exit(1 if refused else 0)
    if out["revoked"]:
        click.echo(f"! {out['lock_message']}")
    offline = out["offline"]
    if offline["message"]:
        click.echo(f"! {offline['message']}")
    elif offline["level"] == "standalone":
        click.echo(t("Quầy chưa đăng ký với tỉnh: không giới hạn thời gian làm việc ngoại tuyến."))
    else:
        click.echo(
            t(
                "Đồng bộ thành công lần cuối: {when} (cảnh báo sau {w} ngày, ngừng tiếp nhận sau {b} ngày).",
                when=out["last_sync_ok"] or t("chưa bao giờ"),
                w=offline["warn_days"],
                b=offline["block_days"],
            )
        )
        if out["last_sync_ok"] is None and offline["counted_from"]:
            click.echo(
                t(
                    "Số ngày chưa đồng bộ tính từ lúc đăng ký với tỉnh: {when}.",
                    when=offline["counted_from"],
                )
            )
    if offline["level"] != "standalone" or out["last_sync_attempt"]:
        click.echo(t("Lần thử đồng bộ gần nhất: {when}.", when=out["last_sync_attempt"] or "—"))
    if out["last_sync_error"]:
        click.echo(f"! {t('Lỗi đồng bộ: {e}', e=out['last_sync_error'])}")
    if out["backup_dir"]:
        click.echo(
            t(
                "Sao lưu tự động: {p} (giữ {n} bản); lần cuối {when}.",
                p=out["backup_dir"],
                n=out["backup_keep"],
                when=out["backup_last_auto_at"] or "—",
            )
        )
        if out["backup_last_error"]:
            click.echo(f"! {out['backup_last_error']}")
    else:
        click.echo(t("Chưa cấu hình sao lưu tự động (onestop backup --set-dir DIR)."))
    if refused:
        sys.exit(1)


def _sync_dict(desk: Any) -> dict[str, Any]:
    """The sync part of ``desk status``: the last attempt, its error (a sentence saying what to
    do), and the last *successful* sync, which is null until one succeeds. The offline days
    may count from the enrollment before that (services/lockdown.py): that instant is
    ``offline.counted_from``, and ``offline.last_sync_ok`` is the real last success too."""
    from onestop.services.sync.status import sync_status

    status = sync_status(desk)
    ok = status.last_ok_at.isoformat(sep=" ") if status.last_ok_at else None
    return {
        "last_sync_attempt": (
            status.last_attempt_at.isoformat(sep=" ") if status.last_attempt_at else None
        ),
        "last_sync_ok": ok,
        "last_sync_error": status.last_error or None,
        "last_sync_error_kind": status.last_error_kind or None,
        "offline": {
            **_status_offline(desk),
            "last_sync_ok": ok,
        },
    }


def _status_offline(desk: Any) -> dict[str, Any]:
    offline = lockdown.offline_state(desk, desk.clock()).as_dict()
    offline["counted_from"] = offline["last_sync_ok"]
    return offline


@click.command("unlock-offline")
@db_option
@click.option(
    "--days",
    type=count(1, lockdown.MAX_UNLOCK_DAYS),
    required=True,
    help="Cho phép tiếp nhận thêm N ngày dù quầy quá hạn đồng bộ.",
)
@json_option
@guard
def unlock_offline(db: Path | None, days: int, as_json: bool) -> None:
    """Quản trị viên mở tạm tiếp nhận hồ sơ khi quầy quá lâu chưa đồng bộ (được ghi lại)."""
    with open_desk(db) as desk:
        state = lockdown.unlock_offline(desk, days, desk.clock())
        who = desk.actor
    if as_json:
        emit(state.as_dict())
    else:
        until = state.unlocked_until
        click.echo(
            t(
                "{who} đã cho phép tiếp nhận hồ sơ đến {until}.",
                who=who,
                until=f"{until:%H:%M %d/%m/%Y}" if until else "—",
            )
        )


@click.command("offline-limits")
@db_option
@click.option(
    "--warn",
    "warn_days",
    type=count(1, 365),
    required=True,
    help="Cảnh báo sau N ngày chưa đồng bộ.",
)
@click.option(
    "--block",
    "block_days",
    type=count(1, 365),
    required=True,
    help="Ngừng tiếp nhận sau N ngày chưa đồng bộ.",
)
@guard
def offline_limits(db: Path | None, warn_days: int, block_days: int) -> None:
    """Đặt giới hạn làm việc ngoại tuyến của quầy (quản trị viên)."""
    with open_desk(db) as desk:
        lockdown.set_offline_limits(desk, warn_days, block_days)
    click.echo(
        t(
            "Cảnh báo sau {w} ngày, ngừng tiếp nhận sau {b} ngày chưa đồng bộ.",
            w=warn_days,
            b=block_days,
        )
    )


@click.command("slip-settings")
@db_option
@click.option("--contact-phone", help="Số điện thoại liên hệ in trên phiếu yêu cầu bổ sung.")
@click.option("--head-of-unit", help="Họ tên thủ trưởng đơn vị in dưới phiếu xin lỗi và gia hạn.")
@click.option(
    "--partial-payments/--no-partial-payments",
    default=None,
    help="Cho phép nộp phí nhiều lần (khi quy định của tỉnh cho phép).",
)
@click.option(
    "--receipt-paper",
    type=click.Choice(["a4", "80mm"]),
    help="Khổ giấy in biên nhận: a4, hoặc 80mm cho máy in nhiệt.",
)
@json_option
@guard
def slip_settings(
    db: Path | None,
    contact_phone: str | None,
    head_of_unit: str | None,
    partial_payments: bool | None,
    receipt_paper: str | None,
    as_json: bool,
) -> None:
    """Xem hoặc đặt thông tin in trên phiếu của quầy (quản trị viên đặt)."""
    from onestop.services.desk import (
        S_CONTACT_PHONE,
        S_HEAD_OF_UNIT,
        S_PARTIAL_PAYMENTS,
        S_RECEIPT_PAPER,
    )

    changes = {
        S_CONTACT_PHONE: contact_phone,
        S_HEAD_OF_UNIT: head_of_unit,
        S_PARTIAL_PAYMENTS: None if partial_payments is None else str(int(partial_payments)),
        S_RECEIPT_PAPER: receipt_paper,
    }
    with open_desk(db) as desk:
        for key, value in changes.items():
            if value is not None:
                desk.set_setting(key, value)  # the service checks the admin permission
        shown = {
            "contact_phone": desk.setting(S_CONTACT_PHONE, ""),
            "head_of_unit": desk.setting(S_HEAD_OF_UNIT, ""),
            "partial_payments": desk.setting(S_PARTIAL_PAYMENTS, "0") == "1",
            "receipt_paper": desk.setting(S_RECEIPT_PAPER, "a4"),
        }
    if as_json:
        emit(shown)
        return
    dash = "—"
    click.echo(t("Điện thoại liên hệ: {v}", v=shown["contact_phone"] or dash))
    click.echo(t("Thủ trưởng đơn vị: {v}", v=shown["head_of_unit"] or dash))
    click.echo(t("Nộp phí nhiều lần: {v}", v=t("có") if shown["partial_payments"] else t("không")))
    click.echo(t("Khổ giấy biên nhận: {v}", v=shown["receipt_paper"]))
