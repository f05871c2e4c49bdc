"""The only module that knows whether it runs in a browser (micropip's ``_compat`` pattern).

In Pyodide, requests are the browser's ``fetch`` (no cookies, no referrer, no redirects) and
answers are read as a stream that stops at a size cap. Responses are kept in memory for the
page's life; only when the person chose "Keep on this device" are they also kept in the
browser's Cache Storage, and entries past their age are deleted. Under CPython, ``urllib`` runs
in a thread, with the same cap and no redirects; plain paths are read from disk, so the CLI can
use a directory compiled next to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # CPython's fetching is imported where it runs: the browser never loads urllib.request
    from concurrent.futures import ThreadPoolExecutor

try:  # pragma: no cover - only in Pyodide
    import js  # type: ignore[import-not-found]
    from pyodide.ffi import to_js  # type: ignore[import-not-found]

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
    """The server could not be reached, the connection broke, or it answered with a redirect."""


class ResponseTooLargeError(Exception):
    """The answer is larger than what was asked for may be: it was not read further."""


async def fetch(url: str, timeout: float, max_bytes: int) -> Response:
    """GET ``url``; HTTP errors are responses, network failures raise NetworkError, an answer over
    ``max_bytes`` raises ResponseTooLargeError. Under CPython a plain path is read from disk."""
    if "://" not in url and not IN_BROWSER:
        return _read_file(Path(url), max_bytes)
    return await send("GET", url, timeout=timeout, max_bytes=max_bytes)


_POOL: ThreadPoolExecutor | None = None


def _fetch_pool() -> ThreadPoolExecutor:
    """Threads for blocking urllib calls: as many as the polite client lets run at once."""
    from concurrent.futures import ThreadPoolExecutor

    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="passerelle-fetch")
    return _POOL


def _read_file(path: Path, max_bytes: int) -> Response:
    try:
        with path.open("rb") as handle:
            return Response(200, _read_capped(handle.read, max_bytes), {"content-type": "application/json"})
    except FileNotFoundError:
        return Response(404, b"")
    except OSError as error:
        raise NetworkError(str(error)) from None


def _read_capped(read: Callable[[int], bytes], max_bytes: int) -> bytes:
    """Read until the end, refusing to go past ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    while chunk := read(min(64 * 1024, max_bytes + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLargeError()
    return b"".join(chunks)


async def _read_body(answer, max_bytes: int) -> bytes:  # type: ignore[no-untyped-def]  # pragma: no cover
    """A browser Response's body, refused at once when it declares more than ``max_bytes``."""
    declared = answer.headers.get("content-length") or ""
    if declared.isdigit() and int(declared) > max_bytes:
        if answer.body is not None:
            await answer.body.cancel()
        raise ResponseTooLargeError()
    return await _read_stream(answer, max_bytes)


def _headers_of(answer) -> dict[str, str]:  # type: ignore[no-untyped-def]  # pragma: no cover
    return {str(name).lower(): str(value) for name, value in answer.headers.entries()}


async def _read_stream(answer, max_bytes: int) -> bytes:  # type: ignore[no-untyped-def]  # pragma: no cover
    """The body, chunk by chunk, cancelled as soon as it passes ``max_bytes``."""
    if answer.body is None:
        return b""
    reader = answer.body.getReader()
    chunks: list[bytes] = []
    size = 0
    while True:
        part = await reader.read()
        if part.done:
            return b"".join(chunks)
        chunk = part.value.to_bytes()
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            await reader.cancel()
            raise ResponseTooLargeError()


class ResponseCache:
    """Fresh successful responses by URL, in memory; in the browser's Cache Storage as well only
    when ``persistent`` (the person chose "Keep on this device"). A closed cache keeps nothing:
    an answer that arrives after "Forget everything" is not written anywhere."""

    def __init__(self, max_age: float = 24 * 3600, persistent: bool = False) -> None:
        self.max_age = max_age
        self.persistent = persistent and IN_BROWSER
        self.closed = False
        self.memory: dict[str, tuple[float, Response]] = {}

    async def keep_on_device(self) -> None:
        """The person consented: keep the answers had so far, and the next ones, on the device."""
        if self.persistent or self.closed or not IN_BROWSER:
            return
        self.persistent = True  # pragma: no cover - browser only
        await delete_kept_responses(self.max_age)  # pragma: no cover
        for url, (_fetched, response) in list(self.memory.items()):  # pragma: no cover
            await self._browser_put(url, response)

    def close(self) -> None:
        """Forget every response and keep no new one."""
        self.closed = True
        self.memory.clear()

    async def get(self, url: str) -> Response | None:
        if self.closed:
            return None
        hit = self.memory.get(url)
        if hit is not None and time.time() - hit[0] <= self.max_age:
            return hit[1]
        self.memory.pop(url, None)
        if self.persistent:  # pragma: no cover - browser only
            return await self._browser_get(url)
        return None

    async def put(self, url: str, response: Response) -> None:
        if self.closed:
            return
        self.memory[url] = (time.time(), response)
        if self.persistent:  # pragma: no cover - browser only
            await self._browser_put(url, response)

    async def _browser_get(self, url: str) -> Response | None:  # pragma: no cover
        try:
            cache = await js.caches.open(CACHE_NAME)
            hit = await cache.match(url)
            if not hit:
                return None
            fetched = float(hit.headers.get(FETCHED_HEADER) or 0)
            if time.time() - fetched > self.max_age:
                await cache.delete(url)  # expired: not kept on the device any longer
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
            if not self.closed:
                await cache.put(url, js.Response.new(to_js(response.body), init))
        except Exception:  # storage off or full: the run works without the cache
            return


async def delete_kept_responses(max_age: float | None = None) -> None:
    """Delete the responses kept in Cache Storage: all of them, or those older than ``max_age``."""
    if not IN_BROWSER:
        return
    try:  # pragma: no cover - browser only
        if max_age is None:
            await js.caches.delete(CACHE_NAME)
            return
        cache = await js.caches.open(CACHE_NAME)
        for request in await cache.keys():
            hit = await cache.match(request)
            fetched = float((hit.headers.get(FETCHED_HEADER) if hit else None) or 0)
            if time.time() - fetched > max_age:
                await cache.delete(request)
    except Exception:  # storage off: nothing was kept
        return


# --- Requests on the person's behalf (following): any method, a body, the answer's headers ---------

API_MAX_BYTES = 4 * 1024 * 1024  # an API answer (a page of 100 follow records is ~30 KB)


async def send(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30.0,
    max_bytes: int = API_MAX_BYTES,
) -> Response:
    """One HTTP request with any method and body; HTTP errors are responses (with their headers),
    network failures raise NetworkError, redirects are refused. No cookies, no referrer."""
    if IN_BROWSER:  # pragma: no cover - exercised by the browser tests
        return await _browser_send(method, url, headers or {}, body, timeout, max_bytes)
    return await asyncio.get_running_loop().run_in_executor(
        _fetch_pool(), _urllib_send, method, url, headers or {}, body, timeout, max_bytes
    )


def _urllib_send(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float, max_bytes: int
) -> Response:
    from ._cpython_http import request

    return request(method, url, headers, body, timeout, max_bytes)


async def _browser_send(  # pragma: no cover - browser only
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float, max_bytes: int
) -> Response:
    init: dict[str, object] = {
        "method": method,
        "credentials": "omit",
        "referrerPolicy": "no-referrer",
        "redirect": "error",
        "headers": {"Accept": "application/json", **headers},
        "signal": js.AbortSignal.timeout(int(timeout * 1000)),
    }
    if body is not None:
        init["body"] = body.decode("utf-8")
    try:
        answer = await js.fetch(url, to_js(init, dict_converter=js.Object.fromEntries))
        content = await _read_body(answer, max_bytes)
    except ResponseTooLargeError:
        raise
    except Exception as error:  # the browser reports every network failure the same way
        raise NetworkError(str(error)) from None
    return Response(answer.status, content, _headers_of(answer))


class FetchHandlerTransport:  # pragma: no cover - browser only; the page's follow tests exercise it
    """THE BROWSER SEAM for Bluesky: requests signed by the official atproto OAuth client.

    ``fetch_handler`` is the JS function ``(path, init) => Promise<Response>`` of an
    ``OAuthSession`` from ``@atproto/oauth-client-browser`` (it adds the DPoP proof, the
    DPoP-bound access token, retries with the server's nonce and refreshes the token). Paths
    are relative to the person's PDS. It has the ``send`` shape of ``follow.client.PathClient``,
    so ``PathClient(FetchHandlerTransport(session.fetchHandler))`` is an ``AuthorizedClient``.
    """

    def __init__(self, fetch_handler: object) -> None:
        self.fetch_handler = fetch_handler

    async def __call__(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None, timeout: float, max_bytes: int
    ) -> Response:
        init: dict[str, object] = {"method": method, "headers": {"Accept": "application/json", **headers}}
        if body is not None:
            init["body"] = body.decode("utf-8")
        try:
            answer = await self.fetch_handler(path, to_js(init, dict_converter=js.Object.fromEntries))  # type: ignore[operator]
            content = await _read_body(answer, max_bytes)
        except ResponseTooLargeError:
            raise
        except Exception as error:
            name = str(getattr(error, "name", "")) or type(error).__name__
            if name in SESSION_ENDED_ERRORS:  # the client could not refresh: the session has ended
                return Response(401, b'{"error": "ExpiredToken"}', {"content-type": "application/json"})
            raise NetworkError(str(error)) from None
        return Response(answer.status, content, _headers_of(answer))


# What @atproto/oauth-client throws when a session cannot go on (refresh refused, revoked, deleted).
SESSION_ENDED_ERRORS = {"TokenRefreshError", "TokenRevokedError", "TokenInvalidError", "AuthMethodUnsatisfiableError"}
