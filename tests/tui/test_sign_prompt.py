"""The legal signer's PIN/passphrase prompt when a slip is written from the desk (issue 15).

A copy of the demo desk, not treated as a demo (so nobody signs by himself), with the desk key
unlocked from ``ONESTOP_PASSPHRASE``; the person at the desk is, or is not, the slip's legal
signer. The written PDF is checked with the project's own verifier.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from onestop.crypto import pdfverify
from onestop.crypto import token as tok
from onestop.domain.events import EventKind
from onestop.domain.lifecycle import Status
from onestop.forms.slips import SlipKind
from onestop.services import signing
from onestop.services.desk import S_HEAD_OF_UNIT, Desk
from onestop.services.keys import DEMO_PASSPHRASE
from onestop.store.queries import DossierFilter
from onestop.tui.app import OnestopApp, make_app
from onestop.tui.screens.export import ExportModal, SlipExport
from onestop.tui.screens.receipt import ReceiptScreen
from onestop.tui.screens.sign_prompt import SignSlipModal
from tests.conftest import FROZEN
from tests.tui.conftest import MessageLog, settle
from tests.tui.snapshot_app import copy_desk


@pytest.fixture
def desk_copy(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo desk and its keys folder, no longer a demo; the desk key unlocks by itself."""
    import onestop.tui.screens.export as export_screen

    monkeypatch.setattr(export_screen, "printer_command", lambda: None)
    monkeypatch.setenv("ONESTOP_PASSPHRASE", DEMO_PASSPHRASE)
    target = copy_desk(demo_template, tmp_path / "desk.sqlite")
    shutil.copytree(demo_template.parent / f"{demo_template.stem}.keys", tmp_path / "desk.keys")
    desk = Desk.open(target, clock=lambda: FROZEN)
    try:
        desk.set_setting("demo", "0")
    finally:
        desk.close()
    return target


@contextmanager
def _as(path: Path, actor: str, role: str = "clerk") -> Iterator[Desk]:
    """The desk opened by ``actor``, closed when the test is done with it."""
    desk = Desk.open(path, clock=lambda: FROZEN, actor=actor, role=role)
    try:
        yield desk
    finally:
        desk.close()


def _received(path: Path) -> tuple[str, str]:
    """A dossier in processing and who received it (its receipt's legal signer)."""
    desk = Desk.open(path, clock=lambda: FROZEN)
    try:
        for row in desk.page(DossierFilter(statuses=(Status.PROCESSING,)), limit=50).rows:
            intake = [e for e in desk.history(row.code) if e.kind == EventKind.RECEIVE]
            if intake and signing.find_official(desk, intake[0].actor) is not None:
                return row.code, intake[0].actor
    finally:
        desk.close()
    raise AssertionError("the demo has no received dossier with a keyed clerk")


@asynccontextmanager
async def _running(
    desk: Desk, tmp_path: Path, log: MessageLog | None = None
) -> AsyncIterator[tuple[OnestopApp, Pilot[None]]]:
    """The desk's app running (exports go to ``tmp_path``), settled at its first screen."""
    app = make_app(desk, theme="onestop-light", remember_choices=False, export_dir=tmp_path)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40), message_hook=log) as pilot:
        await settle(pilot)
        yield app, pilot


async def _export_receipt(pilot: Pilot[None], desk: Desk, code: str, out: Path) -> None:
    app = pilot.app
    app.push_screen(ReceiptScreen(desk.get(code)))
    await settle(pilot)
    await pilot.press("f10")
    await settle(pilot)
    modal = app.screen
    assert isinstance(modal, ExportModal)
    modal.query_one("#export-path", Input).value = str(out)
    await pilot.press("f10")
    await settle(pilot)


def _report(desk: Desk, out: Path) -> pdfverify.PdfReport:
    # pyHanko's synchronous validator runs its own event loop: not inside the test's one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(signing.verify_document, out.read_bytes(), desk).result()


def _error(app: OnestopApp) -> str:
    return str(app.screen.query_one("#sign-error", Static).render())


async def test_the_receiving_clerk_signs_the_receipt_after_a_wrong_passphrase(
    desk_copy: Path, tmp_path: Path, log: MessageLog
) -> None:
    code, clerk = _received(desk_copy)
    out = tmp_path / "bien-nhan.pdf"
    with _as(desk_copy, clerk) as desk:
        async with _running(desk, tmp_path, log) as (app, pilot):
            await _export_receipt(pilot, desk, code, out)
            modal = app.screen
            assert isinstance(modal, SignSlipModal), "the legal signer is asked to sign"
            shown = str(modal.query_one("#sign-who", Static).render())
            assert clerk in shown and "Công chức Bộ phận Một cửa" in shown
            assert modal.query_one("#sign-token", Static).display is False  # a software key
            field = modal.query_one("#sign-input", Input)
            assert field.password  # masked

            field.value = "không phải mật khẩu"
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is modal, "a wrong passphrase keeps the prompt open"
            assert "Sai mật khẩu" in _error(app) and "Esc" in _error(app)
            assert field.value == "" and not out.exists(), "nothing written, secret not kept"

            field.value = DEMO_PASSPHRASE
            await pilot.press("enter")
            await settle(pilot)
            assert not isinstance(app.screen, SignSlipModal)
        report = _report(desk, out)
        assert report.verdict == pdfverify.PdfVerdict.VALID, report.detail
        (sig,) = report.signatures
        assert sig.signer == clerk and sig.intact and sig.trusted


async def test_cancel_prints_the_slip_unsigned_and_signable_later(
    desk_copy: Path, tmp_path: Path, log: MessageLog
) -> None:
    code, clerk = _received(desk_copy)
    out = tmp_path / "bien-nhan.pdf"
    with _as(desk_copy, clerk) as desk:
        async with _running(desk, tmp_path, log) as (app, pilot):
            await _export_receipt(pilot, desk, code, out)
            assert isinstance(app.screen, SignSlipModal)
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, SignSlipModal)
        report = _report(desk, out)
        assert report.verdict == pdfverify.PdfVerdict.UNSIGNED
        assert report.empty_fields == ("ChuKySo_NguoiTiepNhan",)
        assert any("(Chưa ký số)" in n and "onestop sign-pdf" in n for n in log.notices())
        # The very same file is signed later.
        with ThreadPoolExecutor(1) as pool:
            signed = pool.submit(
                signing.sign_document, desk, out.read_bytes(), lambda _o: DEMO_PASSPHRASE
            ).result()
        out.write_bytes(signed)
        assert _report(desk, out).verdict == pdfverify.PdfVerdict.VALID


async def test_someone_else_prints_the_slip_unsigned_without_a_prompt(
    desk_copy: Path, tmp_path: Path, log: MessageLog
) -> None:
    code, clerk = _received(desk_copy)
    with _as(desk_copy, clerk) as probe:
        other = next(o.name for o in signing.officials(probe) if o.name != clerk)
    out = tmp_path / "bien-nhan.pdf"
    # ``other`` has a key of their own, but is not this slip's signer.
    with _as(desk_copy, other) as desk:
        async with _running(desk, tmp_path, log) as (app, pilot):
            await _export_receipt(pilot, desk, code, out)
            assert not isinstance(app.screen, SignSlipModal)
        assert _report(desk, out).verdict == pdfverify.PdfVerdict.UNSIGNED
        assert any(f"{clerk} ký sau" in n for n in log.notices())


async def test_the_head_signs_the_apology_letter_on_a_softhsm_token(
    desk_copy: Path, tmp_path: Path, log: MessageLog
) -> None:
    probe = Desk.open(desk_copy, clock=lambda: FROZEN)
    try:
        head = probe.setting(S_HEAD_OF_UNIT)
        official = signing.find_official(probe, head)
        extended = [
            r.code
            for r in probe.page(DossierFilter(), limit=2000).rows
            if any(e.kind == EventKind.EXTEND for e in probe.history(r.code))
        ]
    finally:
        probe.close()
    if official is None or official.kind != "token":
        pytest.skip("SoftHSM2 (Debian package softhsm2) is not installed: no demo token")
    assert extended, "the demo has an extended dossier"
    out = tmp_path / "xin-loi.pdf"
    with _as(desk_copy, head, role="leader") as desk:
        async with _running(desk, tmp_path, log) as (app, pilot):
            app.push_screen(ReceiptScreen(desk.get(extended[0])))
            await settle(pilot)
            SlipExport(app.screen, desk.get(extended[0]), only=SlipKind.APOLOGY).start()
            await settle(pilot)
            choice = app.screen
            assert isinstance(choice, ExportModal)
            choice.query_one("#export-path", Input).value = str(out)
            await pilot.press("f10")
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, SignSlipModal)
            token = str(modal.query_one("#sign-token", Static).render())
            assert "onestop-demo" in token and "Mã PIN" in token  # label and PIN state
            field = modal.query_one("#sign-input", Input)
            assert field.password

            field.value = "000000"
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is modal
            assert "Sai mã PIN" in _error(app) and not out.exists()
            assert "số lần thử còn lại" in _error(app)  # what the token says of its tries
            assert modal.query_one("#sign-ok", Button).disabled is False  # may try again

            field.value = "123456"
            await pilot.press("enter")
            await settle(pilot)
            assert not isinstance(app.screen, SignSlipModal)
        report = _report(desk, out)
        assert report.verdict == pdfverify.PdfVerdict.VALID, report.detail
        (sig,) = report.signatures
        assert sig.signer == head


async def test_a_demo_desk_still_signs_by_itself(
    desk_copy: Path, tmp_path: Path, log: MessageLog
) -> None:
    code, clerk = _received(desk_copy)
    out = tmp_path / "bien-nhan.pdf"
    with _as(desk_copy, clerk) as desk:
        desk.set_setting("demo", "1")
        async with _running(desk, tmp_path, log) as (app, pilot):
            await _export_receipt(pilot, desk, code, out)
            assert not isinstance(app.screen, SignSlipModal), "a demo desk asks nothing"
        assert _report(desk, out).verdict == pdfverify.PdfVerdict.VALID


async def test_a_locked_token_is_not_asked_and_prints_unsigned(
    desk_copy: Path, tmp_path: Path
) -> None:
    asked: list[str] = []

    def sign(secret: str) -> bytes:
        asked.append(secret)
        return b""

    answers: list[bytes | None] = []
    with _as(desk_copy, "Người thử") as desk:
        # An official whose token reports its PIN locked (no real token needs to be locked).
        official = replace(
            signing.officials(desk)[0],
            kind="token",
            token=tok.TokenConfig(module=tmp_path / "vendor.so", token_label="vnpt-ca"),
        )
        offer = signing.SignOffer(
            official, token_label="vnpt-ca", pin_state=tok.pin_state(tok.PIN_LOCKED), locked=True
        )
        async with _running(desk, tmp_path) as (app, pilot):
            app.push_screen(SignSlipModal(official, sign, offer=offer), answers.append)
            await settle(pilot)
            modal = app.screen
            assert isinstance(modal, SignSlipModal)
            token = str(modal.query_one("#sign-token", Static).render())
            assert "vnpt-ca" in token and "bị khóa" in token
            assert modal.query_one("#sign-input", Input).disabled
            assert modal.query_one("#sign-ok", Button).disabled
            assert "chưa ký số" in _error(app)
            await pilot.press("enter")
            await pilot.press("escape")
            await settle(pilot)
    assert answers == [None] and asked == []
