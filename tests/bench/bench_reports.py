"""Report benchmark on a large desk (default 1,000,000 dossiers).

Run:  .venv/bin/python -m tests.bench.bench_reports [--dossiers 1000000] [--repeat 3]

Uses the cached desk of ``tests.bench.bench_desk`` (built once by ``build_big_desk``; never
rebuilt here if it exists), copied to a work file so the cache stays untouched. Prints one
table: Biểu 06 for a year, a past year (with replay across its end), a month and one field;
the tracking book, fees, evaluations and indicators; the CLI end to end; and, with
``--with-index``, Biểu 06 again after adding the index the report asks for
(``dossier(finished_at, received_at)``) to the work copy.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from onestop.domain.reports import Bieu06, Period
from onestop.forms import report_files
from onestop.services import reports as svc
from onestop.services.desk import Desk
from tests.bench.bench_desk import NOW, build_big_desk


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time in ms of ``repeat`` runs (after one warm-up run), and the last result."""
    result = fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs), result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument(
        "--with-index",
        action="store_true",
        help="also time Biểu 06 with an index on dossier(finished_at, received_at)",
    )
    args = ap.parse_args()
    path = args.cache_dir / f"onestop-bench-{args.dossiers}.sqlite"
    if not path.exists():
        build_big_desk(path, args.dossiers)
    work = path.with_name(path.stem + "-reports.sqlite")
    for s in ("", "-wal", "-shm"):
        Path(str(work) + s).unlink(missing_ok=True)
    subprocess.run(["cp", "--reflink=auto", str(path), str(work)], check=True)

    desk = Desk.open(work, clock=lambda: NOW, actor="Bench")
    today = NOW.date()
    year = Period(today - timedelta(days=364), today)
    past_year = Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    last_month_end = today.replace(day=1) - timedelta(days=1)
    month = Period(last_month_end.replace(day=1), last_month_end)
    rows: list[tuple[str, float, str, str]] = []

    def add(name: str, fn: Callable[[], Any], target: str, what: Callable[[Any], str]) -> None:
        ms, result = timed(fn, args.repeat)
        rows.append((name, ms, target, what(result)))

    def b06(p: Period, field: str | None = None) -> Callable[[], Bieu06]:
        def run() -> Bieu06:
            with desk.store.read() as db:
                return svc.bieu06_fast(db, p, field=field, today=today)

        return run

    def total(b: Bieu06) -> str:
        c = b.total
        return f"(3)={c.received:,} (7)={c.resolved:,} (11)={c.pending:,}"

    def report(kind: str, p: Period, field: str | None = None) -> Callable[[], report_files.Report]:
        def run() -> report_files.Report:
            with desk.store.read() as db:
                return svc.build_report(
                    db,
                    kind,
                    p,
                    field=field,
                    unit=desk.identity.office_name,
                    commune=desk.identity.commune_name,
                    generated_at=NOW,
                )

        return run

    def rows_of(r: report_files.Report) -> str:
        return f"{sum(len(s.rows) for s in r.sections):,} rows"

    with desk.store.read() as db:
        field = db.execute(text("SELECT field FROM dossier LIMIT 1")).scalar_one()
        plan = "index" if svc.finished_index(db) else "full scan"
    add(f"Biểu 06, last 365 days ({plan})", b06(year), "< 1000", total)
    add(f"Biểu 06, {past_year.start.year} (replay at its end)", b06(past_year), "< 1000", total)
    add(f"Biểu 06, {month.start:%m/%Y}", b06(month), "—", total)
    add(f"Biểu 06, 365 days, field «{field}»", b06(year, field), "—", total)
    add(
        f"tracking book, {month.start:%m/%Y}, one field", report("book", month, field), "—", rows_of
    )
    add("fees, last 365 days", report("fees", year), "—", rows_of)
    add("evaluation, last 365 days", report("evaluation", year), "—", rows_of)
    add("indicators, last 365 days", report("indicators", year), "—", rows_of)
    desk.close()

    env = {**os.environ, "ONESTOP_NOW": NOW.strftime("%Y-%m-%d %H:%M")}
    code = "from onestop.cli.reports import report; report(prog_name='onestop report')"
    argv = [
        sys.executable,
        "-c",
        code,
        "bieu06",
        "--db",
        str(work),
        "--from",
        year.start.isoformat(),
        "--to",
        year.end.isoformat(),
        "--format",
        "json",
    ]
    cli = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        cli.append((time.perf_counter() - t) * 1000)
    rows.append(
        (
            "CLI `report bieu06 --format json`, 365 days (cold process)",
            statistics.median(cli),
            "—",
            "",
        )
    )

    if args.with_index:
        con = sqlite3.connect(work)
        t = time.perf_counter()
        con.execute("CREATE INDEX ix_dossier_finished ON dossier (finished_at, received_at)")
        con.execute("ANALYZE ix_dossier_finished")
        con.commit()
        con.close()
        rows.append(
            (
                "create index dossier(finished_at, received_at)",
                (time.perf_counter() - t) * 1000,
                "—",
                "one-off",
            )
        )
        desk = Desk.open(work, clock=lambda: NOW, actor="Bench")
        add("Biểu 06, last 365 days (index)", b06(year), "< 1000", total)
        add(f"Biểu 06, {past_year.start.year} (index)", b06(past_year), "< 1000", total)
        add(f"Biểu 06, {month.start:%m/%Y} (index)", b06(month), "—", total)
        desk.close()

    print(
        f"\nonestop report benchmark — {args.dossiers:,} dossiers, median of {args.repeat} "
        f"warm runs, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    print(f"| {'measure':<58} | {'ms':>8} | {'target':>7} | result")
    print(f"|{'-' * 60}|{'-' * 10}|{'-' * 9}|{'-' * 40}")
    for name, ms, target, what in rows:
        print(f"| {name:<58} | {ms:>8.0f} | {target:>7} | {what}")
    for s in ("", "-wal", "-shm"):
        Path(str(work) + s).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
