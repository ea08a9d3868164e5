"""Prove that onestop installs from wheels on the machines communes have, without those machines.

For every platform in ``TARGETS`` and every Python in ``PYTHONS``:

1. ``uv pip compile --python-platform … --python-version … --only-binary :all:`` resolves the
   runtime requirements of ``pyproject.toml`` (dependencies plus the runtime extras) *for that
   platform*. pip cannot do this step: with ``--platform`` it still evaluates environment
   markers against the machine it runs on (pypa/pip#11664), so a Windows-only dependency such
   as ``colorama`` or ``tzdata`` would be missed and our own ``sys_platform`` splits would go
   the Linux way.
2. ``pip download --no-deps --only-binary=:all: --platform … --python-version …
   --implementation cp`` of exactly those pins succeeds: a wheel exists for each.

Run: ``python tests/platforms/check_wheels.py [pyproject.toml]`` (needs PyPI; ``.ci/run`` calls it). It prints
the matrix and exits 1 naming every platform, Python and package without a wheel. Wheels land
in one temporary folder shared by all 15 runs, so a pure-Python wheel is fetched once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHONS = ("3.11", "3.12", "3.13")
#: Extras that are not part of any installed desk or server (developer tools).
DEV_EXTRAS = frozenset({"test"})
#: glibc 2.28: Debian 10+, Ubuntu 18.10+, RHEL 8+ (sqlcipher3-wheels and pikepdf need it).
GLIBC_MINOR = 28
#: macOS 15: pikepdf ships Apple-silicon wheels for macOS 15 only since 10.14, and its last
#: Intel wheels (10.13.x) are tagged macosx_15_0_x86_64.
MACOS = "15.0"


@dataclass(frozen=True)
class Target:
    name: str
    #: uv's --python-platform for step 1.
    uv_platform: str
    #: pip's --platform tags for step 2 (pip widens macOS versions itself, not manylinux ones).
    pip_platforms: tuple[str, ...]
    #: MACOSX_DEPLOYMENT_TARGET for uv (empty: not macOS).
    macos: str = ""


def manylinux_tags(arch: str, glibc_minor: int = GLIBC_MINOR) -> tuple[str, ...]:
    """Every manylinux tag a glibc-2.<minor> machine accepts, newest first (PEP 600 plus the
    legacy manylinux2014 alias of 2_17)."""
    tags = [f"manylinux_2_{m}_{arch}" for m in range(glibc_minor, 16, -1)]
    tags.append(f"manylinux2014_{arch}")
    return tuple(tags)


TARGETS = (
    Target("Windows x86_64", "x86_64-pc-windows-msvc", ("win_amd64",)),
    Target("macOS x86_64", "x86_64-apple-darwin", ("macosx_15_0_x86_64",), MACOS),
    Target("macOS arm64", "aarch64-apple-darwin", ("macosx_15_0_arm64",), MACOS),
    Target("Linux x86_64", f"x86_64-manylinux_2_{GLIBC_MINOR}", manylinux_tags("x86_64")),
    Target("Linux aarch64", f"aarch64-manylinux_2_{GLIBC_MINOR}", manylinux_tags("aarch64")),
)


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The requirement strings a desk or a server installs: dependencies and every extra but
    the developer ones."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    reqs = list(project.get("dependencies", []))
    for extra, items in sorted(project.get("optional-dependencies", {}).items()):
        if extra not in DEV_EXTRAS:
            reqs.extend(items)
    return reqs


def pip_download_args(target: Target, python: str, dest: Path) -> list[str]:
    args = [
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python,
        "--dest",
        str(dest),
    ]
    for tag in target.pip_platforms:
        args += ["--platform", tag]
    return args


def uv_compile_args(target: Target, python: str, reqs_in: Path) -> list[str]:
    return [
        "pip",
        "compile",
        "--quiet",
        "--no-header",
        "--no-annotate",
        "--only-binary",
        ":all:",
        "--python-platform",
        target.uv_platform,
        "--python-version",
        python,
        str(reqs_in),
    ]


@dataclass(frozen=True)
class Outcome:
    target: Target
    python: str
    ok: bool
    detail: str
    pins: int


def _uv() -> str:
    """The test extra's ``uv``, beside this interpreter (``uv.find_uv_bin`` trips over
    interpreters whose sysconfig has no EXE, such as pyenv builds)."""
    here = shutil.which("uv", path=str(Path(sys.executable).parent))
    found = here or shutil.which("uv")
    if found is None:
        raise SystemExit("!! uv is not installed: pip install -e '.[test]'")
    return found


def _run(cmd: Sequence[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=600)


def _last_lines(text: str, n: int = 6) -> str:
    lines = [ln for ln in text.strip().splitlines() if "ignored: it is neither" not in ln]
    return "\n".join(lines[-n:])


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pure_pins(dest: Path) -> set[str]:
    """``name==version`` of every pure-Python wheel in ``dest`` (``*-none-any.whl``): the
    same file on every platform, so fetching it once proves it for all of them."""
    found = set()
    for wheel in dest.glob("*.whl"):
        parts = wheel.name[: -len(".whl")].split("-")
        if len(parts) >= 5 and parts[-2] == "none" and parts[-1] == "any":
            found.add(f"{_canonical(parts[0])}=={parts[1]}")
    return found


def resolve(target: Target, python: str, reqs_in: Path) -> tuple[list[str], str]:
    """Step 1: the pins for this platform and Python, or an error text."""
    env = dict(os.environ)
    if target.macos:
        env["MACOSX_DEPLOYMENT_TARGET"] = target.macos
    resolved = _run([_uv(), *uv_compile_args(target, python, reqs_in)], env)
    if resolved.returncode != 0:
        return [], _last_lines(resolved.stderr, 12)
    pins = [ln.strip() for ln in resolved.stdout.splitlines()]
    return [p for p in pins if p and not p.startswith("#")], ""


def fetch(target: Target, python: str, pins: Sequence[str], dest: Path, work: Path) -> str:
    """Step 2: pip downloads a wheel of each pin; an error text, or "" when all came."""
    if not pins:
        return ""
    pinned = work / f"{target.uv_platform}-{python}.txt"
    pinned.write_text("\n".join(pins) + "\n", encoding="utf-8")
    args = pip_download_args(target, python, dest)
    fetched = _run([sys.executable, "-m", "pip", *args, "-r", str(pinned)])
    return _last_lines(fetched.stderr) if fetched.returncode != 0 else ""


def check_all(reqs_in: Path, dest: Path, work: Path) -> list[Outcome]:
    jobs = [(t, p) for t in TARGETS for p in PYTHONS]
    # Resolution is cheap (uv, a second or two each) and network-bound: all at once.
    with ThreadPoolExecutor(max_workers=4) as pool:
        resolved = list(pool.map(lambda j: resolve(j[0], j[1], reqs_in), jobs))
    # pip is CPU-bound (index pages, hashing) on a 2-core machine: one full run first, then
    # only the platform-specific wheels of the others, two at a time.
    first_error = fetch(*jobs[0], resolved[0][0], dest, work) if not resolved[0][1] else ""
    pure = pure_pins(dest)

    def rest(i: int) -> str:
        pins, error = resolved[i]
        if error:
            return error
        if i == 0:
            return first_error
        return fetch(*jobs[i], [p for p in pins if p.lower() not in pure], dest, work)

    with ThreadPoolExecutor(max_workers=2) as pool:
        errors = list(pool.map(rest, range(len(jobs))))
    return [
        Outcome(t, p, not err, err, len(resolved[i][0]))
        for i, ((t, p), err) in enumerate(zip(jobs, errors, strict=True))
    ]


def render(outcomes: Sequence[Outcome]) -> str:
    """The matrix as a Markdown table (the README carries a copy)."""
    by = {(o.target.name, o.python): o for o in outcomes}
    head = "| platform | " + " | ".join(f"Python {p}" for p in PYTHONS) + " |"
    rule = "|---|" + "---|" * len(PYTHONS)
    rows = [head, rule]
    for target in TARGETS:
        cells = []
        for p in PYTHONS:
            o = by.get((target.name, p))
            cells.append("—" if o is None else (f"ok ({o.pins})" if o.ok else "**MISSING**"))
        rows.append(f"| {target.name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    start = time.monotonic()
    reqs = runtime_requirements(Path(args[0]) if args else ROOT / "pyproject.toml")
    with tempfile.TemporaryDirectory(prefix="onestop-wheels-") as tmp:
        work = Path(tmp)
        reqs_in = work / "runtime.in"
        reqs_in.write_text("\n".join(reqs) + "\n", encoding="utf-8")
        dest = work / "wheels"
        dest.mkdir()
        outcomes = check_all(reqs_in, dest, work)
    print(render(outcomes))
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        print(f"\n!! {o.target.name}, Python {o.python}: no wheel\n{o.detail}")
    print(
        f"\n{len(outcomes) - len(failed)}/{len(outcomes)} platform × Python combinations install "
        f"from wheels ({len(reqs)} runtime requirements) in {time.monotonic() - start:.0f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
