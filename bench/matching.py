#!/usr/bin/env python3
"""Benchmark: the matching phase for 5,000 following and 200,000 followers against a
1,000,000-entry directory, with a fake AppView and fake Mastodon servers on loopback.

The directory holds the person's 20,500 relations that "opted in" (10 %) among 1,000,000
entries; a third of the claims give a Mastodon address, on 200 domains with a fake server
each. 1,000 people followed are named by the archive. Runs the same code as the page
(pyscript_app.matching) under CPython and reports medians over runs of the time, the requests
and the bytes fetched, and how much of the directory's bytes the lookups read.
Usage: python bench/matching.py [--runs 3] [--keep DIR]   (DIR caches the compiled directory)
Target (issue 4): the matching phase under 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyscript_app.directory import Claim, compile_directory  # noqa: E402
from pyscript_app.graph import KnownAccount, PersonGraph  # noqa: E402
from pyscript_app.matching import Matcher, Settings  # noqa: E402
from tests.fake_network import FakeWorld, serve  # noqa: E402

ENTRIES = 1_000_000
FOLLOWING, FOLLOWERS = 5_000, 200_000
DOMAINS = 200  # one fake Mastodon server each: a server's request budget is its own


def person() -> PersonGraph:
    following = [str(10**15 + i) for i in range(FOLLOWING)]
    followers = [str(2 * 10**15 + i) for i in range(FOLLOWERS)]
    known = {x_id: KnownAccount(x_id, [f"friend{i}"], [f"Friend {i}"], 1) for i, x_id in enumerate(following[:1_000])}
    return PersonGraph(None, following, followers, known=known)


def directory_claims(graph: PersonGraph) -> list[Claim]:
    rng = random.Random(7)
    opted_in = rng.sample(graph.relations(), (FOLLOWING + FOLLOWERS) // 10)
    others = [str(3 * 10**15 + i) for i in range(ENTRIES - len(opted_in))]
    claims = []
    for i, x_id in enumerate(opted_in + others):
        mastodon = f"user{i}@instance{i % DOMAINS}.fakenet.org" if i % 3 == 0 else None
        claims.append(Claim(x_id, f"user{i}", f"user{i}.bsky.social", mastodon, "2026-11-01"))
    return claims


def compiled_directory(root: Path, claims: Callable[[], list[Claim]], what: str) -> Path:
    """``root/static/directory``, compiled from ``claims()`` unless a kept copy (``--keep``) is there."""
    directory = root / "static" / "directory"
    if not (directory / "directory.json").exists():
        started = time.perf_counter()
        compile_directory(claims(), directory, "bench")
        print(f"compiled {what} in {time.perf_counter() - started:.0f} s")
    return directory


def world_for(claims: list[Claim], directory: Path) -> FakeWorld:
    world = FakeWorld(static_root=directory.parent)
    for claim in claims[: (FOLLOWING + FOLLOWERS) // 10]:
        world.add_bluesky(claim.bluesky, claim.x_handle, did=f"did:plc:{claim.x_id}")
        if claim.mastodon:
            world.add_mastodon(claim.mastodon, claim.x_handle)
    for i in range(0, 1_000, 2):  # half of the named people took their X handle on Bluesky
        world.add_bluesky(f"friend{i}.bsky.social", f"Friend {i}")
    return world


def directory_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in (directory / "b").iterdir()) + (directory / "directory.json").stat().st_size


def run_servers(directory: Path, connection) -> None:
    """In a child process, so that the fake servers do not share the matcher's interpreter."""
    graph = person()
    world = world_for(directory_claims(graph), directory)
    with contextlib.ExitStack() as stack:
        appview = stack.enter_context(serve(world))
        files = stack.enter_context(serve(world))
        instances = {
            f"instance{d}.fakenet.org": stack.enter_context(serve(world, f"instance{d}.fakenet.org"))
            for d in range(DOMAINS)
        }
        connection.send((appview, files, instances))
        connection.recv()  # until the benchmark is over


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder that keeps the compiled directory between runs")
    args = parser.parse_args()
    graph = person()
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        directory = compiled_directory(root, lambda: directory_claims(graph), f"{ENTRIES:,} entries")
        ours, theirs = multiprocessing.Pipe()
        servers = multiprocessing.Process(target=run_servers, args=(directory, theirs), daemon=True)
        servers.start()
        appview, files, instances = ours.recv()
        times, requests, fetched, found = [], [], [], []
        for _ in range(args.runs):
            matcher = Matcher(Settings(appview, [f"{files}/directory/"], instances))
            started = time.perf_counter()
            report = asyncio.run(matcher.run(graph))
            times.append(time.perf_counter() - started)
            requests.append(report.stats["requests"]["requests"])
            fetched.append(report.stats["requests"]["bytes"])
            found.append(report.stats["matched_people"])
        ours.send("done")
        servers.join(timeout=10)
        total = directory_bytes(directory)
    print(f"runs: {args.runs}; {FOLLOWING:,} following + {FOLLOWERS:,} followers against {ENTRIES:,} entries")
    print(f"  matching phase, median: {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")
    print(f"  requests: {statistics.median(requests):,.0f}; bytes fetched: {statistics.median(fetched) / 1e6:.1f} MB")
    print(f"  directory size (buckets): {total / 1e6:.1f} MB; people matched: {statistics.median(found):,.0f}")


if __name__ == "__main__":
    main()
