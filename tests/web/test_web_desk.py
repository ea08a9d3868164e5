"""``onestop desk --web`` in headless Chromium (issue 17): a real ``onestop desk --web`` started
the way a service manager or ``nohup`` starts it (output to a file, no terminal), an encrypted
demo desk behind it, Debian's Chromium in front.

* No request leaves the machine: every request and websocket the page opens is recorded and
  must go to this machine; anything else is aborted.
* The Vietnamese on screen is drawn with the desk's own font, with every mark in its cell.
  Where a string sits is read from the terminal stream the desk sends (its cursor moves);
  that screen region of the page is compared, as ink masks, with the same string drawn in
  the page's canvas in the desk's font, and with the same string drawn in the fallback font
  the page used to get (DejaVu Sans Mono, which lacks ẩ ầ ồ …). The desk's rendering must
  match the first and clearly not the second. A control run with the font request blocked
  shows the comparison does catch the garbling.
* The login fields are visible before focus (their colour differs from the box's).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from onestop.paths import asset_path
from onestop.tui.web_serve import FONT_FILE
from tests.web.helpers import CHROMIUM
from tests.web.test_browser import SHOTS

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
FROZEN = datetime(2026, 11, 20, 10, 0)
#: On the login screen; ẩ and ầ are among the 52 letters DejaVu Sans Mono lacks.
REGULAR = "Mật khẩu"
BOLD = "Đăng nhập quầy Một cửa"
FALLBACK = "'DejaVu Sans Mono', monospace"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WebDesk:
    url: str
    log: Path


@pytest.fixture(scope="module")
def web_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDesk]:
    from onestop.services.demo import build_demo

    folder = tmp_path_factory.mktemp("webdesk")
    db = folder / "demo.sqlite"
    env = {
        **os.environ,
        "ONESTOP_SCRYPT_N": "1024",
        "ONESTOP_NOW": FROZEN.strftime("%Y-%m-%d %H:%M"),
        "PYTHONUNBUFFERED": "1",
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESTOP_SCRYPT_N", "1024")
        build_demo(db, dossiers=10, seed=1, now=FROZEN, encrypted=True)
    port = _free_port()
    log = folder / "desk-web.log"
    exe = Path(sys.executable).parent / "onestop"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "onestop.cli.main"]
    with log.open("wb") as out:
        # As nohup or a service manager runs it: no terminal on any of the three streams.
        proc = subprocess.Popen(
            [*cmd, "desk", "--web", "--port", str(port), "--db", str(db)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its per-tab desk processes end with it (killpg below)
        )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"desk --web exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"desk --web did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield WebDesk(url, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


# ----------------------------------------------------------------------------- the screen


_CSI = re.compile(r"\x1b\[([0-9;?<>=$ ]*)([@-~])")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def text_positions(stream: str) -> dict[tuple[int, int], str]:
    """Where each printed character landed ((row, col), 0-based), from the cursor moves
    (``CSI r;c H``) Textual's driver writes; colours and modes are skipped. Enough for
    finding a string, not a terminal emulator."""
    stream = _OSC.sub("", stream)
    cells: dict[tuple[int, int], str] = {}
    row = col = 0
    pos = 0
    while pos < len(stream):
        ch = stream[pos]
        if ch == "\x1b":
            m = _CSI.match(stream, pos)
            if m is None:
                pos += 2
                continue
            params, final = m.groups()
            if final == "H" and "?" not in params:
                parts = [int(x) if x.isdigit() else 1 for x in (params.split(";") + ["1"])[:2]]
                row, col = parts[0] - 1, parts[1] - 1
            pos = m.end()
            continue
        if ch == "\n":
            row, col = row + 1, 0
        elif ch >= " ":
            cells[(row, col)] = ch
            col += 1
        pos += 1
    return cells


def find(cells: dict[tuple[int, int], str], text: str) -> tuple[int, int]:
    for (row, col), ch in cells.items():
        if ch == text[0] and all(cells.get((row, col + i)) == c for i, c in enumerate(text)):
            return row, col
    raise AssertionError(f"{text!r} is not on the screen")


@dataclass
class Session:
    page: Any
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    def screen(self) -> dict[tuple[int, int], str]:
        return text_positions(b"".join(self.received).decode("utf-8", "replace"))

    def size(self) -> tuple[int, int]:
        """(cols, rows) of the terminal, from the last resize the page sent."""
        sizes = [json.loads(s)[1] for s in self.sent if s.startswith('["resize"')]
        assert sizes, self.sent
        return int(sizes[-1]["width"]), int(sizes[-1]["height"])


def _open(browser: Any, url: str, *, block_font: bool = False) -> tuple[Any, Session]:
    ctx = browser.new_context(viewport={"width": 1000, "height": 600}, locale="vi-VN")
    page = ctx.new_page()
    session = Session(page)

    def route(r: Any) -> None:
        host = urlsplit(r.request.url).hostname or ""
        session.requests.append(r.request.url)
        if host not in LOCAL_HOSTS or (block_font and "/onestop/fonts/" in r.request.url):
            session.refused.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    def on_ws(ws: Any) -> None:
        session.requests.append(ws.url)
        ws.on("framereceived", lambda f: session.received.append(f) if isinstance(f, bytes) else 0)
        ws.on("framesent", lambda f: session.sent.append(f) if isinstance(f, str) else 0)

    ctx.route("**/*", route)
    page.on("websocket", on_ws)
    page.goto(url + "/")
    page.wait_for_selector("body.-first-byte", timeout=30_000)
    deadline = time.monotonic() + 30
    while REGULAR not in "".join(session.screen().values()) or BOLD[:5] not in "".join(
        session.screen().values()
    ):
        if time.monotonic() > deadline:
            raise AssertionError("the login screen did not arrive")
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)  # the frame that carried it, painted
    return ctx, session


def _ink(rgb: Any) -> Any:
    """Pixels that differ clearly from the region's most common colour (its background)."""
    flat = rgb.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    bg = colours[counts.argmax()].astype(int)
    return np.abs(rgb.astype(int) - bg).max(axis=2) > 90


_REFERENCE_JS = """([text, font, cw, ch]) => {
  const c = document.createElement("canvas");
  c.width = cw * (text.length + 2); c.height = ch * 3;
  const g = c.getContext("2d");
  g.font = font; g.fillStyle = "#fff"; g.textBaseline = "ideographic";
  Array.from(text).forEach((s, i) => g.fillText(s, cw * (i + 1), ch * 2 - Math.round(ch * 0.2)));
  return Array.from(g.getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 3));
}"""


_LOAD_JS = """async (b64) => {
  if (![...document.fonts].some((f) => f.family === "onestop-reference")) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const face = new FontFace("onestop-reference", bytes, { weight: "100 700" });
    document.fonts.add(await face.load());
  }
}"""


def _reference(page: Any, text: str, font: str, cw: int, ch: int) -> Any:
    """``text`` drawn cell by cell like xterm does, white on nothing: its ink mask."""
    if "onestop-reference" in font:
        # The desk's font file, handed to the page by the test (not fetched): the control
        # run blocks the page's own request for it.
        data = asset_path("fonts", FONT_FILE).read_bytes()
        page.evaluate(_LOAD_JS, base64.b64encode(data).decode())
    alpha = page.evaluate(_REFERENCE_JS, [text, font, cw, ch])
    return np.array(alpha, dtype=np.uint8).reshape(ch * 3, cw * (len(text) + 2)) > 90


def _match(region: Any, ref: Any) -> float:
    """Best IoU of the ink masks over small shifts (the baseline of xterm's atlas and of a
    plain canvas differ by a pixel or two)."""
    h, w = region.shape
    best = 0.0
    for dy in range(ref.shape[0] - h + 1):
        for dx in range(max(0, (ref.shape[1] - w) // 2 - 4), (ref.shape[1] - w) // 2 + 5):
            cut = ref[dy : dy + h, dx : dx + w]
            union = np.logical_or(cut, region).sum()
            if union:
                best = max(best, float(np.logical_and(cut, region).sum() / union))
    return best


def _scores(session: Session, text: str, *, bold: bool) -> tuple[float, float]:
    """(IoU with the desk's font, IoU with the fallback) of where ``text`` is on screen."""
    page = session.page
    cols, rows = session.size()
    box = page.locator(".xterm-screen").bounding_box()
    cw, ch = round(box["width"] / cols), round(box["height"] / rows)
    # On a loaded machine the frame that carried the text may not be painted yet, and the
    # screen may still be laid out again (the footer's keys arrive after the first frame): wait
    # for ink where the text is now, looking it up again each time.
    deadline = time.monotonic() + 15
    while True:
        row, col = find(session.screen(), text)
        shot = Image.open(io.BytesIO(page.locator(".xterm-screen").screenshot())).convert("RGB")
        pixels = np.asarray(shot)
        region = _ink(pixels[row * ch : (row + 1) * ch, col * cw : (col + len(text)) * cw])
        if region.any() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    weight = "bold " if bold else ""
    size = int(page.get_attribute("#terminal", "data-font-size") or 16)
    ours = _reference(page, text, f"{weight}{size}px onestop-reference", cw, ch)
    theirs = _reference(page, text, f"{weight}{size}px {FALLBACK}", cw, ch)
    return _match(region, ours), _match(region, theirs)


# ----------------------------------------------------------------------------- the tests


def test_runs_without_a_terminal(web_desk: WebDesk):
    log = web_desk.log.read_text()
    assert "Quầy Một cửa trong trình duyệt: http://localhost" in log
    assert "outbox" not in log  # not the counts a terminal-less `onestop desk` prints


def test_vietnamese_in_the_desks_font_and_nothing_leaves_the_machine(
    web_desk: WebDesk, browser: Any
):
    ctx, session = _open(browser, web_desk.url)
    try:
        page = session.page
        assert session.refused == [], session.refused
        hosts = {urlsplit(u).hostname for u in session.requests}
        assert hosts <= LOCAL_HOSTS, session.requests
        assert any("/onestop/fonts/" in u for u in session.requests)
        assert not any("googleapis" in u or "gstatic" in u for u in session.requests)
        assert page.get_attribute("body", "data-font") == "loaded"
        assert page.evaluate("document.fonts.check(\"16px 'Roboto Mono'\", 'ẩ ầ ồ ổ ẫ ậ Đ')")
        # The words as the desk sent them (NFC, one cell each) ...
        screen = session.screen()
        for text in (REGULAR, BOLD):
            find(screen, text)
        # ... and as the page drew them.
        for text, bold in ((REGULAR, False), (BOLD, True)):
            ours, fallback = _scores(session, text, bold=bold)
            print(f"\n{text!r}: IoU {ours:.2f} with the desk's font, {fallback:.2f} with DejaVu")
            assert ours >= 0.8 and ours >= fallback + 0.1, (text, ours, fallback)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "desk-web-login.png"))
    finally:
        ctx.close()


def test_the_comparison_catches_the_fallback_font(web_desk: WebDesk, browser: Any):
    """Control: with the font request blocked (as the web font service was offline), the
    page draws with the fallback, and the same check sees it."""
    ctx, session = _open(browser, web_desk.url, block_font=True)
    try:
        assert session.page.get_attribute("body", "data-font") == "failed"
        ours, fallback = _scores(session, REGULAR, bold=False)
        print(f"\nfont blocked: IoU {ours:.2f} with the desk's font, {fallback:.2f} with DejaVu")
        assert fallback > ours, (ours, fallback)
    finally:
        ctx.close()


def test_login_fields_are_visible_before_focus(web_desk: WebDesk, browser: Any):
    ctx, session = _open(browser, web_desk.url)
    try:
        page = session.page
        cols, rows = session.size()
        box = page.locator(".xterm-screen").bounding_box()
        cw, ch = round(box["width"] / cols), round(box["height"] / rows)
        pixels = np.asarray(
            Image.open(io.BytesIO(page.locator(".xterm-screen").screenshot())).convert("RGB")
        ).astype(int)
        row, col = find(session.screen(), REGULAR)
        label = pixels[row * ch + 1, (col + 20) * cw]  # the box, right of the label
        for field_row in (row - 2, row + 1):  # the user name's field, the password's
            colour = pixels[field_row * ch + ch // 2, (col + 20) * cw]
            assert np.abs(colour - label).max() >= 25, (field_row, colour, label)
    finally:
        ctx.close()


def test_a_busy_port_gets_a_plain_message(web_desk: WebDesk, tmp_path: Path):
    """The port of the running desk is taken: a Vietnamese message, exit 1, no traceback."""
    port = urlsplit(web_desk.url).port
    exe = Path(sys.executable).parent / "onestop"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "onestop.cli.main"]
    run = subprocess.run(
        [*cmd, "desk", "--web", "--port", str(port), "--db", str(tmp_path / "x.sqlite")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert f"Cổng {port} đang có chương trình khác dùng" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
