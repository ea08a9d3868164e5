"""Start-time benchmark (issue 19 §3): how long ``onestop`` takes before it does anything.

Run:  .venv/bin/python -m tests.bench.bench_start [--runs 15] [--tui-runs 7] [--before DIR]

Each command runs as a fresh process (the real ``onestop`` console script), the cases
interleaved run after run so a change in the machine's load hits all of them alike; the table
gives medians and each one's ratio to ``python -c pass`` measured in the same run
(``python -c 'import click'`` is shown too: what any command of a click CLI pays before
onestop's own code runs). The commands are those that touch no database: ``--help``,
``--version`` and ``check-id`` (valid, as text and ``--json``, and a refused number). Target:
< 150 ms each.

The desk's first screen is timed like ``bench_tui``: the real ``onestop`` in tmux at 80×24,
polled until the encrypted demo desk's login screen shows («Tên đăng nhập»), against a minimal
Textual hello-world app polled until its text shows. Target: the login screen ≤ 1.3× the
hello-world.

``--before DIR`` also runs every case from another checkout (``git worktree add DIR <commit>``;
its package is put first on ``PYTHONPATH``, the same virtualenv and console script), interleaved
with this one, for a before/after table from one run.
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
from dataclasses import dataclass, field
from pathlib import Path

EXE = Path(sys.executable).parent / "onestop"
# Compiled bytecode as an installed desk has it: a run with PYTHONDONTWRITEBYTECODE set (as
# some shells and CI set it) would compile Textual from source on every start (~1 s). Kept in a
# folder of the bench's own, so the virtualenv and the checkouts are not written to; one
# untimed warm-up run of every case fills it.
PYCACHE = Path(tempfile.gettempdir()) / "onestop-bench-pycache"


def python_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(PYCACHE), **extra}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


NOW = "2026-11-20 10:00"
HELLO_TEXT = "Xin chào, Textual"
HELLO_APP = f'''
from textual.app import App, ComposeResult
from textual.widgets import Static


class Hello(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("{HELLO_TEXT}")


Hello().run()
'''

# label -> the arguments after ``onestop``; None: a bare interpreter running FLOORS[label]
FLOORS = {"python -c pass": "pass", "python -c 'import click'": "import click"}
COMMANDS: list[tuple[str, list[str] | None]] = [
    ("python -c pass", None),
    ("python -c 'import click'", None),  # what any command of a click CLI pays first
    ("onestop --help", ["--help"]),
    ("onestop --version", ["--version"]),
    ("onestop check-id 038199012345 --json", ["check-id", "038199012345", "--json"]),
    ("onestop check-id 038199012345", ["check-id", "038199012345"]),
    ("onestop check-id 03819901234 (refused)", ["check-id", "03819901234"]),
]


@dataclass
class Tree:
    """A checkout to run ``onestop`` from (``None``: the installed one, this working tree)."""

    name: str
    path: Path | None

    def env(self, tmp: Path) -> dict[str, str]:
        # no configuration file: the defaults
        env = python_env(ONESTOP_NOW=NOW, ONESTOP_CONFIG_FILE=str(tmp / "config.toml"))
        env.pop("ONESTOP_LANGUAGE", None)
        if self.path is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                [str(self.path), *filter(None, [os.environ.get("PYTHONPATH")])]
            )
        return env


@dataclass
class Timings:
    ms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.ms.setdefault(key, []).append(value)

    def median(self, key: str) -> float:
        return statistics.median(self.ms[key])


def _run_once(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, check=False)
    return (time.perf_counter() - t0) * 1000


def time_commands(trees: list[Tree], runs: int, tmp: Path) -> Timings:
    out = Timings()
    for run in range(runs + 1):  # run 0: the warm-up, not counted
        for label, args in COMMANDS:
            if args is None:
                ms = _run_once([sys.executable, "-c", FLOORS[label]], python_env())
                if run:
                    out.add(label, ms)
                continue
            for tree in trees:
                ms = _run_once([str(EXE), *args], tree.env(tmp))
                if run:
                    out.add(f"{label}|{tree.name}", ms)
    return out


# ------------------------------------------------------------------- first screen, in tmux


def _tmux(socket: str, *args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, check=False
    ).stdout


def _shown_after(socket: str, command: str, env: dict[str, str], text: str) -> float:
    """ms from starting ``command`` in a fresh 80×24 tmux server until ``text`` is on screen."""
    exports = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
    t0 = time.perf_counter()
    _tmux(
        socket,
        *("new-session", "-d", "-s", "bench", "-x", "80", "-y", "24"),
        f"env -u PYTHONDONTWRITEBYTECODE {exports} {command}",
    )
    try:
        while True:
            screen = _tmux(socket, "capture-pane", "-t", "bench", "-p")
            if text in screen:
                return (time.perf_counter() - t0) * 1000
            if time.perf_counter() - t0 > 60:
                raise TimeoutError(screen)
            time.sleep(0.01)
    finally:
        _tmux(socket, "kill-server")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def time_first_screens(trees: list[Tree], runs: int, tmp: Path, demo: Path) -> Timings:
    hello = tmp / "hello_textual.py"
    hello.write_text(HELLO_APP, encoding="utf-8")
    out = Timings()
    term = {"TERM": "xterm-256color", "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    cases: list[tuple[str, str, dict[str, str], str]] = [
        ("hello", f"{sys.executable} {hello}", term, HELLO_TEXT),
    ]
    for tree in trees:
        env = {**term, "ONESTOP_NOW": NOW, "ONESTOP_CONFIG_FILE": str(tmp / "config.toml")}
        if tree.path is not None:
            env["PYTHONPATH"] = str(tree.path)
        cases.append((f"login|{tree.name}", f"{EXE} --db {demo}", env, "Tên đăng nhập"))
    for i in range(runs + 1):  # run 0: the warm-up, not counted
        for key, command, env, text in cases:
            socket = f"bench-start-{os.getpid()}-{i}-{key.replace('|', '-')}"
            ms = _shown_after(socket, command, env, text)
            if i:
                out.add(key, ms)
    return out


def make_demo(tmp: Path) -> Path:
    """An encrypted demo desk (its login screen is the first screen)."""
    demo = tmp / "demo.sqlite"
    subprocess.run(
        [str(EXE), "demo", "--db", str(demo), "--dossiers", "30"],
        check=True,
        capture_output=True,
        env=python_env(ONESTOP_NOW=NOW, ONESTOP_CONFIG_FILE=str(tmp / "config.toml")),
    )
    return demo


def print_commands(cli: Timings, names: list[str], runs: int) -> None:
    floor = cli.median("python -c pass")
    print(f"\nCommands, {runs} runs each, interleaved, medians:\n")
    head = " | ".join(f"{n} (ms) | {n} × pass" for n in names)
    print(f"| command | {head} | target |")
    print("|---|" + "---|---|" * len(names) + "---|")
    for label, args in COMMANDS:
        if args is None:
            ms = cli.median(label)
            cells = " | ".join(f"{ms:.0f} | {ms / floor:.1f}×" for _ in names)
            print(f"| `{label}` | {cells} | — |")
            continue
        cells = " | ".join(
            f"{cli.median(f'{label}|{n}'):.0f} | {cli.median(f'{label}|{n}') / floor:.1f}×"
            for n in names
        )
        print(f"| `{label}` | {cells} | < 150 ms |")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--runs", type=int, default=15, help="runs of each command (default 15; 0: none)"
    )
    ap.add_argument(
        "--tui-runs", type=int, default=7, help="runs of each first screen (default 7; 0: none)"
    )
    ap.add_argument("--before", type=Path, default=None, help="another checkout to compare")
    ap.add_argument("--demo", type=Path, default=None, help="an encrypted desk (default: made)")
    args = ap.parse_args()
    trees = [Tree("after", None)]
    if args.before is not None:
        if not (args.before / "onestop" / "__init__.py").exists():
            sys.exit(f"{args.before} is not an onestop checkout")
        trees.insert(0, Tree("before", args.before.resolve()))
    with tempfile.TemporaryDirectory(prefix="onestop-bench-start-") as name:
        tmp = Path(name)
        load_start = os.getloadavg()
        cli = time_commands(trees, args.runs, tmp) if args.runs > 0 else None
        screens: Timings | None = None
        if shutil.which("tmux") is None or args.tui_runs <= 0:
            print("tmux not found (or --tui-runs 0): first screens not timed", file=sys.stderr)
        else:
            demo = args.demo or make_demo(tmp)
            screens = time_first_screens(trees, args.tui_runs, tmp, demo)
        load_end = os.getloadavg()
    print(
        f"\nonestop start-time benchmark — {os.cpu_count()} cores, Python "
        f"{sys.version.split()[0]}; load average {load_start[0]:.2f} at start, "
        f"{load_end[0]:.2f} at end"
    )
    names = [tree.name for tree in trees]
    if cli is not None:
        print_commands(cli, names, args.runs)
    if screens is None:
        return
    hello = screens.median("hello")
    print(f"\nFirst screen in tmux 80×24, {args.tui_runs} runs each, interleaved, medians:\n")
    print("| first screen | ms | × hello-world | target |")
    print("|---|---|---|---|")
    print(f"| Textual hello-world shown | {hello:.0f} | 1.00× | — |")
    for n in names:
        login = screens.median(f"login|{n}")
        print(
            f"| encrypted desk: login screen shown ({n}) | {login:.0f} | {login / hello:.2f}× "
            f"| ≤ 1.30× |"
        )


if __name__ == "__main__":
    main()
