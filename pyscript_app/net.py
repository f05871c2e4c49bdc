"""A polite HTTP client: bounded concurrency, per-server budgets, backoff on 429 and errors.

Unauthenticated Mastodon servers allow about 300 requests per 5 minutes per address, and
Bluesky's public AppView a few thousand: every server gets a sliding-window budget, and a 429
answer's ``Retry-After`` or ``RateLimit-Reset`` is honoured before trying again.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ._compat import NetworkError, Response, ResponseCache, ResponseTooLargeError, fetch

T = TypeVar("T")
Fetcher = Callable[[str, float, int], Awaitable[Response]]
RETRY_STATUSES = {429, 500, 502, 503, 504}
DEFAULT_MAX_BYTES = 1024 * 1024  # a server's answer larger than its kind allows is refused unread
HOST_DEADLINE = 60.0  # seconds a server may spend answering, in all, before it is given up
GIVE_UP_KINDS = {"unreachable", "too-slow"}
# What a hostile or broken answer can still raise past the checks of the code that reads it (a
# field of the wrong type, JSON nested too deep): caught at that source's or network's boundary.
MALFORMED_ANSWER = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)


class SourceError(Exception):
    """A request failed for good: ``kind`` is unreachable, too-slow, too-large, malformed, refused or
    rate-limited."""

    def __init__(self, kind: str, url: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {url} {detail}".strip())
        self.kind = kind
        self.url = url


class CancelRequestedError(Exception):
    """The person pressed cancel."""


@dataclass
class Budget:
    """At most ``limit`` requests in any ``window`` seconds."""

    limit: int
    window: float
    sent: deque[float] = field(default_factory=deque)

    def wait_time(self, now: float) -> float:
        while self.sent and now - self.sent[0] >= self.window:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.limit else self.window - (now - self.sent[0])


@dataclass
class Stats:
    requests: int = 0
    bytes: int = 0
    cached: int = 0
    retries: int = 0
    failures: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def retry_delay(headers: dict[str, str], now: float, attempt: int) -> float:
    """Seconds to wait before trying again: the server's word, else exponential backoff."""
    for name in ("retry-after", "ratelimit-reset", "x-ratelimit-reset"):
        value = headers.get(name, "").strip()
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if "," in value else None
            if parsed is None:
                try:
                    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    continue
            return max(parsed.timestamp() - now, 0.0)
        return max(number - now, 0.0) if number > 10**9 else max(number, 0.0)
    return min(2.0**attempt, 30.0)


class PoliteClient:
    """GETs JSON with a cache, limits per server, retries, and a way to cancel."""

    def __init__(
        self,
        fetcher: Fetcher = fetch,
        cache: ResponseCache | None = None,
        concurrency: int = 16,
        per_host: int = 2,
        budgets: dict[str, tuple[int, float]] | None = None,
        default_budget: tuple[int, float] = (280, 300.0),
        attempts: int = 4,
        timeout: float = 20.0,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.time,
        host_deadline: float = HOST_DEADLINE,
    ) -> None:
        self.fetcher = fetcher
        self.cache = cache if cache is not None else ResponseCache()
        self.slots = asyncio.Semaphore(concurrency)
        self.per_host = per_host
        self.host_concurrency: dict[str, int] = {}
        self.host_slots: dict[str, asyncio.Semaphore] = {}
        self.budget_settings = budgets or {}
        self.default_budget = default_budget
        self.budgets: dict[str, Budget] = {}
        self.attempts = attempts
        self.timeout = timeout
        self.max_wait = max_wait
        self.clock = clock
        self.stats = Stats()
        self.cancelled = False
        self.host_deadline = host_deadline
        self.unlimited_hosts: set[str] = set()
        self.answering: dict[str, float] = {}  # seconds each server spent answering
        self.given_up: dict[str, SourceError] = {}  # servers that failed for good: not asked again

    def cancel(self) -> None:
        self.cancelled = True

    def _check(self) -> None:
        if self.cancelled:
            raise CancelRequestedError()

    def allow(self, url: str, concurrency: int, budget: tuple[int, float]) -> None:
        """Give one server (a big public API) more room than the polite default."""
        host = self._host(url)
        self.host_concurrency[host] = concurrency
        self.budget_settings[host] = budget
        self.unlimited_hosts.add(host)

    def _host(self, url: str) -> str:
        return urlsplit(url).netloc or "local"

    async def _respect_budget(self, host: str) -> None:
        budget = self.budgets.get(host)
        if budget is None:
            limit, window = self.budget_settings.get(host, self.default_budget)
            budget = self.budgets[host] = Budget(limit, window)
        while (delay := budget.wait_time(self.clock())) > 0:
            await self._sleep(min(delay, self.max_wait))
        budget.sent.append(self.clock())

    async def _sleep(self, seconds: float) -> None:
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            self._check()
            await asyncio.sleep(min(left, 0.25))
        self._check()

    async def get_json(self, url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any | None:
        """The JSON at ``url`` (at most ``max_bytes`` of it); None for 404 or 410; SourceError when
        it cannot be had. A server that failed for good is not asked again in this run."""
        return await self._get(url, max_bytes, lambda response: self._decode(response, url))

    async def get_bytes(self, url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
        """The bytes at ``url``, as :meth:`get_json` gets them (a binary file, read by its caller)."""
        return await self._get(url, max_bytes, lambda response: bytes(response.body))

    async def _get(self, url: str, max_bytes: int, read: Callable[[Response], T]) -> T | None:
        """What ``read`` makes of the answer; an answer it refuses is not cached."""
        self._check()
        cached = await self.cache.get(url)
        if cached is not None:
            self.stats.cached += 1
            return read(cached)
        host = self._host(url)
        slots = self.host_slots.get(host)
        if slots is None:
            slots = self.host_slots[host] = asyncio.Semaphore(self.host_concurrency.get(host, self.per_host))
        # The server's own slot first: a slow server keeps its requests waiting, not everybody's.
        async with slots, self.slots:
            if host in self.given_up:
                raise self.given_up[host]
            try:
                response = await self._fetch_with_retries(url, host, max_bytes)
            except SourceError as error:
                if error.kind in GIVE_UP_KINDS:
                    self.given_up[host] = error
                raise
        if response.status in (404, 410):
            return None
        value = read(response)
        await self.cache.put(url, response)
        return value

    async def _timed_fetch(self, url: str, host: str, max_bytes: int) -> Response:
        """One request; a server past its deadline for answering is too slow to wait for."""
        spent = self.answering.get(host, 0.0)
        limited = host not in self.unlimited_hosts
        if limited and spent >= self.host_deadline:
            raise SourceError("too-slow", url)
        timeout = min(self.timeout, self.host_deadline - spent) if limited else self.timeout
        started = self.clock()
        try:
            return await self.fetcher(url, timeout, max_bytes)
        finally:
            self.answering[host] = spent + max(self.clock() - started, 0.0)

    async def _fetch_with_retries(self, url: str, host: str, max_bytes: int) -> Response:
        for attempt in range(self.attempts):
            self._check()
            await self._respect_budget(host)
            self.stats.requests += 1
            try:
                response = await self._timed_fetch(url, host, max_bytes)
            except ResponseTooLargeError:
                self.stats.failures += 1
                raise SourceError("too-large", url) from None
            except NetworkError as error:
                if attempt == self.attempts - 1:
                    self.stats.failures += 1
                    raise SourceError("unreachable", url, str(error)) from None
                self.stats.retries += 1
                await self._sleep(min(2.0**attempt * 0.5, self.max_wait))
                continue
            self.stats.bytes += len(response.body)
            if response.status in RETRY_STATUSES and attempt < self.attempts - 1:
                self.stats.retries += 1
                await self._sleep(min(retry_delay(response.headers, self.clock(), attempt), self.max_wait))
                continue
            if response.status == 429:
                self.stats.failures += 1
                raise SourceError("rate-limited", url)
            if response.status >= 400 and response.status not in (404, 410):
                self.stats.failures += 1
                raise SourceError("refused", url, f"HTTP {response.status}")
            return response
        raise SourceError("unreachable", url)  # pragma: no cover - the loop always returns or raises

    def _decode(self, response: Response, url: str) -> Any:
        try:
            return json.loads(response.body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[… nested too deep
            self.stats.failures += 1
            raise SourceError("malformed", url, "not JSON") from None
