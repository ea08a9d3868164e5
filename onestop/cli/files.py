"""Digitised papers from the command line: ``attach``, ``detach``, ``files``, ``file-get``,
``scan``, ``scanners``, ``separator``, ``hotfolder``.

Same conventions as ``onestop.cli.main``: exit 0 done, 1 refused (the message says why, nothing
stored), 2 usage. Every input (PDF, JPEG, PNG, TIFF, a SANE scan, a hot-folder stack) goes
through ``onestop/scans/`` (which alone judges a file by its magic bytes) to one normalised PDF;
the rules and the role checks are the service's (``services/attachments.py``).

The hot folder (``hotfolder DIR``) and the separator sheets run ``services/hotfolder.py``
(shared with the desk's F12 / F9 on "Hồ sơ số hóa"; its docstring says what a pass does);
``--watch`` polls until Ctrl+C and runs a pass only when the folder's files changed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from onestop.cli._common import (
    Refused,
    count,
    db_option,
    emit,
    file_option,
    guard,
    json_option,
    open_desk,
)
from onestop.i18n import t
from onestop.paths import write_atomically

if TYPE_CHECKING:
    from onestop.services.desk import Desk

T = TypeVar("T")

#: The largest input file read (the store's own limit, domain/attachments.MAX_FILE_BYTES).
_MAX_INPUT = 512 * 1024 * 1024


def _scans(call: Callable[[], T]) -> T:
    """Run a capture/normalising step; its Vietnamese refusal becomes exit 1."""
    from onestop.scans import ScanError

    try:
        return call()
    except ScanError as e:
        raise Refused(str(e)) from e


def _read_input(path: Path) -> bytes:
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
@file_option(
    "--file",
    "path",
    help_text="Tệp đã quét hoặc đã chụp: PDF, JPEG, PNG hay TIFF (được chuẩn hóa thành PDF 200 dpi).",
)
@click.option(
    "--shown-only",
    is_flag=True,
    help="Giấy tờ chỉ xuất trình, không cần số hóa (Thông tư 03/2025, Điều 5): không kèm tệp.",
)
@click.option(
    "--pages",
    type=count(1, 500),
    default=None,
    help="Số trang đã quét (mặc định: số trang của tệp sau khi chuẩn hóa).",
)
@click.option(
    "--paper-pages",
    type=count(1, 500),
    default=None,
    help="Số trang của bản giấy (bắt buộc với --component; lệch với số trang đã quét thì bị từ chối).",
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
    path: Path | None,
    shown_only: bool,
    pages: int | None,
    paper_pages: int | None,
    sticky: int,
    note: str,
    as_json: bool,
) -> None:
    """Đính kèm bản số hóa (PDF, ảnh JPEG/PNG/TIFF) của một thành phần hồ sơ hoặc của kết quả."""
    from onestop.scans import normalise_file

    if is_result == (component is not None):
        raise click.UsageError(t("Ghi đúng một trong hai: --component N hoặc --result."))
    if component is not None and paper_pages is None:
        raise click.UsageError(t("Ghi số trang của bản giấy: --paper-pages N."))
    if shown_only:
        if component is None or path is not None or pages is not None or sticky:
            raise click.UsageError(
                t("--shown-only đi với --component N --paper-pages N, không kèm tệp.")
            )
        _mark_shown_only(db, code, component, paper_pages or 0, note, as_json)
        return
    if path is None:
        raise click.UsageError(t("Ghi tệp cần đính kèm: --file TỆP (hoặc --shown-only)."))
    raw = _read_input(path)
    normalised = _scans(lambda: normalise_file(raw))
    with open_desk(db) as desk:
        a = _attach(
            desk,
            code,
            component,
            normalised.pdf,
            pages=pages if pages is not None else normalised.page_count,
            paper_pages=paper_pages,
            sticky=sticky,
            note=note,
        )
    _report_attached(a, as_json)


def _mark_shown_only(
    db: Path | None, code: str, component: int, paper_pages: int, note: str, as_json: bool
) -> None:
    from onestop.services import attachments as att

    with open_desk(db) as desk:
        m = att.mark_shown_only(desk, code, component, paper_pages=paper_pages, note=note)
    if as_json:
        emit(m.as_dict())
    else:
        click.echo(
            t(
                "Đã ghi thành phần {c} chỉ xuất trình ({n} trang giấy, không cần số hóa).",
                c=m.component,
                n=m.paper_pages,
            )
        )


def _attach(
    desk: Desk,
    code: str,
    component: int | None,
    pdf: bytes,
    *,
    pages: int,
    paper_pages: int | None,
    sticky: int = 0,
    note: str = "",
) -> Any:
    from onestop.services import attachments as att

    if component is None:
        return att.attach_result(desk, code, pdf, pages, note=note)
    return att.attach(
        desk,
        code,
        component,
        pdf,
        pages=pages,
        paper_pages=paper_pages if paper_pages is not None else pages - sticky,
        sticky_pages=sticky,
        note=note,
    )


def _report_attached(a: Any, as_json: bool) -> None:
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
        marks = att.list_shown_only(desk, code)
    if as_json:
        emit([a.as_dict() for a in items] + [m.as_dict() for m in marks])
        return
    if not items and not marks:
        click.echo(t("Hồ sơ chưa có bản số hóa nào."))
    for m in marks:
        click.echo(
            t(
                "{id}  Thành phần {n}: chỉ xuất trình, không cần số hóa ({paper} trang giấy), "
                "{by} {at}",
                id=m.id,
                n=m.component,
                paper=m.paper_pages,
                by=m.by,
                at=m.at.strftime("%H:%M %d/%m/%Y"),
            )
        )
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


@click.command("detach")
@db_option
@click.argument("code")
@click.argument("attachment_id", metavar="ID")
@click.option("--note", default="", help="Lý do gỡ (ghi vào nhật ký hồ sơ).")
@click.option("--yes", is_flag=True, help="Không hỏi xác nhận (cho script).")
@json_option
@guard
def detach(
    db: Path | None, code: str, attachment_id: str, note: str, yes: bool, as_json: bool
) -> None:
    """Gỡ một bản số hóa đính kèm sai (ID: mã tệp trong «onestop files», hoặc shown-N).

    \b
    Việc gỡ được ghi vào nhật ký hồ sơ (sự kiện «detach»); tệp không còn được tính là đã số
    hóa. Chỉ gỡ được khi vai trò và trạng thái hồ sơ cho phép đính kèm loại giấy tờ đó.
    """
    from onestop.services import attachments as att

    with open_desk(db) as desk:
        what = _describe(att, desk, code, attachment_id)
        if not yes:
            if not _interactive():
                raise Refused(
                    t(
                        "Chưa xác nhận gỡ {what}: thêm --yes (cho script) hoặc chạy trong cửa "
                        "sổ lệnh. Chưa gỡ gì.",
                        what=what,
                    )
                )
            if not click.confirm(
                t("Gỡ {what} khỏi hồ sơ {code}?", what=what, code=code.strip().upper()),
                default=False,
                err=True,
            ):
                raise Refused(t("Đã hủy; chưa gỡ gì."))
        state = att.detach(desk, code, attachment_id, note=note)
    if as_json:
        emit({"code": state.code, "detached": attachment_id.strip().lower(), "what": what})
    else:
        click.echo(
            t(
                "Đã gỡ {what} khỏi hồ sơ {code}; việc gỡ đã ghi vào nhật ký hồ sơ.",
                what=what,
                code=state.code,
            )
        )


def _interactive() -> bool:
    """Whether a person can answer the confirmation (stdin is a terminal)."""
    return sys.stdin.isatty()


def _describe(att: Any, desk: Desk, code: str, attachment_id: str) -> str:
    """What ``attachment_id`` names in the dossier, in words (refused when nothing matches)."""
    from onestop.domain.attachments import SHOWN_PREFIX

    wanted = attachment_id.strip().lower()
    if wanted.startswith(SHOWN_PREFIX):
        for m in att.list_shown_only(desk, code):
            if m.id == wanted:
                return t("ghi «chỉ xuất trình» của thành phần {n}", n=m.component)
    else:
        hits = [
            a for a in att.list_attachments(desk, code) if wanted and a.sha256.startswith(wanted)
        ]
        if len(hits) == 1:
            a = hits[0]
            part = t("kết quả") if a.is_result else t("thành phần {n}", n=a.component)
            return t("tệp {id} ({part}, {pages} trang)", id=a.id, part=part, pages=a.pages)
    raise Refused(
        t(
            "Hồ sơ {code} không có tệp đính kèm mã {id}. Xem mã bằng «onestop files {code}».",
            code=code.strip().upper(),
            id=attachment_id,
        )
    )


@click.command("file-get")
@db_option
@click.argument("code")
@click.argument("attachment_id")
@file_option("--out", required=True, help_text="Nơi ghi tệp (quyền 0600).")
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


# ---------------------------------------------------------------------- scanner (SANE)


@click.command("scanners")
@json_option
@guard
def scanners(as_json: bool) -> None:
    """Liệt kê các máy quét máy này thấy được (SANE)."""
    from onestop.scans import list_devices

    devices = _scans(list_devices)
    if as_json:
        emit([{"device": d.name, "description": d.description} for d in devices])
        return
    if not devices:
        click.echo(t("Không thấy máy quét nào. Hãy kiểm tra máy quét đã bật và cắm cáp."))
    for d in devices:
        click.echo(f"{d.name}  {d.description}")


@click.command("scan")
@db_option
@click.argument("code")
@click.option(
    "--component", type=count(1, 999), required=True, help="Số thứ tự giấy tờ trong danh mục."
)
@click.option("--paper-pages", type=count(1, 500), required=True, help="Số trang của bản giấy.")
@click.option(
    "--sticky", type=count(0, 500), default=0, help="Số trang có giấy ghi chú (quét hai lần)."
)
@click.option(
    "--device", default=None, help="Máy quét (xem «onestop scanners»; mặc định: máy đầu tiên)."
)
@click.option(
    "--mode",
    type=click.Choice(["Color", "Gray", "Lineart"]),
    default="Color",
    show_default=True,
    help="Chế độ màu.",
)
@click.option("--dpi", type=count(75, 600), default=200, show_default=True, help="Độ phân giải.")
@click.option(
    "--source",
    default=None,
    help="Nguồn giấy của máy quét, ví dụ Flatbed hoặc ADF (khay nạp: quét hết giấy trong khay).",
)
@click.option("--note", default="", help="Ghi chú.")
@json_option
@guard
def scan(
    db: Path | None,
    code: str,
    component: int,
    paper_pages: int,
    sticky: int,
    device: str | None,
    mode: str,
    dpi: int,
    source: str | None,
    note: str,
    as_json: bool,
) -> None:
    """Quét một thành phần hồ sơ bằng máy quét rồi đính kèm bản đã chuẩn hóa."""
    from onestop.scans import list_devices, normalise_pages, scan_pages

    if device is None:
        found = _scans(list_devices)
        if not found:
            raise Refused(t("Không thấy máy quét nào. Hãy kiểm tra máy quét đã bật và cắm cáp."))
        device = found[0].name
    chosen = device
    pages = _scans(lambda: scan_pages(chosen, mode, dpi, source))
    normalised = _scans(lambda: normalise_pages(pages))
    with open_desk(db) as desk:
        a = _attach(
            desk,
            code,
            component,
            normalised.pdf,
            pages=normalised.page_count,
            paper_pages=paper_pages,
            sticky=sticky,
            note=note,
        )
    _report_attached(a, as_json)


# ---------------------------------------------------------------------- separator sheets


@click.command("separator")
@db_option
@click.argument("code")
@click.option(
    "--component",
    "components",
    type=count(1, 999),
    multiple=True,
    help="Thành phần cần in tờ phân cách (nhắc lại được; mặc định: mọi thành phần).",
)
@file_option(
    "--pdf", "out", required=True, help_text="Nơi ghi tệp PDF các tờ phân cách (quyền 0600)."
)
@json_option
@guard
def separator(
    db: Path | None, code: str, components: tuple[int, ...], out: Path, as_json: bool
) -> None:
    """In tờ phân cách (mã QR hồ sơ và thành phần) để quét cả chồng giấy qua thư mục quét."""
    from onestop.services.hotfolder import separator_sheets

    with open_desk(db) as desk:
        code, pdf = separator_sheets(desk, code, components)
    wanted = list(components) or None
    try:
        write_atomically(out, pdf, mode=0o600)
    except OSError as e:
        raise Refused(t("Không ghi được {p}: {e}", p=out, e=e.strerror or e)) from e
    if os.name != "nt":
        os.chmod(out, 0o600)
    sheets = _pdf_pages(pdf)
    if as_json:
        emit({"code": code, "components": wanted or list(range(1, sheets + 1)), "pdf": str(out)})
    else:
        click.echo(
            t(
                "Đã ghi {n} tờ phân cách của hồ sơ {code} vào {p}.",
                n=sheets,
                code=code,
                p=out,
            )
        )


def _pdf_pages(pdf: bytes) -> int:
    from onestop.scans import pdf_page_count

    return pdf_page_count(pdf)


# ---------------------------------------------------------------------- hot folder


def _hotfolder_pass(desk: Desk, folder: Path, min_age_s: float) -> tuple[list[Any], list[Path]]:
    from onestop.services.hotfolder import run_pass

    return run_pass(desk, folder, min_age_s)


def _show_parts(parts: list[Any], left: list[Path], as_json: bool) -> None:
    if as_json:
        for part in parts:
            click.echo(json_line(part.as_dict()))
        return
    for part in parts:
        line = t(
            "Hồ sơ {code}, thành phần {n} ({pages} trang): {msg}",
            code=part.code,
            n=part.component,
            pages=part.pages,
            msg=part.message,
        )
        click.echo(line, err=part.status == "left")
    if left:
        click.echo(
            t(
                "Để lại trong thư mục (chưa đính kèm hết): {files}",
                files=", ".join(f.name for f in left),
            ),
            err=True,
        )


def json_line(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


@click.command("hotfolder")
@db_option
@click.argument(
    "folder", type=click.Path(file_okay=False, exists=True, path_type=Path), metavar="DIR"
)
@click.option(
    "--watch", is_flag=True, help="Theo dõi thư mục, xử lý tệp mới cho tới khi bấm Ctrl+C."
)
@click.option(
    "--every", type=count(1, 3600), default=5, show_default=True, help="Số giây giữa hai lần xem."
)
@json_option
@guard
def hotfolder(db: Path | None, folder: Path, watch: bool, every: int, as_json: bool) -> None:
    """Tách các chồng giấy trong thư mục quét theo tờ phân cách và đính kèm vào từng hồ sơ.

    Tệp đính kèm xong được chuyển vào DIR/done/; phần không đính kèm được (hồ sơ hoặc thành
    phần không có, không đúng vai trò…) được để lại trong thư mục kèm lời giải thích. Với
    --json: mỗi phần một dòng JSON.
    """
    from onestop.services.hotfolder import MIN_AGE_S

    with open_desk(db) as desk:
        if not watch:
            parts, left = _hotfolder_pass(desk, folder, MIN_AGE_S)
            if not parts and not as_json:
                click.echo(t("Không có tệp mới trong thư mục {p}.", p=folder))
            _show_parts(parts, left, as_json)
            if any(p.status == "left" for p in parts):
                raise SystemExit(1)
            return
        _watch(desk, folder, every, as_json)


def _watch(desk: Desk, folder: Path, every: int, as_json: bool) -> None:
    from onestop.services.base import DeskError
    from onestop.services.hotfolder import MIN_AGE_S, eligible, signature

    def _eligible(folder: Path, min_age_s: float) -> list[Path]:
        try:
            return eligible(folder, min_age_s)
        except DeskError as e:
            raise Refused(str(e)) from e

    _signature = signature
    _MIN_AGE_S = MIN_AGE_S
    attached = 0
    left_sig: tuple[tuple[str, int, int], ...] | None = None
    try:
        while True:
            files = _eligible(folder, _MIN_AGE_S)
            sig = _signature(files)
            if files and sig != left_sig:
                try:
                    parts, left = _hotfolder_pass(desk, folder, _MIN_AGE_S)
                except (Refused, DeskError) as e:
                    click.echo(t("Lỗi: {msg}", msg=getattr(e, "message", str(e))), err=True)
                    left, parts = files, []
                _show_parts(parts, left, as_json)
                attached += sum(p.status == "attached" for p in parts)
                # Nothing changed since files were left: wait for a change, do not spin on them.
                left_sig = _signature(_eligible(folder, _MIN_AGE_S)) if left else None
            if not as_json:
                click.echo(
                    "\r"
                    + t(
                        "Đang theo dõi {p}: đã đính kèm {n} phần; {w} tệp đang chờ. "
                        "Bấm Ctrl+C để dừng.",
                        p=folder,
                        n=attached,
                        w=len(_eligible(folder, 0)),
                    ),
                    nl=False,
                    err=True,
                )
            time.sleep(every)
    except KeyboardInterrupt:
        if not as_json:
            click.echo("", err=True)
        click.echo(t("Đã dừng theo dõi; đã đính kèm {n} phần.", n=attached), err=as_json)
