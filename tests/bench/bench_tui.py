"""Desk (TUI) benchmark: cold start to a usable dashboard, and search-as-you-type latency.

Run:  .venv/bin/python -m tests.bench.bench_tui [--dossiers 1000000] [--runs 5]

Cold start drives the real ``onestop`` command in tmux (80×24) and polls the screen until the
dashboard shows its counts. Search-as-you-type is the list screen's query (one keyset page of
matches for a growing prefix, as the worker runs it after each keystroke) on the big desk built
by ``tests.bench.bench_desk``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from onestop.services.desk import Desk
from onestop.store.queries import DossierFilter
from tests.bench.bench_desk import NOW, build_big_desk, pct


def cold_start(db: Path, runs: int) -> list[float]:
    exe = str(Path(sys.executable).parent / "onestop")
    out = []
    for i in range(runs):
        name = f"bench-{os.getpid()}-{i}"
        t0 = time.perf_counter()
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "80",
                "-y",
                "24",
                f"ONESTOP_NOW='2026-11-20 10:00' {exe} --db {db}",
            ],
            check=True,
        )
        try:
            while True:
                screen = subprocess.run(
                    ["tmux", "capture-pane", "-t", name, "-p"], capture_output=True, text=True
                ).stdout
                if "Tất cả hồ sơ" in screen and any(
                    ch.isdigit() for ch in screen.split("Tất cả hồ sơ")[1][:20]
                ):
                    break
                if time.perf_counter() - t0 > 30:
                    raise TimeoutError(screen)
                time.sleep(0.01)
            out.append((time.perf_counter() - t0) * 1000)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", name], check=False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is needed for the cold-start measure")
    path = args.cache_dir / f"onestop-bench-{args.dossiers}.sqlite"
    if not path.exists():
        build_big_desk(path, args.dossiers)
    cold = cold_start(path, args.runs)
    desk = Desk.open(path, clock=lambda: NOW)
    latencies = []
    for name in ("nguyen thi phuong thao", "tran van hung", "lo thi mai", "hoang duc khanh"):
        for i in range(1, len(name) + 1):
            t = time.perf_counter()
            desk.page(DossierFilter(search=name[:i]), limit=200)
            latencies.append((time.perf_counter() - t) * 1000)
    desk.close()
    print(
        f"\nonestop desk UI benchmark — {args.dossiers:,} dossiers, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    print(f"| {'measure':<44} | {'value':>8} | {'target':>8} |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 10}|")
    print(
        f"| {'cold start to dashboard counts, median (ms)':<44} | {statistics.median(cold):>8.0f} | {'< 1000':>8} |"
    )
    print(
        f"| {'search-as-you-type, per keystroke p50 (ms)':<44} | {statistics.median(latencies):>8.1f} | {'—':>8} |"
    )
    print(
        f"| {'search-as-you-type, per keystroke p95 (ms)':<44} | {pct(latencies, 95):>8.1f} | {'< 100':>8} |"
    )


if __name__ == "__main__":
    main()
