"""The follow run: every connected network at once, each at its own pace, stoppable at any time.

``FollowRunner(queue, followers).plan()`` says what a run would do; ``run()`` does it: each
network's follower first reads who is signed in, whom they follow already and the ids of the
people to follow, then batches go when ``pacing.next_batch`` allows. After every batch the whole
queue goes to ``on_change`` (the page keeps it in IndexedDB, the CLI in its state file), so a
cancel, a crash or an ended session loses nothing. ``pause``/``resume``/``cancel`` work from
outside; the clock and the sleep are injectable, so tests run days of pacing in no time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .. import N_
from ..net import MALFORMED_ANSWER
from ..notices import Notice
from ..protocol import Network
from .model import (
    FollowQueue,
    FollowStopError,
    FollowTask,
    NetworkQueue,
    RateLimitedError,
    SessionExpiredError,
    StopReason,
    UnreachableError,
)
from .pacing import (
    NETWORK_NAMES,
    NetworkPlan,
    Pace,
    clock_text,
    follow_limit_notice,
    next_batch,
    observe,
    plan_network,
    record_batch,
)
from .waiting import CancelledRunError, Clock, Sleep, Waiter

FAILURES_BEFORE_STOP = 3


class Follower(Protocol):
    """One network's way of following (``BlueskyFollower``, ``MastodonFollower``)."""

    @property
    def network(self) -> str: ...
    @property
    def pace(self) -> Pace: ...
    @property
    def prepare_chunk(self) -> int: ...
    async def start(self, queue: NetworkQueue, waiter: Waiter) -> None: ...
    async def prepare(self, tasks: list[FollowTask], queue: NetworkQueue, waiter: Waiter) -> None: ...
    async def follow(self, batch: list[FollowTask], queue: NetworkQueue, now: float) -> dict[str, str]: ...


@dataclass
class RunResult:
    """How each network's run ended, and what to tell the person."""

    stops: dict[str, StopReason] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)


def stop_notice(queue: NetworkQueue) -> Notice:
    """What the person reads when a network's run ends (or waits)."""
    name = NETWORK_NAMES.get(queue.network, queue.network)
    counts = queue.counts()
    if queue.stop == "done":
        return Notice(
            N_("%(network)s: done. %(followed)s followed, %(already)s already followed, %(not_found)s not found, "
               "%(failed)s failed."),
            {"network": name, "followed": counts["followed"], "already": counts["already"],
             "not_found": counts["not-found"], "failed": counts["failed"]},
        )
    if queue.stop == "waiting":
        return Notice(
            N_("%(network)s: %(count)s more can be followed from %(time)s. Come back then: nothing is lost."),
            {"network": name, "count": len(queue.pending()), "time": clock_text(queue.resume_at),
             "at": queue.resume_at},
        )
    messages = {
        "cancelled": N_("%(network)s: stopped. Nothing is lost: start again to go on."),
        "session-expired": N_("%(network)s: the session has ended. Sign in again to go on; nothing is lost."),
        "unreachable": N_("%(network)s could not be reached. Try again later; nothing is lost."),
    }
    return Notice(messages.get(queue.stop, messages["unreachable"]), {"network": name})


class FollowRunner:
    """Runs a ``FollowQueue`` with one ``Follower`` per connected network."""

    def __init__(
        self,
        queue: FollowQueue,
        followers: Mapping[Network, Follower],
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        on_change: Callable[[FollowQueue], None] | None = None,
        on_notice: Callable[[Notice], None] | None = None,
        max_wait: float = math.inf,
    ) -> None:
        self.queue = queue
        self.followers = dict(followers)
        self.waiter = Waiter(clock, sleep)
        self.on_change = on_change or (lambda queue: None)
        self.on_notice = on_notice or (lambda notice: None)
        self.max_wait = max_wait  # a batch further away than this is left for a later run ("waiting")

    # --- hooks for the page ---------------------------------------------------------------------

    def pause(self) -> None:
        self.waiter.running.clear()

    def resume(self) -> None:
        self.waiter.running.set()

    def cancel(self) -> None:
        self.waiter.cancelled.set()
        self.waiter.running.set()

    def plan(self) -> list[NetworkPlan]:
        """What a run would do now, network by network, by the same pacing the run obeys."""
        now = self.waiter.clock()
        return [plan_network(self.queue.queue(n), f.pace, now) for n, f in self.followers.items()]

    # --- the run ----------------------------------------------------------------------------------

    async def run(self) -> RunResult:
        networks = list(self.followers)
        await asyncio.gather(*(self._run_network(n) for n in networks))
        result = RunResult()
        for network in networks:
            queue = self.queue.queue(network)
            result.stops[network] = queue.stop
            if queue.stop not in ("not-mastodon", "follow-limit", "wrong-account"):
                result.notices.append(stop_notice(queue))
        return result

    async def _run_network(self, network: Network) -> None:
        queue, follower = self.queue.queue(network), self.followers[network]
        queue.stop, queue.resume_at = "", 0.0
        for task in queue.pending():
            task.state, task.reason = "queued", ""  # failures get one more try in every run
        try:
            await self.waiter.checkpoint()
            await follower.start(queue, self.waiter)
            self._changed()
            for notice in plan_network(queue, follower.pace, self.waiter.clock()).notices:
                self.on_notice(notice)
            await self._follow_all(queue, follower)
        except FollowStopError as stop:
            queue.stop, queue.resume_at = stop.stop, stop.until
            self.on_notice(stop.notice)
        except SessionExpiredError:
            queue.stop = "session-expired"
        except CancelledRunError:
            queue.stop = "cancelled"
        except (UnreachableError, RateLimitedError, *MALFORMED_ANSWER):  # contained per network
            queue.stop = "unreachable"  # said as "could not be reached"; the queue is kept as it was
        finally:
            self._changed()

    async def _follow_all(self, queue: NetworkQueue, follower: Follower) -> None:
        failures = 0
        prepared: set[int] = set()  # tasks checked in this run (resolved, not followed already)
        while True:
            await self.waiter.checkpoint()
            queued = [t for t in queue.tasks if t.state == "queued"]
            if not queued:
                queue.stop = "done"
                return
            if queue.allowance is not None and queue.allowance <= 0:
                for task in queued:
                    task.fail("follow-limit")
                raise FollowStopError("follow-limit", follow_limit_notice(len(queued)))
            pending = [t for t in queued if id(t) in prepared]
            if not pending:  # the next ones are resolved and checked just before they are followed
                chunk = queued[: follower.prepare_chunk]
                await follower.prepare(chunk, queue, self.waiter)
                prepared.update(id(t) for t in chunk)
                self._changed()
                continue
            if queue.allowance is not None:
                pending = pending[: queue.allowance]
            now = self.waiter.clock()
            at, size = next_batch(follower.pace, queue.pacer, now, len(pending))
            if at - now > self.max_wait:
                queue.stop, queue.resume_at = "waiting", at
                return
            await self.waiter.sleep_until(at)
            await self.waiter.checkpoint()
            batch, sent_at = pending[:size], self.waiter.clock()
            try:
                headers = await follower.follow(batch, queue, sent_at)
            except RateLimitedError as limited:
                queue.pacer.blocked_until = limited.until
                self.on_notice(Notice(N_("%(network)s asked Passerelle to slow down; it goes on at %(time)s."), {
                    "network": NETWORK_NAMES.get(queue.network, queue.network), "time": clock_text(limited.until),
                    "at": limited.until}))
                self._changed()
                continue
            except UnreachableError:
                failures += 1
                if failures >= FAILURES_BEFORE_STOP:
                    raise
                queue.pacer.blocked_until = self.waiter.clock() + 30.0 * 2**failures
                continue
            failures = 0
            record_batch(follower.pace, queue.pacer, sent_at, len(batch))
            observe(follower.pace, queue.pacer, headers, self.waiter.clock())
            self._changed()

    def _changed(self) -> None:
        self.on_change(self.queue)
