"""Received vs resolved per week, as text bars: one line per week, two bars side by side.

textual-plotext is not a dependency and a chart this small does not need it. Horizontal bars
keep a year (53 weeks) readable at 80 columns by scrolling down, where vertical bars would need
160 columns. The two series differ by glyph as well as by colour (solid eighth-blocks for
received, shaded blocks for resolved), so they stay apart in a 16-colour or monochrome terminal.
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from onestop.i18n import t
from onestop.services.reports import WeekFlow

_EIGHTHS = " ▏▎▍▌▋▊▉"
_LABEL = 7  # "dd/mm  "
_COUNT = 5


def solid_bar(value: int, top: int, width: int) -> str:
    """``value`` of ``top`` as eighth-block cells over ``width`` columns."""
    if top <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def shaded_bar(value: int, top: int, width: int) -> str:
    if top <= 0 or value <= 0 or width <= 0:
        return ""
    return "▒" * max(1, round(value / top * width))


class WeekChart(Widget):
    """``show(weeks)`` paints; the height follows the number of weeks (+ a legend line)."""

    DEFAULT_CSS = """
    WeekChart { height: auto; padding: 0 1; }
    WeekChart > .week-chart--received { color: $primary; }
    WeekChart > .week-chart--resolved { color: $secondary; }
    WeekChart > .week-chart--axis { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"week-chart--received", "week-chart--resolved", "week-chart--axis"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.weeks: list[WeekFlow] = []

    def show(self, weeks: list[WeekFlow]) -> None:
        self.weeks = list(weeks)
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.weeks) + 1)

    def render(self) -> Text:
        received_style = self.get_component_rich_style("week-chart--received")
        resolved_style = self.get_component_rich_style("week-chart--resolved")
        axis_style = self.get_component_rich_style("week-chart--axis")
        out = Text(no_wrap=True, overflow="crop")
        if not self.weeks:
            out.append(t("Không có hồ sơ nào trong kỳ."), axis_style)
            return out
        width = max(self.content_size.width, 40)
        half = (width - _LABEL - 3) // 2
        bar = max(4, half - _COUNT - 1)
        top = max(max(w.received for w in self.weeks), max(w.resolved for w in self.weeks), 1)
        out.append(" " * _LABEL)
        out.append(("█ " + t("Tiếp nhận")).ljust(half), received_style)
        out.append(" │ ", axis_style)
        out.append("▒ " + t("Giải quyết"), resolved_style)
        for w in self.weeks:
            out.append("\n")
            out.append(w.week.strftime("%d/%m").ljust(_LABEL), axis_style)
            out.append(solid_bar(w.received, top, bar).ljust(bar), received_style)
            out.append(str(w.received).rjust(_COUNT + 1))
            out.append(" │ ", axis_style)
            out.append(shaded_bar(w.resolved, top, bar).ljust(bar), resolved_style)
            out.append(str(w.resolved).rjust(_COUNT + 1))
        return out
