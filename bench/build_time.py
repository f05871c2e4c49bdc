#!/usr/bin/env python3
"""Benchmark: the build of every language, and the bytes of each guide page.

Runs the whole build N times into a temporary folder and reports the median and spread,
the time per language (median / languages), and the size of every page of one language
plus the largest per language. Usage: python bench/build_time.py [--runs 7]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sitebuild.config import load_config  # noqa: E402
from sitebuild.render import build_site  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    config = load_config(ROOT)
    times = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "site"
        for _ in range(args.runs):
            started = time.perf_counter()
            build_site(config, out)
            times.append(time.perf_counter() - started)
        languages = sorted(p.name for p in out.iterdir() if (p / "index.html").is_file())
        pages = sorted(out.rglob("*.html"))
        median = statistics.median(times)
        print(f"full build, {len(languages)} languages, {len(pages)} pages, {args.runs} runs")
        print(f"  median {median * 1000:.0f} ms  (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")
        print(f"  per language {median / len(languages) * 1000:.1f} ms, per page {median / len(pages) * 1000:.2f} ms")
        print("bytes of each page (HTML, uncompressed):")
        keys = sorted(p.parent.relative_to(out / "en").as_posix() for p in (out / "en").rglob("index.html"))
        print(f"  {'page':<18}" + "".join(f"{lang:>7}" for lang in languages))
        for key in keys:
            sizes = [(out / lang / key / "index.html").stat().st_size for lang in languages]
            print(f"  {key:<18}" + "".join(f"{size:>7}" for size in sizes))
        css = sum(p.stat().st_size for p in (out / "assets").glob("*.css"))
        print(f"  shared stylesheet: {css} bytes")


if __name__ == "__main__":
    main()
