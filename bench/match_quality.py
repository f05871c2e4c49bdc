#!/usr/bin/env python3
"""Benchmark: how right the matcher's Bluesky suggestions are, on seeded synthetic worlds.

Each seed builds a world (``bench/world.py``: 10,000 X accounts with common names, a third of
them on Bluesky with real habits, 6,000 Bluesky strangers with the same names, lookalikes,
impersonators, fans, a follow graph, an archive naming part of the person's 1,350 contacts and
a directory of those who opted in), serves it from the fake AppView on loopback (in-process),
runs the page's matcher (pyscript_app.matching) on it, and compares with the truth.

Reports, medians over seeds: per level the suggestions and their precision; contacts asked to
pick one of two; the precision of the default selection (everything not "low"); recall over the
contacts on Bluesky that the archive names or the directory lists (right account suggested at
any level, and pre-selected); AppView requests per named contact; the undecided contacts.
Twice: without the person's own Bluesky account (before sign-in) and with it.
Usage: python bench/match_quality.py [--seeds 5] [--first-seed 1] [--small] [--by-habit]
Targets (issue 12): default selection precision >= 0.98, no wrong "high", recall >= 0.9,
AppView requests <= 2 per named contact.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.world import Quality, World, build_world, measure, small_world  # noqa: E402
from pyscript_app.directory import Claim, compile_directory  # noqa: E402
from pyscript_app.graph import KnownAccount, PersonGraph  # noqa: E402
from pyscript_app.matching import Matcher, Report, Settings  # noqa: E402
from tests.fake_network import FakeWorld, serve  # noqa: E402


def fake_world(world: World, directory: Path | None) -> FakeWorld:
    """The world as the fake AppView serves it (the truth stays out)."""
    fake = FakeWorld(static_root=directory.parent if directory else None)
    for account in world.bluesky.values():
        fake.add_bluesky(
            account.handle, account.display_name, account.description, account.labels, account.did, account.followers
        )
    fake.follows = {did: set(followed) for did, followed in world.follows.items()}
    return fake


def person_graph(world: World) -> PersonGraph:
    known = {
        x_id: KnownAccount(x_id, list(named.handles), list(named.names), named.seen)
        for x_id, named in world.named.items()
    }
    return PersonGraph(None, list(world.following), list(world.followers), known=known)


def compile_claims(world: World, out: Path) -> Path:
    claims = [Claim(x_id, world.x[x_id].handle, handle, None, "2026-11-01") for x_id, handle in world.directory.items()]
    compile_directory(claims, out, "bench")
    return out


def run_matcher(world: World, with_self: bool) -> tuple[Report, float]:
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        directory = compile_claims(world, root / "static" / "directory")
        appview = stack.enter_context(serve(fake_world(world, directory)))
        settings = Settings(appview, [f"{appview}/directory/"], self_did=world.self_did if with_self else "")
        started = time.perf_counter()
        report = asyncio.run(Matcher(settings).run(person_graph(world)))
        return report, time.perf_counter() - started


def figures(quality: Quality, report: Report, named: int) -> dict[str, float]:
    row: dict[str, float] = {}
    for level, pair in quality.levels.items():
        row[f"{level} n"] = pair[0]
        row[f"{level} precision"] = Quality.ratio(pair)
    row["wrong high"] = quality.levels["high"][0] - quality.levels["high"][1]
    row["pick-one-of-two"] = quality.choices[0]
    row["right one offered"] = Quality.ratio(quality.choices)
    row["default selected"] = quality.default_selected[0]
    row["default precision"] = quality.default_precision
    row["findable"] = quality.findable
    row["recall (any level)"] = quality.recall
    row["recall (pre-selected)"] = quality.found_default / quality.findable if quality.findable else 1.0
    traceless = quality.by_habit.get("nothing_in_common", (0, 0))
    traced = (quality.findable - traceless[0], quality.found_any - traceless[1])
    row["recall (left a trace: handle, name or bio)"] = Quality.ratio(traced)
    row["undecided contacts"] = report.stats["undecided"]
    row["AppView req / named contact"] = report.stats["appview_requests"] / max(named, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--small", action="store_true", help="the tests' small world (fast)")
    parser.add_argument("--by-habit", action="store_true", help="also recall per Bluesky habit")
    args = parser.parse_args()
    table: dict[str, dict[str, list[float]]] = {"without self": {}, "with self": {}}
    habits: dict[str, list[float]] = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        started = time.perf_counter()
        world = small_world(seed) if args.small else build_world(seed)
        built = time.perf_counter() - started
        named = sum(1 for x_id in world.contacts() if x_id in world.named)
        for variant in table:
            report, seconds = run_matcher(world, variant == "with self")
            quality = measure(world, [m.to_json() for m in report.matches])
            for key, value in figures(quality, report, named).items():
                table[variant].setdefault(key, []).append(value)
            if variant == "without self":
                for habit, pair in quality.by_habit.items():
                    habits.setdefault(habit, []).append(Quality.ratio(pair))
            print(
                f"seed {seed} {variant}: world {built:.1f} s, matching {seconds:.1f} s, "
                f"default precision {quality.default_precision:.3f}, recall {quality.recall:.3f}",
                file=sys.stderr,
            )
    size = "small" if args.small else "10,000 X accounts"
    print(f"Medians over {args.seeds} seeds ({size}; contacts named by the archive: see 'findable')")
    print(f"| figure | {' | '.join(table)} |")
    print(f"| --- | {' | '.join('---' for _ in table)} |")
    for key in table["without self"]:
        cells = []
        for variant in table:
            value = statistics.median(table[variant][key])
            cells.append(f"{value:.3f}" if isinstance(value, float) and not value.is_integer() else f"{value:,.0f}")
        print(f"| {key} | {' | '.join(cells)} |")
    worst = {variant: max(values["wrong high"]) for variant, values in table.items()}
    lowest = {variant: min(values["default precision"]) for variant, values in table.items()}
    print(f"| wrong high, worst seed | {' | '.join(f'{v:.0f}' for v in worst.values())} |")
    print(f"| default precision, worst seed | {' | '.join(f'{v:.3f}' for v in lowest.values())} |")
    if args.by_habit:
        print("\nRecall per habit (without self), median:")
        for habit, values in sorted(habits.items()):
            print(f"  {habit:<24} {statistics.median(values):.3f}")


if __name__ == "__main__":
    main()
