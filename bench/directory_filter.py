#!/usr/bin/env python3
"""Benchmark: directory lookups through the membership filter (issue 8, "Lookups that reveal only
the listed"), on loopback under CPython.

5,000 followed X ids, of which 500 are in a 1,000,000-entry directory. The matcher asks the
directories only (no AppView, no Mastodon: the directory phase alone), downloads the filter once
and asks buckets for the ids it says are probably listed. Reports medians over runs of the
directory requests, the bytes fetched against the directory's bytes (one copy of its claims: the
buckets, plus the manifest and the filter; the shards repeat the buckets), and the matching
phase's time; then the filter's size for 1,000,000 and 10,000,000 ids and its build time.
Targets: requests <= 1.1 x 500 + 50 = 600; bytes < 5 %; matching phase < 10 s.
Usage: python bench/directory_filter.py [--runs 3] [--keep DIR] [--baseline]
  --keep DIR   keeps the compiled directory between invocations (compiling takes a few minutes)
  --baseline   also runs once without the filter (the directory as older compilers wrote it)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.matching import compiled_directory  # noqa: E402
from pyscript_app import membership  # noqa: E402
from pyscript_app.directory import Claim  # noqa: E402
from pyscript_app.graph import PersonGraph  # noqa: E402
from pyscript_app.matching import Matcher, Settings  # noqa: E402
from tests.fake_network import FakeWorld, serve  # noqa: E402

ENTRIES = 1_000_000
FOLLOWING = 5_000
LISTED = 500
TARGET_REQUESTS = 1.1 * LISTED + 50


def person() -> PersonGraph:
    return PersonGraph(None, [str(10**15 + i) for i in range(FOLLOWING)], [])


def directory_claims(graph: PersonGraph) -> list[Claim]:
    listed = graph.following[::10][:LISTED]
    others = [str(3 * 10**15 + i) for i in range(ENTRIES - len(listed))]
    return [
        Claim(
            x_id,
            f"user{i}",
            f"user{i}.bsky.social",
            f"user{i}@instance{i % 200}.fakenet.org" if i % 3 == 0 else None,
            "2026-11-01",
        )
        for i, x_id in enumerate(listed + others)
    ]


def legacy_copy(directory: Path) -> Path:
    """The same directory as a compiler without filters wrote it: its files, a manifest without "filter"."""
    legacy = directory.parent / "legacy"
    legacy.mkdir(exist_ok=True)
    for name in ("b", "s"):
        if not (legacy / name).exists():
            (legacy / name).symlink_to(directory / name)
    manifest = json.loads((directory / "directory.json").read_text())
    manifest.pop("filter", None)
    (legacy / "directory.json").write_text(json.dumps(manifest))
    return legacy


def one_copy_bytes(directory: Path) -> tuple[int, int]:
    """(buckets + manifest + filter, every file) of the directory, in bytes."""
    buckets = sum(p.stat().st_size for p in (directory / "b").iterdir())
    shards = sum(p.stat().st_size for p in (directory / "s").iterdir())
    rest = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
    return buckets + rest, buckets + shards + rest


def run_server(root: Path, connection) -> None:
    """In a child process, so that the static server does not share the matcher's interpreter."""
    with serve(FakeWorld(static_root=root)) as files:
        connection.send(files)
        connection.recv()  # until the benchmark is over


def measure(url: str, graph: PersonGraph) -> tuple[float, int, int, int]:
    matcher = Matcher(Settings(directories=[url], directories_only=True, look_up_names=False))
    started = time.perf_counter()
    report = asyncio.run(matcher.run(graph))
    seconds = time.perf_counter() - started
    if report.failures:
        raise SystemExit(f"the directory failed: {[n.text for n in report.failures]}")
    requests = report.stats["requests"]
    return seconds, requests["requests"], requests["bytes"], report.stats["matched_people"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder that keeps the compiled directory between invocations")
    parser.add_argument("--baseline", action="store_true", help="also run once without the filter")
    args = parser.parse_args()
    graph = person()
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        directory = compiled_directory(root, lambda: directory_claims(graph), f"{ENTRIES:,} entries (filter included)")
        legacy = legacy_copy(directory)
        ours, theirs = multiprocessing.Pipe()
        server = multiprocessing.Process(target=run_server, args=(root / "static", theirs), daemon=True)
        server.start()
        files = ours.recv()
        runs = [measure(f"{files}/directory/", graph) for _ in range(args.runs)]
        baseline = measure(f"{files}/{legacy.name}/", graph) if args.baseline else None
        ours.send("done")
        server.join(timeout=10)
        one_copy, every_file = one_copy_bytes(directory)
    seconds, requests, fetched, found = (statistics.median(column) for column in zip(*runs, strict=True))
    print(f"runs: {args.runs}; {FOLLOWING:,} followed, {LISTED} of them in a directory of {ENTRIES:,} entries")
    print(f"  matching phase (directories), median: {seconds:.2f} s   target < 10 s")
    print(f"  directory requests, median: {requests:,.0f}   target <= {TARGET_REQUESTS:.0f} (filter included)")
    print(
        f"  bytes fetched, median: {fetched / 1e6:.2f} MB = {100 * fetched / one_copy:.2f} % of the directory's"
        f" {one_copy / 1e6:.1f} MB (buckets, manifest, filter; {100 * fetched / every_file:.2f} % of all"
        f" {every_file / 1e6:.1f} MB with the shards)   target < 5 %"
    )
    print(f"  people found: {found:,.0f} of {LISTED}")
    if baseline:
        print(
            f"  without the filter (once): {baseline[0]:.2f} s, {baseline[1]:,} requests, {baseline[2] / 1e6:.2f} MB,"
            f" {baseline[3]:,} people found"
        )
    for size in (1_000_000, 10_000_000):
        size_bytes = membership.filter_bytes(size)
        print(f"  filter for {size:,} ids: {size_bytes / 1e6:.2f} MB ({8 * size_bytes / size:.2f} bits an id)")
    ids = [str(5 * 10**15 + i) for i in range(ENTRIES)]
    started = time.perf_counter()
    built = membership.build(ids)
    build_seconds = time.perf_counter() - started
    others = [str(6 * 10**15 + i) for i in range(FOLLOWING)]
    started = time.perf_counter()
    false_positives = len(built.probably_listed(others))
    query_ms = 1000 * (time.perf_counter() - started)
    print(
        f"  filter of {ENTRIES:,} ids built in {build_seconds:.1f} s; {FOLLOWING:,} ids asked in {query_ms:.0f} ms,"
        f" {false_positives} false positives ({100 * false_positives / FOLLOWING:.2f} %, stated"
        f" {100 * membership.FALSE_POSITIVE_RATE:.2f} %)"
    )


if __name__ == "__main__":
    main()
