"""Scan normalising benchmark: bytes and milliseconds per A4 page for each variant.

Run:  .venv/bin/python -m tests.bench.bench_scans [--pages 4]

Input: synthetic A4 pages at 200 dpi (text, red seal, blue signature, scanner noise), the same
pages the unit tests use. Prints one table: variant, bytes/page, ms/page (normalising only, on
this machine; read the ratios, the cores are shared).
"""

from __future__ import annotations

import argparse
import time

from onestop.scans.normalise import Variant, normalise_pages
from tests.scans.pages import render_page


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=4)
    args = parser.parse_args()
    pages = [render_page(seed=n) for n in range(args.pages)]
    rows = [
        ("jpeg q50 200 dpi (img2pdf)", Variant.JPEG, 100),
        ("layered G4 200 + bg 100 dpi q40", Variant.LAYERED, 100),
        ("layered G4 200 + bg 67 dpi q40", Variant.LAYERED, 67),
    ]
    print(f"{'variant':<34} {'bytes/page':>11} {'ms/page':>8}")
    for name, variant, bg in rows:
        start = time.perf_counter()
        pdf, count = normalise_pages(pages, variant=variant, background_dpi=bg)
        ms = (time.perf_counter() - start) * 1000 / count
        print(f"{name:<34} {len(pdf) / count:>11,.0f} {ms:>8.0f}")


if __name__ == "__main__":
    main()
