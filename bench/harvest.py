#!/usr/bin/env python3
"""Benchmark: ``directory harvest --relay`` over fake PDS hosts on loopback (tests/fake_atproto.py,
served from a child process so the harvest's own memory is measured): a relay paging with cursors,
a PLC directory, one host failing (503) and one rate-limiting (429 every 40th request). Full run,
then the incremental run after 1 % of the repositories changed. Medians of --runs.
Usage: python bench/harvest.py [--repos 10000] [--hosts 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sitebuild.harvest import State, run_harvest  # noqa: E402
from tests.fake_atproto import claim_network, serve_hosts  # noqa: E402

COLLECTION = "org.passerelle.x.claim"


def serve(repos: int, hosts: int, pipe) -> None:  # type: ignore[no-untyped-def]
    relay, plc, pdses = claim_network(repos, hosts, COLLECTION)
    pdses[0].fail_status = 503
    pdses[1].rate_limit_every = 40
    with serve_hosts([relay, plc, *pdses]) as (relay_url, plc_url, *urls):
        for pds, url in zip(pdses, urls, strict=True):
            plc.did_pds.update(dict.fromkeys(pds.repos, url))
        pipe.send((relay_url, plc_url))
        while (command := pipe.recv()) != "stop":
            if command == "change":  # 1 % of the repositories get a new commit
                for n, did in enumerate(sorted(relay.collection_dids)):
                    if n % 100 == 7:  # all on one healthy host (n % 20 == 7)
                        pdses[n % hosts].repos[did].rev = f"3l{time.time_ns()}"
            pipe.send(sum(h.requests for h in [relay, plc, *pdses]))


def one_run(relay: str, plc: str, state: State, path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    report = asyncio.run(run_harvest([relay], [], state, COLLECTION, plc, path, budget=(10**9, 1.0), max_wait=2.0))
    return time.perf_counter() - started, report.repos_read


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--repos", type=int, default=10000)
    options.add_argument("--hosts", type=int, default=20)
    options.add_argument("--runs", type=int, default=3)
    args = options.parse_args()
    full, incremental, full_requests, incremental_requests = [], [], [], []
    for _ in range(args.runs):
        ours, theirs = multiprocessing.Pipe()
        child = multiprocessing.Process(target=serve, args=(args.repos, args.hosts, theirs), daemon=True)
        child.start()
        relay, plc = ours.recv()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "state.json"
            state = State()
            seconds, read = one_run(relay, plc, state, path)
            ours.send("count")
            asked = ours.recv()
            full.append(seconds)
            full_requests.append(asked)
            ours.send("change")
            before = ours.recv()
            seconds, read_again = one_run(relay, plc, state, path)
            ours.send("count")
            incremental.append(seconds)
            incremental_requests.append(ours.recv() - before)
            print(f"full {full[-1]:.1f} s, {read} read, {asked} requests; incremental {seconds:.1f} s,"
                  f" {read_again} read, {incremental_requests[-1]} requests", file=sys.stderr)
        ours.send("stop")
        child.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.repos} repositories, {args.hosts} hosts (one failing, one rate-limiting), medians of {args.runs}:")
    print(f"  full run:        {statistics.median(full):.1f} s, {statistics.median(full_requests):.0f} requests")
    print(f"  after 1 % changed: {statistics.median(incremental):.1f} s, {statistics.median(incremental_requests):.0f}"
          f" requests ({statistics.median(incremental) / statistics.median(full):.2f} of the full run's time)")
    print(f"  peak memory of the harvesting process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
