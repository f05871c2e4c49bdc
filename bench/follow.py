#!/usr/bin/env python3
"""Benchmark: following on Bluesky with the engine of the page (pyscript_app.follow) under CPython.

1. 1,500 follows against the real PDS of tests/pds/ on loopback, its rate limits off and no
   pacing (gap 0): the time, the requests and the calls to applyWrites, median of runs, for
   batches of 200 (the server's maximum) and of 50 (the careful pace's size).
2. The planner's schedule for 12,000 follows with the careful pace on (50 every 5 minutes, at
   most 600 an hour and 2,500 in any 24 hours): how long, the busiest hour and day, against
   Bluesky's own limits (5,000 points an hour, 35,000 a day, 3 points a follow); and for Mastodon
   (400 a day).
Usage: python bench/follow.py [--runs 3] [--follows 1500]   (needs tests/pds/install.sh done)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyscript_app.follow import BLUESKY_PACE, MASTODON_PACE, BlueskyFollower, FollowQueue, FollowRunner  # noqa: E402
from pyscript_app.follow.atproto_session import app_password_session  # noqa: E402
from pyscript_app.follow.model import PacerState  # noqa: E402
from pyscript_app.follow.pacing import DAY, HOUR, Pace, Window, busiest, schedule  # noqa: E402
from tests.follow_helpers import Selected  # noqa: E402
from tests.pds_server import PdsServer, start_pds  # noqa: E402
from tests.test_follow_bluesky import fake_dids, follow_subjects  # noqa: E402


async def one_run(pds: PdsServer, name: str, subjects: list[str], batch: int) -> tuple[float, int, int]:
    """(seconds, requests, applyWrites calls) to follow ``subjects`` from a new account."""
    me = pds.create_account(name)
    client = await app_password_session(pds.url, me.handle, me.password)
    queue = FollowQueue()
    queue.add(Selected("bluesky", did, did) for did in subjects)
    pace = Pace(batch=batch, gap=0.0, windows=(Window(10**9, HOUR),), cost=3)
    started = time.perf_counter()
    result = await FollowRunner(queue, {"bluesky": BlueskyFollower(client, pace)}).run()
    seconds = time.perf_counter() - started
    if result.stops != {"bluesky": "done"} or len(follow_subjects(pds, me.did)) != len(subjects):
        raise SystemExit(f"the run did not follow everyone: {result.stops}")
    requests = client.requests - 1  # the sign-in is not part of following
    return seconds, requests, -(-len(subjects) // batch)


def measure(runs: int, follows: int) -> None:
    print(f"1. {follows:,} follows on the local PDS, rate limits off, no pacing (median of {runs})")
    with start_pds() as pds:
        medians = {}
        for batch in (200, 50):
            figures = [asyncio.run(one_run(pds, f"bench-{batch}-{n}", fake_dids(follows, n * 7 + batch), batch))
                       for n in range(runs)]
            seconds = statistics.median(f[0] for f in figures)
            requests = statistics.median(f[1] for f in figures)
            medians[batch] = seconds
            print(f"   batches of {batch:>3}: {seconds:6.2f} s, {requests:.0f} requests ({figures[0][2]} applyWrites), "
                  f"{follows / seconds:,.0f} follows/s; runs: {', '.join(f'{f[0]:.2f}' for f in figures)} s")
        print(f"   ratio batches of 50 / of 200: {medians[50] / medians[200]:.2f}")


def planned(follows: int) -> None:
    now = time.time()
    print(f"2. the planner's schedule for {follows:,} follows")
    for name, pace, day_limit, hour_limit in (("Bluesky", BLUESKY_PACE, 35_000 // 3, 5_000 // 3),
                                               ("Mastodon", MASTODON_PACE, 400, None)):
        started = time.perf_counter()
        batches = schedule(pace, PacerState(), now, follows)
        took = time.perf_counter() - started
        span = batches[-1][0] - now
        hour, day = busiest(batches, HOUR), busiest(batches, DAY)
        limits = f"Bluesky's limit {hour_limit:,}/h, {day_limit:,}/day" if hour_limit else f"limit {day_limit}/day"
        print(f"   {name}: {len(batches):,} batches over {span / HOUR:,.1f} h ({span / DAY:.2f} days); busiest hour "
              f"{hour:,}, busiest 24 h {day:,} ({limits}); planned in {took * 1000:.0f} ms")
    print(f"   at Bluesky's own maximum, {follows:,} follows would need at least "
          f"{follows * 3 / 35_000:.2f} days of write points")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--follows", type=int, default=1_500)
    parser.add_argument("--planned", type=int, default=12_000)
    args = parser.parse_args()
    planned(args.planned)
    measure(args.runs, args.follows)


if __name__ == "__main__":
    main()
