"""The demo's recorded networks: one file per answer, found again whatever the order of a batch."""

from __future__ import annotations

import json
from pathlib import Path

from pyscript_app._compat import Response
from pyscript_app.archive import read_archive
from pyscript_app.matching import Matcher, Settings
from pyscript_app.net import PoliteClient
from pyscript_app.replay import canonical_url, replay_name, replaying
from sitebuild.demo_networks import (
    APPVIEW,
    AVATAR_ORIGIN,
    DEMO_NETWORKS,
    SITE,
    Recorder,
    avatar_svg,
    load_world,
    record,
)
from sitebuild.runtime import compile_claims
from tests.follow_helpers import run

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "site" / "demo"


def test_a_batch_asked_in_another_order_is_the_same_answer() -> None:
    one = "https://AppView.example/xrpc/app.bsky.actor.getProfiles?actors=b&actors=a"
    other = "https://appview.example/xrpc/app.bsky.actor.getProfiles?actors=a&actors=b"
    assert canonical_url(one) == canonical_url(other)
    assert replay_name(one) == replay_name(other)
    assert replay_name(one) != replay_name(other + "&actors=c")
    assert replay_name("https://a.example/x?q=1").endswith(".json")


def test_other_origins_are_read_from_the_recording_and_the_site_as_it_is() -> None:
    asked: list[str] = []

    async def fetch(url: str, timeout: float, max_bytes: int) -> Response:
        asked.append(url)
        return Response(200, b"{}")

    fetcher = replaying("http://127.0.0.1:8000/site/assets/demo/networks", fetch)
    run(fetcher("https://appview.demo.example/xrpc/x?a=1", 5.0, 100))
    run(fetcher("http://127.0.0.1:8000/site/directory/manifest.json", 5.0, 100))
    assert asked == [
        "http://127.0.0.1:8000/site/assets/demo/networks/" + replay_name("https://appview.demo.example/xrpc/x?a=1"),
        "http://127.0.0.1:8000/site/directory/manifest.json",
    ]


def test_the_recording_holds_every_answer_the_sample_needs(tmp_path: Path) -> None:
    compile_claims([DEMO / "claims.jsonl"], tmp_path / "directory", "demo")
    world = load_world(DEMO / "networks.json")
    files = record(world, DEMO / "archive", tmp_path / "directory")
    assert len(files) > 10
    answers = [json.loads(body) for body in files.values()]
    profiles = [p for a in answers for p in a.get("profiles", [])]
    assert profiles and all(p["avatar"].startswith(AVATAR_ORIGIN) for p in profiles)
    assert any(a.get("moved") for a in answers)  # Bruno moved servers
    assert record(world, DEMO / "archive", tmp_path / "directory") == files  # the same at every build
    assert APPVIEW.endswith(".example")


def test_an_avatar_shows_initials_and_escapes_them() -> None:
    picture = avatar_svg("Inês Costa", "ines.demo.example")
    assert ">IC</text>" in picture and picture.startswith("<svg")
    assert "&lt;" in avatar_svg("<script> x", "a")


def test_the_sample_shows_each_kind_of_suggestion(tmp_path: Path) -> None:
    """What the demo teaches, by the real matcher: levels, a conflict left to the person, a move."""
    compile_claims([DEMO / "claims.jsonl"], tmp_path / "directory", "demo")
    recorder = Recorder(load_world(DEMO / "networks.json"), tmp_path / "directory")
    settings = Settings(bluesky_appview=APPVIEW, directories=[SITE + "directory/"], replay=SITE + DEMO_NETWORKS)
    report = run(Matcher(settings, PoliteClient(fetcher=recorder.fetch)).run(read_archive([DEMO / "archive"])))
    level = {m.account: m.confidence for m in report.matches}
    assert level["ada.demo.example"] == level["elif.demo.example"] == "high"
    # two directories' accounts for one contact: at most one is theirs, neither is pre-selected
    assert level["dmitri.demo.example"] == level["dkovac.demo.example"] == "low"
    assert level["hugotanaka84.demo.example"] == "low"
    assert "spam.demo.example" not in level and report.stats["excluded"] == 1  # blocked
    moved = next(m for m in report.matches if m.account == "bruno@mamot.demo.example")
    assert moved.moved_from == "bruno@piaille.demo.example" and "moved" in moved.reasons
