"""A page of a scan, drawn in the terminal with half blocks ("▀": foreground = the upper pixel,
background = the lower one), so any terminal with true colour shows it, no image protocol
needed (Sixel, Kitty and iTerm images reach few of the terminals a commune has: the Linux
console, Windows Terminal over SSH, textual-serve in a browser).

At 76 x 40 cells an A4 page is 56 x 80 "pixels": enough to see that the right paper was
scanned, the right way up, all of it, and the red seal — what a clerk checks before storing;
the text itself is read in the system viewer (F8). The image is scaled with Pillow once per
size (``_strips`` cache), never per frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from onestop.tui._digitised import fit_box

if TYPE_CHECKING:
    from PIL import Image

UPPER_HALF = "\u2580"


def half_block_strips(image: Image.Image, cols: int, rows: int) -> list[Strip]:
    """``image`` fitted into ``cols`` x ``rows`` cells, centred, as one Strip per line."""
    from PIL import Image as PilImage

    w, h = fit_box(image.width, image.height, cols, rows)
    if not w or not h:
        return [Strip.blank(max(cols, 0))] * max(rows, 0)
    small = image.convert("RGB").resize((w, h + (h % 2)), PilImage.Resampling.BOX)
    pixels = small.load()
    assert pixels is not None
    left = (cols - w) // 2
    top = (rows - (h + 1) // 2) // 2
    blank = Strip.blank(cols)
    out: list[Strip] = [blank] * top
    for y in range(0, small.height, 2):
        segments = [Segment(" " * left)] if left else []
        for x in range(w):
            up = pixels[x, y]
            down = pixels[x, y + 1] if y + 1 < small.height else up
            assert isinstance(up, tuple) and isinstance(down, tuple)
            segments.append(
                Segment(
                    UPPER_HALF,
                    Style(
                        color=Color.from_rgb(up[0], up[1], up[2]),
                        bgcolor=Color.from_rgb(down[0], down[1], down[2]),
                    ),
                )
            )
        right = cols - left - w
        if right > 0:
            segments.append(Segment(" " * right))
        out.append(Strip(Segment.simplify(segments), cols))
    out.extend([blank] * (rows - len(out)))
    return out[:rows]


class PagePreview(Widget):
    """Shows one page image (``show``), fitted to the widget, or nothing."""

    DEFAULT_CSS = """
    PagePreview { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image: Image.Image | None = None
        self._strips: list[Strip] = []
        self._for: tuple[int, int] = (-1, -1)

    @property
    def image(self) -> Image.Image | None:
        return self._image

    def show(self, image: Image.Image | None) -> None:
        self._image = image
        self._for = (-1, -1)
        self.refresh()

    def _ensure(self) -> None:
        size = (self.size.width, self.size.height)
        if size == self._for:
            return
        self._for = size
        if self._image is None:
            self._strips = []
        else:
            self._strips = half_block_strips(self._image, *size)

    def render_line(self, y: int) -> Strip:
        self._ensure()
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width)
