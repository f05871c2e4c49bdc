#!/usr/bin/env python3
"""Benchmark: the matcher page reading a 5 GB archive in Chromium.

The archive (sparse on disk) holds 5,000 following, 200,000 followers and 100,000 tweets, plus
5 GB of media the reader must never touch. Reports medians over runs of: Pyodide ready time
cold (new browser profile) and warm (reload), time from the pick to the first summary (counts)
and to the complete one (names from the posts), the page's peak JS heap, and the renderer
processes' peak resident memory. The archive is picked 2 s after the page is ready, as a person
who has found their file. Usage: python bench/archive_read.py [--runs 5]
Targets (issue 3): summary within 1 s of the pick, heap under 300 MB, ready under 1.5 s cold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from sitebuild.config import load_config  # noqa: E402
from sitebuild.render import build_site  # noqa: E402
from sitebuild.serve import make_server  # noqa: E402
from tests.archive_factory import ArchiveSpec, Mention, Post, archive_files, people, write_zip  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

# A person needs a moment to find their archive in the file picker: the page's second worker
# (which reads the posts while the first reads the relations) starts once the page is ready.
PERSON_PICKS_AFTER_MS = 2_000


def make_archive(path: Path) -> Path:
    following = people(5_000)
    followers = people(200_000, 3_000_000_000)
    posts = [
        Post(
            str(1_600_000_000_000_000_000 + i),
            [Mention(following[i % 5_000], f"user{i % 5_000}", f"User {i % 5_000}")] if i % 3 == 0 else [],
        )
        for i in range(100_000)
    ]
    spec = ArchiveSpec(following=following, followers=followers, posts=posts, tweets_per_part=50_000)
    return write_zip(path, archive_files(spec), top_folder="twitter-2026-11-24-bench/", sparse_media_bytes=5 * 1024**3)


class RendererMemory:
    """Samples the resident memory of Chromium's renderer processes in the background."""

    def __init__(self) -> None:
        self.peak = 0
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while self.running:
            total = 0
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if b"--type=renderer" not in cmdline:
                        continue
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
                except OSError:
                    continue
            self.peak = max(self.peak, total)
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.thread.join()
        return self.peak


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}" if values else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        started = time.perf_counter()
        archive = make_archive(folder_path / "archive.zip")
        print(
            f"archive: {archive.stat().st_size / 1e9:.2f} GB apparent, "
            f"{archive.stat().st_blocks * 512 / 1e6:.0f} MB on disk, made in {time.perf_counter() - started:.0f} s"
        )
        build_site(load_config(ROOT), folder_path / "site")
        server = make_server(folder_path / "site", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/en/match/"
        cold, warm, first, complete, heaps, rss = [], [], [], [], [], []
        read_by: list[str] = []
        with sync_playwright() as playwright:
            for _ in range(args.runs):
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(url)
                page.wait_for_selector("html[data-ready='1']", timeout=120_000)
                cold.append(float(page.get_attribute("html", "data-ready-seconds")))
                page.reload()
                page.wait_for_selector("html[data-ready='1']", timeout=120_000)
                warm.append(float(page.get_attribute("html", "data-ready-seconds")))
                page.wait_for_timeout(PERSON_PICKS_AFTER_MS)
                memory = RendererMemory()
                page.set_input_files("[data-testid=archive-input]", archive)
                page.wait_for_selector("[data-testid=archive-summary][data-complete='1']", timeout=300_000)
                rss.append(memory.stop())
                marks = page.evaluate(
                    "() => Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name, m.startTime]))"
                )
                first.append((marks["passerelle:summary"] - marks["passerelle:picked"]) / 1000)
                complete.append((marks["passerelle:summary-complete"] - marks["passerelle:picked"]) / 1000)
                heaps.append(page.evaluate("performance.memory.usedJSHeapSize"))
                summary = page.get_by_test_id("archive-summary")
                assert summary.get_attribute("data-followers") == "200000", "wrong summary"
                read_by.append(summary.get_attribute("data-names-read-by") or "-")
                browser.close()
        server.shutdown()
    print(f"runs: {args.runs} (medians, seconds)")
    print(f"  Pyodide ready, cold (new profile, from navigation start of the worker): {median(cold)}")
    print(f"  Pyodide ready, warm (reload):                                          {median(warm)}")
    print(f"  pick -> first summary (following/followers counts):                    {median(first)}")
    print(f"  pick -> complete summary (names from 100,000 tweets):                  {median(complete)}")
    print(f"  names read by the {', '.join(read_by)} worker (the pick {PERSON_PICKS_AFTER_MS} ms after ready)")
    print(f"  page JS heap after reading: {statistics.median(heaps) / 1e6:.1f} MB")
    print(f"  renderer processes' peak RSS (page + worker + Pyodide): {statistics.median(rss) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
