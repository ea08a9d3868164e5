"""Hostile and absurd input at every command-line boundary (issue item 12).

Each case must end with a Vietnamese message and exit 1 or 2: never a traceback, never a
silent default ("--n 0" was January), and the desk file is byte-for-byte unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from onestop.cli import _common
from onestop.cli.main import main
from onestop.forms.qr import MAX_IMAGE_BYTES, QrDecodeError, decode_image
from onestop.i18n import set_language
from tests.cli.login import LOGIN, PASSWORD, init_desk

NOW = {"ONESTOP_NOW": "2026-11-20 10:00"}
VI = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, list(args), env={**NOW, **LOGIN, **(env or {})}, catch_exceptions=False
    )
    return result.exit_code, result.output


def refused(code: int, out: str, *, exit_codes: tuple[int, ...] = (1, 2)) -> None:
    assert code in exit_codes, out
    assert "Traceback" not in out, out
    assert VI.search(out), out
    for english in ("Usage:", "Error:", "Try '", "Invalid value", "Missing option"):
        assert english not in out, out


def digest(db: str) -> str:
    h = hashlib.sha256()
    for path in sorted(Path(db).parent.glob(Path(db).name + "*")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One encrypted desk with the demo keys (so ``verify`` reaches the image), copied per test."""
    from onestop.services import keys as keys_svc
    from onestop.services.accounts import open_logged_in

    folder = tmp_path_factory.mktemp("bad-input-desk")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESTOP_CONFIG_FILE", str(folder / "config.toml"))
        mp.setenv("XDG_DATA_HOME", str(folder / "data"))
        mp.setenv("ONESTOP_SCRYPT_N", "1024")
        path = folder / "desk" / "desk.sqlite"
        path.parent.mkdir()
        init_desk(lambda *a, env=None: (*run(*a, env=env), ""), path)
        desk = open_logged_in(path, "quantri", PASSWORD)
        try:
            keys_svc.ensure_demo_keys(desk)
        finally:
            desk.close()
        yield path.parent


@pytest.fixture
def db(template: Path, tmp_path: Path) -> str:
    folder = tmp_path / "desk"
    shutil.copytree(template, folder)
    return str(folder / "desk.sqlite")


def _huge_png(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit PNG whose header says width×height: a few KB on disk, all zero rows."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


RECEIVE = ("receive", "--procedure", "2.001035", "--name", "Nguyễn Văn An", "--id", "001099012345")


# --- The cases of the issue ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        (*RECEIVE, "--fee", "99999999999999999999"),
        (*RECEIVE, "--received", "9999-12-31 10:00"),
        ("due", "--procedure", "2.001035", "--received", "9999-12-31 10:00"),
        ("dossier", "list", "--after", "1e23"),
        ("dossier", "list", "--after", "99999999999999999999999"),
        ("report", "bieu06", "--from", "0001-01-01", "--to", "9999-12-31"),
        ("report", "bieu06", "--period", "month", "--year", "2026", "--n", "0"),
        ("report", "bieu06", "--period", "quarter", "--year", "2026", "--n", "5"),
        ("report", "bieu06", "--period", "half", "--year", "2026", "--n", "3"),
        ("report", "bieu06", "--period", "month", "--year", "9999", "--n", "1"),
    ],
    ids=lambda a: " ".join(a[:1] + a[-2:]),
)
def test_issue_cases_are_refused_in_vietnamese(db: str, args: tuple[str, ...]) -> None:
    before = digest(db)
    refused(*run(*args, "--db", db))
    assert digest(db) == before


def test_report_range_message_names_the_supported_range(db: str) -> None:
    code, out = run("report", "bieu06", "--db", db, "--from", "0001-01-01", "--to", "9999-12-31")
    assert code == 2 and "01/01/2000" in out and "31/12/2099" in out


def test_period_n_is_never_silently_january(db: str) -> None:
    code, out = run(
        "report", "bieu06", "--db", db, "--period", "month", "--year", "2026", "--n", "0"
    )
    assert code == 1 and "từ 1 đến 12" in out  # the per-kind range, from the domain
    assert run("report", "bieu06", "--db", db, "--period", "year", "--year", "2026")[0] == 0


def test_due_at_the_edge_of_the_range_is_quick(db: str) -> None:
    code, out = run("due", "--db", db, "--procedure", "2.001035", "--received", "2099-12-31 10:00")
    assert code == 0 and "2100" in out


def test_largest_fee_is_accepted(db: str) -> None:
    assert run(*RECEIVE, "--db", db, "--fee", str(_common.MAX_VND))[0] == 0
    refused(*run(*RECEIVE, "--db", db, "--fee", str(_common.MAX_VND + 1)))


# --- Numbers: one bounded type -----------------------------------------------------------------

BAD_NUMBERS = [
    "99999999999999999999",
    "-1",
    "NaN",
    "nan",
    "inf",
    "١٢٣",  # Arabic-Indic digits: int() accepts them, the desk does not
    "１２",  # fullwidth digits
    "",
    " ",
    "1e3",
    "1_000",
    "0x10",
    "1.5",
    "9" * 5000,
    "\x1b[31m5",
]
NUMBER_OPTIONS = [
    (*RECEIVE, "--fee"),
    ("act", "X-1", "record_payment", "--amount"),
    ("dossier", "list", "--after"),
    ("dossier", "list", "--limit"),
    ("report", "bieu06", "--period", "year", "--year"),
    ("report", "bieu06", "--period", "month", "--year", "2026", "--n"),
]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize("option", NUMBER_OPTIONS, ids=lambda o: o[0] + o[-1])
def test_bad_numbers(db: str, option: tuple[str, ...], value: str) -> None:
    before = digest(db)
    code, out = run(*option, value, "--db", db)
    refused(code, out, exit_codes=(2,))
    assert "\x1b" not in out
    assert digest(db) == before


# --- Dates: one parser, one range --------------------------------------------------------------

BAD_TIMES = [
    "0000-01-01 10:00",
    "0001-01-01 00:00",
    "1999-12-31 23:59",
    "2100-01-01 00:00",
    "9999-12-31 23:59",
    "10000-01-01 10:00",
    "2026-02-30 10:00",
    "２０２６-01-01 10:00",
    "",
    "x" * 5000,
]
TIME_OPTIONS = [
    (*RECEIVE, "--received"),
    (*RECEIVE, "--due"),
    ("due", "--procedure", "2.001035", "--received"),
    ("act", "X-1", "extend", "--reason", "r", "--new-due"),
]


@pytest.mark.parametrize("value", BAD_TIMES, ids=repr)
@pytest.mark.parametrize("option", TIME_OPTIONS, ids=lambda o: o[0] + o[-1])
def test_bad_times(db: str, option: tuple[str, ...], value: str) -> None:
    before = digest(db)
    refused(*run(*option, value, "--db", db))
    assert digest(db) == before


@pytest.mark.parametrize(
    "days",
    [
        ("0001-01-01", "2026-01-31"),
        ("2026-01-01", "9999-12-31"),
        ("0000-01-01", "2026-01-31"),
        ("2026-01-01", "10000-01-01"),
        ("31/12/1999", "2026-01-31"),
        ("", "2026-01-31"),
    ],
)
def test_bad_report_days(db: str, days: tuple[str, str]) -> None:
    before = digest(db)
    refused(*run("report", "fees", "--db", db, "--from", days[0], "--to", days[1]))
    assert digest(db) == before


def test_frozen_clock_out_of_range(db: str) -> None:
    refused(*run("dossier", "list", "--db", db, env={"ONESTOP_NOW": "9999-12-31 10:00"}))


# --- The desk file -----------------------------------------------------------------------------


def test_db_dev_null() -> None:
    for args in (
        ("desk", "--json"),
        ("dossier", "list"),
        ("report", "fees", "--period", "year", "--year", "2026"),
    ):
        code, out = run(*args, "--db", os.devnull)
        refused(code, out, exit_codes=(2,))


def test_db_folder_and_non_sqlite_files(tmp_path: Path) -> None:
    refused(*run("dossier", "list", "--db", str(tmp_path)), exit_codes=(2,))
    refused(*run("dossier", "list", env={"ONESTOP_DB": str(tmp_path)}), exit_codes=(2,))
    text = tmp_path / "notes.sqlite"
    text.write_text("không phải cơ sở dữ liệu\n", encoding="utf-8")
    before = text.read_bytes()
    refused(*run("dossier", "list", "--db", str(text), env={"ONESTOP_USER": ""}), exit_codes=(2,))
    assert text.read_bytes() == before
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    refused(*run("dossier", "list", "--db", str(broken)), exit_codes=(1, 2))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_db_unreadable(db: str) -> None:
    os.chmod(db, 0)
    try:
        refused(*run("dossier", "list", "--db", db), exit_codes=(2,))
    finally:
        os.chmod(db, stat.S_IRUSR | stat.S_IWUSR)


# --- verify on a hostile image -----------------------------------------------------------------


@pytest.mark.parametrize("size", [(30000, 30000), (10000, 10000), (8000, 8000)])
def test_verify_huge_png(db: str, tmp_path: Path, size: tuple[int, int]) -> None:
    png = _huge_png(tmp_path / "huge.png", *size)
    assert png.stat().st_size < 1_000_000
    before = digest(db)
    code, out = run("verify", str(png), "--db", db)
    refused(code, out, exit_codes=(1,))
    assert "quá lớn" in out
    assert digest(db) == before


def test_verify_file_too_many_bytes(db: str, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as f:
        f.truncate(MAX_IMAGE_BYTES + 1)  # sparse: nothing is really written
    code, out = run("verify", str(big), "--db", db)
    refused(code, out, exit_codes=(1,))


def test_decode_image_refuses_before_decoding(tmp_path: Path) -> None:
    png = _huge_png(tmp_path / "huge.png", 30000, 30000)
    with pytest.raises(QrDecodeError, match="quá lớn"):
        decode_image(png)
    with pytest.raises(QrDecodeError, match="quá lớn"):
        decode_image(png.read_bytes())


# --- click's own messages ----------------------------------------------------------------------

USAGE_ERRORS = [
    ("receive", "--nope"),
    ("receive", "--name", "A"),
    ("dossier", "list", "extra"),
    ("act", "X", "teleport"),
    ("dossier", "list", "--limit"),
    ("report", "nothing"),
    ("khong-co-lenh",),
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_click_usage_errors_in_vietnamese(args: tuple[str, ...]) -> None:
    code, out = run(*args)
    refused(code, out, exit_codes=(2,))
    assert "Lỗi:" in out


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_click_usage_errors_stay_english_in_english(args: tuple[str, ...]) -> None:
    code, out = run(*args, env={"ONESTOP_LANGUAGE": "en"})
    assert code == 2 and "Error:" in out and "Traceback" not in out
    assert "Lỗi" not in out and "Cách dùng" not in out
    set_language("vi")


def test_click_messages_in_detail() -> None:
    out = run("receive", "--nope")[1]
    assert "Cách dùng: " in out and " receive --help» để xem hướng dẫn." in out
    assert "Không có tùy chọn «--nope»" in out
    assert "Thiếu tùy chọn '--procedure'" in run("receive", "--name", "A")[1]
    assert "Thừa tham số không cần (extra)" in run("dossier", "list", "extra")[1]
    en = run("receive", "--nope", env={"ONESTOP_LANGUAGE": "en"})[1]
    assert "Usage: " in en and "No such option '--nope'" in en
    assert " receive --help' for help." in en


# --- The catch-all -----------------------------------------------------------------------------


def _boom(*_: object, **__: object) -> None:
    raise RuntimeError("hỏng bất ngờ")


def test_unexpected_exception_is_one_sentence_and_a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("onestop.cli.checks.parse_cccd", _boom)
    code, out = run("check-id", "001099012345")
    assert code == 1 and "Traceback" not in out
    assert "Lỗi không lường trước: RuntimeError" in out and "quản trị viên" in out
    log = _common.error_log_path()
    assert str(log) in out
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "hỏng bất ngờ" in text and "check-id" in text


def test_debug_lets_the_traceback_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("onestop.cli.checks.parse_cccd", _boom)
    with pytest.raises(RuntimeError):
        run("check-id", "001099012345", env={"ONESTOP_DEBUG": "1"})


def test_refusals_still_pass_through_the_catch_all(db: str) -> None:
    # A click exit, a domain refusal and a usage error keep their own codes and messages.
    assert run("dossier", "list", "--db", db)[0] == 0
    code, out = run(*RECEIVE[:-1], "12345", "--db", db)
    assert code == 1 and "12 chữ số" in out
    assert not _common.error_log_path().exists()


def test_bounded_int_type() -> None:
    money = _common.MONEY
    assert money.convert("1000", None, None) == 1000
    assert money.convert(" 0 ", None, None) == 0
    assert money.convert(5, None, None) == 5
    for bad in ("-0x1", "１", "1 000", str(_common.MAX_VND + 1)):
        with pytest.raises(click.BadParameter):
            money.convert(bad, None, None)
    assert _common.CURSOR.convert("42", None, None) == 42
    with pytest.raises(click.BadParameter, match="con trỏ"):
        _common.CURSOR.convert("0", None, None)
