"""``onestop report`` prints and writes exactly what the reports service builds and exports.

The command has no report logic of its own: its output must equal ``desk_report`` +
``export_bytes`` (the path the desk's Reports screen takes), for every kind and format.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from onestop.cli.main import main
from onestop.domain.reports import Period, PeriodKind, period, period_label
from onestop.forms.report_files import Report, to_text
from onestop.services import reports as svc
from onestop.services.demo import build_demo
from onestop.services.desk import Desk
from tests.conftest import FROZEN

KINDS = ("bieu06", "book", "fees", "evaluation", "indicators")
NOW = {"ONESTOP_NOW": f"{FROZEN:%Y-%m-%d %H:%M}"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "demo.sqlite"
    build_demo(path, dossiers=60, seed=3, now=FROZEN)
    return path


def run(*args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, list(args), env=NOW, catch_exceptions=False)
    return result.exit_code, result.stdout_bytes, result.stderr


def service_report(db: Path, kind: str, *, field: str | None = None) -> tuple[Desk, Report]:
    desk = Desk.open(db, clock=lambda: FROZEN.replace(second=0, microsecond=0), role="admin")
    first, last = period(PeriodKind.MONTH, FROZEN.year, FROZEN.month)
    label = period_label(PeriodKind.MONTH, FROZEN.year, FROZEN.month)
    return desk, svc.desk_report(desk, kind, Period(first, last), field=field, period_label=label)


def month_args(db: Path) -> list[str]:
    return [
        "--db",
        str(db),
        "--period",
        "month",
        "--year",
        str(FROZEN.year),
        "--n",
        str(FROZEN.month),
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_printed_report_is_the_services(db: Path, kind: str) -> None:
    desk, rep = service_report(db, kind)
    try:
        code, out, err = run("report", kind, *month_args(db), "--format", "json")
        assert code == 0, err
        assert json.loads(out) == json.loads(svc.export_bytes(rep, "json", desk))
        code, out, err = run("report", kind, *month_args(db), "--format", "csv")
        assert code == 0, err
        # On the terminal the CSV has no BOM (that is for Excel, in the file).
        assert out == svc.export_bytes(rep, "csv", desk).removeprefix(b"\xef\xbb\xbf")
        code, out, err = run("report", kind, *month_args(db))
        assert code == 0, err
        assert out.decode("utf-8") == to_text(rep)
    finally:
        desk.close()


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_written_file_is_the_services_export(db: Path, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"fees.{fmt}"
    code, out, err = run(
        "report",
        "fees",
        *month_args(db),
        "--field",
        " Hộ tịch ",
        "--format",
        fmt,
        "--out",
        str(target),
    )
    assert code == 0, err
    assert str(target) in out.decode("utf-8")
    desk, rep = service_report(db, "fees", field="Hộ tịch")
    try:
        expected = svc.export_bytes(rep, fmt, desk)
    finally:
        desk.close()
    if fmt == "xlsx":
        assert target.read_bytes()[:2] == b"PK" and expected[:2] == b"PK"
    else:
        assert target.read_bytes() == expected
    if fmt == "csv":
        assert expected.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8


def test_a_bad_period_is_refused(db: Path) -> None:
    code, _, err = run(
        "report", "bieu06", "--db", str(db), "--period", "month", "--year", "2026", "--n", "13"
    )
    assert code == 1 and err
