"""The one thing that differs between the browser and the terminal: how an authorized request goes.

``AuthorizedClient`` is what the follow engine needs: a method, a path (with its query), a JSON
body and headers in; the status, the headers and the decoded JSON out. Implementations:

- ``PathClient(send, base_url, token)``: a bearer token (Mastodon, in both runtimes; an atproto
  app-password session under CPython), sent with ``_compat.send``;
- ``PathClient(_compat.FetchHandlerTransport(session.fetchHandler))``: in the browser, Bluesky
  requests signed by the official atproto OAuth client (DPoP); paths are relative to the PDS;
- ``AppPasswordClient``: an atproto session from ``createSession``, refreshed when it expires.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .._compat import NetworkError, Response, ResponseTooLargeError, send
from .model import UnreachableError

# (method, url or path, headers, body, timeout, max_bytes) -> Response: ``_compat.send`` or the
# browser's ``FetchHandlerTransport``.
Transport = Callable[[str, str, dict[str, str], bytes | None, float, int], Awaitable[Response]]
MAX_ANSWER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ApiAnswer:
    """A server's answer: status, headers (lower-case names) and the JSON body (None if not JSON)."""

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        """The error name an API gave (atproto ``error``, Mastodon/OAuth ``error``), or ""."""
        value = self.body.get("error") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else ""


class AuthorizedClient(Protocol):
    """Sends a request as the signed-in person."""

    async def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> ApiAnswer: ...


def decode(response: Response) -> ApiAnswer:
    """The answer with its JSON decoded; a body that is not JSON is None."""
    try:
        body = json.loads(response.body) if response.body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    return ApiAnswer(response.status, {k.lower(): v for k, v in response.headers.items()}, body)


class PathClient:
    """An ``AuthorizedClient`` over a transport: ``base_url`` + path, and a bearer token if given."""

    def __init__(self, transport: Transport = send, base_url: str = "", token: str = "", timeout: float = 30.0) -> None:
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.requests = 0

    async def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> ApiAnswer:
        sent = dict(headers or {})
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        self.requests += 1
        try:
            response = await self.transport(method, self.base_url + path, sent, data, self.timeout, MAX_ANSWER_BYTES)
        except (NetworkError, ResponseTooLargeError) as error:
            raise UnreachableError(str(error) or type(error).__name__) from None
        return decode(response)


class AppPasswordClient:
    """An atproto session opened with an app password (the CLI): bearer access token, refreshed
    once with the refresh token when the PDS says it expired."""

    def __init__(self, pds: PathClient, access_jwt: str, refresh_jwt: str) -> None:
        self.pds = pds
        self.access_jwt = access_jwt
        self.refresh_jwt = refresh_jwt

    @property
    def requests(self) -> int:
        return self.pds.requests

    async def request(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> ApiAnswer:
        answer = await self._as(self.access_jwt, method, path, body, headers)
        if answer.error == "ExpiredToken" and await self._refresh():
            answer = await self._as(self.access_jwt, method, path, body, headers)
        return answer

    async def _as(
        self, token: str, method: str, path: str, body: Any, headers: Mapping[str, str] | None
    ) -> ApiAnswer:
        self.pds.token = token
        return await self.pds.request(method, path, body, headers)

    async def _refresh(self) -> bool:
        answer = await self._as(self.refresh_jwt, "POST", "/xrpc/com.atproto.server.refreshSession", None, None)
        if not answer.ok or not isinstance(answer.body, dict):
            return False
        access, refresh = answer.body.get("accessJwt"), answer.body.get("refreshJwt")
        if not isinstance(access, str) or not isinstance(refresh, str):
            return False
        self.access_jwt, self.refresh_jwt = access, refresh
        return True
