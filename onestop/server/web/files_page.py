"""The province dashboard's page of a dossier's digitised papers (staff only).

=======  ==========================================  ============================================
GET      /province/files?code=…                      find a dossier's files by its code (staff)
GET      /province/dossiers/{code}/files             its files: component, pages, size, whether
                                                     a PDF carries a digital signature (staff)
GET      /province/dossiers/{code}/files/{id}/view   one file, opened in the browser (staff)
=======  ==========================================  ============================================

Downloads go through the JSON API's ``/api/v1/province/dossiers/{code}/files/{id}``
(``server/app.py``, attachment disposition). A separate page and module, so the dashboard's
figures (``routes.py``, ``province.py``) are not touched. The citizen page never shows files.

**Digital signature** (``pdf_signature``): a PDF carries one when some object of it is a
signature dictionary — ``/Type /Sig`` or ``/DocTimeStamp``, or a ``/ByteRange`` with
``/Contents`` (what PAdES signers, pyHanko and the national CA's tools write). This says a
signature is *present* (and whose name it gives), not that it is valid: the page says so;
checking it against the national CA is the reader's job (Adobe Reader, or the portal). pikepdf
is imported only when the page is asked for (the server's import weight stays light), the file
is read back verified from the chunk store, at most :data:`MAX_SIG_CHECK_BYTES`; the answer is
cached per SHA-256 (the content cannot change under its hash).
"""

from __future__ import annotations

import importlib
import io
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Path, Query
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from onestop.domain.attachments import RESULT, Attachment, ShownOnly, fold_shown_only
from onestop.domain.events import Event, EventFormatError, EventKind
from onestop.i18n import t
from onestop.server import files, repo
from onestop.server.web import staff
from onestop.server.web.routes import WebContext, cookie_scheme

__all__ = ["MAX_SIG_CHECK_BYTES", "SigInfo", "mount", "pdf_signature"]

#: Files larger than this are not opened to look for a signature (a page says so).
MAX_SIG_CHECK_BYTES: Final = 64 * 1024 * 1024
_CACHE_SIZE: Final = 2048
_CODE_RE: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

Code = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
FileId = Annotated[str, Path(min_length=6, max_length=64, pattern=r"^[0-9a-f]+$")]


@dataclass(frozen=True)
class SigInfo:
    """What the page says about a file's digital signature."""

    state: str  # signed | unsigned | unknown
    count: int = 0
    names: tuple[str, ...] = ()
    note: str = ""


def _text(v: Any) -> str:
    try:
        return str(v)[:120]
    except Exception:  # noqa: BLE001 - a malformed string object: say nothing rather than fail
        return ""


def pdf_signature(data: bytes) -> SigInfo:
    """Whether ``data`` (a PDF) carries a digital signature (module docstring)."""
    if len(data) > MAX_SIG_CHECK_BYTES:
        return SigInfo("unknown", note=t("tệp quá lớn, chưa kiểm tra"))
    pikepdf: Any = importlib.import_module("pikepdf")
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            names: list[str] = []
            count = 0
            for obj in pdf.objects:
                if not isinstance(obj, pikepdf.Dictionary):
                    continue
                kind = obj.get("/Type")
                is_sig = kind in (pikepdf.Name.Sig, pikepdf.Name.DocTimeStamp) or (
                    "/ByteRange" in obj and "/Contents" in obj
                )
                if not is_sig or "/ByteRange" not in obj:
                    continue  # an unsigned signature field's empty value, or a look-alike
                count += 1
                name = obj.get("/Name")
                if name is not None:
                    names.append(_text(name))
    except pikepdf.PasswordError:
        return SigInfo("unknown", note=t("PDF có mật khẩu"))
    except Exception:  # noqa: BLE001 - pikepdf raises several types on a damaged file
        return SigInfo("unknown", note=t("không đọc được PDF"))
    return SigInfo("signed" if count else "unsigned", count, tuple(names))


@dataclass(frozen=True)
class FileRow:
    attachment: Attachment
    on_server: bool
    component_name: str
    sig: SigInfo


def _events(web: WebContext, code: str) -> list[Event]:
    with web.db.read() as conn:
        rows = repo.events_of_dossiers(conn=conn, codes=[code]).get(code, [])
    out: list[Event] = []
    for d, _seq, body in rows:
        try:
            out.append(Event.from_body(d, body))
        except (EventFormatError, ValueError):
            continue
    return out


def _documents(events: list[Event]) -> tuple[str, ...]:
    for e in events:
        if e.kind == EventKind.RECEIVE:
            docs = e.data.get("documents") or ()
            return tuple(str(x) for x in docs) if isinstance(docs, list | tuple) else ()
    return ()


def component_label(documents: tuple[str, ...], component: int | str) -> str:
    if component == RESULT:
        return t("Kết quả giải quyết")
    if isinstance(component, int) and 1 <= component <= len(documents):
        return f"{component}. {documents[component - 1]}"
    return t("Thành phần số {n}", n=component)


def mount(app: FastAPI, web: WebContext, store: files.ChunkStore) -> None:
    """Add the files pages to ``app`` (called by ``server.app.create_app``)."""
    cache: OrderedDict[str, SigInfo] = OrderedDict()

    def signature_of(a: Attachment) -> SigInfo:
        if a.mime != "application/pdf":
            return SigInfo("unsigned")
        hit = cache.get(a.sha256)
        if hit is not None:
            cache.move_to_end(a.sha256)
            return hit
        if a.size > MAX_SIG_CHECK_BYTES:
            return SigInfo("unknown", note=t("tệp quá lớn, chưa kiểm tra"))
        try:
            data = b"".join(files.stream_file(store, files.chunk_ids(store, a)))
        except files.ChunkStoreError:
            return SigInfo("unknown", note=t("khối lưu trên máy chủ bị hỏng"))
        info = pdf_signature(data)
        cache[a.sha256] = info
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
        return info

    def listing(code: str) -> tuple[list[FileRow], list[ShownOnly], tuple[str, ...], bool]:
        events = _events(web, code)
        documents = _documents(events)
        rows = [
            FileRow(
                a,
                ok,
                component_label(documents, a.component),
                signature_of(a) if ok else SigInfo("unknown", note=t("chưa nhận đủ tệp")),
            )
            for a, ok in files.dossier_files(web.db, code)
        ]
        return rows, fold_shown_only(events), documents, bool(events)

    @app.get("/province/files", include_in_schema=False)
    async def find_files(
        cookie: Annotated[str | None, Depends(cookie_scheme)] = None,
        code: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        who = staff.read_session(web.db, web.session_key, cookie)
        if who is None:
            return RedirectResponse("/province/login", status_code=303)
        wanted = (code or "").strip().upper()
        error = None
        if wanted:
            if _CODE_RE.match(wanted):
                return RedirectResponse(f"/province/dossiers/{wanted}/files", status_code=303)
            error = t("Mã hồ sơ chỉ gồm chữ, số và các dấu . - _ (tối đa 64 ký tự).")
        return web.render(
            "dossier_files.html",
            status=400 if error else 200,
            who=who,
            code="",
            rows=[],
            shown=[],
            found=False,
            error=error,
            size=_size,
        )

    @app.get("/province/dossiers/{code}/files", include_in_schema=False)
    async def dossier_files_page(
        code: Code, cookie: Annotated[str | None, Depends(cookie_scheme)] = None
    ) -> Response:
        who = staff.read_session(web.db, web.session_key, cookie)
        if who is None:
            return RedirectResponse("/province/login", status_code=303)
        code = code.upper()
        rows, shown, documents, found = await run_in_threadpool(listing, code)
        return web.render(
            "dossier_files.html",
            status=200 if found else 404,
            who=who,
            code=code,
            rows=rows,
            shown=[(m, component_label(documents, m.component)) for m in shown],
            found=found,
            error=None if found else t("Máy chủ tỉnh chưa có hồ sơ {code}.", code=code),
            size=_size,
        )

    @app.get("/province/dossiers/{code}/files/{file_id}/view", include_in_schema=False)
    async def view_file(
        code: Code, file_id: FileId, cookie: Annotated[str | None, Depends(cookie_scheme)] = None
    ) -> Response:
        who = staff.read_session(web.db, web.session_key, cookie)
        if who is None:
            return RedirectResponse("/province/login", status_code=303)
        a = await run_in_threadpool(files.find_file, web.db, code.upper(), file_id)
        if a is None:
            return web.render(
                "error.html",
                status=404,
                who=who,
                message=t("Máy chủ chưa có tệp này của hồ sơ."),
            )
        ids = await run_in_threadpool(files.chunk_ids, store, a)
        return StreamingResponse(
            files.stream_file(store, ids),
            media_type=a.mime,
            headers={
                "Content-Length": str(a.size),
                "Content-Disposition": f'inline; filename="{code.upper()}-{a.component}-{a.id}.pdf"',
                "Cache-Control": "no-store",
            },
        )


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".", ",")
    return f"{max(1, (n + 1023) // 1024)} KB"
