"""The pacing, the plan's words, the kept state and the pause/cancel hooks, without any server."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from pyscript_app.follow import BLUESKY_PACE, MASTODON_PACE, FollowQueue, FollowRunner, Pace, Window
from pyscript_app.follow.model import FollowTask, NetworkQueue, PacerState
from pyscript_app.follow.pacing import (
    DAY,
    HOUR,
    busiest,
    duration_notice,
    next_batch,
    observe,
    plan_network,
    rate_limited_until,
    record_batch,
    schedule,
)
from pyscript_app.follow.waiting import Waiter
from tests.follow_helpers import DAY_START, FakeTime, Selected, run

NOW = DAY_START + 10 * HOUR


def test_the_careful_bluesky_pace_stays_well_below_the_limits() -> None:
    batches = schedule(BLUESKY_PACE, PacerState(), NOW, 12_000)
    assert max(size for _, size in batches) == 50
    assert busiest(batches, HOUR) <= 600 < 5_000 // 3  # write points: 1,800 of 5,000 an hour
    assert busiest(batches, DAY) <= 2_500 < 35_000 // 3
    assert all(b[0] - a[0] >= 300 for a, b in itertools.pairwise(batches))
    days = (batches[-1][0] - NOW) / DAY
    assert 4 < days < 5  # 2,500 a day: the fifth day finishes it


def test_plan_words_for_1240_people() -> None:
    queue = FollowQueue()
    queue.add(Selected("bluesky", f"p{n}.bsky.social") for n in range(1_240))
    plan = plan_network(queue.queue("bluesky"), BLUESKY_PACE, NOW)
    assert plan.to_follow == 1_240 and len(plan.batches) == 25
    assert plan.notices[0].to_json() == {
        "message": "%(network)s: %(count)s people to follow, about %(hours)s hours.",
        "params": {"network": "Bluesky", "count": 1_240, "hours": 2},
    }
    assert duration_notice("bluesky", 3, 0, 3).text == "Bluesky: 3 people to follow, in under a minute."
    assert duration_notice("bluesky", 300, 25 * 60, 300).text == "Bluesky: 300 people to follow, about 25 minutes."
    assert duration_notice("mastodon", 0, 0, 0).text == "Mastodon: nobody left to follow."


def test_windows_sliding_and_fixed() -> None:
    pace = Pace(batch=10, gap=0.0, windows=(Window(25, HOUR),))
    state = PacerState()
    for _ in range(2):
        at, size = next_batch(pace, state, NOW, 100)
        record_batch(pace, state, at, size)
    assert next_batch(pace, state, NOW, 100) == (NOW, 5)  # 5 left in this hour
    record_batch(pace, state, NOW, 5)
    assert next_batch(pace, state, NOW + 10, 100) == (NOW + HOUR, 10)  # the first batches leave the window
    fixed = Pace(batch=1, gap=3.0, windows=(Window(2, DAY, fixed=True),))
    state = PacerState()
    for moment in schedule(fixed, state, DAY_START + 23 * HOUR, 3):
        record_batch(fixed, state, *moment)
    assert [when for when, _ in state.sent] == [DAY_START + 23 * HOUR, DAY_START + 23 * HOUR + 3, DAY_START + DAY]
    with pytest.raises(ValueError):
        Pace(batch=201, gap=0, windows=())


def test_the_servers_word_wins() -> None:
    state = PacerState()
    # a PDS's write points: 3 a follow
    observe(BLUESKY_PACE, state, {"ratelimit-remaining": "90", "ratelimit-reset": str(int(NOW + 600)),
                                  "ratelimit-policy": "5000;w=3600"}, NOW)
    assert (state.room, state.room_reset) == (30, NOW + 600)
    assert next_batch(BLUESKY_PACE, state, NOW, 100) == (NOW, 30)
    record_batch(BLUESKY_PACE, state, NOW, 30)
    assert next_batch(BLUESKY_PACE, state, NOW, 100) == (NOW + 600, 50)
    # a count of calls (the PDS's 3000 per 5 minutes) matters only when it is used up
    state = PacerState()
    observe(BLUESKY_PACE, state, {"ratelimit-remaining": "5", "ratelimit-reset": str(int(NOW + 60)),
                                  "ratelimit-policy": "3000;w=300"}, NOW)
    assert state.room is None and state.blocked_until == 0
    observe(BLUESKY_PACE, state, {"ratelimit-remaining": "0", "ratelimit-reset": str(int(NOW + 60)),
                                  "ratelimit-policy": "3000;w=300"}, NOW)
    assert state.blocked_until == NOW + 60
    # 429s: Mastodon's ISO reset, atproto's epoch seconds, Retry-After seconds; nonsense: a minute
    assert rate_limited_until({"x-ratelimit-reset": "2026-01-01T12:00:00.000000Z"}, NOW) == DAY_START + 12 * HOUR
    assert rate_limited_until({"ratelimit-reset": str(int(NOW + 90))}, NOW) == NOW + 90
    assert rate_limited_until({"retry-after": "30"}, NOW) == NOW + 30
    assert rate_limited_until({"retry-after": "soon"}, NOW) == NOW + 60
    assert rate_limited_until({"ratelimit-reset": str(int(NOW + 10 * DAY))}, NOW) == NOW + 2 * DAY  # capped


def test_the_kept_state_round_trips_and_refuses_what_is_not_one() -> None:
    queue = FollowQueue()
    queue.add([Selected("bluesky", "a.bsky.social", "", "1"), Selected("bluesky", "a.bsky.social", "", "2"),
               Selected("mastodon", "@Ben@Social.Example.org", "", "3"), Selected("twitter", "x", "", "4")])
    queue.queue("mastodon").tasks[0].remote_id = "110000000000000001"
    queue.queue("bluesky").pacer.sent.append((NOW, 50))
    assert [t.x_ids for t in queue.queue("bluesky").tasks] == [["1", "2"]]  # one task per account
    assert queue.queue("mastodon").tasks[0].account == "ben@social.example.org"
    copy = FollowQueue.from_json(json.loads(json.dumps(queue.to_json())))
    assert copy.to_json() == queue.to_json()
    for bad in (None, [], {"version": 2}, {"version": 1, "networks": {"x": {"network": "x"}}},
                {"version": 1, "networks": {"bluesky": {"network": "bluesky", "tasks": [{"network": "bluesky",
                                                                                          "state": "hacked"}]}}},
                {"version": 1, "networks": {"bluesky": {"network": "bluesky", "pacer": {"sent": [["a"]]}}}},
                {"version": 1, "networks": {"bluesky": {"network": "bluesky", "tasks": [{"network": "bluesky",
                                                                                          "account": ["x"]}]}}}):
        with pytest.raises(ValueError):
            FollowQueue.from_json(bad)


class SlowFollower:
    """A follower that needs no server: every follow succeeds."""

    network = "bluesky"
    pace = Pace(batch=1, gap=10.0, windows=(Window(1000, HOUR),))

    prepare_chunk = 2

    async def start(self, queue: NetworkQueue, waiter: Waiter) -> None:
        pass

    async def prepare(self, tasks: list[FollowTask], queue: NetworkQueue, waiter: Waiter) -> None:
        for task in tasks:
            task.did = "did:plc:" + "a" * 24

    async def follow(self, batch: list[FollowTask], queue: NetworkQueue, now: float) -> dict[str, str]:
        for task in batch:
            task.settle("followed")
        return {}


def test_pause_resume_and_cancel() -> None:
    async def scenario() -> None:
        clock = FakeTime(now=NOW)
        queue = FollowQueue()
        queue.add(Selected("bluesky", f"p{n}.bsky.social") for n in range(5))
        runner = FollowRunner(queue, {"bluesky": SlowFollower()}, clock.clock, clock.sleep)
        runner.pause()
        running = asyncio.create_task(runner.run())
        for _ in range(20):
            await asyncio.sleep(0)
        assert queue.queue("bluesky").counts()["followed"] == 0  # paused before the first batch
        runner.resume()
        while queue.queue("bluesky").counts()["followed"] < 2:
            await asyncio.sleep(0)
        runner.cancel()
        result = await running
        assert result.stops == {"bluesky": "cancelled"}
        assert 2 <= queue.queue("bluesky").counts()["followed"] < 5
        assert result.notices[0].text == "Bluesky: stopped. Nothing is lost: start again to go on."

    run(scenario())


def test_the_names_the_page_will_use() -> None:
    from pyscript_app.follow.model import FAILURE_REASONS, STOP_REASONS
    from pyscript_app.protocol import FOLLOW_STATES

    assert FOLLOW_STATES == ("queued", "followed", "already", "not-found", "failed")  # data-follow-state
    assert FAILURE_REASONS == ("refused", "gone", "follow-limit", "invalid")
    assert set(STOP_REASONS) == {"", "done", "waiting", "cancelled", "session-expired", "unreachable", "not-mastodon",
                                 "follow-limit", "wrong-account"}


@pytest.mark.parametrize("hour", [0.5, 6.0, 12.7, 23.9])
def test_more_than_a_days_allowance_is_said_in_days_at_any_hour(hour: float) -> None:
    queue = NetworkQueue("mastodon")
    queue.tasks = [FollowTask("mastodon", f"p{n}@mastodon.social") for n in range(1_000)]
    plan = plan_network(queue, MASTODON_PACE, DAY_START + hour * 3600)
    assert plan.notices[0].text == "Mastodon: 1000 people to follow, about 3 days, 400 a day."
