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
With --misses, every findable contact whose right account was not suggested is put in one cell:
its habit (how it picked its Bluesky account; "renamed since" when the archive's handle is out of
date) by the stage that lost it (never searched, budget exhausted, searched but not found, found
but scored too low or dropped). "nothing_in_common" contacts are in the denominator: only a
directory can find them, and the row "findable, nothing in common" says how many there are.
Usage: python bench/match_quality.py [--seeds 5] [--first-seed 1] [--small] [--by-habit] [--misses]
       [--without-self]
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


def run_matcher(world: World, with_self: bool) -> tuple[Report, float, Matcher]:
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        directory = compile_claims(world, root / "static" / "directory")
        appview = stack.enter_context(serve(fake_world(world, directory)))
        settings = Settings(appview, [f"{appview}/directory/"], self_did=world.self_did if with_self else "")
        started = time.perf_counter()
        matcher = Matcher(settings)
        report = asyncio.run(matcher.run(person_graph(world)))
        return report, time.perf_counter() - started, matcher


STAGES = ("never searched", "budget exhausted", "searched, not found", "found, scored too low or dropped")


def habit_of(world: World, x_id: str) -> str:
    """How a findable contact picked their Bluesky account; "renamed" when the archive's handle is out of date."""
    habit = world.habits.get(x_id, "?")
    named = world.named.get(x_id)
    if named and named.handles and named.handles[0].lower() != world.x[x_id].handle.lower():
        return f"{habit} (renamed since)"
    return habit


def miss_causes(world: World, matcher: Matcher, quality_found: set[str]) -> dict[tuple[str, str], int]:
    """Each findable contact whose right account was not suggested: (habit, stage) -> count."""
    truth = world.truth
    lookup = matcher.name_lookup
    people = {p.x_id for p in lookup.people} if lookup else set()
    causes: dict[tuple[str, str], int] = {}
    for x_id in world.findable() - quality_found:
        if x_id in people and lookup is not None:
            found = truth[x_id] in lookup.candidates.get(x_id, {})
            if found:
                stage = STAGES[3]
            elif x_id in lookup.over_budget:
                stage = STAGES[1]
            else:
                stage = STAGES[2]
        else:
            stage = STAGES[0]
        key = (habit_of(world, x_id), stage)
        causes[key] = causes.get(key, 0) + 1
    return causes


def right_suggested(world: World, report: Report) -> set[str]:
    truth = world.truth
    return {m.x_id for m in report.matches if m.network == "bluesky" and m.did and truth.get(m.x_id) == m.did}


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
    row["findable, nothing in common (only a directory finds them)"] = quality.by_habit.get(
        "nothing_in_common", (0, 0)
    )[0]
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
    parser.add_argument("--without-self", action="store_true", help="only the run before sign-in (twice as fast)")
    parser.add_argument("--misses", action="store_true", help="also the misses by habit and stage (summed over seeds)")
    args = parser.parse_args()
    table: dict[str, dict[str, list[float]]] = {"without self": {}, "with self": {}}
    if args.without_self:
        del table["with self"]
    habits: dict[str, list[float]] = {}
    misses: dict[tuple[str, str], int] = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        started = time.perf_counter()
        world = small_world(seed) if args.small else build_world(seed)
        built = time.perf_counter() - started
        named = sum(1 for x_id in world.contacts() if x_id in world.named)
        for variant in table:
            report, seconds, matcher = run_matcher(world, variant == "with self")
            quality = measure(world, [m.to_json() for m in report.matches])
            for key, value in figures(quality, report, named).items():
                table[variant].setdefault(key, []).append(value)
            if variant == "without self":
                for habit, pair in quality.by_habit.items():
                    habits.setdefault(habit, []).append(Quality.ratio(pair))
                for key, count in miss_causes(world, matcher, right_suggested(world, report)).items():
                    misses[key] = misses.get(key, 0) + count
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
    if args.misses:
        print_misses(misses, args.seeds)


def print_misses(misses: dict[tuple[str, str], int], seeds: int) -> None:
    """The misses (without self) by habit and stage, summed over the seeds."""
    habits = sorted({habit for habit, _ in misses}, key=lambda h: -sum(n for (g, _), n in misses.items() if g == h))
    print(f"\nMisses by habit and stage (without self), summed over {seeds} seeds:")
    print(f"| habit | {' | '.join(STAGES)} | total |")
    print(f"| --- | {' | '.join('---' for _ in STAGES)} | --- |")
    for habit in habits:
        row = [misses.get((habit, stage), 0) for stage in STAGES]
        print(f"| {habit} | {' | '.join(str(n) for n in row)} | {sum(row)} |")
    totals = [sum(n for (_, stage), n in misses.items() if stage == s) for s in STAGES]
    print(f"| all | {' | '.join(str(n) for n in totals)} | {sum(totals)} |")


if __name__ == "__main__":
    main()
