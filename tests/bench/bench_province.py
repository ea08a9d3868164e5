"""Province dashboard benchmark: /province, the ranking API and server memory at province scale.

Run:  .venv/bin/python -m tests.bench.bench_province [--communes 20] [--dossiers 1000]
      (the issue's 1 M-dossier figure: --communes 100 --dossiers 10000; ~10 min to load)
      [--url postgresql+psycopg://…]: measure that database instead of a throwaway cluster
      (migrated to head first; loaded only if it holds no dossier), so one load serves many
      runs, and a new migration's backfill runs on the loaded data

What it does (everything on 127.0.0.1, real processes):

1. Starts a throwaway PostgreSQL cluster (as tests/server and bench_sync do) and migrates the
   server schema.
2. Loads ``--communes`` × ``--dossiers`` dossiers received over two years, one desk per commune,
   without syncing them: each dossier's log (receive, forward, start, sometimes a supplement
   pause or an extension, a decision early / on time / late, a withdrawal now and then, the
   return, an evaluation for some) is built as real event bodies (canonical CBOR, chained per
   desk), folded with the lifecycle's own ``apply`` into the exact projection row ingest would
   write (state JSON and, on code that has them, the figure columns and evaluation rows), and
   bulk-loaded with COPY. About 6.4 events per dossier, as in the issue.
3. Starts a real ``onestop serve`` (one worker) on that database, logs in as province staff, and
   requests the dashboard page (``/province``, the ranked table), the JSON ranking
   (``/api/v1/province/communes``) and one commune's Biểu 06 for last month and this year:
   the first (cold) request, then p50/p95 of ``--requests`` more; and the server's peak RSS
   above its idle RSS while they ran.

Targets (issue 19 §1, at 1 M dossiers on PostgreSQL): dashboard, ranking and the JSON API p95
< 1 s for a month and < 2 s for a year; server memory per request < 200 MB.

The loader needs no new code, so the same command measures the code before issue 19 (its
schema has no figure columns: they are simply not written).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

os.environ.setdefault("ONESTOP_SERVER_PASSPHRASE", "mật khẩu khóa máy chủ bench")

import httpx  # noqa: E402

from onestop.domain.events import GENESIS_HEAD, Event, EventKind, chain, to_epoch  # noqa: E402
from onestop.domain.lifecycle import apply  # noqa: E402
from onestop.wire.state import state_json  # noqa: E402
from tests.services.sync.helpers import ServerProcess, pg_bin, pg_cluster  # noqa: E402

try:  # the figure columns (issue 19); absent on the code measured "before"
    from onestop.domain import milestones
    from onestop.server.ingest import figure_columns
except ImportError:  # pragma: no cover - only when benchmarking older code
    milestones = None  # type: ignore[assignment]
    figure_columns = None  # type: ignore[assignment]
try:  # server_figure (issue 19, migration 0007)
    from onestop.server.ingest import backfill_figure_rows
except ImportError:  # pragma: no cover - only when benchmarking older code
    backfill_figure_rows = None  # type: ignore[assignment]

TODAY = date(2026, 12, 6)
FIRST_DAY = date(2025, 1, 1)
LAST_DAY = date(2026, 12, 5)
FIELDS = (
    ("Chứng thực", "2.001035", 2),
    ("Hộ tịch", "1.004873", 3),
    ("Đất đai", "1.012345", 10),
    ("Cư trú", "1.010000", 5),
    ("Lao động", "1.001234", 7),
)
STAFF = ("can.bo.bench", "mật khẩu bench tỉnh 2026")


# ----------------------------------------------------------------------------- data


@dataclass
class Loaded:
    dossiers: int
    events: int
    seconds: float


def _log(
    code: str, rng: random.Random, received: datetime
) -> list[tuple[EventKind, datetime, dict[str, Any]]]:
    """One dossier's lifecycle as (kind, time, data), the way a desk's clerks would make it."""
    fname, proc, days = rng.choice(FIELDS)
    due = (received + timedelta(days=days + 2 * (days // 5))).replace(hour=17, minute=0)
    channel = rng.choices(["in_person", "online", "post"], [70, 25, 5])[0]
    out: list[tuple[EventKind, datetime, dict[str, Any]]] = [
        (
            EventKind.RECEIVE,
            received,
            {
                "procedure": proc,
                "procedure_version": 1,
                "procedure_name": f"Thủ tục {proc}",
                "field": fname,
                "time_unit": "working_days",
                "time_value": days,
                "channel": channel,
                "fee": 50000,
                "due": to_epoch(due),
                "applicant": {
                    "name": f"Nguyễn Văn {code[-4:]}",
                    "id": f"0{rng.randrange(10**10, 10**11)}",
                    "address": "Thôn Bản Na",
                    "phone": f"09{rng.randrange(10**7, 10**8)}",
                },
                "documents": ["Đơn đề nghị", "Bản sao CCCD"],
            },
        )
    ]
    at = received + timedelta(minutes=rng.randrange(20, 120))
    out.append((EventKind.FORWARD, at, {"to": "Công chức Tư pháp"}))
    at += timedelta(hours=rng.randrange(1, 20))
    out.append((EventKind.START, at, {"to": "Công chức Tư pháp"}))
    if rng.random() < 0.03:
        at += timedelta(days=rng.randrange(0, 4))
        out.append((EventKind.WITHDRAW, at, {"reason": "Công dân đề nghị rút hồ sơ."}))
        return out
    if rng.random() < 0.12:
        at += timedelta(days=rng.randrange(1, 3))
        out.append((EventKind.REQUEST_SUPPLEMENT, at, {"reason": "Thiếu bản sao giấy tờ."}))
        pause = timedelta(days=rng.randrange(2, 9))
        at += pause
        due += pause
        out.append((EventKind.RECORD_SUPPLEMENT, at, {"due": to_epoch(due)}))
    if rng.random() < 0.04:
        at += timedelta(days=1)
        due += timedelta(days=5)
        out.append((EventKind.EXTEND, at, {"reason": "Cần xác minh thêm.", "due": to_epoch(due)}))
    roll = rng.random()
    decided = (
        due - timedelta(days=rng.randrange(1, max(2, days)))
        if roll < 0.8
        else due.replace(hour=10)
        if roll < 0.9
        else due + timedelta(days=rng.randrange(1, 10))
    )
    if decided <= at:
        decided = at + timedelta(hours=2)
    # Dossiers received lately, and one in a hundred of all, are still open.
    if decided.date() >= TODAY or rng.random() < 0.01:
        return out
    out.append((EventKind.RESOLVE, decided, {"decision": "approved"}))
    at = decided + timedelta(hours=rng.randrange(1, 6))
    if at.date() >= TODAY:
        return out
    out.append((EventKind.MARK_READY, at, {}))
    at += timedelta(days=rng.randrange(0, 4), hours=1)
    if at.date() >= TODAY:
        return out
    out.append((EventKind.RETURN_RESULT, at, {"channel": "desk"}))
    if rng.random() < 0.4:
        out.append(
            (
                EventKind.EVALUATE,
                at + timedelta(minutes=5),
                {
                    "scores": [rng.choice([1, 2, 2]) for _ in range(9)],
                    "satisfaction": rng.choice([3, 4, 5, 5]),
                },
            )
        )
    return out


def _commune_rows(
    n: int, dossiers: int, seed: int
) -> tuple[str, list[tuple[Any, ...]], list[dict[str, Any]], list[dict[str, Any]], bytes, int]:
    """Event rows, projection rows and evaluation rows of commune ``n``'s one desk."""
    rng = random.Random(seed * 100_003 + n)
    commune = f"{10000 + n:05d}"
    desk_id = f"{commune}-01"
    span = (LAST_DAY - FIRST_DAY).days
    logs: list[tuple[str, list[tuple[EventKind, datetime, dict[str, Any]]]]] = []
    times = sorted(
        datetime.combine(FIRST_DAY + timedelta(days=rng.randrange(span)), datetime.min.time())
        + timedelta(hours=7, minutes=rng.randrange(0, 600))
        for _ in range(dossiers)
    )
    for i, received in enumerate(times):
        code = f"000.{n % 100:02d}.{n // 100:02d}.H56-{received:%y%m%d}-{i + 1:04d}"
        logs.append((code, _log(code, rng, received)))
    flat = sorted(
        ((at, code, j, kind, data) for code, log in logs for j, (kind, at, data) in enumerate(log)),
        key=lambda x: (x[0], x[1], x[2]),
    )
    head = GENESIS_HEAD
    hlc = 0
    by_code: dict[str, list[Event]] = {}
    events: list[tuple[Any, ...]] = []
    accepted = to_epoch(datetime.combine(TODAY, datetime.min.time()))
    for seq, (at, code, _j, kind, data) in enumerate(flat, start=1):
        hlc = max(hlc + 1, (to_epoch(at) * 1000) << 16)
        ev = Event(desk_id, seq, hlc, kind, code, at, "Lò Thị Mai", "clerk", "", data)
        body = ev.body()
        head = chain(head, body)
        events.append((desk_id, seq, hlc, kind.value, code, body, head, accepted))
        by_code.setdefault(code, []).append(ev)
    dossier_rows: list[dict[str, Any]] = []
    evaluations: list[dict[str, Any]] = []
    for code, evs in by_code.items():
        if milestones is not None:
            state, ms = milestones.fold(evs)
        else:
            state, ms = None, None
            for e in evs:
                state = apply(state, e)
        assert state is not None
        last = evs[-1]
        row: dict[str, Any] = {
            "code": code,
            "commune": commune,
            "owner_desk": desk_id,
            "status": str(state.status),
            "received_at": state.received_at.isoformat(" ", "seconds"),
            "due_at": None if state.due_at is None else state.due_at.isoformat(" ", "seconds"),
            "last_hlc": last.hlc,
            "last_desk": desk_id,
            "last_seq": last.seq,
            "event_count": state.event_count,
            "state": state_json(state),
        }
        if figure_columns is not None and ms is not None:
            row.update(figure_columns(state, ms))
        dossier_rows.append(row)
        for e in evs:
            if e.kind == EventKind.EVALUATE:
                scores = list(e.data["scores"])
                ev_row = {
                    "desk_id": desk_id,
                    "seq": e.seq,
                    "dossier": code,
                    "at": e.at.isoformat(" ", "seconds"),
                    "satisfaction": e.data["satisfaction"],
                }
                ev_row.update({f"s{i + 1}": scores[i] for i in range(9)})
                evaluations.append(ev_row)
    return desk_id, events, dossier_rows, evaluations, head, hlc


def _commune_rows_star(args: tuple[int, int, int]) -> Any:
    return _commune_rows(*args)


def load(url: str, communes: int, dossiers: int, distinct: int) -> Loaded:
    """Migrate, COPY ``distinct`` communes' rows in (one transaction per commune), then copy
    those communes inside PostgreSQL (renamed codes, communes and desks) up to ``communes``."""
    import psycopg

    from onestop.crypto.signer import SoftwareSigner
    from onestop.server.db import ServerDB, migrate
    from onestop.server.web import staff

    db = ServerDB(url)
    migrate(db)
    staff.add_staff(db, STAFF[0], STAFF[1], display_name="Bench")
    db.close()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    t0 = time.perf_counter()
    n_events = 0
    # Building the logs is CPU (CBOR, the lifecycle fold): one process per core builds
    # communes while this one copies them in.
    pool = mp.get_context("fork").Pool(max(1, (os.cpu_count() or 1)))
    built = pool.imap(_commune_rows_star, [(n, dossiers, 19) for n in range(1, distinct + 1)])
    with pool, psycopg.connect(dsn) as conn:
        cols = {
            table: [
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                    (table,),
                )
            ]
            for table in ("server_dossier", "server_evaluation")
        }
        signer = SoftwareSigner.generate()
        for n, (desk_id, events, rows, evals, head, hlc) in enumerate(built, start=1):
            n_events += len(events)
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO server_desk (desk_id, commune, desk_no, desk_name, unit_eid, alg, "
                    "public_key, kid, status, enrolled_at, acked_seq, head, hlc_max, last_seen_at) "
                    "VALUES (%s, %s, 1, 'Quầy 1', '', %s, %s, %s, 'active', 0, %s, %s, %s, %s)",
                    (
                        desk_id,
                        desk_id[:5],
                        signer.alg,
                        signer.public_key_bytes(),
                        hashlib.sha256(desk_id.encode()).digest()[:8],
                        len(events),
                        head,
                        hlc,
                        to_epoch(datetime.combine(TODAY, datetime.min.time())),
                    ),
                )
                with cur.copy(
                    "COPY server_event (desk_id, seq, hlc, kind, dossier, body, head, accepted_at) "
                    "FROM STDIN"
                ) as copy:
                    for e in events:
                        copy.write_row(e)
                names = [c for c in rows[0] if c in cols["server_dossier"]]
                with cur.copy(f"COPY server_dossier ({', '.join(names)}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(tuple(r[c] for c in names))
                if evals and cols["server_evaluation"]:
                    names = list(evals[0])
                    with cur.copy(
                        f"COPY server_evaluation ({', '.join(names)}) FROM STDIN"
                    ) as copy:
                        for r in evals:
                            copy.write_row(tuple(r[c] for c in names))
            conn.commit()
            if n % 10 == 0 or n == distinct:
                print(
                    f"  built and loaded {n}/{distinct} communes ({n_events:,} events, "
                    f"{time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
        per_commune = n_events / distinct
        for first in range(distinct + 1, communes + 1, distinct):
            k = (first - 1) // distinct
            _replicate(conn, cols, k * distinct, min(distinct, communes - first + 1))
            conn.commit()
            n_events += int(per_commune * min(distinct, communes - first + 1))
            print(
                f"  copied communes {first}-{min(communes, first + distinct - 1)} "
                f"({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        if backfill_figure_rows is not None:
            # server_figure (issue 19): the rows ingest would have written, from the loaded
            # dossiers' figure columns, by the migration's own backfill.
            db = ServerDB(url)
            with db.write() as sa_conn:
                backfill_figure_rows(sa_conn)
            db.close()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT count(*) FROM server_event").fetchone()
        n_events = int(row[0]) if row else n_events
    return Loaded(communes * dossiers, n_events, time.perf_counter() - t0)


def _replicate(conn: Any, cols: dict[str, list[str]], offset: int, count: int) -> None:
    """Communes 1..count again as communes offset+1.., inside the database: every code, commune
    and desk id renamed (the event bodies keep the original codes: only replays decode them,
    and they fold the same)."""
    commune = f"lpad((commune::int + {offset})::text, 5, '0')"
    desk = f"lpad((substr({{c}}, 1, 5)::int + {offset})::text, 5, '0') || substr({{c}}, 6)"
    suffix = f"'~{offset}'"
    where = f"substr({{c}}, 1, 5)::int <= {10000 + count}"
    renames = {
        "server_desk": {"desk_id": desk, "commune": commune},
        "server_event": {"desk_id": desk, "dossier": f"dossier || {suffix}"},
        "server_dossier": {
            "code": f"code || {suffix}",
            "commune": commune,
            "owner_desk": desk,
            "last_desk": desk,
        },
        "server_evaluation": {"desk_id": desk, "dossier": f"dossier || {suffix}"},
    }
    keys = {
        "server_desk": "desk_id",
        "server_event": "desk_id",
        "server_dossier": "owner_desk",
        "server_evaluation": "desk_id",
    }
    for table, rename in renames.items():
        names = cols.get(table) or [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (table,),
            )
        ]
        if not names:
            continue
        exprs = [rename.get(c, c).format(c=c) for c in names]
        # Only the distinct communes (the originals) are copied, never earlier copies.
        cond = where.format(c=keys[table])
        conn.execute(
            f"INSERT INTO {table} ({', '.join(names)}) "
            f"SELECT {', '.join(exprs)} FROM {table} WHERE {cond}"
        )


# ----------------------------------------------------------------------------- measuring


def _tree_rss(pid: int) -> int:
    """Resident set of ``pid`` and its children, in bytes (uvicorn may fork a worker)."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(entry.name))
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class RssPeak:
    """Samples the server's RSS every 20 ms in a thread; ``peak`` since the last reset."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(self.pid))
            time.sleep(0.02)

    def reset(self) -> int:
        self.peak = _tree_rss(self.pid)
        return self.peak

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Timing:
    first: float
    p50: float
    p95: float
    rss_mb: float


def measure(client: httpx.Client, path: str, repeat: int, rss: RssPeak) -> Timing:
    base = rss.reset()
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        r = client.get(path, timeout=600)
        times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {r.status_code} {r.text[:300]}")
        if i == 0:
            print(f"    {path}: first {times[0]:.2f} s", flush=True)
    rest = sorted(times[1:])
    p95 = rest[min(len(rest) - 1, int(round(0.95 * (len(rest) - 1))))] if rest else times[0]
    return Timing(times[0], median(rest) if rest else times[0], p95, (rss.peak - base) / 2**20)


def _measure_fresh(url: str, path: str, repeat: int) -> Timing:
    server = ServerProcess(url)
    server.start(timeout=120)
    assert server.proc is not None
    rss = RssPeak(server.proc.pid)
    try:
        with httpx.Client(base_url=server.url, timeout=600) as client:
            r = client.post("/province/login", data={"username": STAFF[0], "password": STAFF[1]})
            if r.status_code != 303:
                raise RuntimeError(f"login: HTTP {r.status_code} {r.text[:300]}")
            return measure(client, path, repeat, rss)
    finally:
        rss.close()
        server.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--communes", type=int, default=20)
    ap.add_argument("--dossiers", type=int, default=1000, help="per commune")
    ap.add_argument("--requests", type=int, default=10, help="timed requests after the first")
    ap.add_argument(
        "--distinct",
        type=int,
        default=20,
        help="communes whose logs are built; the others are copies of them made in SQL",
    )
    ap.add_argument(
        "--url",
        help="an existing PostgreSQL server database to measure (and load first if empty), "
        "e.g. one kept from an earlier run: the 1 M load takes 10-15 min",
    )
    args = ap.parse_args()
    if pg_bin() is None:
        print("Skipped: the PostgreSQL server binaries (initdb, pg_ctl) are not installed.")
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        print("Skipped: psycopg is not installed (pip install 'onestop[postgres]').")
        return
    lines: list[tuple[str, str, str]] = []
    if args.url:
        # A database loaded by an earlier run (or by ``load``): migrated to this code's
        # schema (a new migration's backfill runs on the loaded data), loaded only if empty.
        _measure_all(args, args.url, lines, str(pg_bin()))
        return
    work = Path(tempfile.mkdtemp(prefix="onestop-bench-province-"))
    with pg_cluster(work) as cluster:
        _measure_all(args, cluster.create_database("province"), lines, str(cluster.bin))


def _migrated_count(url: str) -> int:
    from sqlalchemy import text

    from onestop.server.db import ServerDB, migrate

    db = ServerDB(url)
    try:
        t0 = time.perf_counter()
        migrate(db)
        print(f"  migrated to head ({time.perf_counter() - t0:.0f} s)", flush=True)
        with db.read() as conn:
            return int(conn.execute(text("SELECT count(*) FROM server_dossier")).scalar_one())
    finally:
        db.close()


def _measure_all(
    args: argparse.Namespace, url: str, lines: list[tuple[str, str, str]], pg: str
) -> None:
    held = _migrated_count(url) if args.url else 0
    if held:
        row = (f"Reused {held:,} dossiers already loaded ({args.url})", "", "")
    else:
        print(f"Loading {args.communes} communes × {args.dossiers:,} dossiers…", flush=True)
        loaded = load(url, args.communes, args.dossiers, min(args.distinct, args.communes))
        row = (
            f"Loaded {loaded.dossiers:,} dossiers, {loaded.events:,} events (COPY)",
            f"{loaded.seconds:.0f} s",
            "",
        )
    print(row[0], row[1], flush=True)
    lines.append(row)
    month = "from=2026-11-01&to=2026-11-30"
    year = "from=2026-01-01&to=2026-12-31"
    commune = f"{10001:05d}"
    for label, query, target in (("month", month, "< 1 s"), ("year", year, "< 2 s")):
        for what, path in (
            ("dashboard /province", f"/province?{query}"),
            (
                "ranking API /api/v1/province/communes",
                f"/api/v1/province/communes?{query}&per_page=200",
            ),
            (
                "one commune's Biểu 06 (API)",
                f"/api/v1/province/communes/{commune}/bieu06?{query}",
            ),
        ):
            # A fresh server per row: its memory above idle is this request's alone (a
            # Python process keeps the peak it once reached).
            tm = _measure_fresh(url, path, args.requests)
            row = (
                f"{what}, {label}: first / p50 / p95",
                f"{tm.first:.2f} / {tm.p50:.2f} / {tm.p95:.2f} s",
                f"p95 {target}",
            )
            lines.append(row)
            lines.append(("  server peak RSS above idle", f"{tm.rss_mb:.0f} MB", "< 200 MB"))
            print(f"{row[0]:<60} {row[1]:>26}  RSS +{tm.rss_mb:.0f} MB", flush=True)
    width = max(len(a) for a, _, _ in lines)
    print(f"\n{'Measure':<{width}}  {'Value':>26}  Target")
    print("-" * (width + 40))
    for a, b, c in lines:
        print(f"{a:<{width}}  {b:>26}  {c}")
    print(f"\n({os.cpu_count()} CPUs; Python {sys.version.split()[0]}; PostgreSQL {pg})")


if __name__ == "__main__":
    main()
