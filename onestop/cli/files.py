"""Digitised papers from the command line: ``attach``, ``files``, ``file-get``.

Same conventions as ``onestop.cli.main``: exit 0 done, 1 refused (the message says why, nothing
stored), 2 usage. Input files must already be PDFs (capture and normalising live in
``onestop/scans/``); the rules are the service's (``services/attachments.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from onestop.cli._common import Refused, db_option, emit, guard, json_option, open_desk
from onestop.i18n import t
from onestop.paths import write_atomically

#: The largest input file read (the store's own limit, domain/attachments.MAX_FILE_BYTES).
_MAX_INPUT = 512 * 1024 * 1024


def _read_pdf(path: Path) -> bytes:
    from onestop.wire.base import WireError
    from onestop.wire.files import read_bounded

    try:
        return read_bounded(path, _MAX_INPUT)
    except WireError as e:
        raise Refused(t("Không đọc được {p}: {e}", p=path, e=e)) from e
    except OSError as e:
        raise Refused(t("Không đọc được {p}: {e}", p=path, e=e.strerror or e)) from e


@click.command("attach")
@db_option
@click.argument("code")
@click.option(
    "--component", type=int, default=None, help="Số thứ tự giấy tờ trong danh mục (từ 1)."
)
@click.option("--result", "is_result", is_flag=True, help="Đính kèm kết quả giải quyết.")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Tệp PDF đã quét.",
)
@click.option("--pages", type=int, required=True, help="Số trang trong tệp đã quét.")
@click.option(
    "--paper-pages",
    type=int,
    default=None,
    help="Số trang của bản giấy (mặc định: --pages trừ --sticky).",
)
@click.option(
    "--sticky",
    type=int,
    default=0,
    show_default=True,
    help="Số trang có giấy ghi chú (quét hai lần).",
)
@click.option("--note", default="", help="Ghi chú.")
@json_option
@guard
def attach(
    db: Path | None,
    code: str,
    component: int | None,
    is_result: bool,
    path: Path,
    pages: int,
    paper_pages: int | None,
    sticky: int,
    note: str,
    as_json: bool,
) -> None:
    """Đính kèm bản số hóa (PDF) của một thành phần hồ sơ hoặc của kết quả."""
    from onestop.services import attachments as att

    if is_result == (component is not None):
        raise click.UsageError(t("Ghi đúng một trong hai: --component N hoặc --result."))
    data = _read_pdf(path)
    with open_desk(db) as desk:
        if is_result:
            a = att.attach_result(desk, code, data, pages, note=note)
        else:
            assert component is not None
            paper = paper_pages if paper_pages is not None else pages - sticky
            a = att.attach(
                desk,
                code,
                component,
                data,
                pages=pages,
                paper_pages=paper,
                sticky_pages=sticky,
                note=note,
            )
    if as_json:
        emit(a.as_dict())
    else:
        click.echo(
            t(
                "Đã đính kèm {id} ({pages} trang, {kb} KB){reused}.",
                id=a.id,
                pages=a.pages,
                kb=(a.size + 1023) // 1024,
                reused=t(", dùng lại tệp đã có") if a.reused else "",
            )
        )


@click.command("files")
@db_option
@click.argument("code")
@json_option
@guard
def files(db: Path | None, code: str, as_json: bool) -> None:
    """Liệt kê các bản số hóa đính kèm của một hồ sơ."""
    from onestop.services import attachments as att

    with open_desk(db) as desk:
        items = att.list_attachments(desk, code)
    if as_json:
        emit([a.as_dict() for a in items])
        return
    if not items:
        click.echo(t("Hồ sơ chưa có bản số hóa nào."))
    for a in items:
        what = t("Kết quả") if a.is_result else t("Thành phần {n}", n=a.component)
        click.echo(
            t(
                "{id}  {what}: {pages} trang (bản giấy {paper}, ghi chú {sticky}), {kb} KB, "
                "{by} {at}{reused}",
                id=a.id,
                what=what,
                pages=a.pages,
                paper=a.paper_pages,
                sticky=a.sticky_pages,
                kb=(a.size + 1023) // 1024,
                by=a.by,
                at=a.at.strftime("%H:%M %d/%m/%Y"),
                reused=t(" (dùng lại)") if a.reused else "",
            )
        )


@click.command("file-get")
@db_option
@click.argument("code")
@click.argument("attachment_id")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Nơi ghi tệp (quyền 0600).",
)
@guard
def file_get(db: Path | None, code: str, attachment_id: str, out: Path) -> None:
    """Lấy ra một bản số hóa (kiểm tra toàn vẹn từng khối) và ghi vào tệp."""
    from onestop.services import attachments as att

    with open_desk(db) as desk:
        data = att.open_file(desk, code, attachment_id)
    try:
        write_atomically(out, data, mode=0o600)
    except OSError as e:
        raise Refused(t("Không ghi được {p}: {e}", p=out, e=e.strerror or e)) from e
    if os.name != "nt":
        os.chmod(out, 0o600)
    click.echo(t("Đã ghi {p} ({n} byte).", p=out, n=len(data)))
