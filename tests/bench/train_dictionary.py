"""Train the zstd dictionary shipped in assets/sync/ from a realistic demo desk.

Run:  .venv/bin/python -m tests.bench.train_dictionary [--dossiers 1500] [--seed 11] [--out PATH]

The samples are the exact event bodies a desk stores and sends (canonical CBOR), produced by
the real intake and lifecycle code (services/demo.py) over two months of a commune desk. The
benchmark (bench_sync.py) measures on a demo desk built with a *different* seed, so the
dictionary is never scored on the events it was trained on.

16 KB: QR-AND-SYNC.md B.2 measured 2 KB→64 KB; 16 KB is the knee (25.3 B/event at a batch
of 25 against 24.2 with 64 KB), and training on 200 samples comes within 0.5 B/event of 5,000.
The dict ID is fixed (0x4F530001 = "OS" v1) so a retrained dictionary of the same version keeps
its id only if we say so: a new training is a new file with a new id (…0002), and servers keep
every old dictionary so old desks still decode.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import zstandard

from onestop.paths import asset_path
from onestop.services.demo import build_demo

DICT_ID = 0x4F530001
DICT_SIZE = 16 * 1024
NOW = datetime(2026, 11, 20, 10, 0)


def sample_bodies(dossiers: int, seed: int) -> list[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.sqlite"
        build_demo(path, dossiers=dossiers, seed=seed, now=NOW, days=60)
        con = sqlite3.connect(path)
        bodies = [bytes(r[0]) for r in con.execute("SELECT body FROM event ORDER BY seq")]
        con.close()
    return bodies


def train(bodies: list[bytes]) -> zstandard.ZstdCompressionDict:
    samples: list[Any] = list(bodies)
    return zstandard.train_dictionary(
        DICT_SIZE, samples, dict_id=DICT_ID, level=19, k=1024, d=8, threads=1
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dossiers", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=asset_path("sync", "events-v1.zdict"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    bodies = sample_bodies(args.dossiers, args.seed)
    d = train(bodies)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(d.as_bytes())
    print(
        f"{len(bodies)} events from {args.dossiers} dossiers -> {args.out} "
        f"({len(d.as_bytes())} B, dict id {d.dict_id():#x}) in {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
