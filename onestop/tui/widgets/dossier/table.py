"""The dossier list: a stock ``DataTable`` fed one keyset page (≤200 rows) at a time.

A stock DataTable measures every new cell on the event loop: 200 rows paint in about 0.3 s,
10 000 rows freeze the desk for 6.6 s (STYLE pitfalls). So it never holds more than a page,
and a refresh of the same page updates cells by row key (cursor kept, no flicker) instead of
clearing and reloading (STYLE rule 23).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from onestop.domain.calendar import WorkCalendar
from onestop.domain.catalogue import SHORT_NAME_MAX, short_procedure_name
from onestop.domain.fields import escape_display
from onestop.domain.lifecycle import DossierState
from onestop.i18n import t
from onestop.tui._format import badge_styles, due_badge, short_code, short_dt, status_short

# (key, Vietnamese header, width). 13+16+14+13+11 = 67 cells + 10 of padding: fits 80 columns
# with the one-cell scrollbar. The procedure column shows the catalogue's short name
# (SHORT_NAME_MAX = 14 cells), so "CT chữ ký" and "CT bản sao" no longer both read "Chứng thực c".
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("code", "Mã hồ sơ", 13),
    ("applicant", "Người nộp", 16),
    ("procedure", "Thủ tục", SHORT_NAME_MAX),
    ("status", "Trạng thái", 13),
    ("due", "Hẹn trả", 11),
)


# The dashboard's preview beside the counts has half the width: code, applicant, due.
COMPACT = ("code", "applicant", "due")


def row_cells(
    state: DossierState,
    now: datetime,
    cal: WorkCalendar,
    unit_eid: str,
    styles: dict[str, str],
    short_names: Mapping[str, str] | None = None,
) -> dict[str, Text]:
    # Text, never str: a str cell is parsed as Rich markup, and a name may contain "[".
    # escape_display: a dossier received on another desk may carry ESC or bidi overrides.
    badge = due_badge(state, now, cal)
    return {
        "code": Text(escape_display(short_code(state.code, unit_eid))),
        "applicant": Text(escape_display(state.applicant_name)),
        "procedure": Text(escape_display(procedure_cell(state, short_names or {}))),
        "status": Text(status_short(state.status)),
        "due": Text(short_dt(state.due_at), style=styles[badge.kind]),
    }


def procedure_cell(state: DossierState, short_names: Mapping[str, str]) -> str:
    """The catalogue's short name of the dossier's procedure; a procedure this desk's catalogue
    does not hold (received elsewhere) is abbreviated from the name the dossier carries."""
    return short_names.get(state.procedure_code) or short_procedure_name(state.procedure_name)


class DossierTable(DataTable[Text]):
    DEFAULT_CSS = """
    DossierTable { scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.columns_shown = [c for c in COLUMNS if not compact or c[0] in COMPACT]

    def on_mount(self) -> None:
        for key, label, width in self.columns_shown:
            self.add_column(t(label), width=width, key=key)

    @property
    def codes(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]

    def show_states(
        self,
        states: Sequence[DossierState],
        *,
        now: datetime,
        cal: WorkCalendar,
        unit_eid: str,
        short_names: Mapping[str, str] | None = None,
    ) -> None:
        keys = [key for key, _, _ in self.columns_shown]
        styles = badge_styles(self.app.current_theme)
        rows = {s.code: row_cells(s, now, cal, unit_eid, styles, short_names) for s in states}
        if self.codes == list(rows):
            for code, cells in rows.items():
                for key in keys:
                    if self.get_cell(code, key) != cells[key]:
                        self.update_cell(code, key, cells[key])
            return
        self.clear()
        for code, cells in rows.items():
            self.add_row(*(cells[key] for key in keys), key=code)
