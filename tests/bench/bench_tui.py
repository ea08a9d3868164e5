"""Desk (TUI) benchmark: cold start to a usable dashboard, and search-as-you-type latency.

Run:  .venv/bin/python -m tests.bench.bench_tui [--dossiers 1000000] [--runs 5]

Cold start drives the real ``onestop`` command in tmux (80×24) and polls the screen until the
dashboard shows its counts, then until the desk has opened behind them (the preview list is
filled). An encrypted demo desk is timed to its login screen, and from the Enter that submits
the password to the dashboard's counts (that span includes the deliberately slow scrypt). Search-as-you-type is the list screen's query (one keyset page of
matches for a growing prefix, as the worker runs it after each keystroke) on the big desk built
by ``tests.bench.bench_desk``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from onestop.services.desk import Desk
from onestop.store.queries import DossierFilter
from tests.bench.bench_desk import NOW, build_big_desk, pct


def _tmux(socket: str, *args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, check=False
    ).stdout


def _start_desk(socket: str, db: Path) -> None:
    """The real ``onestop`` at 80×24 on its own tmux server (no race with the last one's exit)."""
    exe = Path(sys.executable).parent / "onestop"
    _tmux(
        socket,
        *("new-session", "-d", "-s", "bench", "-x", "80", "-y", "24"),
        f"ONESTOP_NOW='2026-11-20 10:00' {exe} --db {db}",
    )


def _wait(socket: str, t0: float, ready: Callable[[str], bool]) -> float:
    while True:
        screen = _tmux(socket, "capture-pane", "-t", "bench", "-p")
        if ready(screen):
            return (time.perf_counter() - t0) * 1000
        if time.perf_counter() - t0 > 30:
            raise TimeoutError(screen)
        time.sleep(0.01)


_DOSSIER_ROW = re.compile(r"\d{6}-\d{6}  ")  # a preview row: the code's date and number


def _counts_shown(screen: str) -> bool:
    return "Tất cả hồ sơ" in screen and any(
        ch.isdigit() for ch in screen.split("Tất cả hồ sơ")[1][:20]
    )


def cold_start(db: Path, runs: int) -> tuple[list[float], list[float]]:
    """Per run: ms until the dashboard's counts show, and until the desk is open behind them
    (the preview table of the highlighted count is filled)."""
    counts, ready = [], []
    for i in range(runs):
        socket = f"bench-{os.getpid()}-{i}"
        t0 = time.perf_counter()
        _start_desk(socket, db)
        try:
            counts.append(_wait(socket, t0, _counts_shown))
            ready.append(_wait(socket, t0, lambda s: _DOSSIER_ROW.search(s) is not None))
        finally:
            _tmux(socket, "kill-server")
    return counts, ready


def login_start(db: Path, runs: int) -> tuple[list[float], list[float]]:
    """An encrypted desk: ms until the login screen shows, and from Enter on the password to
    the dashboard's counts (scrypt key unwrap, SQLCipher open, first counts)."""
    shown, logged = [], []
    for i in range(runs):
        socket = f"bench-login-{os.getpid()}-{i}"
        t0 = time.perf_counter()
        _start_desk(socket, db)
        try:
            shown.append(_wait(socket, t0, lambda s: "Tên đăng nhập" in s))
            time.sleep(1.0)  # a person takes longer than this to type
            _tmux(socket, "send-keys", "-t", "bench", "canbo", "Enter")
            _tmux(socket, "send-keys", "-t", "bench", "onestop-demo")
            t1 = time.perf_counter()
            _tmux(socket, "send-keys", "-t", "bench", "Enter")
            logged.append(_wait(socket, t1, _counts_shown))
        finally:
            _tmux(socket, "kill-server")
    return shown, logged


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
    cold, ready = cold_start(path, args.runs)
    demo = args.cache_dir / "onestop-bench-login-demo.sqlite"
    if not demo.exists():
        subprocess.run(
            [
                str(Path(sys.executable).parent / "onestop"),
                "demo",
                "--db",
                str(demo),
                "--dossiers",
                "300",
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "ONESTOP_NOW": "2026-11-20 10:00"},
        )
    login_shown, logged_in = login_start(demo, args.runs)
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
    print(f"| {'cold start to dashboard counts, worst (ms)':<44} | {max(cold):>8.0f} | {'—':>8} |")
    print(
        f"| {'… desk open behind it (preview filled) (ms)':<44} | {statistics.median(ready):>8.0f} | {'—':>8} |"
    )
    print(
        f"| {'encrypted desk: login screen shown (ms)':<44} | {statistics.median(login_shown):>8.0f} | {'< 1000':>8} |"
    )
    print(
        f"| {'encrypted desk: Enter → dashboard counts (ms)':<44} | {statistics.median(logged_in):>8.0f} | {'—':>8} |"
    )
    print(
        f"| {'search-as-you-type, per keystroke p50 (ms)':<44} | {statistics.median(latencies):>8.1f} | {'—':>8} |"
    )
    print(
        f"| {'search-as-you-type, per keystroke p95 (ms)':<44} | {pct(latencies, 95):>8.1f} | {'< 100':>8} |"
    )


if __name__ == "__main__":
    main()
