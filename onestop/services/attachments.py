"""Digitised papers of a dossier: attach, list, open, detach (the desk's use cases).

The bytes go to the desk's encrypted chunk store (``store/files.py``, ``<db stem>.files/``);
the manifest goes into the signed event log as an ``attach`` event (``domain/attachments.py``
documents its fields and size bound), written with the dossier's projection in one
transaction through ``Desk.append_in`` — the door every event goes through (field policy,
lockdown, hash chain).

What is allowed (checked here, again inside the write transaction):

* **Components** (the papers of the checklist, ``component`` = 1-based line number): a clerk
  (at intake, or when the citizen brings a supplement) or a specialist, while the dossier is
  received, forwarded, processing, waiting for a supplement or a payment — i.e. before any
  decision. After the decision the set of scanned papers is what was decided on.
* **The result** (``component = "result"``): a specialist or a leader, once the dossier is
  resolved and until it is returned (statuses resolved, result_ready).
* **Detach** (remove a wrong scan, undo): the same roles and statuses as attaching that kind
  now. A finished dossier (returned, refused, withdrawn) takes no attach and no detach: its
  files are part of the record.
* **Shown only** (TT 03/2025 Art. 5(2), :func:`mark_shown_only`): a component recorded as
  only shown at filing, no file: the same roles and statuses as attaching a component; refused
  when the component already has a file or is already marked. Undone by :func:`detach` with
  the mark's id (``shown-<n>``).
* The same file twice in one dossier is refused (the first attachment is named). The same file
  already referenced by *another* dossier on this desk (the same ID card copy for the same
  citizen) is stored once and recorded as ``reused`` — the store's dedup makes that automatic.
* Page counts (Circular 01/2023 Art. 8(2)): ``pages == paper_pages + sticky_pages``
  (``domain.attachments.check_pages``; ``onestop/domain/scans.py`` did not exist when this was
  written) and, when pikepdf is installed, the PDF really has ``pages`` pages. The input must
  be a PDF (magic number); a corrupt or password-protected PDF is refused.

Without an account (the unrestricted programmatic API of ``Desk``) no role is refused.

Crash safety: the chunks are durable (fsync) before the transaction that records the manifest
starts. A failure in between (refused by a re-check, disk full writing the database, a crash)
leaves chunk files no manifest references; :func:`collect_garbage` removes them (it keeps the
chunks of every attachment not detached, so a detached wrong scan does not linger either).

The store's root key: the desk's SQLCipher data key; on a plain desk a random 32-byte secret
created on first use in the settings table (``files_secret``). A desk encrypted later keeps
using that secret (now inside the encrypted database), so its files stay readable. A plain
desk's files are only as safe as its database file.
"""

from __future__ import annotations

import importlib
import io
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from sqlmodel import Session, col, select

from onestop.domain.attachments import (
    COMPONENT_ROLES,
    COMPONENT_STATUSES,
    INLINE_CHUNKS,
    RESULT,
    RESULT_ROLES,
    RESULT_STATUSES,
    Attachment,
    AttachmentError,
    ShownOnly,
    check_pages,
    fold,
    fold_shown_only,
    manifest_data,
    shown_only_data,
)
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import DossierState, status_label
from onestop.domain.roles import role_label
from onestop.i18n import t
from onestop.services.base import DeskError
from onestop.services.desk import Desk
from onestop.services.setting_keys import S_FILES_SECRET
from onestop.store.files import FileRef, FileStore, FileStoreError, VerifyReport, files_dir
from onestop.store.models import EventRow, Setting
from onestop.store.repo_dossiers import get_dossier
from onestop.store.repo_events import events_for, row_to_event

__all__ = [
    "Attachment",
    "attach",
    "attach_result",
    "collect_garbage",
    "detach",
    "file_store",
    "list_attachments",
    "list_shown_only",
    "mark_shown_only",
    "open_file",
    "root_key",
    "verify_files",
]

PDF_MAGIC = b"%PDF-"


# ---------------------------------------------------------------------- the store


def root_key_from(settings: dict[str, str], data_key: bytes | None) -> bytes | None:
    """The store's root key from a desk's settings and data key (None: not created yet)."""
    secret = settings.get(S_FILES_SECRET, "")
    if secret:
        return bytes.fromhex(secret)
    return data_key


def root_key(desk: Desk) -> bytes:
    """The desk's file-store root key; creates a plain desk's secret on first use."""
    with desk.store.read() as db:
        row = db.get(Setting, S_FILES_SECRET)
    key = root_key_from({S_FILES_SECRET: row.value} if row else {}, desk.data_key)
    if key is not None:
        return key
    with desk.store.write() as db:
        row = db.get(Setting, S_FILES_SECRET)
        if row is None:
            row = Setting(key=S_FILES_SECRET, value=secrets.token_hex(32))
            db.add(row)
        return bytes.fromhex(row.value)


def file_store(desk: Desk) -> FileStore:
    return FileStore(files_dir(desk.store.path), root_key(desk))


# ---------------------------------------------------------------------- rules


def _refused(message: str) -> DeskError:
    return DeskError(message)


def _check_role(desk: Desk, result: bool) -> str:
    allowed = RESULT_ROLES if result else COMPONENT_ROLES
    if desk.account is None:
        return desk.role
    for r in desk.account.roles:
        if r in allowed:
            return r
    what = t("kết quả giải quyết") if result else t("bản số hóa giấy tờ")
    raise _refused(
        t(
            "Vai trò {mine} không được đính kèm hoặc gỡ {what}. Việc này do {who} thực hiện.",
            mine=", ".join(role_label(r) for r in desk.account.roles) or t("(không có vai trò)"),
            what=what,
            who=", ".join(role_label(r) for r in sorted(allowed)),
        )
    )


def _check_status(state: DossierState, result: bool) -> None:
    allowed = RESULT_STATUSES if result else COMPONENT_STATUSES
    if state.status.value in allowed:
        return
    status = status_label(state.status)
    if result:
        raise _refused(
            t(
                "Chỉ đính kèm hoặc gỡ kết quả khi hồ sơ đã được giải quyết và chưa trả "
                "(trạng thái hiện tại: {status}).",
                status=status,
            )
        )
    raise _refused(
        t(
            "Chỉ đính kèm hoặc gỡ bản số hóa giấy tờ trước khi có quyết định giải quyết "
            "(trạng thái hiện tại: {status}).",
            status=status,
        )
    )


def _check_component(state: DossierState, component: int | str) -> int | str:
    if component == RESULT:
        return RESULT
    if not isinstance(component, int) or isinstance(component, bool):
        raise _refused(t("Thành phần hồ sơ phải là số thứ tự (từ 1) hoặc «result»."))
    n = len(state.documents)
    if component < 1 or (n and component > n):
        raise _refused(
            t(
                "Hồ sơ {code} có {n} thành phần giấy tờ; không có thành phần số {i}.",
                code=state.code,
                n=n,
                i=component,
            )
        )
    return component


def _state(db: Session, code: str) -> DossierState:
    state = get_dossier(db=db, code=code.strip().upper())
    if state is None:
        raise _refused(t("Không tìm thấy hồ sơ {code}.", code=code))
    return state


def _pdf_pages(data: bytes) -> int | None:
    """Pages of a PDF (pikepdf), None when pikepdf is not installed; refuses a bad PDF."""
    if not data.startswith(PDF_MAGIC):
        raise _refused(t("Tệp không phải PDF (bản số hóa phải là tệp PDF)."))
    try:
        pikepdf: Any = importlib.import_module("pikepdf")
    except ImportError:
        return None
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return len(pdf.pages)
    except pikepdf.PasswordError as e:
        raise _refused(t("Tệp PDF có mật khẩu; hãy bỏ mật khẩu rồi đính kèm lại.")) from e
    except Exception as e:  # noqa: BLE001 - pikepdf raises several types on junk
        raise _refused(t("Tệp PDF bị hỏng, không đọc được: {e}", e=e)) from e


def _reused(db: Session, code: str, sha256: str) -> bool:
    """Whether another dossier in this desk's log already references the file."""
    rows = db.exec(
        select(EventRow).where(
            col(EventRow.kind) == EventKind.ATTACH.value, col(EventRow.dossier) != code
        )
    ).all()
    for row in rows:
        try:
            if row_to_event(row).data.get("sha256") == sha256:
                return True
        except ValueError:
            continue
    return False


# ---------------------------------------------------------------------- use cases


def attach(
    desk: Desk,
    code: str,
    component: int | str,
    pdf_bytes: bytes,
    *,
    pages: int,
    paper_pages: int,
    sticky_pages: int = 0,
    note: str = "",
) -> Attachment:
    """Store a scanned component (or, with ``component="result"``, the result) and record it.

    Refused (``DeskError``, nothing stored and nothing recorded) when the rules above say no.
    """
    result = component == RESULT
    with desk.store.read() as db:
        state = _state(db, code)
    component = _check_component(state, component)
    _check_role(desk, result)
    _check_status(state, result)
    try:
        check_pages(pages, paper_pages, sticky_pages)
    except AttachmentError as e:
        raise _refused(str(e)) from e
    if not pdf_bytes:
        raise _refused(t("Tệp rỗng (0 byte): không có gì để đính kèm."))
    counted = _pdf_pages(pdf_bytes)
    if counted is not None and counted != pages:
        raise _refused(
            t(
                "Tệp PDF có {n} trang nhưng khai {pages} trang đã quét. Chưa lưu gì.",
                n=counted,
                pages=pages,
            )
        )
    store = file_store(desk)
    try:
        ref = store.put(pdf_bytes)
        index = store.put_chunk_list(ref.chunks).chunks if len(ref.chunks) > INLINE_CHUNKS else None
    except FileStoreError as e:
        raise _refused(str(e)) from e
    # The chunks are durable: only now is the manifest recorded (module docstring).
    with desk.store.write() as db:
        state = _state(db, code)
        role = _check_role(desk, result)
        _check_status(state, result)
        for a in fold(events_for(db=db, dossier=state.code)):
            if a.sha256 == ref.sha256:
                raise _refused(
                    t(
                        "Tệp này đã được đính kèm vào hồ sơ (thành phần {c}, mã {id}).",
                        c=a.component,
                        id=a.id,
                    )
                )
        try:
            data = manifest_data(
                component=component,
                sha256=ref.sha256,
                size=ref.size,
                chunks=ref.chunks,
                index=index,
                pages=pages,
                paper_pages=paper_pages,
                sticky_pages=sticky_pages,
                reused=_reused(db, state.code, ref.sha256),
            )
        except AttachmentError as e:
            raise _refused(str(e)) from e
        desk.append_in(db, state, EventKind.ATTACH, data, role=role, note=note)
        attached = fold(events_for(db=db, dossier=state.code))[-1]
    return attached


def attach_result(
    desk: Desk,
    code: str,
    pdf_bytes: bytes,
    pages: int,
    *,
    note: str = "",
    sign: Callable[[Any], str | None] | None = None,
) -> Attachment:
    """Store and record the result document (kết quả giải quyết).

    ``sign`` (a ``services.signing.Secret``: asks the decision maker's PIN/passphrase) first
    signs the PDF by the decision maker (PAdES); the signed bytes are what is stored, and a
    failed signature stores nothing."""
    if sign is not None:
        from onestop.services.signing import sign_document

        pdf_bytes = sign_document(desk, pdf_bytes, sign, code=code)
    return attach(desk, code, RESULT, pdf_bytes, pages=pages, paper_pages=pages, note=note)


def list_attachments(desk: Desk, code: str) -> list[Attachment]:
    """The dossier's attachments in the order attached (detached ones left out)."""
    with desk.store.read() as db:
        state = _state(db, code)
        return fold(events_for(db=db, dossier=state.code))


def _find(attachments: list[Attachment], code: str, attachment_id: str) -> Attachment:
    wanted = attachment_id.strip().lower()
    hits = [a for a in attachments if wanted and a.sha256.startswith(wanted)]
    if len(hits) != 1:
        raise _refused(
            t("Hồ sơ {code} không có tệp đính kèm mã {id}.", code=code, id=attachment_id)
        )
    return hits[0]


def chunks_of(store: FileStore, a: Attachment) -> list[str]:
    """The chunk ids of an attachment (read from its chunk list when not inline)."""
    if a.chunks:
        return list(a.chunks)
    return store.read_chunk_list(list(a.index), a.size)


def open_file(desk: Desk, code: str, attachment_id: str) -> bytes:
    """The bytes of one attachment, every chunk and the whole file verified."""
    a = _find(list_attachments(desk, code), code, attachment_id)
    store = file_store(desk)
    try:
        return store.get(FileRef(a.sha256, a.size, chunks_of(store, a)))
    except FileStoreError as e:
        raise _refused(str(e)) from e


def mark_shown_only(
    desk: Desk, code: str, component: int, *, paper_pages: int, note: str = ""
) -> ShownOnly:
    """Record that a component was only shown (no scan needed, TT 03/2025 Art. 5(2))."""
    try:
        data = shown_only_data(component=component, paper_pages=paper_pages)
    except AttachmentError as e:
        raise _refused(str(e)) from e
    with desk.store.write() as db:
        state = _state(db, code)
        _check_component(state, component)
        role = _check_role(desk, False)
        _check_status(state, False)
        events = events_for(db=db, dossier=state.code)
        if any(a.component == component for a in fold(events)):
            raise _refused(
                t(
                    "Thành phần {c} đã có bản số hóa; gỡ tệp trước nếu giấy tờ chỉ xuất trình.",
                    c=component,
                )
            )
        if any(m.component == component for m in fold_shown_only(events)):
            raise _refused(t("Thành phần {c} đã được ghi chỉ xuất trình.", c=component))
        desk.append_in(db, state, EventKind.ATTACH, data, role=role, note=note)
        return fold_shown_only(events_for(db=db, dossier=state.code))[-1]


def list_shown_only(desk: Desk, code: str) -> list[ShownOnly]:
    """The dossier's components recorded as shown only (undone ones left out)."""
    with desk.store.read() as db:
        state = _state(db, code)
        return fold_shown_only(events_for(db=db, dossier=state.code))


def detach(desk: Desk, code: str, attachment_id: str, *, note: str = "") -> DossierState:
    """Remove an attachment (a ``detach`` event; the chunks go at the next garbage run), or
    undo a shown-only mark (``attachment_id`` = its id, ``shown-<n>``)."""
    with desk.store.write() as db:
        state = _state(db, code)
        events = events_for(db=db, dossier=state.code)
        marks = [m for m in fold_shown_only(events) if m.id == attachment_id.strip().lower()]
        if marks:
            m = marks[-1]
            role = _check_role(desk, False)
            _check_status(state, False)
            undo = {"desk": m.desk_id, "seq": m.seq, "component": m.component, "shown_only": True}
            return desk.append_in(db, state, EventKind.DETACH, undo, role=role, note=note)
        a = _find(fold(events), state.code, attachment_id)
        role = _check_role(desk, a.is_result)
        _check_status(state, a.is_result)
        data = {"desk": a.desk_id, "seq": a.seq, "sha256": a.sha256, "component": a.component}
        return desk.append_in(db, state, EventKind.DETACH, data, role=role, note=note)


def _live_attachments(desk: Desk) -> list[Attachment]:
    out: list[Attachment] = []
    with desk.store.read() as db:
        codes = db.exec(
            select(EventRow.dossier).where(col(EventRow.kind) == EventKind.ATTACH.value).distinct()
        ).all()
        for code in codes:
            out.extend(fold(events_for(db=db, dossier=code)))
    return out


def _referenced(store: FileStore, attachments: Iterable[Attachment]) -> set[str]:
    ids: set[str] = set()
    for a in attachments:
        ids.update(a.index)
        try:
            ids.update(chunks_of(store, a))
        except FileStoreError:
            continue  # a damaged chunk list: verify_files reports its chunks as missing
    return ids


def verify_files(desk: Desk) -> VerifyReport:
    """Every chunk on disk verifies, and every live attachment's chunks are present."""
    store = file_store(desk)
    attachments = _live_attachments(desk)
    report = store.verify_all(_referenced(store, attachments))
    for a in attachments:
        if not a.chunks:
            try:
                chunks_of(store, a)
            except FileStoreError:
                report.missing.append(a.sha256)
    return report


#: Chunk files younger than this are left alone: an attach in another program may have written
#: them and not yet recorded its manifest.
GARBAGE_MIN_AGE_S = 3600.0


def collect_garbage(desk: Desk, *, min_age_s: float = GARBAGE_MIN_AGE_S) -> int:
    """Remove chunks no live attachment references (orphans of an interrupted attach,
    detached files) older than ``min_age_s``; returns how many chunk files were removed."""
    store = file_store(desk)
    return store.garbage(_referenced(store, _live_attachments(desk)), min_age_s=min_age_s)
