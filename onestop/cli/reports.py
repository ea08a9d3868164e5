"""``onestop report``: Biểu 06, the tracking book, fees, evaluations and service indicators.

Attached to the main group in :mod:`onestop.cli.main` with ``main.add_command(report)``. The
report is built and exported by :mod:`onestop.services.reports` (``desk_report``,
``export_bytes``), the same path as the desk's Reports screen; this module only reads the options
and writes the result.

Exit codes as in ``cli/main.py``: 0 done; 1 refused input (bad period, broken report); 2 usage.
"""

from __future__ import annotations

from pathlib import Path

import click

from onestop.cli._common import YEAR, Refused, count, db_option, open_desk, parse_day
from onestop.domain.reports import Period, PeriodKind, ReportError, period, period_label
from onestop.i18n import t

__all__ = ["report"]

_FORMATS = ("table", "json", "csv", "xlsx", "pdf")
_KINDS = ("bieu06", "book", "fees", "evaluation", "indicators")
_TEXT_FORMATS = ("table", "json", "csv")  # printed when there is no --out


def _resolve_period(
    start: str | None,
    end: str | None,
    kind: str | None,
    year: int | None,
    n: int | None,
    cutoff: bool,
) -> tuple[Period, str]:
    if kind is not None or year is not None:
        if start or end:
            raise click.UsageError(
                t("Chọn hoặc --from/--to, hoặc --period/--year/--n, không dùng cả hai.")
            )
        if kind is None or year is None:
            raise click.UsageError(
                t("--period cần đi kèm --year (và --n với tháng, quý, 6 tháng).")
            )
        if n is None and kind != PeriodKind.YEAR:
            raise click.UsageError(
                t("--period {kind} cần --n (số thứ tự tháng, quý hoặc 6 tháng).", kind=kind)
            )
        # Never "n or 1": --n 0 was January. The domain refuses n outside 1..12/4/2 per kind.
        number = 1 if n is None else n
        first, last = period(kind, year, number, cutoff=cutoff)
        return Period(first, last), period_label(kind, year, number)
    if not start or not end:
        raise click.UsageError(
            t("Cần kỳ báo cáo: --from NGÀY --to NGÀY, hoặc --period quarter --year 2026 --n 1.")
        )
    if cutoff or n is not None:
        raise click.UsageError(t("--cutoff và --n chỉ dùng cùng --period."))
    return Period(parse_day(start, "--from"), parse_day(end, "--to")), ""


@click.command("report")
@click.argument("kind", type=click.Choice(_KINDS), metavar="KIND")
@click.option("--from", "start", default=None, help="Ngày đầu kỳ «YYYY-MM-DD» (tính cả ngày này).")
@click.option("--to", "end", default=None, help="Ngày cuối kỳ «YYYY-MM-DD» (tính cả ngày này).")
@click.option("--field", default=None, help="Chỉ một lĩnh vực, ví dụ «Chứng thực».")
@click.option(
    "--period",
    "period_kind",
    type=click.Choice([k.value for k in PeriodKind]),
    default=None,
    help="Kỳ báo cáo chuẩn: month, quarter, half (6 tháng), year; đi cùng --year và --n.",
)
@click.option("--year", type=YEAR, default=None, help="Năm của kỳ báo cáo.")
@click.option(
    "--n", type=count(0, 99), default=None, help="Tháng (1–12), quý (1–4) hoặc 6 tháng (1–2)."
)
@click.option(
    "--cutoff",
    is_flag=True,
    help="Thời gian chốt số liệu theo NĐ 09/2019: từ ngày 15 tháng trước đến ngày 14 tháng cuối kỳ.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="table",
    show_default=True,
    help="Định dạng: table (màn hình), json, csv, xlsx, pdf.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Ghi ra tệp."
)
@click.option("--json", "as_json", is_flag=True, help="Như --format json.")
@db_option
def report(
    kind: str,
    start: str | None,
    end: str | None,
    field: str | None,
    period_kind: str | None,
    year: int | None,
    n: int | None,
    cutoff: bool,
    fmt: str,
    out: Path | None,
    as_json: bool,
    db: Path | None,
) -> None:
    """Lập báo cáo: bieu06, book (sổ theo dõi), fees (phí, lệ phí), evaluation, indicators.

    \b
    KIND: bieu06      Biểu số 06/VPCP/KSTT, tình hình, kết quả giải quyết TTHC
          book        Sổ theo dõi hồ sơ (Mẫu 06), theo lĩnh vực
          fees        Phí, lệ phí đã thu theo thủ tục, lĩnh vực, ngày
          evaluation  Tổng hợp đánh giá của người dân (9 tiêu chí, mức hài lòng)
          indicators  Chỉ số phục vụ (tinh thần QĐ 766) kèm công thức
    Ví dụ: onestop report bieu06 --period quarter --year 2026 --n 1 --format xlsx --out q1.xlsx
    """
    from onestop.forms.report_files import to_text
    from onestop.services import reports as svc
    from onestop.services.desk import DeskError

    if as_json:
        fmt = "json"
    try:
        p, _ = _resolve_period(start, end, period_kind, year, n, cutoff)
    except ReportError as e:
        raise Refused(str(e)) from e
    with open_desk(db) as desk:
        # Again once the desk's language is set: the period label ("Quý I năm 2026") is text.
        label = _resolve_period(start, end, period_kind, year, n, cutoff)[1]
        try:
            # The one way a report is built and exported: the TUI's Reports screen uses the same.
            rep = svc.desk_report(
                desk,
                kind,
                p,
                field=field.strip() if field else None,
                period_label=label,
                cutoff=cutoff,
            )
            # "table" is the screen form; every file format is the service's export.
            data = (
                to_text(rep).encode("utf-8") if fmt == "table" else svc.export_bytes(rep, fmt, desk)
            )
        except (ReportError, DeskError) as e:
            raise Refused(str(e)) from e
    if out is None and fmt in _TEXT_FORMATS:
        # On the terminal without the CSV file's BOM (it is only there for Excel).
        click.echo(data.decode("utf-8-sig"), nl=False)
        return
    if out is None:
        out = Path(f"{kind}-{p.start:%Y%m%d}-{p.end:%Y%m%d}.{fmt}")
    try:
        out.write_bytes(data)
    except OSError as e:
        raise Refused(t("Không ghi được tệp {path}: {err}", path=out, err=e.strerror)) from e
    click.echo(t("Đã ghi {path}", path=out))
