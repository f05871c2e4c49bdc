"""Matching under CPython against fake servers on 127.0.0.1: directories, Bluesky, Mastodon, faults."""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import io
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pyscript_app.bluesky import Profile, candidate_handles, jaro_winkler, judge
from pyscript_app.directory import (
    ClaimError,
    Manifest,
    bucket_bits_for,
    compile_directory,
    id_prefix,
    parse_claim,
    plan_lookup,
)
from pyscript_app.export import MASTODON_HEADER, bluesky_lists, mastodon_following_lists
from pyscript_app.graph import KnownAccount, PersonGraph
from pyscript_app.matching import Match, Matcher, Settings
from pyscript_app.net import PoliteClient, SourceError, retry_delay
from tests.archive_factory import ArchiveSpec, Mention, Post, archive_files, write_zip
from tests.fake_network import FakeWorld, Fault, serve

ROOT = Path(__file__).resolve().parent.parent
ANN, BEN, CLEO, DAN, EVE, FAY, GUS = (str(2_000_000_000 + i) for i in range(7))


def graph() -> PersonGraph:
    """Ann and Ben followed, Cleo both ways, Dan a follower, Eve blocked, Fay and Gus followed."""
    return PersonGraph(
        account=None,
        following=[ANN, BEN, CLEO, EVE, FAY, GUS],
        followers=[CLEO, DAN],
        blocked=[EVE],
        known={
            ANN: KnownAccount(ANN, ["ann_smith"], ["Ann Smith"], 3),
            BEN: KnownAccount(BEN, ["benj"], ["Benjamin Roux"], 1),
            FAY: KnownAccount(FAY, ["fay_writes"], ["Fay Lee"], 1),
            GUS: KnownAccount(GUS, ["gus"], ["Gus"], 1),
            EVE: KnownAccount(EVE, ["eve"], ["Eve"], 1),
        },
    )


def claims_file(tmp_path: Path, claims: list[dict]) -> Path:
    out = tmp_path / "directory"
    compile_directory([parse_claim(c) for c in claims], out, "Test directory")
    return out


def world_with_people() -> FakeWorld:
    world = FakeWorld()
    # Exact handle + same name, but a common name: pre-selected (medium) only because Ann is linked to
    # Cleo (confirmed by a directory) and to the person's own account; never high, as another Ann Smith
    # in the person's circles would have those ties too.
    world.add_bluesky("ann-smith.bsky.social", "Ann Smith", did="did:plc:ann")
    world.add_bluesky("me.bsky.social", "Me", did="did:plc:me")
    world.follow("did:plc:ann", "did:plc:cleo")
    world.follow("did:plc:me", "did:plc:ann")
    world.add_bluesky("benroux.example.com", "Benjamin Roux", "Writer. Also at x.com/benj")  # bio: high
    world.add_bluesky("cleo.bsky.social", "Cleo", did="did:plc:cleo")  # directory by DID
    world.add_bluesky("fay-writes.bsky.social", "Fake Fay", labels=["impersonation"])  # never proposed
    world.add_bluesky("eve.bsky.social", "Eve")  # blocked on X: never looked up
    world.add_mastodon("dan@social.fakenet.org", "Dan")
    world.add_mastodon("oldcleo@old.fakenet.org", "Cleo", moved_to="cleo@new.fakenet.org")
    world.add_mastodon("cleo@new.fakenet.org", "Cleo")
    return world


def run_in_fresh_loop(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API keeps a loop on the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def run(matcher: Matcher, g: PersonGraph):
    return run_in_fresh_loop(matcher.run(g))


def by_account(matches: list[Match]) -> dict[str, Match]:
    return {m.account: m for m in matches}


def test_the_whole_matching_against_fake_servers(tmp_path: Path) -> None:
    world = world_with_people()
    directory = claims_file(
        tmp_path,
        [
            {
                "x_id": CLEO,
                "x_handle": "cleo",
                "bluesky": "did:plc:cleo",
                "mastodon": "oldcleo@old.fakenet.org",
                "updated": "2026-01-01",
            },
            {"x_id": DAN, "x_handle": "dan", "mastodon": "dan@social.fakenet.org", "updated": "2026-01-01"},
            {"x_id": DAN, "x_handle": "dan", "mastodon": "dan@gone.fakenet.org", "updated": "2025-01-01"},
            {"x_id": EVE, "x_handle": "eve", "bluesky": "eve.bsky.social", "updated": "2026-01-01"},
        ],
    )
    world.static_root = directory.parent
    with (
        serve(world) as appview,
        serve(world) as files,
        serve(world, "social.fakenet.org") as social,
        serve(world, "old.fakenet.org") as old,
        serve(world, "new.fakenet.org") as new,
        serve(world, "gone.fakenet.org") as gone,
    ):
        settings = Settings(
            bluesky_appview=appview,
            directories=[f"{files}/directory/"],
            mastodon_instance_urls={
                "social.fakenet.org": social,
                "old.fakenet.org": old,
                "new.fakenet.org": new,
                "gone.fakenet.org": gone,
            },
            self_did="did:plc:me",
        )
        report = run(Matcher(settings), graph())
    found = by_account(report.matches)
    ann = found["ann-smith.bsky.social"]
    assert ann.confidence == "medium" and ann.ties == 1
    assert set(ann.reasons) >= {"exact_handle", "same_name", "ties", "tie_self"}
    assert {e["reason"]: e.get("count") for e in ann.evidence}["ties"] == 1
    assert any("app.bsky.graph.getRelationships" in line for line in world.log)
    assert found["benroux.example.com"].confidence == "high" and "bio_links_x" in found["benroux.example.com"].reasons
    assert found["cleo.bsky.social"].reasons == ["directory"] and found["cleo.bsky.social"].relation == "both"
    assert (
        found["cleo@new.fakenet.org"].moved_from == "oldcleo@old.fakenet.org"
        and "moved" in found["cleo@new.fakenet.org"].reasons
    )
    assert found["dan@social.fakenet.org"].reasons == ["directory", "conflict"]  # two claims for Dan, one gone
    assert "dan@gone.fakenet.org" not in found  # 404 on its server: never proposed
    assert found["dan@social.fakenet.org"].bridge == "dan.social.fakenet.org.ap.brid.gy"
    assert found["ann-smith.bsky.social"].bridge == "@ann-smith.bsky.social@bsky.brid.gy"
    assert "fay-writes.bsky.social" not in found  # labelled impersonation
    assert not any(m.x_id == EVE for m in report.matches)  # blocked
    assert not any(EVE in line or "eve" in line.split("?")[-1] for line in world.log)
    assert report.failures == [] and report.stats["matched_people"] == 4


def test_requests_never_reveal_an_exact_x_id(tmp_path: Path) -> None:
    world = world_with_people()
    directory = claims_file(
        tmp_path, [{"x_id": DAN, "x_handle": "dan", "mastodon": "dan@social.fakenet.org", "updated": "2026-01-01"}]
    )
    world.static_root = directory.parent
    with serve(world) as appview, serve(world) as files, serve(world, "social.fakenet.org") as social:
        settings = Settings(appview, [f"{files}/directory/"], {"social.fakenet.org": social})
        run(Matcher(settings), graph())
    ids = set(graph().relations())
    assert world.log and not [line for line in world.log if any(x_id in line for x_id in ids)]


def test_a_failing_source_is_said_and_the_others_go_on(tmp_path: Path) -> None:
    world = world_with_people()
    directory = claims_file(
        tmp_path, [{"x_id": DAN, "x_handle": "dan", "mastodon": "dan@social.fakenet.org", "updated": "2026-01-01"}]
    )
    world.static_root = directory.parent
    world.faults["/xrpc/"] = Fault("malformed", times=0)
    with serve(world) as appview, serve(world) as files, serve(world, "social.fakenet.org") as social:
        settings = Settings(
            appview, [f"{files}/directory/", "http://127.0.0.1:9/nowhere/"], {"social.fakenet.org": social}
        )
        matcher = Matcher(settings, PoliteClient(attempts=2, max_wait=0.1))
        report = run(matcher, graph())
    assert [m.account for m in report.matches] == ["dan@social.fakenet.org"]
    texts = [notice.text for notice in report.failures]
    assert any(text.startswith("Bluesky sent an answer that could not be understood") for text in texts)
    assert any("127.0.0.1:9/nowhere/ could not be reached" in text for text in texts)


def test_429_with_retry_after_is_honoured(tmp_path: Path) -> None:
    world = world_with_people()
    world.faults["/xrpc/app.bsky.actor.getProfiles"] = Fault("429", times=1, seconds=1)
    with serve(world) as appview:
        client = PoliteClient()
        report = run(Matcher(Settings(appview, search_actors=False), client), graph())
    assert "ann-smith.bsky.social" in by_account(report.matches)
    assert client.stats.retries == 1 and report.failures == []
    assert sum("getProfiles" in line for line in world.log) == 2


def test_dropped_connections_and_5xx_are_retried_then_reported() -> None:
    world = world_with_people()
    world.faults["/xrpc/app.bsky.actor.getProfiles"] = Fault("drop", times=1)
    world.faults["/xrpc/app.bsky.actor.searchActors"] = Fault("500", times=0)
    with serve(world) as appview:
        client = PoliteClient(attempts=3, max_wait=0.05)
        report = run(Matcher(Settings(appview), client), graph())
    assert "ann-smith.bsky.social" in by_account(report.matches)  # the retry after the drop worked
    assert any("Bluesky refused the request" in n.text for n in report.failures)


def test_slow_answers_time_out_into_a_failure() -> None:
    world = world_with_people()
    world.faults["/xrpc/"] = Fault("slow", times=0, seconds=2)
    with serve(world) as appview:
        report = run(Matcher(Settings(appview, search_actors=False), PoliteClient(attempts=1, timeout=0.3)), graph())
    assert report.matches == [] and any("could not be reached" in n.text for n in report.failures)


def test_a_second_run_uses_the_cache() -> None:
    world = world_with_people()
    with serve(world) as appview:
        client = PoliteClient()
        run(Matcher(Settings(appview), client), graph())
        first = len(world.log)
        run(Matcher(Settings(appview), client), graph())
    assert len(world.log) == first and client.stats.cached > 0


def test_cancel_stops_the_run_and_keeps_what_was_found() -> None:
    world = world_with_people()
    world.faults["/xrpc/app.bsky.actor.searchActors"] = Fault("slow", times=0, seconds=0.5)
    with serve(world) as appview:
        matcher = Matcher(Settings(appview))

        async def run_and_cancel():
            task = asyncio.ensure_future(matcher.run(graph()))
            await asyncio.sleep(0.3)
            matcher.cancel()
            return await task

        report = run_in_fresh_loop(run_and_cancel())
    assert report.cancelled and "ann-smith.bsky.social" in by_account(report.matches)


def test_per_server_budget_spaces_requests() -> None:
    client = PoliteClient(default_budget=(2, 0.5), cache=None)
    calls: list[float] = []

    async def fetcher(url: str, timeout: float, max_bytes: int):
        from pyscript_app._compat import Response

        calls.append(asyncio.get_event_loop().time())
        return Response(200, b"{}")

    client.fetcher = fetcher

    async def four_requests() -> None:
        await asyncio.gather(*(client.get_json(f"http://a.example/{i}") for i in range(4)))

    run_in_fresh_loop(four_requests())
    assert len(calls) == 4 and calls[3] - calls[0] >= 0.45


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after": "7"}, 7.0), ({"ratelimit-reset": "1000000010"}, 10.0), ({}, 4.0)],
)
def test_retry_delay_reads_the_servers_headers(headers: dict, expected: float) -> None:
    assert retry_delay(headers, now=1_000_000_000, attempt=2) == pytest.approx(expected)


# --- directories ----------------------------------------------------------------------------------


def test_directory_compile_and_lookup_keeps_conflicts(tmp_path: Path) -> None:
    claims = [
        {"x_id": "123", "x_handle": "alice", "bluesky": "alice.example.com", "updated": "2026-01-31"},
        {"x_id": "123", "x_handle": "alice", "bluesky": "@Alice2.example.com", "updated": "2026-02-01"},
        {"x_id": "123", "x_handle": "alice", "bluesky": "alice.example.com", "updated": "2026-01-31"},
    ]
    out = claims_file(tmp_path, claims)
    manifest = Manifest.from_json(json.loads((out / "directory.json").read_text()))
    assert manifest.entries == 2 and manifest.ids == 1  # the duplicate once, the conflict kept
    rows = json.loads((out / manifest.bucket_path(id_prefix("123", manifest.bucket_bits))).read_text())
    assert [row[2] for row in rows] == ["alice.example.com", "alice2.example.com"]
    assert len(list((out / "b").iterdir())) == 1 << manifest.bucket_bits  # empty buckets exist too


@pytest.mark.parametrize(
    ("claim", "problem"),
    [
        ({"x_id": "12a", "x_handle": "a", "bluesky": "a.example.com", "updated": "2026-01-01"}, "x_id"),
        ({"x_id": "1", "x_handle": "a", "updated": "2026-01-01"}, "needs 'bluesky', 'mastodon'"),
        ({"x_id": "1", "x_handle": "a", "mastodon": "not an address", "updated": "2026-01-01"}, "mastodon"),
        ({"x_id": "1", "x_handle": "a", "bluesky": "under_score.com", "updated": "2026-01-01"}, "bluesky"),
        ({"x_id": "1", "x_handle": "a", "bluesky": "a.example.com", "updated": "yesterday"}, "updated"),
    ],
)
def test_bad_claims_are_refused_with_a_reason(claim: dict, problem: str) -> None:
    with pytest.raises(ClaimError, match=problem):
        parse_claim(claim)


def test_ten_million_entries_5000_lookups_read_about_one_percent() -> None:
    bits = bucket_bits_for(10_000_000)
    manifest = Manifest(bits, bits - 7, 10_000_000, 10_000_000, "2026-01-01")
    ids = [str(random.Random(1).randrange(10**17, 10**19)) for _ in range(5000)]
    ids = [str(10**17 + i * 7919) for i in range(5000)]
    plan = plan_lookup(manifest, ids)
    fraction = (len(plan.buckets) + len(plan.shards) * 128) / (1 << bits)
    assert fraction < 0.02  # every bucket holds about the same share of the directory's bytes


def test_a_person_needing_most_of_a_shard_gets_the_shard() -> None:
    manifest = Manifest(10, 3, 8000, 8000, "2026-01-01")
    plan = plan_lookup(manifest, [str(i) for i in range(100_000, 120_000)])
    assert len(plan.shards) == 8 and plan.buckets == []


# --- Bluesky scoring -------------------------------------------------------------------------------


def test_jaro_winkler_reference_values() -> None:
    assert jaro_winkler("martha", "marhta") == pytest.approx(0.961, abs=0.001)
    assert jaro_winkler("dwayne", "duane") == pytest.approx(0.84, abs=0.001)
    assert jaro_winkler("same", "same") == 1.0 and jaro_winkler("", "x") == 0.0


def test_candidate_handles_follow_bluesky_rules() -> None:
    assert candidate_handles("Ann_Smith") == ["ann-smith.bsky.social", "annsmith.bsky.social"]
    assert candidate_handles("_x_") == ["x.bsky.social"]


@pytest.mark.parametrize(
    ("handle", "name", "bio", "by_name", "expected"),
    [
        # A common name as a handle: alone, the same handle and name are not enough (see test_scoring).
        ("ann-smith.bsky.social", "Ann Smith", "", False, "low"),
        ("ann-smith.bsky.social", "Ann Smith", "Ex-Twitter: @ann_smith", False, "high"),
        ("someone.bsky.social", "Ann S.", "formerly twitter.com/ann_smith", False, "medium"),
        ("annsmith.bsky.social", "A.", "", False, "low"),
        ("ann-smyth.bsky.social", "Ann Smith", "", False, "low"),
        ("annsmith2.bsky.social", "Other", "", False, None),
        ("totally.bsky.social", "Ann Smith", "", True, "low"),
        ("totally.bsky.social", "Somebody", "x.com/ann_smithy", False, None),
    ],
)
def test_judging_a_profile(handle: str, name: str, bio: str, by_name: bool, expected: str | None) -> None:
    profile = Profile("did:plc:x", handle, name, bio, "")
    verdict = judge("ann_smith", ["Ann Smith"], profile, found_by_name=by_name)
    assert (verdict.confidence if verdict else None) == expected


# --- exports ---------------------------------------------------------------------------------------


def mastodon_match(address: str) -> Match:
    return Match("1", "x", "mastodon", address, "high", ["directory"], "following")


def test_mastodon_following_list_is_mastodons_format() -> None:
    [file] = mastodon_following_lists(
        [mastodon_match("alice@social.fakenet.org"), mastodon_match("bob@mastodon.example")]
    )
    assert file.name == "mastodon-following.csv"
    assert file.text == (
        "Account address,Show boosts,Notify on new posts,Languages\n"
        "alice@social.fakenet.org,true,false,\n"
        "bob@mastodon.example,true,false,\n"
    )


def test_big_mastodon_lists_are_split() -> None:
    files = mastodon_following_lists([mastodon_match(f"u{i}@s.example") for i in range(25)], rows_per_file=10)
    assert [f.name for f in files] == [
        "mastodon-following-1.csv",
        "mastodon-following-2.csv",
        "mastodon-following-3.csv",
    ]
    rows = [list(csv.reader(io.StringIO(f.text))) for f in files]
    assert all(r[0] == MASTODON_HEADER for r in rows) and sum(len(r) - 1 for r in rows) == 25


def test_bluesky_lists_have_handles_and_dids() -> None:
    match = Match(
        "1", "ann_smith", "bluesky", "ann.bsky.social", "high", ["exact_handle"], "both", "Ann", did="did:plc:a"
    )
    csv_file, json_file = bluesky_lists([match])
    assert csv_file.text.splitlines()[1] == "ann.bsky.social,did:plc:a,Ann,ann_smith,1,high"
    assert json.loads(json_file.text)[0]["did"] == "did:plc:a"


# --- the command line twin ------------------------------------------------------------------------


def test_cli_match_prints_matches_and_stats(tmp_path: Path) -> None:
    world = world_with_people()
    spec = ArchiveSpec(
        following=[ANN, DAN],
        followers=[],
        posts=[Post("1600000000000000001", [Mention(ANN, "ann_smith", "Ann Smith")])],
    )
    archive = write_zip(tmp_path / "a.zip", archive_files(spec))
    claims_file(
        tmp_path, [{"x_id": DAN, "x_handle": "dan", "mastodon": "dan@social.fakenet.org", "updated": "2026-01-01"}]
    )
    with serve(world) as appview, serve(world, "social.fakenet.org") as social:
        config = tmp_path / "matching.toml"
        config.write_text(
            f'bluesky_appview = "{appview}"\ndirectories = ["directory"]\n'
            f'[mastodon_instance_urls]\n"social.fakenet.org" = "{social}"\n'
        )
        result = subprocess.run(
            [sys.executable, "-m", "pyscript_app", "match", str(archive), "--config", str(config), "--json"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert {(m["network"], m["account"], m["confidence"]) for m in output["matches"]} == {
        ("bluesky", "ann-smith.bsky.social", "low"),  # a common name, no tie to confirm it
        ("mastodon", "dan@social.fakenet.org", "high"),
    }
    ann = next(m for m in output["matches"] if m["network"] == "bluesky")
    common = {"x_id", "x_handle", "network", "account", "did", "confidence", "reasons"}
    assert set(ann) == common | {"evidence", "chance", "ties"}
    assert {e["reason"]: e["weight"] for e in ann["evidence"]} == {
        "exact_handle": 1.4,
        "same_name": 2.4,
    }  # no anchor: no ties asked
    assert 0 < ann["chance"] < 0.85 and ann["ties"] == 0
    mastodon = next(m for m in output["matches"] if m["network"] == "mastodon")
    assert set(mastodon) == common
    assert output["stats"]["relations"] == 2 and output["stats"]["failures"] == []


def test_source_error_names_its_kind() -> None:
    error = SourceError("malformed", "http://x.example/a", "not JSON")
    assert error.kind == "malformed" and "x.example" in str(error)


def test_published_matches_are_only_the_new_or_changed_ones(tmp_path: Path) -> None:
    world = world_with_people()
    directory = claims_file(
        tmp_path,
        [
            {"x_id": CLEO, "x_handle": "cleo", "bluesky": "did:plc:cleo", "updated": "2026-01-01"},
            {"x_id": DAN, "x_handle": "dan", "mastodon": "dan@social.fakenet.org", "updated": "2026-01-01"},
        ],
    )
    world.static_root = directory.parent
    published: list[list[dict]] = []
    with serve(world) as appview, serve(world) as files, serve(world, "social.fakenet.org") as social:
        settings = Settings(appview, [f"{files}/directory/"], {"social.fakenet.org": social}, self_did="did:plc:me")
        matcher = Matcher(settings)
        report = run_in_fresh_loop(
            matcher.run(graph(), publish=lambda ms: published.append([m.to_json() for m in ms]))
        )
    sent = [match for batch in published for match in batch]
    assert len(published) >= 2 and all(published)
    keys = [(m["x_id"], m["network"], m["account"]) for m in sent]
    repeated = {key for key in keys if keys.count(key) > 1}
    for key in repeated:  # a match is sent again only when it changed
        versions = [m for m in sent if (m["x_id"], m["network"], m["account"]) == key]
        assert all(a != b for a, b in itertools.pairwise(versions))
    assert {m.key for m in report.matches} <= set(keys)


def test_no_mastodon_file_holds_more_than_a_new_account_may_import() -> None:
    """Mastodon refuses a whole import beyond what the account may still follow (7,500 at most)."""
    files = mastodon_following_lists([mastodon_match(f"u{i}@s.example") for i in range(7_501)])
    assert [len(f.text.splitlines()) - 1 for f in files] == [7_500, 1]


def test_the_export_says_why_the_mastodon_list_is_split() -> None:
    from pyscript_app.worker import Session

    session = Session()
    session.matches = [mastodon_match(f"u{i}@s.example") for i in range(7_600)]
    for index, match in enumerate(session.matches):
        match.x_id = str(index + 1)
    answer = session.export("mastodon", [list(m.key) for m in session.matches])
    assert len(answer["files"]) == 2
    messages = [w["message"] for w in answer["warnings"]]
    assert any(message.startswith("Mastodon refuses a whole import") for message in messages)
    assert answer["warnings"][-1]["params"] == {"rows": 7_500, "files": 2}


def test_signed_in_the_mastodon_file_holds_no_more_than_the_accounts_real_allowance() -> None:
    from pyscript_app.worker import Session

    session = Session()
    session.matches = [mastodon_match(f"u{i}@s.example") for i in range(300)]
    for index, match in enumerate(session.matches):
        match.x_id = str(index + 1)
    answer = session.export("mastodon", [list(m.key) for m in session.matches], allowance=120)
    assert [len(f["text"].splitlines()) - 1 for f in answer["files"]] == [120]
    assert answer["warnings"][0]["params"] == {"allowed": 120, "count": 300}
    everyone = session.export("mastodon", [list(m.key) for m in session.matches], allowance=7_000)
    assert [len(f["text"].splitlines()) - 1 for f in everyone["files"]] == [300] and not everyone["warnings"]


def harvested_directory(world: FakeWorld, tmp_path: Path, claims: list[dict]) -> PersonGraph:
    """A self-published directory of ``claims`` served by ``world``; the person follows everyone in it."""
    folder = tmp_path / "static"
    compile_directory([parse_claim(c) for c in claims], folder / "directory", "Harvested", self_published=True)
    world.static_root = folder
    return PersonGraph(account=None, following=[c["x_id"] for c in claims], followers=[])


def test_a_self_published_claim_is_medium_until_the_accounts_own_profile_agrees(tmp_path: Path) -> None:
    """Issue 8: a harvested claim proves only the new account's side. High needs the profile to
    agree: the X handle as the Bluesky handle, a bio naming the X account, the same Mastodon username."""
    world = FakeWorld()
    world.add_bluesky("annsmith.fakenet.org", "Ann", did="did:plc:ann")  # the X handle, on her own domain
    world.add_bluesky("someone.bsky.social", "Ben", "Ex-Twitter: @ben_x", did="did:plc:ben")  # bio names X
    world.add_bluesky("cleo.bsky.social", "Cleo", "Hello", did="did:plc:cleo")  # nothing agrees
    world.add_mastodon("dan_x@social.fakenet.org", "Dan")  # same username
    world.add_mastodon("eve@social.fakenet.org", "Eve")  # another username
    claims = [
        {"x_id": ANN, "x_handle": "ann_smith", "bluesky": "did:plc:ann"},
        {"x_id": BEN, "x_handle": "ben_x", "bluesky": "did:plc:ben"},
        {"x_id": CLEO, "x_handle": "cleo_x", "bluesky": "did:plc:cleo"},
        {"x_id": DAN, "x_handle": "dan_x", "mastodon": "dan_x@social.fakenet.org"},
        {"x_id": FAY, "x_handle": "fay_x", "mastodon": "eve@social.fakenet.org"},
    ]
    people = harvested_directory(world, tmp_path, claims)
    assert json.loads((tmp_path / "static" / "directory" / "directory.json").read_text())["self_published"] is True
    with serve(world) as appview, serve(world) as files, serve(world, "social.fakenet.org") as social:
        settings = Settings(bluesky_appview=appview, directories=[f"{files}/directory/"],
                            mastodon_instance_urls={"social.fakenet.org": social}, look_up_names=False)
        report = run(Matcher(settings), people)
    levels = {m.x_id: (m.confidence, m.reasons) for m in report.matches}
    assert not report.failures, [f.text for f in report.failures]
    assert levels[ANN] == ("high", ["directory", "domain_handle"])
    assert levels[BEN] == ("high", ["directory", "bio_names_x"])
    assert levels[CLEO] == ("medium", ["directory"])
    assert levels[DAN] == ("high", ["directory", "exact_handle"])
    assert levels[FAY] == ("medium", ["directory"])


def test_a_doubtful_mastodon_account_shows_its_ties_to_the_confirmed_ones(tmp_path: Path) -> None:
    """Issue 12, on Mastodon: an account claimed by itself alone (medium) that follows, or is followed
    by, the person's confirmed Mastodon contacts says so ("linked on Mastodon to 2 of your contacts"),
    from its own server's public lists; one that hides them, or is linked to nobody, says nothing;
    the confirmed ones are not asked; a server that refuses the lists is not a failure."""
    world = FakeWorld()
    world.add_mastodon("dan_x@social.fakenet.org", "Dan")  # same username as on X: high
    world.add_mastodon("gus@other.fakenet.org", "Gus")  # high too
    world.add_mastodon("eve@social.fakenet.org", "Fay")  # Fay's claim, another username: medium
    world.add_mastodon("ben2@other.fakenet.org", "Ben")  # medium, linked to nobody
    world.add_mastodon("cleo9@other.fakenet.org", "Cleo", hides_network=True)  # medium, lists hidden
    world.mastodon_follows = {
        "eve@social.fakenet.org": {"dan_x@social.fakenet.org"},
        "gus@other.fakenet.org": {"eve@social.fakenet.org", "cleo9@other.fakenet.org"},
        "cleo9@other.fakenet.org": {"dan_x@social.fakenet.org"},
    }
    said = (
        (DAN, "dan_x", "dan_x@social.fakenet.org"),
        (GUS, "gus", "gus@other.fakenet.org"),
        (FAY, "fay_x", "eve@social.fakenet.org"),
        (BEN, "benj", "ben2@other.fakenet.org"),
        (CLEO, "cleo", "cleo9@other.fakenet.org"),
    )
    claims = [{"x_id": x_id, "x_handle": handle, "mastodon": address} for x_id, handle, address in said]
    people = harvested_directory(world, tmp_path, claims)
    with (
        serve(world) as appview,
        serve(world) as files,
        serve(world, "social.fakenet.org") as social,
        serve(world, "other.fakenet.org") as other,
    ):
        settings = Settings(bluesky_appview=appview, directories=[f"{files}/directory/"], look_up_names=False,
                            mastodon_instance_urls={"social.fakenet.org": social, "other.fakenet.org": other})
        report = run(Matcher(settings), people)
        eve_id = world.mastodon["eve@social.fakenet.org"]["id"]
        world.faults[f"/api/v1/accounts/{eve_id}/"] = Fault("malformed", times=0)  # its lists: not JSON
        refused = run(Matcher(settings), people)
    found = {m.x_id: m for m in report.matches}
    assert not report.failures, [f.text for f in report.failures]
    assert (found[FAY].confidence, found[FAY].reasons, found[FAY].ties) == ("medium", ["directory", "ties_mastodon"], 2)
    assert found[FAY].evidence == [{"reason": "ties_mastodon", "weight": 0.0, "count": 2}]
    assert (found[BEN].reasons, found[BEN].ties) == (["directory"], 0)
    assert (found[CLEO].reasons, found[CLEO].ties) == (["directory"], 0)  # hidden: nothing to say
    assert found[DAN].confidence == found[GUS].confidence == "high" and not found[DAN].ties
    social_port, other_port = social.rsplit(":", 1)[1], other.rsplit(":", 1)[1]
    lists = sorted(line for line in world.log if "/following" in line or "/followers" in line)
    eve, ben, cleo = (world.mastodon[a]["id"] for a in ("eve@social.fakenet.org", "ben2@other.fakenet.org",
                                                        "cleo9@other.fakenet.org"))
    assert {line.split("?")[0] for line in lists} == {
        f"{port} /api/v1/accounts/{account}/{kind}"
        for port, account in ((social_port, eve), (other_port, ben), (other_port, cleo))
        for kind in ("following", "followers")
    }  # each doubtful account on its own server; the confirmed ones never
    assert not refused.failures and "ties_mastodon" not in by_account(refused.matches)["eve@social.fakenet.org"].reasons


def test_a_manifest_says_self_published_as_true_or_false_only() -> None:
    base = Manifest(4, 0, 1, 1, "2026-12-02", "x").to_json()
    assert "self_published" not in base and Manifest.from_json(base).self_published is False
    assert Manifest.from_json(base | {"self_published": True}).self_published is True
    with pytest.raises(ValueError):
        Manifest.from_json(base | {"self_published": "yes"})
