"""Digitised papers of a dossier: the manifest events and their rules (pure, no I/O).

A scanned component (or the result document) is stored as a file in the desk's encrypted,
content-addressed chunk store (``store/files.py``); what the signed event log records is the
file's **manifest**, as an ``attach`` event. Removing it before the dossier moves on is a
``detach`` event naming the ``attach`` it undoes. Both are facts *about* a dossier, not steps of
its lifecycle: ``lifecycle.apply`` leaves the state unchanged for them (they are in
``SYSTEM_KINDS``), so the desk's and the server's projections stay equal without a schema
change; the list of a dossier's files is this module's fold of its events (:func:`fold`).

``attach`` data (CBOR map, text keys):

==============  ===============================================================================
key             value
==============  ===============================================================================
component       1-based index into the dossier's document checklist, or ``"result"``
sha256          SHA-256 of the whole file, 64 lowercase hex
size            bytes (1 .. :data:`MAX_FILE_BYTES`)
chunks          the file's chunk ids (SHA-256 of each 64 KiB plaintext piece, hex), in order —
                present when the file has at most :data:`INLINE_CHUNKS` chunks
index           otherwise: the chunk ids of the *chunk list* (the file's 32-byte binary chunk
                ids one after the other, stored in the chunk store like any file), at most
                :data:`MAX_INDEX_CHUNKS` ids
pages           pages in the file
paper_pages     pages of the paper
sticky          pages carrying a sticky note (captured twice, Circular 01/2023 Art. 8(2))
mime            ``application/pdf``
reused          true when another dossier of this desk already references the same file
==============  ===============================================================================

Who scanned and when are the event's ``actor`` and ``at``. ``detach`` data: ``desk`` and
``seq`` of the ``attach`` event it undoes, and its ``sha256`` and ``component``.

**Shown only** (TT 03/2025 Art. 5(2): a paper only shown at filing, no scan needed): an
``attach`` event with *no file*: data ``{component: n, shown_only: true, paper_pages: n}`` and
no ``sha256``/``size``/``chunks``/``index`` (:func:`shown_only_data`, :func:`check_shown_only`).
:func:`fold` (the files) leaves it out, so the files lane of sync, verification, garbage
collection and backups never look for a file for it; :func:`fold_shown_only` lists the marks.
A ``detach`` undoes it like a file (data ``desk``, ``seq``, ``component``, ``shown_only``).

**Size bound.** Hex ids cost 66 bytes each in CBOR. With :data:`INLINE_CHUNKS` = 256 (files up
to 16 MiB: a 4-page dossier is ~8 chunks) the chunk list is at most 16 899 bytes; beyond that
the list goes to the store and the event carries at most :data:`MAX_INDEX_CHUNKS` = 4 ids (a
512 MiB file has 8 192 chunks, a 256 KiB list: 4 chunks). With every other field at its
maximum (a 1000-character note in 4-byte characters, an 80-character actor...) an ``attach``
body stays under 24 KiB, well below ``MAX_EVENT_BYTES`` (64 KiB); :func:`max_attach_body_bytes`
builds that worst case and a test asserts it. A 500-page file therefore always fits: at the
measured 75–260 KB per page it is 37–130 MB, i.e. 2 or 3 index ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from onestop.domain.events import Event, EventKind
from onestop.i18n import t

CHUNK_SIZE: Final = 64 * 1024
#: A file larger than this is refused (a 500-page colour scan at the scanner's 1.5 MB per page
#: still fits; normalised pages are 75–260 KB).
MAX_FILE_BYTES: Final = 512 * 1024 * 1024
#: Chunk ids carried in the event itself; more go to a chunk-list file in the store.
INLINE_CHUNKS: Final = 256
ID_BYTES: Final = 32
MAX_INDEX_CHUNKS: Final = -(-(MAX_FILE_BYTES // CHUNK_SIZE) * ID_BYTES // CHUNK_SIZE)
MAX_PAGES: Final = 2000
RESULT: Final = "result"
MIME_PDF: Final = "application/pdf"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")

#: Who may attach what (role names of ``domain/roles.py``). Components come in at the desk with
#: the papers (clerk) or with a supplement the specialist records; the result document is the
#: resolving official's (specialist drafts, leader signs).
COMPONENT_ROLES: Final = frozenset({"clerk", "specialist"})
RESULT_ROLES: Final = frozenset({"specialist", "leader"})

#: Statuses in which components may be attached or detached: the dossier is still being
#: received or handled, before any decision.
COMPONENT_STATUSES: Final = frozenset(
    {"received", "forwarded", "processing", "supplement_requested", "payment_requested"}
)
#: Statuses in which the result may be attached or detached: decided, not yet handed over.
RESULT_STATUSES: Final = frozenset({"resolved", "result_ready"})


class AttachmentError(ValueError):
    """A manifest or an attachment request the rules refuse; ``str(e)`` is Vietnamese."""


def is_chunk_id(value: object) -> bool:
    return isinstance(value, str) and bool(_HEX64.match(value))


def missing_chunks(chunk_ids: Iterable[str], has: Callable[[str], bool]) -> list[str]:
    """The ids (in the order given, once each) that ``has`` says a store does not hold: one
    answer to "which chunks are missing", for the desk's file store and the server's."""
    seen: set[str] = set()
    out: list[str] = []
    for c in chunk_ids:
        if c not in seen:
            seen.add(c)
            if not has(c):
                out.append(c)
    return out


def check_pages(pages: int, paper_pages: int, sticky_pages: int = 0) -> None:
    """Circular 01/2023 Art. 8(2): every paper page captured, pages with a sticky note twice."""
    for name, n in (("pages", pages), ("paper_pages", paper_pages), ("sticky", sticky_pages)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 0 or n > MAX_PAGES:
            raise AttachmentError(
                t("Số trang ({name}) phải là số nguyên từ 0 đến {max}.", name=name, max=MAX_PAGES)
            )
    if paper_pages < 1:
        raise AttachmentError(t("Bản giấy phải có ít nhất 1 trang."))
    if sticky_pages > paper_pages:
        raise AttachmentError(
            t(
                "Số trang có giấy ghi chú ({sticky}) không thể nhiều hơn số trang giấy ({paper}).",
                sticky=sticky_pages,
                paper=paper_pages,
            )
        )
    expected = paper_pages + sticky_pages
    if pages != expected:
        raise AttachmentError(
            t(
                "Số trang đã quét ({pages}) không khớp bản giấy: {paper} trang"
                " + {sticky} trang có giấy ghi chú quét hai lần = {expected} trang"
                " (Thông tư 01/2023/TT-VPCP, Điều 8). Chưa lưu gì.",
                pages=pages,
                paper=paper_pages,
                sticky=sticky_pages,
                expected=expected,
            )
        )


def manifest_data(
    *,
    component: int | str,
    sha256: str,
    size: int,
    chunks: list[str],
    index: list[str] | None,
    pages: int,
    paper_pages: int,
    sticky_pages: int,
    reused: bool,
    mime: str = MIME_PDF,
) -> dict[str, Any]:
    """The ``attach`` event data (checked: a manifest the rules refuse is never built)."""
    data: dict[str, Any] = {
        "component": component,
        "sha256": sha256,
        "size": size,
        "pages": pages,
        "paper_pages": paper_pages,
        "sticky": sticky_pages,
        "mime": mime,
        "reused": reused,
    }
    if len(chunks) <= INLINE_CHUNKS:
        data["chunks"] = list(chunks)
    else:
        if not index:
            raise AttachmentError(t("Tệp nhiều khối phải có danh sách khối riêng."))
        data["index"] = list(index)
    check_manifest(data)
    return data


def check_manifest(data: dict[str, Any]) -> None:
    """The shape of ``attach`` data (what a desk writes and a server may check)."""
    comp = data.get("component")
    if not (comp == RESULT or (isinstance(comp, int) and not isinstance(comp, bool) and comp >= 1)):
        raise AttachmentError(t("Thành phần hồ sơ phải là số thứ tự (từ 1) hoặc «result»."))
    if not is_chunk_id(data.get("sha256")):
        raise AttachmentError(t("Mã băm của tệp không hợp lệ."))
    size = data.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_FILE_BYTES:
        raise AttachmentError(t("Kích thước tệp không hợp lệ."))
    n_chunks = -(-size // CHUNK_SIZE)
    if "chunks" in data:
        chunks = data["chunks"]
        if (
            not isinstance(chunks, list)
            or len(chunks) != n_chunks
            or len(chunks) > INLINE_CHUNKS
            or not all(is_chunk_id(c) for c in chunks)
        ):
            raise AttachmentError(t("Danh sách khối của tệp không khớp kích thước."))
    else:
        index = data.get("index")
        if (
            n_chunks <= INLINE_CHUNKS
            or not isinstance(index, list)
            or len(index) != -(-n_chunks * ID_BYTES // CHUNK_SIZE)
            or not all(is_chunk_id(c) for c in index)
        ):
            raise AttachmentError(t("Danh sách khối của tệp không khớp kích thước."))


def is_shown_only(data: dict[str, Any]) -> bool:
    """Whether ``attach`` data records a component shown only (no file)."""
    return data.get("shown_only") is True


def check_shown_only(data: dict[str, Any]) -> None:
    """The shape of a shown-only ``attach``: a checklist component, its paper pages, no file."""
    comp = data.get("component")
    if not (isinstance(comp, int) and not isinstance(comp, bool) and comp >= 1):
        raise AttachmentError(t("Chỉ thành phần giấy tờ (số thứ tự từ 1) mới ghi chỉ xuất trình."))
    if data.get("shown_only") is not True:
        raise AttachmentError(t("Dữ liệu chỉ xuất trình không hợp lệ."))
    if any(k in data for k in ("sha256", "size", "chunks", "index", "pages")):
        raise AttachmentError(t("Thành phần chỉ xuất trình không kèm tệp."))
    paper = data.get("paper_pages")
    if not isinstance(paper, int) or isinstance(paper, bool) or not 1 <= paper <= MAX_PAGES:
        raise AttachmentError(t("Số trang giấy phải là số nguyên từ 1 đến {max}.", max=MAX_PAGES))


def shown_only_data(*, component: int, paper_pages: int) -> dict[str, Any]:
    """The ``attach`` data of a component shown only (checked)."""
    data: dict[str, Any] = {"component": component, "shown_only": True, "paper_pages": paper_pages}
    check_shown_only(data)
    return data


def index_size(size: int) -> int:
    """Bytes of the chunk-list file of a file of ``size`` bytes."""
    return -(-size // CHUNK_SIZE) * ID_BYTES


@dataclass(frozen=True)
class Attachment:
    """One file attached to a dossier and not detached (as :func:`fold` finds it)."""

    id: str  # the first 12 hex of the file's SHA-256: unique among a dossier's attachments
    desk_id: str
    seq: int
    component: int | str
    sha256: str
    size: int
    chunks: tuple[str, ...]
    index: tuple[str, ...]
    pages: int
    paper_pages: int
    sticky_pages: int
    mime: str
    reused: bool
    by: str
    at: datetime

    @property
    def is_result(self) -> bool:
        return self.component == RESULT

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "component": self.component,
            "sha256": self.sha256,
            "size": self.size,
            "chunks": len(self.chunks) or None,
            "pages": self.pages,
            "paper_pages": self.paper_pages,
            "sticky_pages": self.sticky_pages,
            "mime": self.mime,
            "reused": self.reused,
            "by": self.by,
            "at": self.at.isoformat(sep=" "),
            "event": f"{self.desk_id}#{self.seq}",
        }


ID_LEN: Final = 12
SHOWN_PREFIX: Final = "shown-"


@dataclass(frozen=True)
class ShownOnly:
    """A component recorded as shown only, not detached (as :func:`fold_shown_only` finds it)."""

    desk_id: str
    seq: int
    component: int
    paper_pages: int
    by: str
    at: datetime

    @property
    def id(self) -> str:
        # not hex: never mistaken for a file id (a SHA-256 prefix)
        return f"{SHOWN_PREFIX}{self.component}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "component": self.component,
            "shown_only": True,
            "paper_pages": self.paper_pages,
            "by": self.by,
            "at": self.at.isoformat(sep=" "),
            "event": f"{self.desk_id}#{self.seq}",
        }


def attachment_of(e: Event) -> Attachment:
    d = e.data
    return Attachment(
        id=str(d["sha256"])[:ID_LEN],
        desk_id=e.desk_id,
        seq=e.seq,
        component=d["component"],
        sha256=d["sha256"],
        size=int(d["size"]),
        chunks=tuple(d.get("chunks") or ()),
        index=tuple(d.get("index") or ()),
        pages=int(d.get("pages", 0)),
        paper_pages=int(d.get("paper_pages", 0)),
        sticky_pages=int(d.get("sticky", 0)),
        mime=str(d.get("mime", MIME_PDF)),
        reused=bool(d.get("reused", False)),
        by=e.actor,
        at=e.at,
    )


def fold(events: Iterable[Event]) -> list[Attachment]:
    """The attachments of a dossier in the order attached, detached ones left out."""
    live: dict[tuple[str, int], Attachment] = {}
    for e in events:
        if e.kind == EventKind.ATTACH:
            if is_shown_only(e.data):
                continue  # no file (module docstring): see fold_shown_only
            try:
                live[(e.desk_id, e.seq)] = attachment_of(e)
            except (KeyError, TypeError, ValueError):
                continue  # a manifest this version cannot read is shown nowhere, never guessed
        elif e.kind == EventKind.DETACH:
            live.pop((str(e.data.get("desk", "")), int(e.data.get("seq", 0))), None)
    return list(live.values())


def fold_shown_only(events: Iterable[Event]) -> list[ShownOnly]:
    """The components of a dossier recorded as shown only, detached ones left out."""
    live: dict[tuple[str, int], ShownOnly] = {}
    for e in events:
        if e.kind == EventKind.ATTACH and is_shown_only(e.data):
            try:
                check_shown_only(e.data)
            except AttachmentError:
                continue
            live[(e.desk_id, e.seq)] = ShownOnly(
                e.desk_id, e.seq, e.data["component"], e.data["paper_pages"], e.actor, e.at
            )
        elif e.kind == EventKind.DETACH:
            live.pop((str(e.data.get("desk", "")), int(e.data.get("seq", 0))), None)
    return list(live.values())


def referenced_files(events: Iterable[Event]) -> set[str]:
    """SHA-256 of every file any ``attach`` event references (detached ones included: the
    log keeps them, so their chunks are kept); a shown-only entry references none."""
    return {
        str(e.data["sha256"])
        for e in events
        if e.kind == EventKind.ATTACH and not is_shown_only(e.data) and "sha256" in e.data
    }


def max_attach_body_bytes() -> int:
    """The encoded size of the largest ``attach`` event (see the module docstring)."""
    from onestop.domain.fields import rule

    def big(key: str) -> str:
        return "\U0001f600" * rule(key).max_len

    ids = ["f" * 64] * INLINE_CHUNKS
    data = manifest_data(
        component=2**63 - 1,
        sha256="f" * 64,
        size=INLINE_CHUNKS * CHUNK_SIZE,
        chunks=ids,
        index=None,
        pages=MAX_PAGES,
        paper_pages=MAX_PAGES,
        sticky_pages=MAX_PAGES,
        reused=True,
    )
    event = Event(
        desk_id="x",
        seq=2**63 - 1,
        hlc=2**63 - 1,
        kind=EventKind.ATTACH,
        dossier=big("dossier"),
        at=datetime(9999, 12, 31, 23, 59),
        actor=big("actor"),
        role=big("role"),
        note=big("note"),
        data=data,
    )
    return len(event.body())


__all__ = [
    "CHUNK_SIZE",
    "COMPONENT_ROLES",
    "COMPONENT_STATUSES",
    "INLINE_CHUNKS",
    "MAX_FILE_BYTES",
    "MAX_INDEX_CHUNKS",
    "RESULT",
    "RESULT_ROLES",
    "RESULT_STATUSES",
    "SHOWN_PREFIX",
    "Attachment",
    "AttachmentError",
    "ShownOnly",
    "attachment_of",
    "check_manifest",
    "check_pages",
    "check_shown_only",
    "fold",
    "fold_shown_only",
    "is_shown_only",
    "index_size",
    "manifest_data",
    "max_attach_body_bytes",
    "referenced_files",
    "shown_only_data",
]
