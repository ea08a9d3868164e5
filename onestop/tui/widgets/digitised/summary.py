"""One dossier's digitised papers in a few lines, per component with its page counts, under the
receipt (the end of intake) and the dossier detail; F7 there opens "Hồ sơ số hóa" to scan,
import, preview or remove a component's file.

Loads in its own thread worker (``show(desk, code)``), so the screens that carry it only add
the widget and one call: they stay free of the attachment service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.widgets import Static
from textual.worker import get_current_worker

from onestop.domain.attachments import RESULT
from onestop.i18n import t
from onestop.tui._digitised import build_view
from onestop.tui.messages import DigitisedSummaryLoaded

if TYPE_CHECKING:
    from onestop.services.desk import Desk
    from onestop.tui._digitised import DigitisedView


def summary_text(view: DigitisedView, *, can_change: bool, compact: bool = False) -> Text:
    """``Số hóa: 1/3 thành phần · kết quả: chưa có`` then each component with its pages: one
    line each, or (``compact``, the dossier detail) run together after the head."""
    out = Text()
    out.append(
        t(
            "Số hóa: {n}/{m} thành phần · kết quả: {result}",
            n=view.scanned,
            m=len(view.items),
            result=t("đã có") if view.result_attached else t("chưa có"),
        ),
        style="bold",
    )
    for row in view.rows:
        if row.component == RESULT and not row.attachment:
            continue
        number = t("KQ") if row.component == RESULT else str(row.component)
        limit = 24 if compact else 48
        name = row.name if len(row.name) <= limit else row.name[: limit - 1] + "…"
        prefix = f"{number}. {name}" if row.first else "   " + t("(tệp thêm)")
        style = "" if row.attachment or row.shown else "dim"
        out.append(" · " if compact else "\n", style=style)
        out.append(f"{prefix}: {row.status}", style=style)
    keys = (
        t("F7: quét, nhập tệp, xem trước hoặc gỡ từng thành phần.")
        if can_change
        else t("F7: xem các bản số hóa.")
    )
    out.append((" · " if compact else "\n") + keys, style="italic")
    return out


class DigitisedSummary(Static):
    """The digitised-papers lines of one dossier (see the module docstring)."""

    DEFAULT_CSS = """
    DigitisedSummary { height: auto; }
    DigitisedSummary.-compact { max-height: 3; }
    """

    def __init__(self, *, id: str | None = None, compact: bool = False) -> None:
        super().__init__("", id=id, markup=False, classes="-compact" if compact else "")
        self.code = ""
        self.can_change = False
        self.compact = compact

    def show(self, desk: Desk, code: str, *, can_change: bool) -> None:
        self.code = code
        self.can_change = can_change
        self._load(desk, code)

    @work(
        thread=True,
        exclusive=True,
        group="digitised-summary",
        exit_on_error=False,
        description="Tải bản số hóa",
    )
    def _load(self, desk: Desk, code: str) -> None:
        from onestop.services.attachments import list_attachments, list_shown_only

        state = desk.get(code)
        view = build_view(state, list_attachments(desk, code), list_shown_only(desk, code))
        if not get_current_worker().is_cancelled:
            self.post_message(
                DigitisedSummaryLoaded(
                    code, summary_text(view, can_change=self.can_change, compact=self.compact)
                )
            )

    def on_digitised_summary_loaded(self, message: DigitisedSummaryLoaded) -> None:
        message.stop()
        if message.code == self.code:
            self.update(message.text)
