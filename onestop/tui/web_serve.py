"""``onestop desk --web``: the desk in a browser on this machine, through textual-serve.

textual-serve's own page asks Google Fonts for its terminal font (Roboto Mono). Offline, as a
commune office often is, that request fails and the browser falls back to the system's
monospace font; on Linux that is DejaVu Sans Mono, which lacks the Vietnamese letters with two
marks or a hook (ồ ổ ẫ ậ ả ở …: 52 of the 134). Those glyphs then come from a proportional font
whose width is not a cell's, and the second mark lands in the next cell ("hồ`sơ", "Chờ bô ́sung").

So the desk serves everything itself and no request leaves the machine:

* its own copy of the page (``assets/web/desk/app_index.html``): no font service, Vietnamese
  words, and the terminal started only once its font has loaded (xterm measures cells once);
* the font, Roboto Mono (Apache-2.0, ``assets/fonts``, every Vietnamese letter), under the
  family name textual.js asks for;
* textual-serve's own scripts and styles from the installed package, as before.

Each browser tab runs its own desk process (``python -m onestop.tui``); the server binds to
localhost only, as textual-serve has no authentication (the desk's own login still applies).
"""

from __future__ import annotations

import errno
import shlex
import sys
from pathlib import Path
from typing import Any, Final

from onestop.i18n import get_language, t
from onestop.paths import asset_path
from onestop.services.base import DeskError

__all__ = ["FONT_FILE", "FONT_ROUTE", "desk_command", "serve_desk"]

FONT_FILE: Final = "RobotoMono-VariableFont_wght.ttf"
#: Where the page fetches the font; the file name in the URL changes with the font.
FONT_ROUTE: Final = f"/onestop/fonts/{FONT_FILE}"


def desk_command(db: Path) -> str:
    """The command textual-serve runs for each browser tab."""
    return shlex.join([sys.executable, "-m", "onestop.tui", "--db", str(db)])


def make_server(db: Path, *, host: str = "localhost", port: int = 8765) -> Any:
    """A textual-serve ``Server`` for the desk on ``db`` that loads nothing from elsewhere."""
    try:
        import aiohttp_jinja2
        from aiohttp import web
        from textual_serve.server import Server
    except ImportError:
        raise DeskError(
            t(
                "Chưa cài textual-serve nên chưa mở được quầy trong trình duyệt. "
                "Cài bằng «pip install textual-serve» rồi chạy lại «onestop desk --web»."
            )
        ) from None

    font = asset_path("fonts", FONT_FILE)
    # The upstream handler builds the page's context (websocket URL, static URL, font size);
    # ours adds to it and renders our template. aiohttp_jinja2.template keeps it in __wrapped__.
    upstream_context = Server.handle_index.__wrapped__  # type: ignore[attr-defined]

    class DeskServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.router.add_get(FONT_ROUTE, self.handle_font)
            return app

        async def on_startup(self, app: web.Application) -> None:
            # textual-serve's banner is English; the clerk (or the service's log) reads this.
            self.console.print(
                t(
                    "Quầy Một cửa trong trình duyệt: {url} (chỉ mở được trên máy này). "
                    "Dừng: Ctrl+C.",
                    url=self.public_url,
                ),
                markup=False,
                highlight=False,
            )

        async def handle_font(self, request: web.Request) -> web.StreamResponse:
            return web.FileResponse(
                font,
                headers={
                    "Content-Type": "font/ttf",
                    "Cache-Control": "public, max-age=31536000, immutable",
                },
            )

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            context: dict[str, Any] = await upstream_context(self, request)
            context.update(
                lang=get_language(),
                font_url=FONT_ROUTE,
                ping_url="",
                words={
                    "start": t("Bắt đầu"),
                    "ended": t("Phiên làm việc đã kết thúc."),
                    "restart": t("Mở lại"),
                },
            )
            return context

    return DeskServer(
        desk_command(db),
        host=host,
        port=port,
        title=t("Quầy Một cửa"),
        templates_path=asset_path("web", "desk"),
    )


def serve_desk(db: Path, *, port: int) -> None:
    """Serve the desk on http://localhost:PORT until Ctrl+C or SIGTERM."""
    server = make_server(db, port=port)
    try:
        server.serve()
    except OSError as e:  # the port is taken, or not ours to bind
        if e.errno == errno.EADDRINUSE:
            raise DeskError(
                t(
                    "Cổng {port} đang có chương trình khác dùng. "
                    "Chọn cổng khác bằng «onestop desk --web --port SỐ».",
                    port=port,
                )
            ) from e
        raise DeskError(
            t(
                "Không mở được cổng {port} cho quầy trong trình duyệt (mã lỗi {code}). "
                "Chọn cổng khác bằng «onestop desk --web --port SỐ».",
                port=port,
                code=e.errno,
            )
        ) from e
