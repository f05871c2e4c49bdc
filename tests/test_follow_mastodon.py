"""Following on Mastodon against the fake servers: resolve on one's own server, skip, follow, plan days."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from pyscript_app.follow import MASTODON_PACE, FollowQueue, FollowRunner, MastodonFollower, PathClient
from pyscript_app.follow.client import ApiAnswer
from pyscript_app.follow.mastodon import follow_allowance
from pyscript_app.follow.pacing import DAY, busiest, plan_network, schedule
from tests.fake_mastodon import FakeFediverse, Follow, iso, serve_fediverse
from tests.follow_helpers import DAY_START, FakeTime, Recording, Selected, run

HOME, OTHER = "social.fakenet.org", "other.fakenet.org"
ME = f"ana@{HOME}"


@dataclass
class World:
    fediverse: FakeFediverse
    urls: dict[str, str]
    time: FakeTime

    def client(self, token: str | None = None, inject: Any = None) -> Recording:
        token = token or self.fediverse.issue_token(ME, "read:accounts read:follows read:search write:follows")
        return Recording(PathClient(base_url=self.urls[HOME], token=token), inject)

    def runner(self, queue: FollowQueue, client: Recording, **options: Any) -> FollowRunner:
        return FollowRunner(queue, {"mastodon": MastodonFollower(client, HOME)}, self.time.clock, self.time.sleep,
                            **options)


@pytest.fixture
def world() -> Iterator[World]:
    clock = FakeTime()
    fediverse = FakeFediverse(clock=clock.clock)
    fediverse.add_server(HOME)
    fediverse.add_server(OTHER)
    fediverse.add_person(ME, display_name="Ana")
    for name in ("ben", "bea", "bob"):
        fediverse.add_person(f"{name}@{HOME}")
    for name in ("cleo", "carl", "gone"):
        fediverse.add_person(f"{name}@{OTHER}")
    with serve_fediverse(fediverse) as urls:
        yield World(fediverse, urls, clock)


def selection(*addresses: str) -> FollowQueue:
    queue = FollowQueue()
    queue.add(Selected("mastodon", address, "", str(n)) for n, address in enumerate(addresses))
    return queue


def states(queue: FollowQueue) -> dict[str, tuple[str, str]]:
    return {t.account: (t.state, t.reason) for t in queue.queue("mastodon").tasks}


def test_resolves_on_the_own_server_skips_the_followed_and_follows_the_rest(world: World) -> None:
    fediverse = world.fediverse
    home = fediverse.servers[HOME]
    # ben is followed already (made before Passerelle)
    fediverse.follows.append(Follow(home.next_serial("follow"), ME, f"ben@{HOME}", requested=False))
    queue = selection(f"ben@{HOME}", f"@Bea@{HOME}", f"cleo@{OTHER}", f"nobody@{OTHER}", f"carl@{OTHER}", "no address")
    client = world.client()
    result = run(world.runner(queue, client).run())

    assert result.stops == {"mastodon": "done"}
    assert states(queue) == {
        f"ben@{HOME}": ("already", ""), f"bea@{HOME}": ("followed", ""), f"cleo@{OTHER}": ("followed", ""),
        f"nobody@{OTHER}": ("not-found", ""), f"carl@{OTHER}": ("followed", ""), "no address": ("failed", "invalid"),
    }
    assert sorted(fediverse.following(ME)) == sorted([f"ben@{HOME}", f"bea@{HOME}", f"cleo@{OTHER}", f"carl@{OTHER}"])
    # people of the other server were found through the home server's authenticated search, with its own ids
    searched = [path for _, path, _ in client.calls if path.startswith("/api/v2/search")]
    assert len(searched) == 3 and all("resolve=true" in path for path in searched)
    cleo = next(t for t in queue.queue("mastodon").tasks if t.account == f"cleo@{OTHER}")
    assert isinstance(cleo.remote_id, str) and int(cleo.remote_id) > 2**53
    assert int(cleo.remote_id) == home.ids[f"cleo@{OTHER}"] != fediverse.servers[OTHER].ids[f"cleo@{OTHER}"]
    assert json.loads(json.dumps(queue.to_json()))["networks"]["mastodon"]["tasks"][2]["remote_id"] == cleo.remote_id
    # ben's relationship was read, and he was not followed again
    ben_id = str(home.ids[f"ben@{HOME}"])
    assert any(ben_id in path for _, path, _ in client.calls if "relationships" in path)
    assert not [path for method, path, _ in client.calls if method == "POST" and ben_id in path]
    # nothing went to the other server: everything was asked of the person's own server
    assert not world.fediverse.requests(OTHER)
    # a second run follows nobody
    again = selection(f"ben@{HOME}", f"bea@{HOME}", f"cleo@{OTHER}", f"carl@{OTHER}")
    client = world.client()
    run(world.runner(again, client).run())
    assert {s for s, _ in states(again).values()} == {"already"}
    assert not [c for c in client.calls if c[0] == "POST"]


def test_the_plan_spreads_over_days_at_400_a_day() -> None:
    queue = selection(*[f"person{n}@{HOME}" for n in range(1_000)])
    noon = DAY_START + 12 * 3600
    plan = plan_network(queue.queue("mastodon"), MASTODON_PACE, noon)
    batches = schedule(MASTODON_PACE, queue.queue("mastodon").pacer, noon, 1_000)
    per_window: dict[int, int] = {}
    for when, size in batches:
        per_window[int(when // DAY)] = per_window.get(int(when // DAY), 0) + size
    assert list(per_window.values()) == [400, 400, 200]  # today's window, then two more midnights (UTC)
    assert busiest(batches, DAY) == 800  # fixed windows: 400 before midnight and 400 after are 12 hours apart
    assert plan.to_follow == 1_000 and plan.batches[-1][0] == DAY_START + 2 * DAY + 199 * 3
    assert plan.notices[0].message == "%(network)s: %(count)s people to follow, about %(days)s days, %(per_day)s a day."
    assert plan.notices[0].text == "Mastodon: 1000 people to follow, about 3 days, 400 a day."


def test_a_day_of_follows_then_the_next_window_with_a_fake_clock(world: World) -> None:
    people = [f"p{n:03d}@{HOME}" for n in range(410)]
    for address in people:
        world.fediverse.add_person(address)
    world.time.now = DAY_START + 20 * 3600  # four hours before the window ends
    queue = selection(*people)
    client = world.client()
    # as the page does: stop when the next follow is far away, say when it can go on
    result = run(world.runner(queue, client, max_wait=600).run())
    assert result.stops == {"mastodon": "waiting"}
    assert queue.queue("mastodon").counts()["followed"] == 400
    assert queue.queue("mastodon").resume_at == DAY_START + DAY
    assert "10 more can be followed from 2026-01-02 00:00 UTC" in result.notices[0].text
    assert not [r for r in world.fediverse.log if r.status == 429]  # the pace kept under the limit
    # ids are looked up 200 at a time, just before they are followed: not all of them first
    first_follow = next(n for n, c in enumerate(client.calls) if c[1].endswith("/follow"))
    assert len([c for c in client.calls[:first_follow] if "/lookup" in c[1]]) == 200
    # the next day, the kept state goes on
    world.time.now = DAY_START + DAY + 60
    kept = FollowQueue.from_json(json.loads(json.dumps(queue.to_json())))
    result = run(world.runner(kept, world.client()).run())
    assert result.stops == {"mastodon": "done"} and len(world.fediverse.following(ME)) == 410


def test_a_429_waits_until_the_reset_time_the_server_gives(world: World) -> None:
    reset = world.time.now + 7200

    def limited_once(method: str, path: str, body: Any, number: int) -> ApiAnswer | None:
        if path.endswith("/follow") and not [c for c in client.calls[:-1] if c[1].endswith("/follow")]:
            return ApiAnswer(429, {"x-ratelimit-limit": "400", "x-ratelimit-remaining": "0",
                                   "x-ratelimit-reset": iso(reset)}, {"error": "Too many requests"})
        return None

    client = world.client(inject=limited_once)
    notices: list[str] = []
    queue = selection(f"ben@{HOME}", f"cleo@{OTHER}")
    result = run(world.runner(queue, client, on_notice=lambda n: notices.append(n.text)).run())
    assert result.stops == {"mastodon": "done"}
    assert world.time.now >= reset
    assert len([c for c in client.calls if c[1].endswith("/follow")]) == 3  # the refused one again, then the other
    assert any("asked Passerelle to slow down" in text for text in notices)


def test_an_expired_token_in_the_middle_stops_keeps_the_state_and_resumes(world: World) -> None:
    token = world.fediverse.issue_token(ME, "read:accounts read:follows read:search write:follows")

    def revoke_after_two(method: str, path: str, body: Any, number: int) -> ApiAnswer | None:
        if path.endswith("/follow") and len([c for c in client.calls if c[1].endswith("/follow")]) == 3:
            world.fediverse.servers[HOME].tokens[token].revoked = True
        return None

    client = world.client(token, revoke_after_two)
    queue = selection(f"ben@{HOME}", f"bea@{HOME}", f"bob@{HOME}", f"cleo@{OTHER}")
    result = run(world.runner(queue, client).run())
    assert result.stops == {"mastodon": "session-expired"}
    assert result.notices[0].text == "Mastodon: the session has ended. Sign in again to go on; nothing is lost."
    assert queue.queue("mastodon").counts()["followed"] == 2 and queue.queue("mastodon").counts()["queued"] == 2
    kept = FollowQueue.from_json(json.loads(json.dumps(queue.to_json())))
    result = run(world.runner(kept, world.client()).run())
    assert result.stops == {"mastodon": "done"}
    assert sorted(world.fediverse.following(ME)) == sorted(t.account for t in kept.queue("mastodon").tasks)


def test_the_follow_limit_is_planned_and_said(world: World) -> None:
    world.fediverse.people[ME].following_base = 7_498  # two more allowed
    assert follow_allowance(7_498, 10) == 2 and follow_allowance(8_000, 10_000) == 3_000
    queue = selection(f"ben@{HOME}", f"bea@{HOME}", f"bob@{HOME}")
    notices: list[str] = []
    result = run(world.runner(queue, world.client(), on_notice=lambda n: notices.append(n.text)).run())
    assert "Mastodon lets this account follow 2 more people: 1 cannot be followed." in notices
    assert result.stops == {"mastodon": "follow-limit"}
    assert sorted(s for s, _ in states(queue).values()) == ["failed", "followed", "followed"]
    assert "Mastodon does not let this account follow more people: 1 could not be followed." in notices


class NotMastodon(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>My blog</title><p>Not found"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def blog() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotMastodon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_that_is_not_mastodon_is_said_plainly(blog: str) -> None:
    clock = FakeTime()
    queue = selection(f"ben@{HOME}")
    notices: list[str] = []
    follower = MastodonFollower(PathClient(base_url=blog, token="whatever"), "blog.fakenet.org")
    result = run(FollowRunner(queue, {"mastodon": follower}, clock.clock, clock.sleep,
                              on_notice=lambda n: notices.append(n.text)).run())
    assert result.stops == {"mastodon": "not-mastodon"}
    assert notices == ["blog.fakenet.org is not a Mastodon server."]
    assert states(queue) == {f"ben@{HOME}": ("queued", "")}
    assert urlsplit(blog).hostname == "127.0.0.1"
