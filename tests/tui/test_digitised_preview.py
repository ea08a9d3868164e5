"""The rest of "Hồ sơ số hóa" in the desk: the in-terminal preview, the system viewer chosen
per platform, determinate progress while normalising, dropping a scanned page before saving,
separator sheets and the copier's hot folder from the TUI, and the per-component page counts
on the receipt and the dossier detail. Real desk (demo copy), real files, real PDF rendering
(poppler), SANE's ``test`` device, a real subprocess as the "viewer"."""

from __future__ import annotations

import io
import os
import shutil
import stat
import sys
from pathlib import Path

import img2pdf
import pikepdf
import pytest
from PIL import Image
from textual.widgets import Input, Static

from onestop.scans import render_separator_pdf
from onestop.services.attachments import attach, list_attachments
from onestop.services.desk import Desk
from onestop.tui import _digitised
from onestop.tui._digitised import Viewer, fit_box, system_viewer
from onestop.tui.app import OnestopApp
from onestop.tui.messages import CaptureProgressed, HotfolderProgressed
from onestop.tui.screens import digitised
from onestop.tui.screens.digitised import (
    DigitisedScreen,
    HotFolderModal,
    PreviewModal,
)
from onestop.tui.widgets.digitised.page_preview import UPPER_HALF, PagePreview, half_block_strips
from tests.scans.pages import jpeg_bytes, render_page
from tests.services.attach_helpers import make_pdf
from tests.tui.conftest import MessageLog, fill, settle
from tests.tui.test_attachments_tui import (
    import_file,
    open_code,
    open_digitised,
    open_scan,
    row_text,
    sane_test_backend,  # noqa: F401 - a fixture
)

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils")


# ---------------------------------------------------------------------- pure parts


def test_system_viewer_per_platform() -> None:
    found = {"xdg-open": "/usr/bin/xdg-open", "open": "/usr/bin/open", "gio": "/usr/bin/gio"}
    assert system_viewer("linux", found.get) == Viewer("exec", ("/usr/bin/xdg-open",))
    assert system_viewer("freebsd14", found.get) == Viewer("exec", ("/usr/bin/xdg-open",))
    assert system_viewer("darwin", found.get) == Viewer("exec", ("/usr/bin/open",))
    assert system_viewer("win32", found.get) == Viewer("startfile")
    assert system_viewer("cygwin", found.get) == Viewer("startfile")
    only_gio = {"gio": "/usr/bin/gio"}
    assert system_viewer("linux", only_gio.get) == Viewer("exec", ("/usr/bin/gio", "open"))
    nothing: dict[str, str] = {}
    assert system_viewer("linux", nothing.get) is None
    assert system_viewer("darwin", nothing.get) is None
    assert "xdg-utils" in _digitised.no_viewer_message("linux")


def test_fit_box_keeps_proportions() -> None:
    assert fit_box(1654, 2339, 80, 20) == (28, 40)  # A4 in 20 lines: 40 pixel rows
    assert fit_box(2339, 1654, 40, 40) == (40, 28)  # landscape limited by the width
    assert fit_box(0, 10, 10, 10) == (0, 0)


def test_half_blocks_carry_the_colours() -> None:
    image = Image.new("RGB", (20, 20), (255, 255, 255))
    for x in range(20):
        for y in range(10):
            image.putpixel((x, y), (200, 0, 0))  # upper half red, lower half white
    strips = half_block_strips(image, 10, 5)
    assert len(strips) == 5 and all(s.cell_length == 10 for s in strips)
    blocks = [seg for s in strips for seg in s if UPPER_HALF in seg.text]
    assert blocks
    top = blocks[0].style
    assert top is not None and top.color is not None and top.color.triplet is not None
    assert top.color.triplet.red == 200 and top.color.triplet.green == 0


# ---------------------------------------------------------------------- preview, viewer


async def _viewer_opened(
    app: OnestopApp, code: str, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """Press ``key`` on the dossier's Hồ sơ số hóa screen with the system viewer replaced by
    a real program that records the path it was given and that file's mode (octal)."""
    seen = tmp_path / "seen.txt"
    probe = (
        "import os, sys, stat; p = sys.argv[1]; "
        f"open({str(seen)!r}, 'w').write(p + ' ' + oct(stat.S_IMODE(os.stat(p).st_mode)))"
    )
    monkeypatch.setattr(
        digitised, "system_viewer", lambda _p, _w: Viewer("exec", (sys.executable, "-c", probe))
    )
    async with app.run_test() as pilot:
        await open_digitised(pilot, app, code)
        await pilot.press(key)
        await settle(pilot)
        for _ in range(100):
            if seen.exists() and seen.read_text():
                break
            await pilot.pause(0.05)
    path, mode = seen.read_text().rsplit(" ", 1)
    return Path(path), mode


@needs_poppler
async def test_enter_previews_the_pages_in_the_terminal(desk: Desk, app: OnestopApp) -> None:
    code = open_code(desk)
    attach(desk, code, 1, make_pdf(2), pages=2, paper_pages=2)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_digitised(pilot, app, code)
        await pilot.press("enter")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, PreviewModal)
        preview = modal.query_one(PagePreview)
        assert preview.image is not None and preview.image.width > 300  # a rendered page
        assert "Trang 1/2" in str(modal.query_one("#pv-status", Static).render())
        await pilot.press("pagedown")
        await settle(pilot)
        assert "Trang 2/2" in str(modal.query_one("#pv-status", Static).render())
        await pilot.press("pagedown")  # no page 3: stays
        await settle(pilot)
        assert modal.page == 2
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DigitisedScreen)


async def test_open_hands_a_0600_decrypted_copy_to_the_viewer(
    desk: Desk, app: OnestopApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = open_code(desk)
    data = make_pdf(1)
    attach(desk, code, 1, data, pages=1, paper_pages=1)
    path, mode = await _viewer_opened(app, code, "f8", tmp_path, monkeypatch)
    assert mode == "0o600"
    assert path.read_bytes() == data
    digitised._remove_opened()
    assert not path.exists()  # removed when the desk quits


async def test_no_viewer_is_said(
    desk: Desk, app: OnestopApp, monkeypatch: pytest.MonkeyPatch, log: MessageLog
) -> None:
    code = open_code(desk)
    attach(desk, code, 1, make_pdf(1), pages=1, paper_pages=1)
    monkeypatch.setattr(digitised, "system_viewer", lambda _p, _w: None)
    async with app.run_test(message_hook=log) as pilot:
        await open_digitised(pilot, app, code)
        await pilot.press("f8")
        await settle(pilot)
        assert any("xdg-utils" in n for n in log.notices())


# ---------------------------------------------------------------------- progress, scan


async def test_import_shows_pages_done_over_total(
    desk: Desk, app: OnestopApp, tmp_path: Path, log: MessageLog
) -> None:
    code = open_code(desk)
    tiff = tmp_path / "ba-trang.tif"
    pages = [render_page(seed=i).resize((827, 1170)) for i in range(3)]
    pages[0].save(tiff, save_all=True, append_images=pages[1:], dpi=(100, 100))
    async with app.run_test(message_hook=log) as pilot:
        await open_digitised(pilot, app, code)
        await import_file(pilot, tiff, "3")
        assert "đã số hóa 3/3 trang" in row_text(app, 0)[2]
    steps = [(m.progress, m.total) for m in log.of(CaptureProgressed) if m.total is not None]  # type: ignore[attr-defined]
    # Bursts collapse (CaptureProgressed.can_replace): some steps may be superseded, never
    # all of them, and those seen count pages of 3, in order.
    assert steps and all(total == 3 and 1 <= p <= 3 for p, total in steps)
    assert [p for p, _ in steps] == sorted(p for p, _ in steps)


async def test_a_scanned_page_can_be_dropped_before_saving(
    sane_test_backend: Path,  # noqa: F811
    desk: Desk,
    app: OnestopApp,
) -> None:
    code = open_code(desk)
    async with app.run_test(size=(100, 40)) as pilot:
        modal = await open_scan(pilot, app, code)
        await pilot.press("f6")
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        assert len(modal.pages) == 2  # one sheet too many (a skewed one, say)
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, PreviewModal)
        assert app.screen.query_one(PagePreview).image is not None
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert len(modal.pages) == 1
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, DigitisedScreen)
    (a,) = list_attachments(desk, code)
    assert a.pages == 1


# ---------------------------------------------------------------------- separator, hot folder


async def test_f9_opens_the_separator_sheets_to_print(
    desk: Desk, app: OnestopApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = open_code(desk)
    path, mode = await _viewer_opened(app, code, "f9", tmp_path, monkeypatch)
    assert mode == "0o600" and stat.S_IMODE(path.stat().st_mode) == 0o600
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) == len(desk.get(code).documents)
    path.unlink()


def _stack(code: str, components: dict[int, int]) -> bytes:
    """One PDF a copier would write: for each component its separator sheet, then its pages."""
    out = pikepdf.new()
    for n, count in components.items():
        with pikepdf.open(io.BytesIO(render_separator_pdf(code, n, f"Giấy tờ {n}"))) as sheet:
            out.pages.extend(sheet.pages)
        for i in range(count):
            page = render_page(seed=10 * n + i).resize((827, 1170))
            one = img2pdf.convert(jpeg_bytes(page, dpi=100))
            with pikepdf.open(io.BytesIO(one)) as src:
                out.pages.extend(src.pages)
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


async def test_f12_imports_a_hot_folder_with_progress(
    desk: Desk, app: OnestopApp, tmp_path: Path, log: MessageLog
) -> None:
    code = open_code(desk)
    folder = tmp_path / "may-quet"
    folder.mkdir()
    stack = folder / "scan-0001.pdf"
    stack.write_bytes(_stack(code, {1: 2, 2: 1}))
    old = os.stat(stack).st_mtime - 60
    os.utime(stack, (old, old))  # older than the two seconds a copier may still be writing
    async with app.run_test(size=(100, 40), message_hook=log) as pilot:
        await open_digitised(pilot, app, code)
        await pilot.press("f12")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, HotFolderModal)
        await fill(pilot, "#hf-path", str(tmp_path / "khong-co"))
        await pilot.press("f10")
        await settle(pilot)
        assert "Không có thư mục" in str(modal.query_one("#hf-error", Static).render())
        await fill(pilot, "#hf-path", str(folder))
        await pilot.press("f10")
        await settle(pilot)
        text = str(modal.query_one("#hf-parts", Static).render())
        assert "thành phần 1 (2 trang): Đã đính kèm" in text
        assert "thành phần 2 (1 trang): Đã đính kèm" in text
        assert modal.query_one("#hf-path", Input).value == str(folder)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DigitisedScreen)
        assert "đã số hóa 2/2 trang" in row_text(app, 0)[2]
    assert (folder / "done" / "scan-0001.pdf").exists()
    steps = [(m.done, m.total) for m in log.of(HotfolderProgressed)]  # type: ignore[attr-defined]
    assert steps and steps[-1] == (2, 2)
    assert {c.component for c in list_attachments(desk, code)} == {1, 2}


# ---------------------------------------------------------------------- receipt and detail


async def test_detail_shows_page_counts_per_component(desk: Desk, app: OnestopApp) -> None:
    code = open_code(desk)
    attach(desk, code, 1, make_pdf(2), pages=2, paper_pages=2)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_digitised(pilot, app, code)
        await pilot.press("escape")
        await settle(pilot)
        text = str(app.screen.query_one("#detail-digitised", Static).render())
        assert f"Số hóa: 1/{len(desk.get(code).documents)} thành phần" in text
        assert "đã số hóa 2/2 trang" in text and "chưa có" in text
        assert "F7: quét, nhập tệp" in text


async def test_receipt_lists_the_components_to_scan(desk: Desk, app: OnestopApp) -> None:
    from onestop.tui.screens.receipt import ReceiptScreen

    code = open_code(desk)
    attach(desk, code, 1, make_pdf(1), pages=1, paper_pages=1)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.push_screen(ReceiptScreen(desk.get(code)))
        await settle(pilot)
        text = str(app.screen.query_one("#receipt-digitised", Static).render())
        assert "đã số hóa 1/1 trang" in text
        assert "\n2. " in text and "chưa có" in text  # one line per component
