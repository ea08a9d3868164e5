"""The hot folder (a copier's scan-to-folder) and the separator sheets that cut its stacks.

Shared by ``onestop hotfolder`` and the desk's "Thư mục quét" (F12 on "Hồ sơ số hóa"), so
both behave the same:

One pass (:func:`run_pass`): the new files (name order; hidden files, sub-folders and files
younger than two seconds wait) are read as one stack and cut at the separator sheets; each
part is attached to its dossier and component with its normalised page count as both the
captured and the paper count. A file moves to ``DIR/done/`` only when every part it holds (or
whose separator it holds) was attached; a part that cannot be attached (unknown dossier or
component, a role or status refusal) leaves its files in place with a message and the other
parts go on. Parts already attached from a file left in place are remembered in the hidden
journal ``DIR/.onestop-hotfolder`` (dossier, component, hash of the pages), so a second pass
does not attach them twice; the journal is emptied when no file is left.

:func:`separator_sheets`: one printed sheet per component of a dossier (QR
``OSSEP1:<code>:<n>``, ``scans.render_separator_pdf``), merged into one PDF to print.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from onestop.i18n import t
from onestop.paths import fsync_folder, write_atomically
from onestop.services.attachments import attach
from onestop.services.base import DeskError
from onestop.services.desk import Desk

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "HotfolderPart",
    "HotfolderProgress",
    "eligible",
    "run_pass",
    "separator_sheets",
    "signature",
]

#: What a copier writes to a hot folder (what the file *is* is judged by its magic bytes).
SUFFIXES: Final = frozenset({".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff"})
JOURNAL: Final = ".onestop-hotfolder"
DONE: Final = "done"
MIN_AGE_S: Final = 2.0


@dataclass
class HotfolderPart:
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


@dataclass(frozen=True)
class HotfolderProgress:
    """Told as a pass goes: ``stage`` "read" (files read) or "attach" (stacks done)."""

    stage: str
    done: int
    total: int
    text: str


ProgressCallback = Callable[[HotfolderProgress], None]


def eligible(folder: Path, min_age_s: float = MIN_AGE_S) -> list[Path]:
    """The files a pass would take now, in name order."""
    now = time.time()
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as e:
        raise DeskError(t("Không đọc được thư mục {p}: {e}", p=folder, e=e.strerror or e)) from e
    return [
        f
        for f in entries
        if f.is_file()
        and not f.name.startswith(".")
        and f.suffix.lower() in SUFFIXES
        and now - f.stat().st_mtime >= min_age_s
    ]


def signature(files: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """What the files look like now (a watcher runs a pass only when this changes)."""
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
        return set((folder / JOURNAL).read_text(encoding="utf-8").split())
    except OSError:
        return set()


def run_pass(
    desk: Desk,
    folder: Path,
    min_age_s: float = MIN_AGE_S,
    progress: ProgressCallback | None = None,
) -> tuple[list[HotfolderPart], list[Path]]:
    """One pass over ``folder``: (what happened to each part, files left in place).

    Refused (DeskError, nothing attached) when a file cannot be read or the stack does not
    begin with a separator sheet."""
    from onestop.scans import ScanError, normalise_pages, split_stack
    from onestop.scans.normalise import FileKind, open_images, sniff
    from onestop.scans.sources import pdf_page_images

    if not folder.is_dir():
        raise DeskError(t("Không có thư mục {p}.", p=folder))
    files = eligible(folder, min_age_s)
    if not files:
        return [], []
    pages: list[Image.Image] = []
    file_of: dict[int, int] = {}  # id(page) -> index in files
    for i, f in enumerate(files):
        if progress is not None:
            progress(HotfolderProgress("read", i, len(files), t("Đang đọc tệp {f}…", f=f.name)))
        try:
            data = f.read_bytes()
            got = pdf_page_images(data) if sniff(data) is FileKind.PDF else open_images(data)
        except ScanError as e:
            raise DeskError(f"{f.name}: {e}") from e
        except OSError as e:
            raise DeskError(t("{f}: không đọc được tệp ({e}).", f=f.name, e=e.strerror or e)) from e
        for page in got:
            file_of[id(page)] = i
        pages.extend(got)
    try:
        stacks = split_stack(pages)
    except ScanError as e:
        raise DeskError(str(e)) from e
    # Which stacks each file touches: its pages' stacks, and the stack its separator opens.
    stack_of = {id(p): k for k, s in enumerate(stacks) for p in s.pages}
    touches: list[set[int]] = [set() for _ in files]
    current = -1
    for page in pages:
        k = stack_of.get(id(page))
        current = current + 1 if k is None else k
        touches[file_of[id(page)]].add(current)
    journal = _journal(folder)
    parts: list[HotfolderPart] = []
    failed: set[int] = set()
    for k, stack in enumerate(stacks):
        if progress is not None:
            progress(
                HotfolderProgress(
                    "attach",
                    k,
                    len(stacks),
                    t(
                        "Đang chuẩn hóa và lưu hồ sơ {code}, thành phần {n} ({p} trang)…",
                        code=stack.dossier_code,
                        n=stack.component_no,
                        p=len(stack.pages),
                    ),
                )
            )
        key = f"{stack.dossier_code}:{stack.component_no}:{_pages_hash(stack.pages)}"
        n = len(stack.pages)
        if key in journal:
            parts.append(
                HotfolderPart(
                    stack.dossier_code, stack.component_no, n, "already", t("Đã đính kèm từ trước.")
                )
            )
            continue
        try:
            normalised = normalise_pages(stack.pages)
            a = attach(
                desk,
                stack.dossier_code,
                stack.component_no,
                normalised.pdf,
                pages=normalised.page_count,
                paper_pages=normalised.page_count,
            )
        except (DeskError, ScanError) as e:
            failed.add(k)
            parts.append(HotfolderPart(stack.dossier_code, stack.component_no, n, "left", str(e)))
            continue
        journal.add(key)
        parts.append(
            HotfolderPart(
                stack.dossier_code,
                stack.component_no,
                n,
                "attached",
                t("Đã đính kèm {id}.", id=a.id),
                a.id,
            )
        )
    if progress is not None:
        progress(HotfolderProgress("attach", len(stacks), len(stacks), t("Xong.")))
    left = [f for f, touched in zip(files, touches, strict=True) if touched & failed]
    done = folder / DONE
    moved = [f for f in files if f not in left]
    try:
        if moved:
            done.mkdir(exist_ok=True)
            for f in moved:
                os.replace(f, done / f.name)
            fsync_folder(done)
            fsync_folder(folder)
        journal_path = folder / JOURNAL
        if left:
            write_atomically(journal_path, ("\n".join(sorted(journal)) + "\n").encode(), mode=0o600)
        elif journal_path.exists():
            journal_path.unlink()
    except OSError as e:
        raise DeskError(
            t(
                "Đã đính kèm nhưng không chuyển được tệp vào {p}: {e}. Lần quét sau không "
                "đính kèm lại phần đã có.",
                p=done,
                e=e.strerror or e,
            )
        ) from e
    return parts, left


def separator_sheets(desk: Desk, code: str, components: Sequence[int] = ()) -> tuple[str, bytes]:
    """(the dossier's code, one PDF of separator sheets: ``components`` or every component)."""
    import pikepdf

    from onestop.scans import ScanError, render_separator_pdf

    state = desk.get(code.strip().upper())
    documents = list(state.documents)
    wanted = list(components) or list(range(1, len(documents) + 1))
    if not wanted:
        raise DeskError(t("Hồ sơ {code} không có thành phần giấy tờ nào.", code=state.code))
    for n in wanted:
        if not 1 <= n <= len(documents):
            raise DeskError(
                t(
                    "Hồ sơ {code} có {n} thành phần giấy tờ; không có thành phần số {i}.",
                    code=state.code,
                    n=len(documents),
                    i=n,
                )
            )
    try:
        sheets = [render_separator_pdf(state.code, n, documents[n - 1]) for n in wanted]
    except ScanError as e:
        raise DeskError(str(e)) from e
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
    return state.code, buf.getvalue()
