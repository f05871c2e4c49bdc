"""``python -m pyscript_app follow``: the same engine from a terminal, on the real PDS and the fake Mastodon."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyscript_app.__main__ import main
from tests.fake_mastodon import FakeFediverse, serve_fediverse
from tests.follow_helpers import in_thread
from tests.pds_server import HANDLE_DOMAIN, PdsServer
from tests.test_follow_bluesky import follow_subjects

HOME, OTHER = "cli.fakenet.org", "elsewhere.fakenet.org"


@pytest.fixture
def mastodon() -> Iterator[tuple[FakeFediverse, dict[str, str]]]:
    fediverse = FakeFediverse()
    fediverse.add_person(f"me@{HOME}")
    fediverse.add_person(f"ben@{HOME}")
    fediverse.add_person(f"cleo@{OTHER}")
    with serve_fediverse(fediverse) as urls:
        yield fediverse, urls


def write_results(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps({"matches": rows, "stats": {}}))
    return path


def test_follows_on_both_networks_then_a_second_run_adds_nothing(
    pds: PdsServer, mastodon: tuple[FakeFediverse, dict[str, str]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    fediverse, urls = mastodon
    me = pds.create_account("cli-person")
    amal, bert = pds.create_account("cli-amal"), pds.create_account("cli-bert")
    results = write_results(tmp_path / "results.json", [
        {"x_id": "1", "x_handle": "amal", "network": "bluesky", "account": amal.handle, "did": amal.did,
         "confidence": "high", "reasons": ["directory"]},
        {"x_id": "2", "x_handle": "bert", "network": "bluesky", "account": bert.handle, "confidence": "medium",
         "reasons": ["same_handle"]},
        {"x_id": "3", "x_handle": "zed", "network": "bluesky", "account": f"zed-nobody{HANDLE_DOMAIN}",
         "confidence": "low", "reasons": ["similar_name"]},
        {"x_id": "4", "x_handle": "ben", "network": "mastodon", "account": f"ben@{HOME}", "confidence": "high",
         "reasons": ["directory"]},
        {"x_id": "5", "x_handle": "cleo", "network": "mastodon", "account": f"cleo@{OTHER}", "confidence": "high",
         "reasons": ["directory"]},
    ])
    config = tmp_path / "follow.toml"
    config.write_text(f'bluesky_handle_resolver = "{pds.url}"\nplc_directory_url = "{pds.plc_url}"\n'
                      f'[mastodon_instance_urls]\n"{HOME}" = "{urls[HOME]}"\n')
    monkeypatch.setenv("PASSERELLE_BLUESKY_APP_PASSWORD", me.password)
    monkeypatch.setenv("PASSERELLE_MASTODON_TOKEN", fediverse.issue_token(f"me@{HOME}"))
    state = tmp_path / "state.json"
    arguments = ["follow", str(results), "--bluesky", me.handle, "--mastodon", f"me@{HOME}", "--config", str(config),
                 "--state", str(state), "--min-confidence", "medium", "--json"]

    assert in_thread(main, arguments) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["stops"] == {"bluesky": "done", "mastodon": "done"}
    assert printed["counts"]["bluesky"]["followed"] == 2 and printed["counts"]["mastodon"]["followed"] == 2
    assert {t["account"]: t["state"] for t in printed["tasks"]} == {
        amal.handle: "followed", bert.handle: "followed", f"ben@{HOME}": "followed", f"cleo@{OTHER}": "followed"}
    assert set(follow_subjects(pds, me.did)) == {amal.did, bert.did}  # zed was below --min-confidence
    assert sorted(fediverse.following(f"me@{HOME}")) == [f"ben@{HOME}", f"cleo@{OTHER}"]
    kept = json.loads(state.read_text())
    assert kept["networks"]["bluesky"]["owner"] == me.did and kept["networks"]["mastodon"]["owner"] == f"me@{HOME}"

    assert in_thread(main, arguments) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["counts"]["bluesky"]["followed"] == 2  # kept from the first run, nothing new
    assert set(follow_subjects(pds, me.did)) == {amal.did, bert.did}
    assert len([r for r in fediverse.log if r.path.endswith("/follow")]) == 2


def test_dry_run_prints_the_plan_and_asks_nobody(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"x_id": str(n), "network": "bluesky", "account": f"p{n}.bsky.social", "confidence": "high"}
            for n in range(1_240)]
    rows += [{"x_id": str(n), "network": "mastodon", "account": f"p{n}@mastodon.social", "confidence": "high"}
             for n in range(1_000)]
    results = write_results(tmp_path / "results.json", rows)
    assert in_thread(main, ["follow", str(results), "--bluesky", "me.bsky.social", "--mastodon", "me@mastodon.social",
                 "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Bluesky: 1240 people to follow, about 2 hours.",
        "Mastodon: 1000 people to follow, about 3 days, 400 a day.",
    ]
    assert in_thread(main, ["follow", str(results), "--bluesky", "me.bsky.social", "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert [p["network"] for p in plan] == ["bluesky"] and plan[0]["batches"] == 25


def test_missing_secrets_and_bad_files_are_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PASSERELLE_MASTODON_TOKEN", raising=False)
    results = write_results(tmp_path / "results.json", [])
    assert in_thread(main, ["follow", str(results), "--mastodon", "me@mastodon.social"]) == 2
    assert "Set PASSERELLE_MASTODON_TOKEN" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{")
    assert in_thread(main, ["follow", str(tmp_path / "bad.json"), "--mastodon", "me@mastodon.social"]) == 2
    assert "cannot be read" in capsys.readouterr().err
    state = tmp_path / "state.json"
    state.write_text('{"version": 99}')
    assert in_thread(main, ["follow", str(results), "--mastodon", "me@mastodon.social", "--state", str(state)]) == 2
    assert "not a follow state file" in capsys.readouterr().err
    assert in_thread(main, ["follow", str(results)]) == 2
