"""Desk benchmark on a large desk (default 1,000,000 dossiers).

Run:  .venv/bin/python -m tests.bench.bench_desk [--dossiers 1000000] [--samples 300]

Prints one table: intake p50/p95 (wall and CPU), search pages, list pages (all, and the «no due
date» filter), the tracking book of ~28k rows, dashboard counts, cold start and database size,
each next to the bare-SQLite cost of the same work measured in the same run. The bare side runs
the same SQL through ``sqlite3`` and fetches the same columns, without building dossiers: the
search is the desk's own FTS5 keyset query (``FTS_KEYSET_SQL``), not "every match, then sort".

The tracking book is timed over a period holding ``--book-rows`` dossiers (28,310: a month of the
1M-dossier desk); on a smaller desk that period is longer than a month (the row is labelled).

The big desk is built once by a bulk loader that uses the *real* domain code (events, hash
chain, ``apply``, search keys) but inserts with ``executemany`` in large transactions; it is
cached under the system temp dir, keyed by size, because building 1M dossiers takes minutes.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from onestop.domain.codes import make_dossier_code
from onestop.domain.events import GENESIS_HEAD, Event, EventKind, chain, next_hlc, to_epoch
from onestop.domain.lifecycle import DossierState, apply
from onestop.domain.reports import Period
from onestop.services import reports
from onestop.services.demo import (
    DEMO_COMMUNE,
    DEMO_UNIT,
    FAMILY,
    GIVEN_F,
    GIVEN_M,
    MIDDLE_F,
    MIDDLE_M,
)
from onestop.services.desk import Applicant, Desk, IntakeForm
from onestop.store.queries import DossierFilter
from onestop.store.repo_dossiers import dossier_search_key, state_to_values
from onestop.store.timefmt import dt_to_text

# The desk's search page: its FTS5 keyset query (store/repo_dossiers.FTS_KEYSET_SQL; a test keeps
# the two equal) with the page's rows, one statement, as the desk runs it.
FTS_KEYSET_SQL = (
    "SELECT rowid FROM dossier_fts WHERE dossier_fts MATCH :q AND rowid < :after "
    "ORDER BY rowid DESC LIMIT :n"
)
STATE_COLUMNS = "id, " + ", ".join(f.name for f in fields(DossierState))
BARE_SEARCH = f"SELECT {STATE_COLUMNS} FROM dossier WHERE id IN ({FTS_KEYSET_SQL}) ORDER BY id DESC"

NOW = datetime(2026, 11, 20, 10, 0)
DESK_ID = f"{DEMO_COMMUNE[0]}-01"


def build_big_desk(path: Path, n: int, *, seed: int = 7) -> None:
    """Bulk-load ``n`` dossiers over ~3 years; ~2% still open so the dashboard has work."""
    tmp = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    desk = Desk.initialise(
        tmp,
        unit_eid=DEMO_UNIT,
        commune_code=DEMO_COMMUNE[0],
        commune_name=DEMO_COMMUNE[1],
        province_code=DEMO_COMMUNE[2],
        clock=lambda: NOW,
    )
    proc = desk.procedure("2.001035", day=NOW.date())
    desk.close()
    rng = random.Random(seed)
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")  # bulk load only; the benchmark itself runs with FULL
    head, hlc, seq = GENESIS_HEAD, 0, 0
    start = NOW - timedelta(days=3 * 365)
    step = (NOW - start) / n
    counters: dict[str, int] = {}
    ev_rows: list[tuple[object, ...]] = []
    dz_rows: list[dict[str, object]] = []
    fts_rows: list[tuple[int, str]] = []
    cols: list[str] | None = None
    t0 = time.perf_counter()
    for i in range(n):
        at = (start + step * i).replace(microsecond=0)
        at = at.replace(hour=7 + (i % 9), minute=i % 60)
        day = at.strftime("%y%m%d")
        counters[day] = counters.get(day, 0) + 1
        code = make_dossier_code(DEMO_UNIT, at.date(), 1, counters[day])
        female = rng.random() < 0.5
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_F if female else MIDDLE_M)} {rng.choice(GIVEN_F if female else GIVEN_M)}"
        cccd = f"038{1 if female else 0}{rng.randint(50, 99)}{rng.randint(0, 999999):06d}"
        due = at + timedelta(days=2)
        data = {
            "procedure": proc.code,
            "procedure_version": 1,
            "procedure_name": proc.name,
            "field": proc.field,
            "time_unit": proc.limit.unit.value,
            "time_value": proc.limit.value,
            "applicant": {"name": name, "id": cccd, "phone": f"09{rng.randint(0, 99999999):08d}"},
            "channel": "in_person",
            "documents": list(proc.documents),
            "fee": 50000,
            "due": to_epoch(due),
        }
        open_ = i >= n * 0.98
        steps = [(EventKind.RECEIVE, data, at)]
        if not open_:
            steps += [
                (EventKind.RESOLVE, {"decision": "approved"}, at + timedelta(days=1)),
                (EventKind.MARK_READY, {}, at + timedelta(days=1, hours=1)),
                (EventKind.RETURN_RESULT, {"channel": "desk"}, at + timedelta(days=1, hours=2)),
            ]
        state = None
        for kind, d, when in steps:
            seq += 1
            hlc = next_hlc(hlc, when)
            e = Event(DESK_ID, seq, hlc, kind, code, when, "Lò Thị Mai", "clerk", "", d)
            body = e.body()
            head = chain(head, body)
            ev_rows.append(
                (
                    DESK_ID,
                    seq,
                    hlc,
                    kind.value,
                    code,
                    dt_to_text(when),
                    "Lò Thị Mai",
                    "clerk",
                    body,
                    head,
                )
            )
            state = apply(state, e)
        assert state is not None
        values = state_to_values(state)
        values["id"] = i + 1
        cols = cols or list(values)
        dz_rows.append(values)
        fts_rows.append((i + 1, dossier_search_key(state)))
        if len(dz_rows) >= 20000 or i == n - 1:
            con.executemany(
                "INSERT INTO event(desk_id,seq,hlc,kind,dossier,at,actor,role,body,head) VALUES (?,?,?,?,?,?,?,?,?,?)",
                ev_rows,
            )
            con.executemany(
                f"INSERT INTO dossier({','.join(cols)}) VALUES ({','.join(':' + c for c in cols)})",
                dz_rows,
            )
            con.executemany("INSERT INTO dossier_fts(rowid, search_key) VALUES (?,?)", fts_rows)
            con.commit()
            ev_rows, dz_rows, fts_rows = [], [], []
            print(
                f"\r  building {i + 1:,}/{n:,} ({time.perf_counter() - t0:.0f} s)",
                end="",
                file=sys.stderr,
                flush=True,
            )
    for day, last in counters.items():
        con.execute(
            "INSERT OR REPLACE INTO code_counter(day,last) VALUES (?,?)",
            ("20" + day[:2] + "-" + day[2:4] + "-" + day[4:], last),
        )
    con.execute(
        "INSERT OR REPLACE INTO desk_state(desk_id,last_seq,head,hlc) VALUES (?,?,?,?)",
        (DESK_ID, seq, head, hlc),
    )
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("ANALYZE")
    con.close()
    print(file=sys.stderr)
    os.replace(tmp, path)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def cpu_timed(fn: Callable[[], object], samples: int) -> list[float]:
    """CPU time (this process) per call in ms: the machine's load from other work drops out."""
    out = []
    for _ in range(samples):
        t = time.process_time()
        fn()
        out.append((time.process_time() - t) * 1000)
    return out


def timed(fn: object, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t) * 1000)
    return out


BENCH_PASSWORD = "bench-password"


def encrypt_copy(work: Path) -> bytes:
    """Turn the plain working copy into an SQLCipher desk with a keyring (``--encrypted``).

    ``sqlcipher_export`` rewrites every page under the key, exactly what ``onestop init`` makes;
    the keyring gets one clerk account so the CLI cold start logs in like a real desk.
    """
    from sqlcipher3 import dbapi2

    from onestop.store import keyring

    key = keyring.new_data_key()
    enc = work.with_name(work.stem + "-enc.sqlite")
    enc.unlink(missing_ok=True)
    con = dbapi2.connect(str(work))
    con.execute(f"ATTACH DATABASE '{enc}' AS enc KEY \"x'{key.hex()}'\"")
    con.execute("SELECT sqlcipher_export('enc')")
    con.execute("DETACH DATABASE enc")
    con.close()
    os.replace(enc, work)
    data = keyring.create_keyring(
        key,
        username="bench",
        display_name="Bench",
        roles=["clerk"],
        password=BENCH_PASSWORD,
        now=NOW,
    )
    keyring.write_keyring(keyring.keyring_path(work), data)
    return key


def bare_connection(path: Path, key: bytes | None = None) -> sqlite3.Connection:
    if key is not None:
        from sqlcipher3 import dbapi2

        con = cast(sqlite3.Connection, dbapi2.connect(str(path), isolation_level=None))
        con.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    else:
        con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
        con.execute(f"PRAGMA {pragma}")
    return con


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    ap.add_argument("--book-rows", type=int, default=28_310, help="dossiers in the book's period")
    ap.add_argument(
        "--encrypted",
        action="store_true",
        help="Run on an SQLCipher copy of the desk (as «onestop init» makes); the bare column "
        "is then bare SQLCipher, and the cold start includes the login (scrypt).",
    )
    args = ap.parse_args()
    path = args.cache_dir / f"onestop-bench-{args.dossiers}.sqlite"
    if not path.exists():
        build_big_desk(path, args.dossiers)
    work = path.with_name(path.stem + "-run.sqlite")
    subprocess.run(["cp", "--reflink=auto", str(path), str(work)], check=True)
    for s in ("-wal", "-shm", ".keyring"):
        Path(str(work) + s).unlink(missing_ok=True)
    key = encrypt_copy(work) if args.encrypted else None

    clock = [NOW]
    desk = Desk.open(work, clock=lambda: clock[0], actor="Bench", key=key)
    rng = random.Random(1)

    def intake() -> None:
        clock[0] += timedelta(seconds=7)
        desk.receive(
            IntakeForm(
                procedure_code="2.001035",
                applicant=Applicant(name="Nguyễn Thị Phương Thảo", id_number="038199012345"),
            )
        )

    intake_ms = timed(intake, args.samples)
    intake_cpu = cpu_timed(intake, args.samples)

    con = bare_connection(work, key)
    body = b"x" * 220
    n = [10**9]

    def bare_intake() -> None:
        n[0] += 1
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "INSERT INTO event(desk_id,seq,hlc,kind,dossier,at,actor,role,body,head) VALUES ('bare',?,?,'receive','b',?, 'a','c',?,?)",
            (n[0], n[0], "2026-11-20 10:00:00", body, body[:32]),
        )
        con.execute(
            "INSERT INTO dossier(code,owner_desk,procedure_code,procedure_version,procedure_name,field,time_unit,applicant_name,channel,received_at,status,clock_running,applicant_id,applicant_phone,applicant_address,applicant_email,proxy,documents,fee_vnd,fee_paid,decision_reason,supplement_count,extension_count,refusal_reason,evaluation,event_count,handler) "
            "VALUES (?, 'bare','2.001035',1,'p','f','working_days','Nguyễn Thị Phương Thảo','in_person','2026-11-20 10:00:00','received',1,'','','','','{}','[]',0,0,'',0,0,'','{}',1,'')",
            (f"bare-{n[0]}",),
        )
        con.execute(
            "INSERT INTO dossier_fts(rowid, search_key) VALUES (last_insert_rowid(), 'nguyen thi phuong thao')"
        )
        con.execute("COMMIT")

    bare_intake_ms = timed(bare_intake, args.samples)
    bare_intake_cpu = cpu_timed(bare_intake, args.samples)

    queries = [
        "nguyen van an",
        "tran thi",
        "hoang",
        "lo thi mai",
        "038199",
        "thao",
        "261120",
        "pham duc khanh",
        "vi ngoc",
        "ha",
    ]

    def search(limit: int) -> Callable[[], None]:
        def run() -> None:
            desk.page(DossierFilter(search=rng.choice(queries)), limit=limit)

        return run

    def bare_search(limit: int) -> Callable[[], None]:
        def run() -> None:
            q = " ".join(f'"{w}"*' for w in rng.choice(queries).split())
            con.execute(BARE_SEARCH, {"q": q, "after": 2**62, "n": limit + 1}).fetchall()

        return run

    search_ms = timed(search(50), args.samples)
    bare_search_ms = timed(bare_search(50), args.samples)
    search200_ms = timed(search(200), args.samples)
    bare_search200_ms = timed(bare_search(200), args.samples)

    top = con.execute("SELECT max(id) FROM dossier").fetchone()[0]

    def page(flt: DossierFilter) -> Callable[[], None]:
        def run() -> None:
            desk.page(flt, after_id=rng.randint(top // 2, top), limit=50)

        return run

    def bare_page(where: str) -> Callable[[], None]:
        def run() -> None:
            con.execute(
                f"SELECT {STATE_COLUMNS} FROM dossier WHERE {where} AND id < ? "
                "ORDER BY id DESC LIMIT 51",
                (rng.randint(top // 2, top),),
            ).fetchall()

        return run

    list_ms = timed(page(DossierFilter()), args.samples)
    bare_list_ms = timed(bare_page("1"), args.samples)
    nodue_ms = timed(page(DossierFilter(due="none")), max(20, args.samples // 10))
    bare_nodue_ms = timed(bare_page("due_at IS NULL"), max(20, args.samples // 10))

    # The book: a period ending the day before NOW that holds ``--book-rows`` dossiers.
    per_day = args.dossiers / (3 * 365)
    book_days = max(1, round(args.book_rows / per_day))
    book_period = Period(NOW.date() - timedelta(days=book_days), NOW.date() - timedelta(days=1))

    def book() -> int:
        with desk.store.read() as db:
            return len(reports.report_book(db, book_period, field=None, commune=DEMO_COMMUNE[1]))

    def bare_book() -> None:
        con.execute(
            f"SELECT {STATE_COLUMNS} FROM dossier WHERE received_at >= ? AND received_at < ? "
            "ORDER BY code",
            (dt_to_text(book_period.start_at), dt_to_text(book_period.end_at)),
        ).fetchall()

    book_rows = book()
    book_ms = timed(book, 3)
    bare_book_ms = timed(bare_book, 3)
    counts_ms = timed(desk.counts, max(30, args.samples // 5))

    def bare_counts() -> None:
        con.execute(
            "SELECT (SELECT count(*) FROM dossier WHERE clock_running=1 AND due_at < ?), "
            "(SELECT count(*) FROM dossier WHERE clock_running=1 AND due_at >= ? AND due_at < ?), "
            "(SELECT count(*) FROM dossier WHERE status='supplement_requested')",
            ("2026-11-20 10:00:00", "2026-11-20 10:00:00", "2026-11-21 00:00:00"),
        ).fetchone()

    bare_counts_ms = timed(bare_counts, max(30, args.samples // 5))
    desk.close()
    con.close()

    env = {
        **os.environ,
        "ONESTOP_NOW": "2026-11-20 10:00",
        "ONESTOP_USER": "bench",
        "ONESTOP_PASSWORD": BENCH_PASSWORD,
    }
    if key is None:
        bare_cold_code = f"import sqlite3;c=sqlite3.connect({str(work)!r})"
    else:
        bare_cold_code = (
            f"from sqlcipher3 import dbapi2;c=dbapi2.connect({str(work)!r});"
            f'c.execute("PRAGMA key = \\"x\'{key.hex()}\'\\"")'
        )
    exe = str(Path(sys.executable).parent / "onestop")
    cold = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(
            [exe, "desk", "--db", str(work), "--json"], check=True, capture_output=True, env=env
        )
        cold.append((time.perf_counter() - t) * 1000)
    bare_cold = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                bare_cold_code
                + ";c.execute('select count(*) from dossier where clock_running=1').fetchone()",
            ],
            check=True,
        )
        bare_cold.append((time.perf_counter() - t) * 1000)

    size_mb = (
        work.stat().st_size
        + sum(Path(str(work) + s).stat().st_size for s in ("-wal",) if Path(str(work) + s).exists())
    ) / 2**20
    rows = [
        ("intake p50 (ms)", statistics.median(intake_ms), statistics.median(bare_intake_ms), "—"),
        ("intake p95 (ms)", pct(intake_ms, 95), pct(bare_intake_ms, 95), "< 20"),
        (
            "intake p50 CPU (ms)",
            statistics.median(intake_cpu),
            statistics.median(bare_intake_cpu),
            "≤ 4×",
        ),
        ("search p95, 50 rows (ms)", pct(search_ms, 95), pct(bare_search_ms, 95), "< 30"),
        (
            "search p50, 200 rows (ms)",
            statistics.median(search200_ms),
            statistics.median(bare_search200_ms),
            "≤ 2×",
        ),
        (
            "list page p50, 50 rows (ms)",
            statistics.median(list_ms),
            statistics.median(bare_list_ms),
            "≤ 3×",
        ),
        (
            "list «no due date» p50, 50 rows (ms)",
            statistics.median(nodue_ms),
            statistics.median(bare_nodue_ms),
            "—",
        ),
        (
            f"tracking book, {book_rows:,} rows, {book_days} d (ms)",
            statistics.median(book_ms),
            statistics.median(bare_book_ms),
            "< 600",
        ),
        ("dashboard counts p95 (ms)", pct(counts_ms, 95), pct(bare_counts_ms, 95), "< 50"),
        (
            "cold start to counts, CLI (ms, median)",
            statistics.median(cold),
            statistics.median(bare_cold),
            "< 1000",
        ),
        ("database size (MiB)", size_mb, float("nan"), "—"),
    ]
    print(
        f"\nonestop desk benchmark{' (SQLCipher)' if key else ''} — {args.dossiers:,} dossiers, {args.samples} samples, {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}"
    )
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"| {'measure':<44} | {'onestop':>9} | {'bare SQLite':>11} | {'ratio':>6} | {'target':>7} |"
    )
    print(f"|{'-' * 46}|{'-' * 11}|{'-' * 13}|{'-' * 8}|{'-' * 9}|")
    for name, ours, bare, target in rows:
        bare_s = "—" if bare != bare else f"{bare:.2f}"
        ratio = "—" if bare != bare or not bare else f"{ours / bare:.1f}×"
        print(f"| {name:<44} | {ours:>9.2f} | {bare_s:>11} | {ratio:>6} | {target:>7} |")


if __name__ == "__main__":
    main()
