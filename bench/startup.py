#!/usr/bin/env python3
"""Benchmark: how fast the matcher page becomes ready, today's build against this one, in one run.

Builds this checkout and a base commit (default 947defc, before issue 11) into temporary
folders, serves each with ``sitebuild.serve`` (precompressed files when the build has them,
cache headers, and the Content-Security-Policy the site is deployed with), and opens
``/en/match/`` in Chromium with a new profile (cold) then again in the same profile (second
visit). Reports medians of: bytes the server sent before the page was ready, ready time from
the navigation start (``performance.mark("passerelle:ready")``), and, with ``--archive``, the
time from picking a 5 GB archive to the complete summary (see bench/archive_read.py): picked the
instant the page is ready, and again 2 s later, as a person who has found their file.
Any console error (a CSP violation, a failed integrity check) stops the benchmark.
Usage: python bench/startup.py [--runs 5] [--base 947defc] [--archive]
Targets (issue 11): ≤ 5 MB first visit, ≤ 100 KB second, ready ≤ 1.5 s cold and ≤ 0.8 s second,
pick -> complete summary ≤ 1 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.archive_read import PERSON_PICKS_AFTER_MS, make_archive  # noqa: E402
from sitebuild.config import load_config  # noqa: E402
from sitebuild.render import build_site  # noqa: E402
from sitebuild.runtime import cache_dir  # noqa: E402
from sitebuild.security import security_headers  # noqa: E402
from sitebuild.serve import make_server  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

SLOW_LINK_BYTES_PER_SECOND = 10_000_000 / 8  # a 10 Mbit/s connection


class ByteCounter:
    """Bytes written by a server to its clients (headers and bodies), since the last reset."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.by_path: dict[str, int] = {}

    def add(self, path: str, count: int) -> None:
        with self.lock:
            self.total += count
            self.by_path[path] = self.by_path.get(path, 0) + count

    def reset(self) -> None:
        with self.lock:
            self.total = 0
            self.by_path = {}


class CountingWriter:
    def __init__(self, raw, counter: ByteCounter, handler) -> None:
        self.raw, self.counter, self.handler = raw, counter, handler

    def write(self, data) -> int:
        self.counter.add(getattr(self.handler, "path", "?").partition("?")[0], len(data))
        return self.raw.write(data)

    def __getattr__(self, name):
        return getattr(self.raw, name)


def counting_server(directory: Path, counter: ByteCounter):
    server = make_server(directory, 0, headers=security_headers(load_config(ROOT)))
    base_class = server.RequestHandlerClass.func

    class Counting(base_class):
        def setup(self) -> None:
            super().setup()
            self.wfile = CountingWriter(self.wfile, counter, self)

        def log_message(self, format, *args) -> None:
            pass

    server.RequestHandlerClass = lambda *a, **k: Counting(*a, **k, directory=str(directory))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def build_base(commit: str, folder: Path) -> Path:
    """Today's build: the base commit's own build script, run on its own sources."""
    source = folder / "base-src"
    source.mkdir()
    archive = folder / "base.tar"
    with archive.open("wb") as handle:
        subprocess.run(["git", "-C", str(ROOT), "archive", commit], stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(source, filter="data")
    out = folder / "base-site"
    env = {**os.environ, "PASSERELLE_CACHE": str(cache_dir(load_config(ROOT)))}
    subprocess.run([sys.executable, str(source / "build.py"), "build", "--out", str(out)], env=env, check=True)
    return out


@dataclass
class Results:
    first_bytes: list[int] = field(default_factory=list)
    second_bytes: list[int] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    second: list[float] = field(default_factory=list)
    pick_at_once: list[float] = field(default_factory=list)
    pick: list[float] = field(default_factory=list)
    read_by: list[str] = field(default_factory=list)
    heaviest: dict[str, int] = field(default_factory=dict)


def ready_seconds(page) -> float:
    page.wait_for_selector("html[data-ready='1']", timeout=120_000)
    return page.evaluate("performance.getEntriesByName('passerelle:ready')[0].startTime") / 1000


def pick_seconds(page, archive: Path) -> float:
    """From picking the archive to the complete summary (the page's own marks)."""
    page.evaluate("performance.clearMarks()")
    page.set_input_files("[data-testid=archive-input]", archive)
    page.wait_for_selector("[data-testid=archive-summary][data-complete='1']", timeout=300_000)
    marks = page.evaluate(
        "() => Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name, m.startTime]))"
    )
    seconds = (marks["passerelle:summary-complete"] - marks["passerelle:picked"]) / 1000
    page.evaluate("document.querySelector('[data-testid=archive-summary]').removeAttribute('data-complete')")
    return float(seconds)


def strict(page, errors: list[str]) -> None:
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))


def visit_twice(playwright, url: str, counter: ByteCounter, results: Results, archive: Path | None) -> None:
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        counter.reset()
        page = context.new_page()
        strict(page, errors)
        page.goto(url)
        results.cold.append(ready_seconds(page))
        results.first_bytes.append(counter.total)
        results.heaviest = dict(counter.by_path)
        page.close()
        counter.reset()
        page = context.new_page()
        strict(page, errors)
        page.goto(url)
        results.second.append(ready_seconds(page))
        results.second_bytes.append(counter.total)
        if archive is not None:
            results.pick_at_once.append(pick_seconds(page, archive))
            page.wait_for_timeout(PERSON_PICKS_AFTER_MS)
            results.pick.append(pick_seconds(page, archive))
            results.read_by.append(page.get_attribute("[data-testid=archive-summary]", "data-names-read-by") or "-")
        context.close()
    if errors:
        raise SystemExit(f"console errors on {url}: {errors}")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(base: Results, new: Results) -> None:
    rows = [
        ("bytes before ready, first visit (MB)", base.first_bytes, new.first_bytes, 1e6),
        ("bytes before ready, second visit (KB)", base.second_bytes, new.second_bytes, 1e3),
        ("ready after opening, cold profile (s)", base.cold, new.cold, 1),
        ("ready after opening, second visit (s)", base.second, new.second, 1),
        ("pick 5 GB archive the instant ready -> complete (s)", base.pick_at_once, new.pick_at_once, 1),
        ("pick 5 GB archive -> complete summary (s)", base.pick, new.pick, 1),
    ]
    print(f"{'median':<54}{'base':>10}{'new':>10}{'new/base':>10}")
    for label, before, after, unit in rows:
        if not before or not after:
            continue
        b, a = median(before) / unit, median(after) / unit
        print(f"{label:<54}{b:>10.3f}{a:>10.3f}{a / b:>10.2f}")
    if new.read_by:
        print(f"new: names read by the {', '.join(new.read_by)} worker (pick {PERSON_PICKS_AFTER_MS} ms after ready)")
    for name, results in (("base", base), ("new", new)):
        slow = median(results.first_bytes) / SLOW_LINK_BYTES_PER_SECOND
        print(f"{name}: first visit's bytes alone on a 10 Mbit/s link: {slow:.1f} s")
    for name, results in (("base", base), ("new", new)):
        heaviest = sorted(results.heaviest.items(), key=lambda item: -item[1])[:6]
        listed = ", ".join(f"{path.rsplit('/', 1)[-1]} {count:,}" for path, count in heaviest)
        print(f"{name}: heaviest responses, first visit: {listed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base", default="947defc", help="the commit to compare with (default: 947defc)")
    parser.add_argument("--archive", action="store_true", help="also time a 5 GB archive's summary")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        sites = {"base": build_base(args.base, folder_path), "new": folder_path / "new-site"}
        build_site(load_config(ROOT), sites["new"])
        archive = make_archive(folder_path / "archive.zip") if args.archive else None
        counters = {name: ByteCounter() for name in sites}
        servers = {name: counting_server(site, counters[name]) for name, site in sites.items()}
        results = {name: Results() for name in sites}
        with sync_playwright() as playwright:
            for run in range(args.runs):
                order = ["base", "new"] if run % 2 == 0 else ["new", "base"]
                for name in order:
                    url = f"http://127.0.0.1:{servers[name].server_address[1]}/en/match/"
                    visit_twice(playwright, url, counters[name], results[name], archive)
        for server in servers.values():
            server.shutdown()
    print(f"runs: {args.runs}, base {args.base} against this checkout, loopback, medians")
    report(results["base"], results["new"])


if __name__ == "__main__":
    main()
