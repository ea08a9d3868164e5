"""``onestop slip CODE KIND --pdf FILE`` signs the slip for its legal signer (issue 15): the
PIN/passphrase from ``--pin-file`` or a hidden prompt on a terminal; without either, or with
``--unsigned``, the slip is written "(Chưa ký số)" with how to sign it later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import onestop.cli.receipts as cli_receipts
from tests.cli.test_pdfsign_cli import CLERK, db, pin_file  # noqa: F401  (fixtures)
from tests.cli.test_receipts import _receive, run


def _verify(database: str, path: Path) -> tuple[int, dict[str, Any]]:
    status, text, _ = run("verify-pdf", str(path), "--db", database, "--json")
    return status, json.loads(text)


def test_pin_file_signs_the_slip(db: str, pin_file: str, tmp_path: Path) -> None:  # noqa: F811
    code = _receive(db)
    out = tmp_path / "bien-nhan.pdf"
    status, text, err = run(
        "slip", code, "receipt", "--pdf", str(out), "--db", db,
        "--passphrase-file", pin_file, "--pin-file", pin_file,
    )  # fmt: skip
    assert status == 0, err
    assert f"Đã ký số: {CLERK}" in text
    status, report = _verify(db, out)
    assert status == 0, report
    (sig,) = report["signatures"]
    assert sig["signer"] == CLERK and sig["intact"] and sig["trusted"]


def test_without_a_terminal_the_slip_is_unsigned_and_says_how_to_sign(
    db: str,  # noqa: F811
    pin_file: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    code = _receive(db)
    out = tmp_path / "kiem-soat.pdf"
    status, text, err = run(
        "slip", code, "control", "--pdf", str(out), "--db", db, "--passphrase-file", pin_file
    )
    assert status == 0, err
    assert "(Chưa ký số)" in text and f"onestop sign-pdf {out}" in text and CLERK in text
    status, report = _verify(db, out)
    assert status == 6 and report["unsigned_fields"] == ["ChuKySo_BoPhanTNTKQ"]
    # ... and the very command it names signs it.
    assert run("sign-pdf", str(out), "--db", db, "--pin-file", pin_file)[0] == 0
    assert _verify(db, out)[0] == 0


def test_on_a_terminal_the_pin_is_asked_hidden(
    db: str,  # noqa: F811
    pin_file: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli_receipts, "_interactive", lambda: True)
    code = _receive(db)
    out = tmp_path / "kiem-soat.pdf"
    secret = Path(pin_file).read_text(encoding="utf-8").strip()
    status, text, err = run(
        "slip", code, "control", "--pdf", str(out), "--db", db, "--passphrase-file", pin_file,
        input=secret + "\n",
    )  # fmt: skip
    assert status == 0, err
    assert f"mật khẩu khóa ký số của {CLERK}" in err  # the prompt, on stderr
    assert secret not in err + text  # hidden: never echoed
    assert _verify(db, out)[0] == 0


def test_wrong_pin_writes_nothing(db: str, pin_file: str, tmp_path: Path) -> None:  # noqa: F811
    code = _receive(db)
    out = tmp_path / "kiem-soat.pdf"
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("sai mat khau 123\n", encoding="utf-8")
    status, _, err = run(
        "slip", code, "control", "--pdf", str(out), "--db", db,
        "--passphrase-file", pin_file, "--pin-file", str(wrong),
    )  # fmt: skip
    assert status == 1 and "Sai mật khẩu" in err and "Traceback" not in err
    assert not out.exists()


def test_unsigned_skips_signing_even_with_a_pin_file(
    db: str,  # noqa: F811
    pin_file: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    code = _receive(db)
    out = tmp_path / "kiem-soat.pdf"
    status, text, err = run(
        "slip", code, "control", "--pdf", str(out), "--db", db, "--unsigned",
        "--pin-file", pin_file,
    )  # fmt: skip
    assert status == 0, err
    assert "(Chưa ký số)" in text
    assert _verify(db, out)[0] == 6


def test_help_shows_an_example() -> None:
    status, text, _ = run("slip", "--help")
    assert status == 0
    assert "--pin-file" in text and "--unsigned" in text and "onestop slip" in text


def test_a_demo_desk_signs_without_asking_even_on_a_terminal(
    db: str,  # noqa: F811
    pin_file: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from onestop.services.accounts import open_logged_in
    from tests.cli.login import PASSWORD

    desk = open_logged_in(Path(db), "quantri", PASSWORD)
    try:
        desk.set_setting("demo", "1")
    finally:
        desk.close()
    monkeypatch.setattr(cli_receipts, "_interactive", lambda: True)
    code = _receive(db)
    out = tmp_path / "kiem-soat.pdf"
    status, text, err = run(
        "slip", code, "control", "--pdf", str(out), "--db", db, "--passphrase-file", pin_file
    )  # no input: a prompt would fail on end of input
    assert status == 0, err
    assert f"Đã ký số: {CLERK}" in text and "khóa ký số của" not in err
    assert _verify(db, out)[0] == 0
