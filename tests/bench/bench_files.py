"""Files-lane benchmark: a 4-page scanned dossier over a thin link, against its byte floor.

Run:  .venv/bin/python -m tests.bench.bench_files [--page-kb 75] [--pages 4] [--no-cut]
          [--cut-rate 0.05] [--cut-chunks 80]

Everything on 127.0.0.1, real processes: a real ``onestop serve`` (SQLite), the fault proxy
throttled to 64 kbit/s each way with 300 ms RTT, a desk with one dossier whose 4-page PDF
(``--page-kb`` incompressible KB per page: the measured normalised size, issue 14) is attached.
The events go first (not timed); then the files lane alone is timed, next to:

* payload floor = the file's bytes ÷ bandwidth (what the link must carry at the very least);
* wire floor = every byte the desk put on the link during the lane ÷ bandwidth (framing,
  signed-request headers, the commit round trips included).

Target (issue 14): time ≤ 1.3× the payload floor. With ``--no-cut`` unset, a second desk sends
another file through one connection cut mid-chunk and the bytes sent again are reported
(target: at most one chunk per cut; the client's timeout, 12 s here, is part of the
cost of a cut).

**5 % connection cuts** (``--cut-rate``, 0 to skip): a third desk sends a larger file
(``--cut-chunks`` chunks) while every request of the run has that chance of being cut mid-body
(the proxy forwards half the body, then stalls: the client times out). Counted on the proxy:
the cuts, the chunk uploads and their body bytes. Bytes sent again = chunk body bytes put on
the link − the file's chunk bytes; target ≤ one chunk (64 KiB) per cut. Run at 1 Mbit/s with a
3 s client timeout so it takes a minute, not an hour: the target is about bytes, not time.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pikepdf

from onestop.domain.attachments import CHUNK_SIZE
from onestop.services import attachments
from onestop.services.sync import client as sync
from onestop.wire.chunks import CHUNK_PATH, MISSING_PATH
from tests.services.sync.helpers import (
    FAST,
    Clock,
    ServerProcess,
    enroll,
    make_desk,
    passphrase,
    receive,
)
from tests.services.sync.proxy import FaultProxy

RATE = 64_000 / 8  # bytes per second, each way
RTT = 0.3


def scanned_pdf(rng: random.Random, pages: int, page_bytes: int) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
        pdf.pages[-1].obj[pikepdf.Name("/OnestopNoise")] = pikepdf.Stream(
            pdf, rng.randbytes(page_bytes)
        )
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    return buf.getvalue()


def chunk_uploads(proxy: FaultProxy) -> int:
    """Chunk uploads the proxy saw, answered or cut."""
    return sum(
        1
        for path, _what in proxy.stats.log
        if path.startswith(CHUNK_PATH + "/") and not path.startswith(MISSING_PATH)
    )


def cut_run(
    base: Path, server: ServerProcess, n: int, data: bytes, rate: float, seed: int
) -> dict[str, float]:
    """The files lane through random connection cuts (module docstring)."""
    clock = Clock()
    rng = random.Random(n)
    desk = make_desk(base / f"desk{n}.sqlite", n=n, clock=clock)
    code = receive(desk, clock, rng)
    pages = len(pikepdf.open(io.BytesIO(data)).pages)
    attachments.attach(desk, code, 1, data, pages=pages, paper_pages=pages)
    proxy = FaultProxy(server.port).start()
    try:
        enroll(desk, server.db_url, proxy.url)
        assert sync.sync_once(desk, passphrase_provider=passphrase, options=FAST, files=False).ok
        proxy.throttle(1_000_000 / 8, RTT)
        proxy.reset_stats()
        chunks = -(-len(data) // CHUNK_SIZE)
        # Each request of the run (chunk uploads, commits, queries) is cut with chance `rate`:
        # queued as "cut the k-th next request" faults (the proxy counts down the first).
        dice = random.Random(seed)
        last = 0
        for i in range(1, 4 * chunks + 20):
            if dice.random() < rate:
                proxy.add("cut", path="/sync/v1/", nth=i - last)
                last = i
        options = replace(
            FAST, timeout=3.0, download=False, reference=False, max_attempts=60, max_delay=0.5
        )
        started = time.monotonic()
        report = sync.sync_once(desk, passphrase_provider=passphrase, options=options)
        elapsed = time.monotonic() - started
        assert report.ok, report.error
        a = attachments.list_attachments(desk, code)[0]
        assert attachments.open_file(desk, code, a.id) == data
        puts = [
            (path, what)
            for path, what in proxy.stats.log
            if path.startswith(CHUNK_PATH + "/") and not path.startswith(MISSING_PATH)
        ]
        cut_chunk_puts = sum(1 for _, what in puts if what == "cut")
        answered = [
            body
            for path, _up, _down, body in proxy.stats.per_request
            if path.startswith(CHUNK_PATH + "/") and not path.startswith(MISSING_PATH)
        ]
        # A cut upload put its whole body on the link before the stall (the proxy read it):
        # counted as a full chunk (an upper bound).
        cut_bytes = cut_chunk_puts * CHUNK_SIZE
        sent = sum(answered) + cut_bytes
        cuts = proxy.stats.faults_applied.count("cut")
        return {
            "bytes": len(data),
            "chunks": chunks,
            "elapsed": elapsed,
            "cuts": cuts,
            "cut_chunk_puts": cut_chunk_puts,
            "resent_bytes": max(0, sent - len(data)),
            "requests": proxy.stats.requests,
        }
    finally:
        proxy.close()
        desk.close()


def one_run(
    base: Path, server: ServerProcess, n: int, data: bytes, *, cut: bool
) -> dict[str, float]:
    clock = Clock()
    rng = random.Random(n)
    desk = make_desk(base / f"desk{n}.sqlite", n=n, clock=clock)
    code = receive(desk, clock, rng)
    pages = len(pikepdf.open(io.BytesIO(data)).pages)
    attachments.attach(desk, code, 1, data, pages=pages, paper_pages=pages)
    proxy = FaultProxy(server.port).start()
    try:
        enroll(desk, server.db_url, proxy.url)
        # Events first, unthrottled and untimed.
        assert sync.sync_once(desk, passphrase_provider=passphrase, options=FAST, files=False).ok
        proxy.throttle(RATE, RTT)
        proxy.reset_stats()
        if cut:
            proxy.add("cut", path=CHUNK_PATH + "/", nth=2)
        options = replace(
            FAST, timeout=12.0 if cut else 60.0, download=False, reference=False, max_attempts=20
        )
        started = time.monotonic()
        report = sync.sync_once(desk, passphrase_provider=passphrase, options=options)
        elapsed = time.monotonic() - started
        assert report.ok, report.error
        assert attachments.open_file(desk, code, attachments.list_attachments(desk, code)[0].id)
        chunks = -(-len(data) // CHUNK_SIZE)
        return {
            "bytes": len(data),
            "elapsed": elapsed,
            "payload_floor": len(data) / RATE,
            "wire_floor": proxy.stats.up / RATE,
            "wire_up": proxy.stats.up,
            "requests": proxy.stats.requests,
            "chunks": chunks,
            "resent": chunk_uploads(proxy) - chunks,
        }
    finally:
        proxy.close()
        desk.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--page-kb", type=int, default=75)
    ap.add_argument("--no-cut", action="store_true")
    ap.add_argument("--cut-rate", type=float, default=0.05)
    ap.add_argument("--cut-chunks", type=int, default=80)
    args = ap.parse_args()
    os.environ.setdefault("ONESTOP_SERVER_PASSPHRASE", "bench-files-passphrase")
    os.environ.setdefault("ONESTOP_SCRYPT_N", "1024")
    with tempfile.TemporaryDirectory(prefix="bench-files-") as tmp:
        base = Path(tmp)
        server = ServerProcess(f"sqlite:///{base / 'server' / 'server.sqlite'}")
        (base / "server").mkdir()
        server.start()
        try:
            rng = random.Random(2026)
            data = scanned_pdf(rng, args.pages, args.page_kb * 1024)
            r = one_run(base, server, 91, data, cut=False)
            ratio = r["elapsed"] / r["payload_floor"]
            print(
                f"{args.pages}-page dossier, {r['bytes'] / 1024:.0f} KB "
                f"({r['bytes'] / args.pages / 1024:.0f} KB/page, {r['chunks']:.0f} chunks) "
                f"at 64 kbit/s, {RTT * 1000:.0f} ms RTT:"
            )
            print(
                f"  files lane {r['elapsed']:.1f} s; payload floor {r['payload_floor']:.1f} s "
                f"({ratio:.2f}x, target <= 1.3x); wire floor {r['wire_floor']:.1f} s; "
                f"{r['requests']:.0f} requests, {r['wire_up'] / 1024:.0f} KB up"
            )
            if not args.no_cut:
                other = scanned_pdf(rng, args.pages, args.page_kb * 1024)
                c = one_run(base, server, 92, other, cut=True)
                print(
                    f"  with one cut mid-chunk: {c['elapsed']:.1f} s, chunks sent again: "
                    f"{c['resent']:.0f} (target: at most 1)"
                )
            if args.cut_rate > 0:
                big = scanned_pdf(rng, 1, args.cut_chunks * CHUNK_SIZE - 4096)
                k = cut_run(base, server, 93, big, args.cut_rate, seed=2026)
                per_cut = k["resent_bytes"] / k["cuts"] if k["cuts"] else 0.0
                print(
                    f"  {args.cut_rate:.0%} of requests cut ({k['chunks']:.0f}-chunk file, "
                    f"{k['bytes'] / 1024:.0f} KB, 1 Mbit/s): {k['cuts']:.0f} cuts "
                    f"({k['cut_chunk_puts']:.0f} mid-chunk), {k['resent_bytes'] / 1024:.0f} KB "
                    f"sent again = {per_cut / 1024:.1f} KB per cut (target <= "
                    f"{CHUNK_SIZE // 1024} KB, one chunk); {k['elapsed']:.1f} s, "
                    f"{k['requests']:.0f} requests"
                )
        finally:
            server.close()


if __name__ == "__main__":
    main()
