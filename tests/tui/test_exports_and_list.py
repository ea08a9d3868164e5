"""Exports and the dossier list at 80×24 (issue 17): a visible default folder, a path field a
stray key cannot wipe, the right extension always, overwrite only after a yes; the list's
footer counts the dossiers the filter matches, not the rows loaded; the procedure column tells
procedures apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Label, Select

from onestop import config
from onestop.domain.lifecycle import Status
from onestop.services.desk import Desk
from onestop.store.queries import DossierFilter
from onestop.tui.app import make_app
from onestop.tui.screens.dossier_list import DossierListScreen
from onestop.tui.screens.export import ExportModal, with_extension
from onestop.tui.screens.modals import ConfirmModal
from onestop.tui.screens.reports import ReportsScreen
from onestop.tui.widgets.dossier.table import DossierTable
from tests.tui.conftest import fill, settle


def _app(desk: Desk, export_dir: Path):
    app = make_app(desk, theme="onestop-light", remember_choices=False, export_dir=export_dir)
    app.animation_level = "none"
    return app


# ------------------------------------------------------------------ the default folder


def test_default_export_folder_is_documents_when_there_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "Documents"
    docs.mkdir()
    monkeypatch.setattr(config, "user_documents_path", lambda: docs)
    assert config.default_export_dir() == docs


def test_default_export_folder_is_visible_without_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "user_documents_path", lambda: tmp_path / "Documents")
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = config.default_export_dir()
    assert folder == tmp_path / "onestop-exports"
    # Never the hidden data folder, where a clerk would not find the report.
    assert not any(part.startswith(".") for part in folder.relative_to(tmp_path).parts)


@pytest.mark.parametrize(
    ("typed", "suggested", "expected"),
    [
        ("S-Tab", "bieu06.xlsx", "S-Tab.xlsx"),  # the file the issue found: no extension
        ("bao-cao.xlsx", "bieu06.csv", "bao-cao.csv"),  # another format's extension: replaced
        ("bao-cao.XLSX", "bieu06.xlsx", "bao-cao.XLSX"),  # already right
        ("quy.1.2026", "bieu06.pdf", "quy.1.2026.pdf"),  # a dot in the name is not a format
    ],
)
def test_the_chosen_format_decides_the_extension(typed: str, suggested: str, expected: str) -> None:
    assert with_extension(Path("/x") / typed, suggested) == Path("/x") / expected


# ------------------------------------------------------------------ the export dialog


async def test_export_path_keeps_its_text_and_the_file_gets_its_extension(
    desk: Desk, tmp_path: Path
) -> None:
    out = tmp_path / "exports"
    app = _app(desk, out)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        assert isinstance(app.screen, ReportsScreen)
        await pilot.press("f10")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ExportModal)
        field = modal.query_one("#export-path", Input)
        suggested = field.value
        assert app.focused is field
        # Focus selects nothing: a stray key is typed at the end, it does not replace the path.
        assert field.selection.is_empty and field.cursor_position == len(suggested)
        await pilot.press("x")
        assert field.value == suggested + "x"
        # A bare name (here the "S-Tab" the issue found) goes to the export folder, as xlsx.
        field.value = "S-Tab"
        await pilot.press("f10")
        await settle(pilot)
        written = out / "S-Tab.xlsx"
        assert written.is_file() and written.read_bytes()[:2] == b"PK"
        assert not (out / "S-Tab").exists()
        # The status line says where it went; no toast covers the table's total row.
        status = str(app.screen.query_one("#rep-status").render())
        assert str(written) in status

        # The same name again: asked first, and "n" leaves the file as it was.
        written.write_bytes(b"kept")
        await _export_over(pilot, written, "n")
        assert written.read_bytes() == b"kept"
        await _export_over(pilot, written, "y")
        assert written.read_bytes()[:2] == b"PK"  # overwritten with the report


async def _export_over(pilot: Pilot[None], written: Path, answer: str) -> None:
    """F10 again, the existing file's name, and ``answer`` to "overwrite it?"."""
    await pilot.press("f10")
    await settle(pilot)
    pilot.app.screen.query_one("#export-path", Input).value = str(written)
    await pilot.press("f10")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ConfirmModal)
    await pilot.press(answer)
    await settle(pilot)


# ------------------------------------------------------------------ the dossier list


def test_count_agrees_with_the_pages(desk: Desk) -> None:
    filters = [
        DossierFilter(),
        DossierFilter(search="chung thuc"),
        DossierFilter(statuses=(Status.RETURNED,)),
        DossierFilter(search="nguyen", statuses=(Status.PROCESSING, Status.RETURNED)),
        DossierFilter(due="overdue"),
        DossierFilter(search="zzzz"),
    ]
    for flt in filters:
        rows, after = 0, None
        while True:
            page = desk.page(flt, after_id=after, limit=7)
            rows += len(page.rows)
            if page.next_cursor is None:
                break
            after = page.next_cursor
        assert desk.count(flt) == rows, flt


async def test_list_footer_counts_every_matching_dossier(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onestop.tui.screens.dossier_list as dossier_list

    total = desk.count(DossierFilter())
    app = _app(desk, tmp_path)
    # Pages of 25 rows: the footer must count all dossiers, not the rows of the page.
    monkeypatch.setattr(dossier_list, "PAGE_SIZE", 25)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DossierListScreen)
        footer = screen.query_one("#list-footer", Label)
        pages = -(-total // 25)
        assert str(footer.render()).startswith(f"Trang 1/{pages} · {total} hồ sơ")
        await fill(pilot, "#list-search", "chung thuc")
        matching = desk.count(DossierFilter(search="chung thuc"))
        assert 0 < matching < total
        assert f"· {matching} hồ sơ" in str(footer.render())
        status = screen.query_one("#list-status", Select)
        status.value = Status.RETURNED.value
        await settle(pilot)
        both = desk.count(DossierFilter(search="chung thuc", statuses=(Status.RETURNED,)))
        assert f"· {both} hồ sơ" in str(footer.render())


async def test_the_procedure_column_tells_procedures_apart(desk: Desk, tmp_path: Path) -> None:
    app = _app(desk, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        table = app.screen.query_one("#list-table", DossierTable)
        shown: dict[str, str] = {}
        for key in table.rows:
            state = desk.get(str(key.value))
            cell = str(table.get_cell(key, "procedure"))
            assert len(cell) <= 14
            assert shown.setdefault(cell, state.procedure_code) == state.procedure_code, cell
        assert len(shown) >= 6  # the demo's procedures, each with its own short name
