"""Digitised papers from the command line: ``attach``, ``files``, ``file-get``, ``scan``,
``scanners``, ``separator``, ``hotfolder``.

Same conventions as ``onestop.cli.main``: exit 0 done, 1 refused (the message says why, nothing
stored), 2 usage. Every input (PDF, JPEG, PNG, TIFF, a SANE scan, a hot-folder stack) goes
through ``onestop/scans/`` (which alone judges a file by its magic bytes) to one normalised PDF;
the rules and the role checks are the service's (``services/attachments.py``).

The hot folder (``hotfolder DIR``): the new files (name order; hidden files, sub-folders and
files younger than two seconds wait) are read as one stack and cut at the separator sheets;
each part is attached to its dossier and component with its normalised page count as both the
captured and the paper count. A file moves to ``DIR/done/`` only when every part it holds (or
whose separator it holds) was attached; a part that cannot be attached (unknown dossier or
component, a role or status refusal) leaves its files in place with a message and the other
parts go on. Parts already attached from a file left in place are remembered in the hidden
journal ``DIR/.onestop-hotfolder`` (dossier, component, hash of the pages), so a second pass
does not attach them twice; the journal is emptied when no file is left. ``--watch`` polls
until Ctrl+C and runs a pass only when the folder's files changed.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from onestop.cli._common import (
    Refused,
    count,
    db_option,
    emit,
    guard,
    json_option,
    open_desk,
)
from onestop.i18n import t
from onestop.paths import fsync_folder, write_atomically

if TYPE_CHECKING:
    from PIL import Image

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
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Tệp đã quét hoặc đã chụp: PDF, JPEG, PNG hay TIFF (được chuẩn hóa thành PDF 200 dpi).",
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
@click.option(
    "--pdf",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Nơi ghi tệp PDF các tờ phân cách (quyền 0600).",
)
@json_option
@guard
def separator(
    db: Path | None, code: str, components: tuple[int, ...], out: Path, as_json: bool
) -> None:
    """In tờ phân cách (mã QR hồ sơ và thành phần) để quét cả chồng giấy qua thư mục quét."""
    import functools
    import io

    import pikepdf

    from onestop.scans import render_separator_pdf

    with open_desk(db) as desk:
        state = desk.get(code.strip().upper())
    documents = list(state.documents)
    wanted = list(components) or list(range(1, len(documents) + 1))
    if not wanted:
        raise Refused(t("Hồ sơ {code} không có thành phần giấy tờ nào.", code=state.code))
    for n in wanted:
        if n > len(documents):
            raise Refused(
                t(
                    "Hồ sơ {code} có {n} thành phần giấy tờ; không có thành phần số {i}.",
                    code=state.code,
                    n=len(documents),
                    i=n,
                )
            )
    sheets = [
        _scans(functools.partial(render_separator_pdf, state.code, n, documents[n - 1]))
        for n in wanted
    ]
    merged = pikepdf.new()
    sources = [pikepdf.open(io.BytesIO(sheet)) for sheet in sheets]
    try:
        for one in sources:
            merged.pages.extend(one.pages)
        buf = io.BytesIO()
        merged.save(buf)
    finally:
        for one in sources:
            one.close()
    try:
        write_atomically(out, buf.getvalue(), mode=0o600)
    except OSError as e:
        raise Refused(t("Không ghi được {p}: {e}", p=out, e=e.strerror or e)) from e
    if os.name != "nt":
        os.chmod(out, 0o600)
    if as_json:
        emit({"code": state.code, "components": wanted, "pdf": str(out)})
    else:
        click.echo(
            t(
                "Đã ghi {n} tờ phân cách của hồ sơ {code} vào {p}.",
                n=len(wanted),
                code=state.code,
                p=out,
            )
        )


# ---------------------------------------------------------------------- hot folder

#: What a copier writes to a hot folder (what the file *is* is judged by its magic bytes).
_SUFFIXES = frozenset({".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff"})
_JOURNAL = ".onestop-hotfolder"
_DONE = "done"
_MIN_AGE_S = 2.0


@dataclass
class _Part:
    """One stack's outcome in a hot-folder pass."""

    code: str
    component: int
    pages: int
    status: str  # attached | already | left
    message: str
    id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "component": self.component,
            "pages": self.pages,
            "status": self.status,
            "message": self.message,
            "id": self.id,
        }


def _eligible(folder: Path, min_age_s: float) -> list[Path]:
    now = time.time()
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as e:
        raise Refused(t("Không đọc được thư mục {p}: {e}", p=folder, e=e.strerror or e)) from e
    return [
        f
        for f in entries
        if f.is_file()
        and not f.name.startswith(".")
        and f.suffix.lower() in _SUFFIXES
        and now - f.stat().st_mtime >= min_age_s
    ]


def _signature(files: list[Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out.append((f.name, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _pages_hash(pages: list[Image.Image]) -> str:
    h = hashlib.sha256()
    for page in pages:
        h.update(f"{page.mode}:{page.width}x{page.height};".encode())
        h.update(page.tobytes())
    return h.hexdigest()


def _journal(folder: Path) -> set[str]:
    try:
        return set((folder / _JOURNAL).read_text(encoding="utf-8").split())
    except OSError:
        return set()


def _hotfolder_pass(desk: Desk, folder: Path, min_age_s: float) -> tuple[list[_Part], list[Path]]:
    """One pass over ``folder``: (what happened to each part, files left in place)."""
    from onestop.scans import ScanError, normalise_pages, split_stack
    from onestop.scans.normalise import FileKind, open_images, sniff
    from onestop.scans.sources import pdf_page_images
    from onestop.services.base import DeskError

    files = _eligible(folder, min_age_s)
    if not files:
        return [], []
    pages: list[Image.Image] = []
    file_of: dict[int, int] = {}  # id(page) -> index in files
    for i, f in enumerate(files):
        try:
            data = f.read_bytes()
            got = pdf_page_images(data) if sniff(data) is FileKind.PDF else open_images(data)
        except ScanError as e:
            raise Refused(f"{f.name}: {e}") from e
        except OSError as e:
            raise Refused(t("{f}: không đọc được tệp ({e}).", f=f.name, e=e.strerror or e)) from e
        for page in got:
            file_of[id(page)] = i
        pages.extend(got)
    stacks = _scans(lambda: split_stack(pages))
    # Which stacks each file touches: its pages' stacks, and the stack its separator opens.
    stack_of = {id(p): k for k, s in enumerate(stacks) for p in s.pages}
    touches: list[set[int]] = [set() for _ in files]
    current = -1
    for page in pages:
        k = stack_of.get(id(page))
        current = current + 1 if k is None else k
        touches[file_of[id(page)]].add(current)
    journal = _journal(folder)
    parts: list[_Part] = []
    failed: set[int] = set()
    for k, stack in enumerate(stacks):
        key = f"{stack.dossier_code}:{stack.component_no}:{_pages_hash(stack.pages)}"
        n = len(stack.pages)
        if key in journal:
            parts.append(
                _Part(
                    stack.dossier_code, stack.component_no, n, "already", t("Đã đính kèm từ trước.")
                )
            )
            continue
        try:
            normalised = normalise_pages(stack.pages)
            a = _attach(
                desk,
                stack.dossier_code,
                stack.component_no,
                normalised.pdf,
                pages=normalised.page_count,
                paper_pages=normalised.page_count,
            )
        except (DeskError, ScanError) as e:
            failed.add(k)
            parts.append(_Part(stack.dossier_code, stack.component_no, n, "left", str(e)))
            continue
        journal.add(key)
        parts.append(
            _Part(
                stack.dossier_code,
                stack.component_no,
                n,
                "attached",
                t("Đã đính kèm {id}.", id=a.id),
                a.id,
            )
        )
    left = [f for f, touched in zip(files, touches, strict=True) if touched & failed]
    done = folder / _DONE
    moved = [f for f in files if f not in left]
    if moved:
        done.mkdir(exist_ok=True)
        for f in moved:
            os.replace(f, done / f.name)
        fsync_folder(done)
        fsync_folder(folder)
    journal_path = folder / _JOURNAL
    if left:
        write_atomically(journal_path, ("\n".join(sorted(journal)) + "\n").encode(), mode=0o600)
    elif journal_path.exists():
        journal_path.unlink()
    return parts, left


def _show_parts(parts: list[_Part], left: list[Path], as_json: bool) -> None:
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
    with open_desk(db) as desk:
        if not watch:
            parts, left = _hotfolder_pass(desk, folder, _MIN_AGE_S)
            if not parts and not as_json:
                click.echo(t("Không có tệp mới trong thư mục {p}.", p=folder))
            _show_parts(parts, left, as_json)
            if any(p.status == "left" for p in parts):
                raise SystemExit(1)
            return
        _watch(desk, folder, every, as_json)


def _watch(desk: Desk, folder: Path, every: int, as_json: bool) -> None:
    attached = 0
    left_sig: tuple[tuple[str, int, int], ...] | None = None
    try:
        while True:
            files = _eligible(folder, _MIN_AGE_S)
            sig = _signature(files)
            if files and sig != left_sig:
                try:
                    parts, left = _hotfolder_pass(desk, folder, _MIN_AGE_S)
                except Refused as e:
                    click.echo(t("Lỗi: {msg}", msg=e.message), err=True)
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
