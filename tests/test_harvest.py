"""``directory harvest``: claim records read from real and fake atproto servers on loopback, credited
to the repository that holds them, incremental, withdrawn when gone, kept when a server fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import build
from pyscript_app.directory import Manifest, claims_in, parse_claim, plan_lookup, read_claims
from sitebuild.harvest import claim_line
from tests.fake_atproto import FakeHost, claim_network, claim_value, serve_hosts
from tests.follow_helpers import in_thread, run
from tests.pds_server import Account, PdsServer

COLLECTION = "org.passerelle.x.claim"


def put_claim(pds: PdsServer, account: Account, x_id: str, rkey: str | None = None, **fields: str) -> None:
    pds.xrpc(
        "com.atproto.repo.putRecord",
        body={"repo": account.did, "collection": COLLECTION, "rkey": rkey or x_id,
              "record": claim_value(COLLECTION, x_id, **fields)},
        token=account.access_jwt,
    )


def harvest(tmp_path: Path, *sources: str, plc: str = "", capsys: pytest.CaptureFixture[str] | None = None) -> str:
    """Run the command as an operator would; returns what it printed."""
    config = tmp_path / "override.toml"
    config.write_text(f'plc_directory_url = "{plc or "http://127.0.0.1:9"}"\n')
    args = ["--config", str(config), "directory", "harvest", *sources]
    args += ["--out", str(tmp_path / "claims.jsonl"), "--state", str(tmp_path / "state.json"), "--quiet"]
    code = in_thread(build.main, args)  # the browser tests leave Playwright's loop on this thread
    printed = capsys.readouterr() if capsys else None
    assert code == 0, printed
    return (printed.out + printed.err) if printed else ""


def lookup(tmp_path: Path, x_id: str) -> set[str | None]:
    """Compile the harvested claims as ``directory compile`` does and look one X id up."""
    out = tmp_path / "dir"
    assert build.main(["directory", "compile", str(tmp_path / "claims.jsonl"), "--out", str(out)]) == 0
    manifest = Manifest.from_json(json.loads((out / "directory.json").read_text()))
    found = set()
    for path in plan_lookup(manifest, [x_id]).paths(manifest):
        claims, bad = claims_in(json.loads((out / path).read_text()), {x_id})
        assert bad == 0
        found |= {c.bluesky for c in claims}
    return found


def harvested(tmp_path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (tmp_path / "claims.jsonl").read_text().splitlines()]


def test_a_claim_is_harvested_from_the_real_pds_compiled_found_and_withdrawn(
    pds: PdsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ada, copier = pds.create_account("harvestada"), pds.create_account("harvestcopier")
    put_claim(pds, ada, "1600000000000000001", handle="ada_x", mastodon="Ada@Example.social")
    put_claim(pds, ada, "1600000000000000002", rkey="42")  # key is not the X id: skipped
    # A copy of ada's record, word for word, in another repository names the copier.
    put_claim(pds, copier, "1600000000000000001", handle="ada_x")

    printed = harvest(tmp_path, "--pds", pds.url, capsys=capsys)
    assert "skipped 1 record(s): record key is not the xId" in printed
    lines = [c for c in harvested(tmp_path) if c["x_id"].startswith("16000000000000000")]
    assert sorted(c["bluesky"] for c in lines) == sorted([ada.did, copier.did])
    ada_line = next(c for c in lines if c["bluesky"] == ada.did)
    # The Mastodon address is kept but marked unverified: compile does not read it.
    assert ada_line["mastodon_unverified"] == "ada@example.social" and "mastodon" not in ada_line
    assert parse_claim(ada_line).mastodon is None
    assert lookup(tmp_path, "1600000000000000001") == {ada.did, copier.did}

    pds.xrpc(
        "com.atproto.repo.deleteRecord",
        body={"repo": ada.did, "collection": COLLECTION, "rkey": "1600000000000000001"},
        token=ada.access_jwt,
    )
    printed = harvest(tmp_path, "--pds", pds.url, capsys=capsys)
    # only ada's changed repository is read again (the PDS may hold other tests' accounts: unchanged too)
    counts = re.search(r"(\d+) repositories listed, (\d+) read, (\d+) unchanged", printed)
    assert counts and int(counts[2]) == 1 and int(counts[3]) == int(counts[1]) - 1 >= 1, printed
    assert lookup(tmp_path, "1600000000000000001") == {copier.did}


def test_a_relay_in_front_of_the_real_pds_pages_dids_resolved_through_plc(
    pds: PdsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = [pds.create_account(f"relayed{n}") for n in range(5)]
    for n, person in enumerate(people):
        put_claim(pds, person, f"170000000000000000{n}")
    relay = FakeHost(collection_dids=[p.did for p in people] + ["did:plc:" + "a" * 24])  # one DID nobody has
    with serve_hosts([relay]) as (relay_url,):
        # limit 2000 a page: the fake relay gives the full list in one; cursors are tested below
        printed = harvest(tmp_path, "--relay", relay_url, plc=pds.plc_url, capsys=capsys)
        assert {c["bluesky"] for c in harvested(tmp_path)} == {p.did for p in people}
        assert " 5 read," in printed

        printed = harvest(tmp_path, "--relay", relay_url, plc=pds.plc_url, capsys=capsys)
        assert " 0 read, 5 unchanged" in printed  # one getLatestCommit each, nothing else

        relay.collection_dids.remove(people[0].did)  # the relay no longer lists them: withdrawn
        put_claim(pds, people[1], "1799999999999999999")
        printed = harvest(tmp_path, "--relay", relay_url, plc=pds.plc_url, capsys=capsys)
    by_did = {}
    for line in harvested(tmp_path):
        by_did.setdefault(line["bluesky"], set()).add(line["x_id"])
    assert people[0].did not in by_did
    assert by_did[people[1].did] == {"1700000000000000001", "1799999999999999999"}


def test_relay_cursors_failing_and_rate_limiting_hosts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    relay, plc, pdses = claim_network(2500, 3, COLLECTION)  # the relay pages by 2000: two pages
    with serve_hosts([relay, plc, *pdses]) as (relay_url, plc_url, *pds_urls):
        for pds, url in zip(pdses, pds_urls, strict=True):
            plc.did_pds.update(dict.fromkeys(pds.repos, url))
        pdses[1].rate_limit_every = 50  # 429 with Retry-After: 1, honoured, nothing lost
        printed = harvest(tmp_path, "--relay", relay_url, plc=plc_url, capsys=capsys)
        assert len(harvested(tmp_path)) == 2500 and "gave up" not in printed
        assert relay.requests == 2

        # The next day: one host fails for good, another withdraws a repository.
        pdses[0].fail_status = 503
        asked_before = pdses[0].requests
        gone = sorted(pdses[2].repos)[0]
        del pdses[2].repos[gone]
        for repo in list(pdses[0].repos.values())[:10]:
            repo.rev = "3l1"
        printed = harvest(tmp_path, "--relay", relay_url, plc=plc_url, capsys=capsys)
        assert f"gave up on {pds_urls[0].removeprefix('http://')}" in printed
        bluesky = {c["bluesky"] for c in harvested(tmp_path)}
        assert len(bluesky) == 2499 and gone not in bluesky  # the failing host's claims are all kept
        assert pdses[0].requests - asked_before < 40  # given up after a few, not asked 834 times


def test_a_crash_mid_listing_resumes_from_the_saved_cursor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, (pds,) = claim_network(2500, 1, COLLECTION)  # listRepos pages by 1000: three pages
    with serve_hosts([pds]) as (url,):
        pds.rate_limit_every = 0
        original = pds.answer
        pages = 0

        def crash_on_third_page(path: str, query: dict[str, str]):  # type: ignore[no-untyped-def]
            nonlocal pages
            if path.endswith("listRepos"):
                pages += 1
                if pages >= 3:  # retried: still failing
                    return 500, {}, {"error": "InternalServerError"}
            return original(path, query)

        pds.answer = crash_on_third_page  # type: ignore[method-assign]
        config = tmp_path / "c.toml"
        config.write_text("")
        args = ["--config", str(config), "directory", "harvest", "--pds", url, "--quiet"]
        args += ["--out", str(tmp_path / "claims.jsonl"), "--state", str(tmp_path / "state.json")]
        assert in_thread(build.main, args) == 1  # the listing failed: reported, nothing dropped
        state = json.loads((tmp_path / "state.json").read_text())
        assert len(state["repos"]) == 2000 and state["runs"][f"pds {url}"]["cursor"]
        pds.answer = original  # type: ignore[method-assign]
        before = pds.requests
        assert in_thread(build.main, args) == 0
        assert pds.requests - before == 1 + 500  # the last page, and its 500 repositories
        assert len(harvested(tmp_path)) == 2500
    assert "not JSON" not in capsys.readouterr().err


def test_records_are_credited_to_their_repository_and_checked() -> None:
    did = "did:plc:" + "b" * 24
    record = {"uri": f"at://did:plc:{'c' * 24}/{COLLECTION}/123", "value": {"xId": "123", "xHandle": "@someone"}}
    line = claim_line(did, record, COLLECTION, "2026-12-02")
    assert line == {"x_id": "123", "bluesky": did, "x_handle": "someone", "updated": "2026-12-02"}
    assert claim_line(did, {**record, "value": {"xId": "124"}}, COLLECTION, "2026-12-02") == "record key is not the xId"
    bad = {"uri": f"at://{did}/{COLLECTION}/12a", "value": {"xId": "12a"}}
    assert claim_line(did, bad, COLLECTION, "2026-12-02") == "xId is not an X account id"
    future = {**record, "value": {"xId": "123", "createdAt": "2999-01-01T00:00:00Z"}}
    assert claim_line(did, future, COLLECTION, "2026-12-02")["updated"] == "2026-12-02"  # type: ignore[index]


def test_handle_and_date_are_optional_and_bad_lines_are_reported(tmp_path: Path) -> None:
    claims = tmp_path / "c.jsonl"
    claims.write_bytes(
        b'{"x_id": "5", "bluesky": "did:plc:' + b"d" * 24 + b'"}\n'
        b"not json\n"
        b'{"x_id": "6", "bluesky": "a.example", "updated": "yesterday"}\n'
        b'{"x_id": "7", "bluesky": "\xff\xfe"}\n' + b"[" * 100000 + b"\n"
    )
    results = [(line, r) for _, line, r in read_claims([claims])]
    assert results[0][1] == parse_claim({"x_id": "5", "bluesky": "did:plc:" + "d" * 24})
    assert results[0][1].row() == ["5", None, "did:plc:" + "d" * 24, None, None]
    assert [line for line, r in results if isinstance(r, ValueError)] == [2, 3, 4, 5]


def test_mastodon_posts_of_the_documented_form_are_claims_of_their_authors(tmp_path: Path) -> None:
    """Someone with a Mastodon account only posts the text the page gives them; the harvest reads
    the tag's public timeline and credits the claim to the post's author, never to an address the
    text names; a deleted post is withdrawn at the next run."""
    from pyscript_app.follow.claim import mastodon_claim_post
    from sitebuild.harvest import State, run_harvest
    from tests.fake_mastodon import FakeFediverse, serve_fediverse

    fediverse = FakeFediverse()
    fediverse.add_server("big.fakenet.org")
    fediverse.add_server("small.fakenet.org")
    fediverse.add_person("ana@big.fakenet.org")
    fediverse.add_person("ben@small.fakenet.org")
    fediverse.add_person("eve@big.fakenet.org")
    first = fediverse.post("ana@big.fakenet.org", mastodon_claim_post("111", "ana_x"))
    fediverse.post("ben@small.fakenet.org", "Hello! " + mastodon_claim_post("222", "ben_x") + " see you")
    fediverse.post("eve@big.fakenet.org", "I moved from X: https://x.com/someone #PasserelleMoved")  # no id
    fediverse.post("eve@big.fakenet.org", mastodon_claim_post("333", "eve_x"), visibility="unlisted")
    for n in range(45):  # more than a page of other posts with the tag
        fediverse.post("eve@big.fakenet.org", f"#PasserelleMoved is great {n}")
    state = State()
    with serve_fediverse(fediverse) as urls:
        report = run(run_harvest([], [], state, "org.passerelle.x.claim", urls["big.fakenet.org"],
                                 mastodon_tags=[urls["big.fakenet.org"]], today="2026-12-02"))
        claims = sorted((json.loads(line) for line in state.claim_lines()), key=lambda c: c["x_id"])
        assert [(c["x_id"], c["x_handle"], c["mastodon"]) for c in claims] == [
            ("111", "ana_x", "ana@big.fakenet.org"), ("222", "ben_x", "ben@small.fakenet.org")]
        assert report.skipped["post not of the documented form"] == 46
        fediverse.delete_post(first)
        run(run_harvest([], [], state, "org.passerelle.x.claim", urls["big.fakenet.org"],
                        mastodon_tags=[urls["big.fakenet.org"]], today="2026-12-02"))
        assert [json.loads(line)["x_id"] for line in state.claim_lines()] == ["222"]
