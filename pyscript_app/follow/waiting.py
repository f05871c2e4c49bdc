"""Waiting that a test can fake and a person can pause or cancel; reading calls that honour 429."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .client import ApiAnswer, AuthorizedClient
from .model import RateLimitedError, SessionExpiredError, UnreachableError
from .pacing import rate_limited_until

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]
READ_ATTEMPTS = 4
SESSION_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing", "invalid_token"}


class CancelledRunError(Exception):
    """The person pressed cancel."""


class Waiter:
    """The run's clock and sleep (injectable), with pause and cancel."""

    def __init__(self, clock: Clock = time.time, sleep: Sleep = asyncio.sleep) -> None:
        self.clock = clock
        self.sleep = sleep
        self.cancelled = asyncio.Event()
        self.running = asyncio.Event()
        self.running.set()

    async def _unless_cancelled(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self.cancelled.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, stop):
            pending.cancel()
        if self.cancelled.is_set():
            raise CancelledRunError()

    async def sleep_until(self, moment: float) -> None:
        """Wait until ``moment`` on the clock; CancelledRunError as soon as the person cancels."""
        if self.cancelled.is_set():
            raise CancelledRunError()
        seconds = moment - self.clock()
        if seconds > 0:
            await self._unless_cancelled(self.sleep(seconds))

    async def checkpoint(self) -> None:
        """Between batches: stop here while paused, leave if cancelled."""
        if self.cancelled.is_set():
            raise CancelledRunError()
        if not self.running.is_set():
            await self._unless_cancelled(self.running.wait())


def is_session_error(answer: ApiAnswer) -> bool:
    """The server no longer accepts the session (atproto says so in a 400 or a 401)."""
    return answer.status == 401 or (answer.status == 400 and answer.error in SESSION_ERRORS)


def check(answer: ApiAnswer, now: float) -> ApiAnswer:
    """The answer, unless it means the session ended, a 429, or a server failure (each raised)."""
    if is_session_error(answer):
        raise SessionExpiredError()
    if answer.status == 429:
        raise RateLimitedError(rate_limited_until(answer.headers, now))
    if answer.status >= 500 or (answer.ok and answer.body is None):
        raise UnreachableError(f"HTTP {answer.status}")
    return answer


async def read(
    client: AuthorizedClient, waiter: Waiter, method: str, path: str, body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> ApiAnswer:
    """A reading call: a 429 or a failing server is waited for and tried again a few times."""
    for attempt in range(READ_ATTEMPTS):
        try:
            return check(await client.request(method, path, body, headers), waiter.clock())
        except RateLimitedError as limited:
            if attempt == READ_ATTEMPTS - 1:
                raise
            await waiter.sleep_until(limited.until)
        except UnreachableError:
            if attempt == READ_ATTEMPTS - 1:
                raise
            await waiter.sleep_until(waiter.clock() + 2.0 ** (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover
