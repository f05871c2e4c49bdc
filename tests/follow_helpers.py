"""Shared by the follow tests: a fake clock, a client that records and can answer in the server's stead."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyscript_app.follow.client import ApiAnswer, AuthorizedClient

DAY_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass
class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    now: float = DAY_START + 10 * 3600
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Selected:
    network: str
    account: str
    did: str = ""
    x_id: str = ""


Injection = Callable[[str, str, Any, int], ApiAnswer | None]


class Recording:
    """An AuthorizedClient around another: records each call; ``inject`` may answer instead of the server."""

    def __init__(self, inner: AuthorizedClient, inject: Injection | None = None) -> None:
        self.inner = inner
        self.inject = inject
        self.calls: list[tuple[str, str, Any]] = []

    async def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> ApiAnswer:
        self.calls.append((method, path, body))
        if self.inject is not None:
            answer = self.inject(method, path, body, len(self.calls))
            if answer is not None:
                return answer
        return await self.inner.request(method, path, body, headers)

    def paths(self, fragment: str) -> list[tuple[str, str, Any]]:
        return [call for call in self.calls if fragment in call[1]]


def run(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: Playwright's sync API keeps a loop on the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """A blocking call that runs its own event loop (the CLI), off the main thread for the same reason."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(function, *args).result()
