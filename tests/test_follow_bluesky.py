"""Following on Bluesky against the real PDS on loopback: exactly the selected, once, paced, resumable."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pyscript_app._compat import Response, send
from pyscript_app.follow import BLUESKY_PACE, BlueskyFollower, FollowQueue, FollowRunner, Pace, Window
from pyscript_app.follow.atproto_session import BlueskySignInError, app_password_session, resolve_pds
from pyscript_app.follow.client import ApiAnswer
from pyscript_app.follow.pacing import next_batch
from tests.follow_helpers import FakeTime, Recording, Selected, run
from tests.pds_server import HANDLE_DOMAIN, PdsServer
from tests.test_pds import apply_follows

FAST = Pace(batch=200, gap=60.0, windows=(Window(100_000, 3600.0),), cost=3)


def follow_subjects(pds: PdsServer, did: str) -> dict[str, str]:
    """subject DID -> record address, every page of listRecords."""
    found, cursor = {}, ""
    while True:
        query = f"repo={did}&collection=app.bsky.graph.follow&limit=100{cursor}"
        page = pds.xrpc("com.atproto.repo.listRecords", query)
        found.update({r["value"]["subject"]: r["uri"] for r in page["records"]})
        if not page["records"] or "cursor" not in page:
            return found
        cursor = f"&cursor={page['cursor']}"


def session(pds: PdsServer, handle: str, password: str, inject: Any = None) -> Recording:
    return Recording(run(app_password_session(pds.url, handle, password)), inject)


def fake_dids(count: int, seed: int) -> list[str]:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return [
        "did:plc:" + "".join(alphabet[(n * 7 + seed + i * 13) % 32] for i in range(12)) + f"{n:012d}".translate(
            str.maketrans("0123456789", "abcdefghij"))
        for n in range(count)
    ]


def test_follows_exactly_the_selected_once_and_keeps_existing_records(pds: PdsServer) -> None:
    me = pds.create_account("follower-one")
    friends = {name: pds.create_account(f"{name}-one") for name in ("amal", "bert", "chloe", "dina", "eliot")}
    # eliot was followed before Passerelle: his record must keep its address
    before = apply_follows(pds, me.did, me.access_jwt, [friends["eliot"].did])["results"][0]["uri"]
    selection = [
        Selected("bluesky", friends["amal"].handle, friends["amal"].did, "1"),
        Selected("bluesky", friends["bert"].handle, "", "2"),  # no DID: resolved by the PDS
        Selected("bluesky", friends["chloe"].did, "", "3"),  # a DID as the account
        Selected("bluesky", friends["eliot"].handle, friends["eliot"].did, "5"),
        Selected("bluesky", f"nobody-here{HANDLE_DOMAIN}", "", "6"),  # unknown handle
        Selected("bluesky", "not a handle!", "", "7"),
    ]  # dina is a match that was not selected
    queue = FollowQueue()
    assert queue.add(selection) == 6
    clock = FakeTime()
    client = session(pds, me.handle, me.password)
    runner = FollowRunner(queue, {"bluesky": BlueskyFollower(client)}, clock.clock, clock.sleep)
    result = run(runner.run())

    assert result.stops == {"bluesky": "done"}
    states = {t.account: (t.state, t.reason) for t in queue.queue("bluesky").tasks}
    assert states == {
        friends["amal"].handle: ("followed", ""), friends["bert"].handle: ("followed", ""),
        friends["chloe"].did: ("followed", ""), friends["eliot"].handle: ("already", ""),
        f"nobody-here{HANDLE_DOMAIN}": ("not-found", ""), "not a handle!": ("failed", "invalid"),
    }
    records = follow_subjects(pds, me.did)
    assert set(records) == {friends[n].did for n in ("amal", "bert", "chloe", "eliot")}
    assert records[friends["eliot"].did] == before
    assert queue.queue("bluesky").tasks[3].uri == before
    assert len(client.paths("applyWrites")) == 1 and len(client.paths("applyWrites")[0][2]["writes"]) == 3
    assert "done. 3 followed, 1 already followed, 1 not found, 1 failed" in result.notices[0].text

    # a second run, from the kept state and from a fresh selection, writes nothing
    for again in (FollowQueue.from_json(json.loads(json.dumps(queue.to_json()))), FollowQueue()):
        again.add(selection)
        client = session(pds, me.handle, me.password)
        run(FollowRunner(again, {"bluesky": BlueskyFollower(client)}, clock.clock, clock.sleep).run())
        assert not client.paths("applyWrites")
        assert follow_subjects(pds, me.did) == records
        assert {t.state for t in again.queue("bluesky").tasks} <= {"followed", "already", "not-found", "failed"}


def test_batches_of_at_most_200_and_a_429_in_the_middle_resumes(pds: PdsServer) -> None:
    me = pds.create_account("follower-two")
    subjects = fake_dids(450, 1)
    clock = FakeTime()
    reset_at = clock.now + 1800

    def second_write_is_limited(method: str, path: str, body: Any, number: int) -> ApiAnswer | None:
        if "applyWrites" in path and not getattr(second_write_is_limited, "done", False):
            writes = [c for c in client.calls if "applyWrites" in c[1]]
            if len(writes) == 2:
                second_write_is_limited.done = True  # type: ignore[attr-defined]
                return ApiAnswer(429, {"ratelimit-limit": "5000", "ratelimit-remaining": "0",
                                       "ratelimit-reset": str(int(reset_at)), "ratelimit-policy": "5000;w=3600"},
                                 {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"})
        return None

    client = session(pds, me.handle, me.password, second_write_is_limited)
    queue = FollowQueue()
    queue.add(Selected("bluesky", did, did, str(n)) for n, did in enumerate(subjects))
    kept: list[dict] = []
    runner = FollowRunner(queue, {"bluesky": BlueskyFollower(client, FAST)}, clock.clock, clock.sleep,
                          on_change=lambda q: kept.append(q.to_json()))
    assert run(runner.run()).stops == {"bluesky": "done"}

    sizes = [len(body["writes"]) for _, path, body in client.calls if "applyWrites" in path]
    assert sizes == [200, 200, 200, 50]  # the refused second batch is sent again, whole
    assert max(sizes) <= 200
    assert clock.now >= reset_at  # it waited for the server's reset time
    assert set(follow_subjects(pds, me.did)) == set(subjects)
    # while it waited, the kept state had the first 200 followed and the rest queued: nothing lost
    waiting = FollowQueue.from_json(next(k for k in kept if k["networks"]["bluesky"]["pacer"]["blocked_until"]))
    assert waiting.queue("bluesky").counts()["followed"] == 200
    assert waiting.queue("bluesky").counts()["queued"] == 250


def test_an_ended_session_stops_keeps_the_queue_and_resumes_after_signing_in_again(pds: PdsServer) -> None:
    me = pds.create_account("follower-three")
    subjects = fake_dids(30, 2)
    clock = FakeTime()
    pace = Pace(batch=10, gap=60.0, windows=(Window(1000, 3600.0),), cost=3)

    def expire_on_second_write(method: str, path: str, body: Any, number: int) -> ApiAnswer | None:
        if "applyWrites" in path and len([c for c in client.calls if "applyWrites" in c[1]]) >= 2:
            return ApiAnswer(400, {}, {"error": "ExpiredToken", "message": "Token has expired"})
        return None

    client = session(pds, me.handle, me.password, expire_on_second_write)
    queue = FollowQueue()
    queue.add(Selected("bluesky", did, did) for did in subjects)
    result = run(FollowRunner(queue, {"bluesky": BlueskyFollower(client, pace)}, clock.clock, clock.sleep).run())
    assert result.stops == {"bluesky": "session-expired"}
    assert "Sign in again" in result.notices[0].text
    assert queue.queue("bluesky").counts() == {"queued": 20, "followed": 10, "already": 0, "not-found": 0,
                                                 "failed": 0}
    kept = FollowQueue.from_json(json.loads(json.dumps(queue.to_json())))
    client = session(pds, me.handle, me.password)
    result = run(FollowRunner(kept, {"bluesky": BlueskyFollower(client, pace)}, clock.clock, clock.sleep).run())
    assert result.stops == {"bluesky": "done"}
    assert [len(b["writes"]) for _, p, b in client.calls if "applyWrites" in p] == [10, 10]
    assert set(follow_subjects(pds, me.did)) == set(subjects)


def test_a_queue_is_never_run_for_another_account(pds: PdsServer) -> None:
    first, second = pds.create_account("owner-one"), pds.create_account("owner-two")
    friend = pds.create_account("friend-of-owner")
    queue = FollowQueue()
    queue.add([Selected("bluesky", friend.handle, friend.did)])
    queue.queue("bluesky").owner = first.did
    client = session(pds, second.handle, second.password)
    clock = FakeTime()
    result = run(FollowRunner(queue, {"bluesky": BlueskyFollower(client)}, clock.clock, clock.sleep).run())
    assert result.stops == {"bluesky": "wrong-account"}
    assert not client.paths("applyWrites") and not follow_subjects(pds, second.did)


def test_cancel_and_pause_keep_everything(pds: PdsServer) -> None:
    me = pds.create_account("follower-four")
    subjects = fake_dids(120, 3)
    clock = FakeTime()
    queue = FollowQueue()
    queue.add(Selected("bluesky", did, did) for did in subjects)
    client = session(pds, me.handle, me.password)
    # the page knows the OAuth session's DID: the PDS is not asked who is signed in
    runner = FollowRunner(queue, {"bluesky": BlueskyFollower(client, did=me.did)}, clock.clock, clock.sleep)
    writes = 0

    def count_and_cancel(q: FollowQueue) -> None:
        nonlocal writes
        followed = q.queue("bluesky").counts()["followed"]
        if followed and followed // BLUESKY_PACE.batch > writes:
            writes = followed // BLUESKY_PACE.batch
            if writes == 2:
                runner.cancel()

    runner.on_change = count_and_cancel
    result = run(runner.run())
    assert result.stops == {"bluesky": "cancelled"}
    assert queue.queue("bluesky").counts()["followed"] == 100
    assert len(follow_subjects(pds, me.did)) == 100
    assert not client.paths("getSession")
    # the default pace: 50 every 5 minutes
    assert [round(s) for s in clock.sleeps] == [300]


def test_the_rate_limit_headers_of_a_real_pds_shape_the_batches(pds_rate_limited: PdsServer) -> None:
    """5,000 write points an hour, 3 a follow: after 8 batches of 200 (4,800 points) the PDS says
    200 points are left, so the next batch holds 66 follows, not 200 (which it would refuse)."""
    me = pds_rate_limited.create_account("follower-five")
    clock = FakeTime(now=time.time())  # the PDS's reset times are real
    queue = FollowQueue()
    queue.add(Selected("bluesky", did, did) for did in fake_dids(1_666, 4))
    client = Recording(run(app_password_session(pds_rate_limited.url, me.handle, me.password)))
    result = run(FollowRunner(queue, {"bluesky": BlueskyFollower(client, FAST)}, clock.clock, clock.sleep).run())
    assert result.stops == {"bluesky": "done"}
    sizes = [len(body["writes"]) for _, path, body in client.calls if "applyWrites" in path]
    assert sizes == [200] * 8 + [66]
    pacer = queue.queue("bluesky").pacer
    assert pacer.room == 0 and pacer.room_reset > clock.now  # nothing more this hour: the next run would wait
    assert next_batch(FAST, pacer, clock.now, 10)[0] == pacer.room_reset


def test_sign_in_finds_the_pds_through_the_resolver_and_the_plc_directory(pds: PdsServer) -> None:
    me = pds.create_account("follower-six")
    assert run(resolve_pds(me.handle, pds.url, pds.plc_url)) == (me.did, pds.url)
    with pytest.raises(BlueskySignInError) as unknown:
        run(resolve_pds(f"nobody-at-all{HANDLE_DOMAIN}", pds.url, pds.plc_url))
    assert unknown.value.kind == "not-found" and "can be found" in unknown.value.notice.text
    with pytest.raises(BlueskySignInError) as refused:
        run(app_password_session(pds.url, me.handle, "not the password"))
    assert refused.value.kind == "refused"


def test_an_expired_app_password_session_is_refreshed_once_and_goes_on(pds: PdsServer) -> None:
    me = pds.create_account("follower-seven")
    friend = pds.create_account("friend-of-seven")
    first = run(app_password_session(pds.url, me.handle, me.password))
    seen: list[str] = []

    async def expired_once(method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float,
                           max_bytes: int) -> Response:
        seen.append(url.rsplit("/", 1)[-1].split("?")[0])
        if seen[-1] == "com.atproto.repo.applyWrites" and seen.count(seen[-1]) == 1:
            return Response(400, b'{"error": "ExpiredToken", "message": "Token has expired"}', {})
        return await send(method, url, headers, body, timeout, max_bytes)

    first.pds.transport = expired_once
    queue = FollowQueue()
    queue.add([Selected("bluesky", friend.handle, friend.did)])
    clock = FakeTime()
    result = run(FollowRunner(queue, {"bluesky": BlueskyFollower(first)}, clock.clock, clock.sleep).run())
    assert result.stops == {"bluesky": "done"}
    assert seen[-3:] == ["com.atproto.repo.applyWrites", "com.atproto.server.refreshSession",
                         "com.atproto.repo.applyWrites"]
    assert set(follow_subjects(pds, me.did)) == {friend.did}
