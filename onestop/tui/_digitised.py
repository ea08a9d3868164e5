"""The digitised papers of one dossier as the desk shows them: rows, statuses, who may change.

Pure (no Textual, no I/O). The rules are the service's (``services/attachments.py`` docstring,
``domain/attachments.py`` role and status sets); this module only asks them *before* a key is
offered, so a clerk is never shown "Nhập tệp" for a result only a specialist may attach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from onestop.domain.attachments import (
    COMPONENT_ROLES,
    COMPONENT_STATUSES,
    RESULT,
    RESULT_ROLES,
    RESULT_STATUSES,
    Attachment,
    ShownOnly,
)
from onestop.domain.lifecycle import DossierState
from onestop.domain.scans import (
    ChecklistItem,
    ComponentCapture,
    ComponentStatus,
    ScanRuleError,
    checklist,
    component_status,
    digitised,
)
from onestop.i18n import t


@dataclass(frozen=True)
class DigitisedRow:
    """One line of the table: a component (or the result) and at most one of its files."""

    key: str
    component: int | str
    name: str
    status: str
    attachment: Attachment | None = None
    first: bool = True  # the component's first line (later lines are its extra files)
    shown: ShownOnly | None = None  # recorded as shown only (no file, TT 03/2025 Art. 5(2))


@dataclass(frozen=True)
class DigitisedView:
    rows: tuple[DigitisedRow, ...]
    items: tuple[ChecklistItem, ...]
    result_attached: bool

    @property
    def scanned(self) -> int:
        return sum(1 for i in self.items if i.status is not ComponentStatus.MISSING)

    @property
    def complete(self) -> bool:
        return digitised(self.items, self.result_attached)


STATUS_LABELS: dict[ComponentStatus, str] = {
    ComponentStatus.SCANNED: "đã số hóa",
    ComponentStatus.SHOWN_ONLY: "chỉ xuất trình",
    ComponentStatus.MISSING: "chưa có",
}


def may_change(roles: Iterable[str], status: str, *, result: bool) -> bool:
    """Whether these roles may attach or detach a component (or the result) now."""
    allowed_roles = RESULT_ROLES if result else COMPONENT_ROLES
    allowed_statuses = RESULT_STATUSES if result else COMPONENT_STATUSES
    return status in allowed_statuses and any(r in allowed_roles for r in roles)


def component_name(state: DossierState, component: int | str) -> str:
    if component == RESULT:
        return t("Kết quả giải quyết")
    if isinstance(component, int) and 1 <= component <= len(state.documents):
        return state.documents[component - 1]
    return t("Thành phần số {n}", n=component)


def _pages_text(a: Attachment) -> str:
    return t("đã số hóa {n}/{m} trang", n=a.pages, m=max(a.paper_pages + a.sticky_pages, a.pages))


def build_view(
    state: DossierState,
    attachments: Sequence[Attachment],
    shown_only: Sequence[ShownOnly] = (),
) -> DigitisedView:
    by_component: dict[int | str, list[Attachment]] = {}
    for a in attachments:
        by_component.setdefault(a.component, []).append(a)
    shown = {m.component: m for m in shown_only}
    captures: dict[int, ComponentCapture] = {}
    for number, name in enumerate(state.documents, start=1):
        files = by_component.get(number, [])
        if number in shown:
            captures[number] = ComponentCapture(
                name, paper_pages=shown[number].paper_pages, shown_only=True
            )
        elif files:
            captures[number] = ComponentCapture(
                name,
                paper_pages=sum(a.paper_pages for a in files),
                captured_pages=sum(a.pages for a in files),
                sticky_note_pages=sum(a.sticky_pages for a in files),
                reused=all(a.reused for a in files),
            )
    try:
        items = checklist(state.documents, captures)
    except ScanRuleError:
        # A file recorded before the rules said otherwise: count what was captured.
        items = tuple(
            ChecklistItem(
                n,
                name,
                ComponentStatus.SHOWN_ONLY
                if n in shown
                else ComponentStatus.SCANNED
                if n in captures
                else ComponentStatus.MISSING,
            )
            for n, name in enumerate(state.documents, start=1)
        )
    rows: list[DigitisedRow] = []
    components: list[int | str] = [*range(1, len(state.documents) + 1), RESULT]
    for component in components:
        name = component_name(state, component)
        files = by_component.get(component, [])
        mark = shown.get(component) if isinstance(component, int) else None
        if mark is not None:
            rows.append(
                DigitisedRow(
                    f"{component}|{mark.id}",
                    component,
                    name,
                    t(STATUS_LABELS[ComponentStatus.SHOWN_ONLY]),
                    shown=mark,
                    first=True,
                )
            )
        if mark is not None and not files:
            continue
        if not files:
            rows.append(
                DigitisedRow(
                    f"{component}|", component, name, t(STATUS_LABELS[ComponentStatus.MISSING])
                )
            )
            continue
        for i, a in enumerate(files):
            rows.append(
                DigitisedRow(
                    f"{component}|{a.id}",
                    component,
                    name,
                    _pages_text(a),
                    a,
                    i == 0 and mark is None,
                )
            )
    return DigitisedView(tuple(rows), items, bool(by_component.get(RESULT)))


def page_numbers(paper: str, sticky: str) -> tuple[int | None, int, dict[str, str]]:
    """The typed paper and sticky-note page counts, with Vietnamese errors per field."""
    errors: dict[str, str] = {}
    paper_pages: int | None = None
    sticky_pages = 0
    raw = paper.strip()
    if not raw:
        errors["paper"] = t("Chưa nhập số trang của bản giấy.")
    elif not raw.isdigit() or int(raw) < 1:
        errors["paper"] = t("Số trang giấy phải là số nguyên từ 1 trở lên.")
    else:
        paper_pages = int(raw)
    raw = sticky.strip()
    if raw:
        if not raw.isdigit():
            errors["sticky"] = t("Số trang có giấy ghi chú phải là số nguyên (0 nếu không có).")
        else:
            sticky_pages = int(raw)
    return paper_pages, sticky_pages, errors


def mismatch(name: str, paper_pages: int, sticky_pages: int, captured: int) -> str | None:
    """The domain rule's message when the captured pages do not match the paper, else None."""
    try:
        component_status(
            ComponentCapture(
                name,
                paper_pages=paper_pages,
                captured_pages=captured,
                sticky_note_pages=sticky_pages,
            )
        )
    except ScanRuleError as e:
        return str(e)
    return None


# ---------------------------------------------------------------------- the system viewer


@dataclass(frozen=True)
class Viewer:
    """How to hand a file to the system's PDF viewer: run ``argv + [path]``, or (Windows)
    ``os.startfile(path)`` — the shell's "open" verb, which has no program to name."""

    kind: Literal["exec", "startfile"]
    argv: tuple[str, ...] = ()


def system_viewer(platform: str, which: Callable[[str], str | None]) -> Viewer | None:
    """The viewer for ``platform`` (``sys.platform``): Windows the shell's "open" verb, macOS
    ``open``, elsewhere ``xdg-open`` (freedesktop), else ``gio open`` (GNOME); None when the
    machine has none (the desk then says what to install)."""
    if platform.startswith(("win", "cygwin")):
        return Viewer("startfile")
    if platform == "darwin":
        found = which("open")
        return Viewer("exec", (found,)) if found else None
    found = which("xdg-open")
    if found:
        return Viewer("exec", (found,))
    found = which("gio")
    return Viewer("exec", (found, "open")) if found else None


def no_viewer_message(platform: str) -> str:
    if platform == "darwin":
        return t("Máy này không có lệnh «open» để mở tệp, nên không mở được bản số hóa.")
    return t(
        "Máy này chưa có chương trình mở tệp (xdg-open), nên không mở được bản số hóa."
        " Hãy nhờ quản trị cài gói xdg-utils."
    )


# ---------------------------------------------------------------------- the preview


def fit_box(width: int, height: int, cols: int, rows: int) -> tuple[int, int]:
    """The pixel size an image of ``width`` x ``height`` is scaled to so that it fits ``cols``
    terminal columns by ``rows`` lines of half blocks (two pixel rows a line), proportions
    kept (a half block is about square: a cell is about twice as tall as wide)."""
    if width <= 0 or height <= 0 or cols <= 0 or rows <= 0:
        return 0, 0
    scale = min(cols / width, 2 * rows / height)
    return max(1, min(cols, round(width * scale))), max(1, min(2 * rows, round(height * scale)))
