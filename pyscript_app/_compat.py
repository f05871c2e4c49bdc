"""The only module that knows whether it runs in a browser (micropip's ``_compat`` pattern).

In Pyodide, requests are the browser's ``fetch`` (no cookies, no referrer) and responses are
kept in the browser's Cache Storage so that a second run refetches nothing fresh. Under
CPython, ``urllib`` runs in a thread and the cache lives for the process; plain paths are read
from disk, so the CLI can use a directory compiled next to it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # CPython's fetching is imported where it runs: the browser never loads urllib.request
    from concurrent.futures import ThreadPoolExecutor

try:  # pragma: no cover - only in Pyodide
    import js  # type: ignore[import-not-found]
    from pyodide.ffi import to_js  # type: ignore[import-not-found]
    from pyodide.http import pyfetch  # type: ignore[import-not-found]

    IN_BROWSER = True
except ImportError:
    IN_BROWSER = False

CACHE_NAME = "passerelle-responses-v1"
FETCHED_HEADER = "x-passerelle-fetched"
USER_AGENT = "Passerelle/0.1 (finds X contacts on Bluesky and Mastodon)"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class NetworkError(Exception):
    """The server could not be reached, or the connection broke."""


async def fetch(url: str, timeout: float) -> Response:
    """GET ``url``; HTTP errors are responses, network failures raise NetworkError."""
    if IN_BROWSER:  # pragma: no cover - exercised by the browser tests
        return await _browser_fetch(url, timeout)
    if "://" not in url:
        return _read_file(Path(url))
    return await asyncio.get_running_loop().run_in_executor(_fetch_pool(), _urllib_fetch, url, timeout)


_POOL: ThreadPoolExecutor | None = None


def _fetch_pool() -> ThreadPoolExecutor:
    """Threads for blocking urllib calls: as many as the polite client lets run at once."""
    from concurrent.futures import ThreadPoolExecutor

    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="passerelle-fetch")
    return _POOL


def _read_file(path: Path) -> Response:
    try:
        return Response(200, path.read_bytes(), {"content-type": "application/json"})
    except FileNotFoundError:
        return Response(404, b"")
    except OSError as error:
        raise NetworkError(str(error)) from None


def _urllib_fetch(url: str, timeout: float) -> Response:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(answer.status, answer.read(), {k.lower(): v for k, v in answer.headers.items()})
    except urllib.error.HTTPError as error:
        body = error.read() if error.fp else b""
        return Response(error.code, body, {k.lower(): v for k, v in (error.headers or {}).items()})
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as error:
        raise NetworkError(str(getattr(error, "reason", error))) from None


async def _browser_fetch(url: str, timeout: float) -> Response:  # pragma: no cover
    try:
        answer = await pyfetch(
            url,
            method="GET",
            credentials="omit",
            referrerPolicy="no-referrer",
            headers={"Accept": "application/json"},
            signal=js.AbortSignal.timeout(int(timeout * 1000)),
        )
        body = await answer.bytes()
    except Exception as error:  # the browser reports every network failure the same way
        raise NetworkError(str(error)) from None
    return Response(answer.status, body, {k.lower(): v for k, v in answer.headers.items()})


class ResponseCache:
    """Fresh successful responses by URL: Cache Storage in the browser, memory elsewhere."""

    def __init__(self, max_age: float = 24 * 3600) -> None:
        self.max_age = max_age
        self.memory: dict[str, tuple[float, Response]] = {}

    async def get(self, url: str) -> Response | None:
        if IN_BROWSER:  # pragma: no cover
            return await self._browser_get(url)
        hit = self.memory.get(url)
        if hit is None or time.time() - hit[0] > self.max_age:
            return None
        return hit[1]

    async def put(self, url: str, response: Response) -> None:
        if IN_BROWSER:  # pragma: no cover
            await self._browser_put(url, response)
        else:
            self.memory[url] = (time.time(), response)

    async def _browser_get(self, url: str) -> Response | None:  # pragma: no cover
        try:
            cache = await js.caches.open(CACHE_NAME)
            hit = await cache.match(url)
            if not hit:
                return None
            fetched = float(hit.headers.get(FETCHED_HEADER) or 0)
            if time.time() - fetched > self.max_age:
                return None
            body = (await hit.arrayBuffer()).to_bytes()
            return Response(hit.status, body, {"content-type": hit.headers.get("content-type") or ""})
        except Exception:  # storage off (private mode, insecure origin): no cache
            return None

    async def _browser_put(self, url: str, response: Response) -> None:  # pragma: no cover
        try:
            cache = await js.caches.open(CACHE_NAME)
            headers = js.Headers.new()
            headers.set("content-type", response.headers.get("content-type", "application/json"))
            headers.set(FETCHED_HEADER, str(time.time()))
            init = to_js({"status": response.status, "headers": headers}, dict_converter=js.Object.fromEntries)
            await cache.put(url, js.Response.new(to_js(response.body), init))
        except Exception:  # storage off or full: the run works without the cache
            return
