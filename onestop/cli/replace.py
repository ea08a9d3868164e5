"""Replacing a lost or broken desk (services/sync/replace.py, server/replace.py).

onestop server replace-desk 16279-01            (province: revoke, code for the new desk)
onestop server export-snapshot 16279-03 --out FILE   (province: history for a USB stick)
onestop enroll --replace 16279-01 --server URL --code CODE [--from FILE]   (new desk)
"""

from __future__ import annotations

from pathlib import Path

import click

from onestop.cli._common import Refused, emit, file_option, json_option, open_desk
from onestop.cli.sync import _passphrase, _server, _url_option, server_db
from onestop.i18n import t
from onestop.services.desk import DeskError
from onestop.services.sync import replace as sync_replace


def enroll_replacement(
    db: Path | None,
    old_desk: str,
    server_url: str | None,
    code: str | None,
    from_file: Path | None,
    as_json: bool,
) -> None:
    """``onestop enroll --replace OLD``: enroll if needed, then bring the commune down."""
    shown = {"pages": 0}

    def progress(events: int, pages: int) -> None:
        shown["pages"] = pages
        if not as_json:
            click.echo(t("  … {n} sự kiện, {p} trang", n=events, p=pages), err=True)

    with open_desk(db) as desk:
        try:
            report = sync_replace.replace_desk(
                desk,
                old_desk,
                passphrase_provider=_passphrase(confirm=True),
                server_url=server_url,
                code=code,
                from_file=from_file,
                progress=progress,
            )
        except DeskError as e:
            raise Refused(str(e)) from e
    if as_json:
        emit(report.__dict__)
        return
    click.echo(
        t(
            "Quầy {d} thay quầy {old}: đã nhận {e} sự kiện ({p} trang, {b} byte, {s:.0f} s); "
            "{n} hồ sơ, trong đó {o} hồ sơ đang giải quyết.",
            d=report.desk_id,
            old=report.old_desk,
            e=report.events,
            p=report.pages,
            b=report.bytes_down,
            s=report.duration_s,
            n=report.dossiers,
            o=report.open_dossiers,
        )
    )


@click.command("replace-desk")
@click.argument("desk_id")
@_url_option
@json_option
def replace_desk(desk_id: str, database_url: str | None, as_json: bool) -> None:
    """Thay quầy bị mất/hỏng: thu hồi quầy cũ, cấp mã đăng ký cho máy thay thế."""
    with server_db(database_url, refusing=(_server("admin").AdminError,)) as db:
        done = _server("replace").issue_replacement(db, desk_id)
    if as_json:
        emit(
            {
                "code": done.code.code,
                "old_desk": done.old_desk,
                "new_desk": done.new_desk,
                "revoked_now": done.revoked_now,
                "expires_at": done.code.expires_at,
            }
        )
        return
    click.echo(done.code.code)
    if done.revoked_now:
        click.echo(t("Đã thu hồi quầy {d}.", d=done.old_desk), err=True)
    click.echo(
        t(
            "Máy thay thế sẽ là quầy {new}. Trên máy đó: «onestop init» cho cùng xã, rồi "
            "«onestop enroll --replace {old} --server … --code {code}» (mã dùng một lần, hết "
            "hạn sau 14 ngày).",
            new=done.new_desk,
            old=done.old_desk,
            code=done.code.code,
        ),
        err=True,
    )


@click.command("export-snapshot")
@click.argument("desk_id")
@file_option("--out", required=True, help_text="Tệp sẽ ghi (chép sang USB cho quầy thay thế).")
@_url_option
def export_snapshot(desk_id: str, out: Path, database_url: str | None) -> None:
    """Xuất toàn bộ hồ sơ của xã cho một quầy thay thế đã đăng ký (tệp mã hóa cho khóa của quầy)."""
    if out.exists() and out.is_dir():
        raise Refused(t("{p} là một thư mục; hãy ghi rõ tên tệp.", p=out))
    if not out.parent.is_dir():
        raise Refused(t("Thư mục {p} không tồn tại.", p=out.parent))
    with server_db(database_url, refusing=(_server("admin").AdminError,)) as db:
        signer = _server("keys").server_signer(db)
        pages, size = _server("replace").export_snapshot(db, signer, desk_id, out)
    click.echo(
        t(
            "Đã ghi {p} ({n} trang, {kb} KB), mã hóa cho quầy {d}. Trên quầy đó: "
            "«onestop enroll --replace <quầy cũ> --from {p}».",
            p=out,
            n=pages,
            kb=(size + 1023) // 1024,
            d=desk_id.strip(),
        )
    )
