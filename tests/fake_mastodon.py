"""Fake Mastodon servers on 127.0.0.1 that let an app follow people on someone's behalf.

No server implementing Mastodon's client API installs here, so this plays several of them, one
loopback port per domain (each its own origin, as in real life), sharing one ``FakeFediverse``:
people, their follows, and a request log. What it speaks, with Mastodon's shapes and error texts
(docs.joinmastodon.org; mastodon/mastodon's controllers, ``config/initializers/cors.rb``,
``rack_attack.rb``, ``app/lib/rate_limiter.rb``, ``follow_limit_validator.rb``):

- ``POST /api/v1/apps`` (form or JSON) -> Application; apps are confidential: a ``client_secret``
  is always issued and ``/oauth/token`` requires it. ``refuse_apps`` makes a server refuse.
- ``GET /oauth/authorize``: a consent page with a sign-in form (username or address, password;
  Authorize / Deny) -> ``redirect_uri?code=…&state=…`` or ``?error=access_denied&state=…``.
  PKCE S256 is checked from version 4.3 on; older servers ignore the PKCE parameters.
- ``POST /oauth/token`` (authorization_code, client_credentials) -> Token; ``POST /oauth/revoke``.
- ``/api/v1/accounts/verify_credentials``, ``lookup``, ``relationships``, ``:id``,
  ``:id/follow`` (idempotent, Relationship), ``:id/unfollow``, ``:id/following`` (Link pagination),
  ``/api/v2/search`` (an authenticated ``resolve=true`` finds people of the other fake domains and
  gives them a local id), ``/api/v1/instance``, ``/api/v2/instance``,
  ``/.well-known/oauth-authorization-server`` (4.3+). Ids are strings beyond 2^53, per server.
- Limits: 400 new follows per account per fixed 24 h window (429 with ``X-RateLimit-*``); the follow
  cap (7,500, or 1.1 × followers above it; 422); 300 API calls per token (or per address when
  unauthenticated) per 5 min. Real Mastodon exempts loopback callers from the last one: the fake
  does not, so tests see it. The clock is ``FakeFediverse.clock``, so tests can move time.
- CORS as rack-cors does it, only when a request has an Origin: any origin on ``/api/*``,
  ``/oauth/token`` (POST), ``/.well-known/*``, ``/@user``, ``/users/user``; never on
  ``/oauth/revoke`` nor ``/oauth/authorize``. A preflight always gets 200, with the allowing headers
  only where the resource and method allow it.

Simplifications: remote follows are accepted at once (``requested`` only for locked accounts);
every person is known to every fake server through ``resolve``; no statuses, no streaming.
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.server
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from tests.fake_network import PIXEL, FakeWorld

API_METHODS = "POST, PUT, DELETE, GET, PATCH, OPTIONS"
API_EXPOSED = "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id"
# (path pattern, allowed methods, exposed headers) as in Mastodon's config/initializers/cors.rb
CORS_RESOURCES = [
    (re.compile(r"/\.well-known/.*"), {"GET"}, ""),
    (re.compile(r"/@[^/]+"), {"GET"}, ""),
    (re.compile(r"/users/[^/]+"), {"GET"}, ""),
    (re.compile(r"/api/.*"), set(API_METHODS.split(", ")), API_EXPOSED),
    (re.compile(r"/oauth/token"), {"POST"}, ""),
]
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI "
    "used in the authorization request, or was issued to another client."
)
INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, "
    "or unsupported authentication method."
)
SCOPES = {
    "read", "write", "follow", "push", "profile", "read:accounts", "read:follows", "read:search",
    "read:statuses", "read:notifications", "read:blocks", "read:mutes", "read:lists", "write:follows",
    "write:accounts", "write:statuses", "write:blocks", "write:mutes", "write:lists", "write:media",
}
OOB = "urn:ietf:wg:oauth:2.0:oob"


def iso(moment: float) -> str:
    """Mastodon's ISO 8601 with microseconds, in UTC (``.iso8601(6)``)."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def version_at_least(version: str, wanted: tuple[int, int]) -> bool:
    numbers = re.match(r"(\d+)\.(\d+)", version)
    return bool(numbers) and (int(numbers[1]), int(numbers[2])) >= wanted  # type: ignore[index]


@dataclass
class Person:
    """Someone with an account on one of the fake servers."""

    username: str
    domain: str
    password: str
    display_name: str = ""
    locked: bool = False
    bot: bool = False
    followers_base: int = 0  # followers from outside the fake
    following_base: int = 0  # follows made before the test, not listed
    moved_to: str | None = None

    @property
    def address(self) -> str:
        return f"{self.username}@{self.domain}"


@dataclass
class App:
    id: int
    name: str
    website: str | None
    scopes: list[str]
    redirect_uris: list[str]
    client_id: str
    client_secret: str


@dataclass
class Grant:
    code: str
    app: App
    address: str
    redirect_uri: str
    scopes: list[str]
    challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class Token:
    value: str
    id: int
    app: App
    address: str | None  # None: an app token (client_credentials)
    scopes: list[str]
    created_at: int
    revoked: bool = False


@dataclass
class Follow:
    id: int
    follower: str
    target: str
    requested: bool  # a follow request to a locked account, not yet accepted


@dataclass
class LoggedRequest:
    domain: str
    method: str
    path: str
    status: int
    origin: str | None
    token: str | None


@dataclass
class MastodonServer:
    """One fake server's own state and settings."""

    domain: str
    fediverse: FakeFediverse
    version: str = "4.3.2"
    refuse_apps: int | None = None  # 403 or 422: POST /api/v1/apps is refused
    follow_limit: int = 400  # new follows per account per follow_period
    follow_period: int = 24 * 3600
    api_limit: int = 300  # API calls per token (or unauthenticated address) per api_period
    api_period: int = 5 * 60
    follows_threshold: int = 7500
    follows_ratio: float = 1.1
    ids: dict[str, int] = field(default_factory=dict)  # address -> this server's id
    addresses: dict[int, str] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)  # client_id -> app
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    counters: dict[tuple[str, ...], int] = field(default_factory=dict)

    @property
    def pkce(self) -> bool:
        return version_at_least(self.version, (4, 3))

    def _id_base(self) -> int:
        # Snowflake-like: about 1.1e17 (beyond 2^53), and different on every server.
        spread = int(hashlib.sha256(self.domain.encode()).hexdigest()[:8], 16) % 10**9
        return 110_000_000_000_000_000 + spread * 10**6

    def id_of(self, address: str) -> int:
        """This server's id for a person, given on first sight (as a resolve or a follow does)."""
        if address not in self.ids:
            new_id = self._id_base() + 3 * len(self.ids) + 1
            self.ids[address], self.addresses[new_id] = new_id, address
        return self.ids[address]

    def knows(self, address: str) -> bool:
        return address in self.ids

    def next_serial(self, name: str) -> int:
        key = ("serial", name)
        self.counters[key] = self.counters.get(key, 0) + 1
        return self._id_base() + 7 * self.counters[key]

    def window(self, family: str, who: str, period: int, now: float) -> tuple[tuple[str, ...], float]:
        """The counter key of a fixed window (as Mastodon's RateLimiter) and when it ends."""
        return (family, who, str(int(now // period))), now + (period - int(now) % period)

    def follow_cap(self, person: Person) -> float:
        following = self.fediverse.following_count(person.address)
        if following < self.follows_threshold:
            return self.follows_threshold
        return self.fediverse.followers_count(person.address) * self.follows_ratio


@dataclass
class FakeFediverse:
    """Every fake Mastodon server, the people on them and who follows whom."""

    servers: dict[str, MastodonServer] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)  # address -> person
    follows: list[Follow] = field(default_factory=list)
    log: list[LoggedRequest] = field(default_factory=list)
    statuses: list[tuple[str, str, str, float]] = field(default_factory=list)  # address, text, visibility, at
    clock: Callable[[], float] = time.time
    lock: threading.RLock = field(default_factory=threading.RLock)

    def add_server(self, domain: str, **settings: Any) -> MastodonServer:
        server = MastodonServer(domain, self, **settings)
        self.servers[domain] = server
        return server

    def add_person(self, address: str, password: str = "correct horse battery", **details: Any) -> Person:
        username, domain = address.lstrip("@").split("@")
        if domain not in self.servers:
            self.add_server(domain)
        person = Person(username, domain, password, **details)
        self.people[person.address] = person
        self.servers[domain].id_of(person.address)
        return person

    def post(self, address: str, text: str, visibility: str = "public") -> int:
        """A status by ``address``: plain text, its #hashtags linked as Mastodon renders them."""
        with self.lock:
            self.statuses.append((address, text, visibility, self.clock()))
            return len(self.statuses)

    def delete_post(self, number: int) -> None:
        with self.lock:
            self.statuses[number - 1] = ("", "", "deleted", 0.0)

    def add_from_world(self, world: FakeWorld) -> None:
        """The Mastodon accounts of a fake_network world, so one test world serves both."""
        for address, account in world.mastodon.items():
            if address not in self.people:
                self.add_person(address, display_name=account["display_name"], moved_to=account["_moved_to"])

    def following(self, address: str, requested: bool = False) -> list[str]:
        """Whom someone follows (or asked to follow, with ``requested``), oldest first."""
        with self.lock:
            return [f.target for f in self.follows if f.follower == address and f.requested == requested]

    def following_count(self, address: str) -> int:
        return self.people[address].following_base + len(self.following(address))

    def followers_count(self, address: str) -> int:
        with self.lock:
            listed = sum(1 for f in self.follows if f.target == address and not f.requested)
        return self.people[address].followers_base + listed

    def issue_token(self, address: str, scopes: str = "read write follow") -> str:
        """An access token on the person's server without the OAuth dance (for API-only tests)."""
        with self.lock:
            server = self.servers[address.split("@")[1]]
            app = App(0, "test", None, scopes.split(), [OOB], secrets.token_urlsafe(16), secrets.token_urlsafe(16))
            token = Token(secrets.token_urlsafe(32), server.next_serial("token"), app, address, scopes.split(),
                          int(self.clock()))
            server.tokens[token.value] = token
            return token.value

    def requests(self, domain: str | None = None, path: str = "") -> list[LoggedRequest]:
        with self.lock:
            return [r for r in self.log if (domain is None or r.domain == domain) and r.path.startswith(path)]


class ApiError(Exception):
    """An answer other than success: status, JSON body and extra headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status, self.body, self.headers = status, body, headers or {}


def _scope_allows(token: Token, *wanted: str) -> bool:
    return any(scope in token.scopes for scope in wanted)


class MastodonHandler(http.server.BaseHTTPRequestHandler):
    server_state: MastodonServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ---- plumbing -----------------------------------------------------------------------------

    @property
    def fediverse(self) -> FakeFediverse:
        return self.server_state.fediverse

    @property
    def here(self) -> str:
        return f"http://{self.headers.get('Host')}"

    def _cors_headers(self, path: str) -> dict[str, str]:
        if not self.headers.get("Origin"):
            return {}
        for pattern, _methods, exposed in CORS_RESOURCES:
            if pattern.fullmatch(path):
                headers = {"Access-Control-Allow-Origin": "*", "Vary": "Origin"}
                if exposed:
                    headers["Access-Control-Expose-Headers"] = exposed
                return headers
        return {}

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        path = urlsplit(self.path).path
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in {**(headers or {}), **self._cors_headers(path)}.items():
            self.send_header(name, value)
        authorization = self.headers.get("Authorization") or ""
        token = authorization[7:] if authorization.startswith("Bearer ") else None
        # Logged before the answer leaves, so a client that has its answer always finds it in the log.
        with self.fediverse.lock:
            self.fediverse.log.append(
                LoggedRequest(self.server_state.domain, self.command, self.path, status, self.headers.get("Origin"),
                              token)
            )
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), "application/json; charset=utf-8", headers)

    def _html(self, status: int, page: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, page.encode(), "text/html; charset=utf-8", headers)

    def _redirect(self, location: str) -> None:
        self._send(302, b"", "text/html; charset=utf-8", {"Location": location})

    def _params(self) -> dict[str, list[str]]:
        """Query and body parameters merged, as Rails does; ``id[]`` and ``id`` are one list."""
        params: dict[str, list[str]] = {}
        sources = [parse_qs(urlsplit(self.path).query, keep_blank_values=True)]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = None
            if isinstance(decoded, dict):
                sources.append({k: v if isinstance(v, list) else [v] for k, v in decoded.items()})
        elif raw:
            sources.append(parse_qs(raw.decode(errors="replace"), keep_blank_values=True))
        for source in sources:
            for key, values in source.items():
                params.setdefault(key.removesuffix("[]"), []).extend(str(v) for v in values)
        return params

    @staticmethod
    def _one(params: dict[str, list[str]], name: str) -> str:
        return (params.get(name) or [""])[0]

    # ---- HTTP verbs ---------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:
        path = urlsplit(self.path).path
        wanted = self.headers.get("Access-Control-Request-Method")
        if not (self.headers.get("Origin") and wanted):
            return self._json(404, {"error": "Record not found"})
        headers: dict[str, str] = {}
        for pattern, methods, exposed in CORS_RESOURCES:
            if pattern.fullmatch(path):
                if wanted.upper() in methods:
                    headers = {
                        "Access-Control-Allow-Origin": "*",
                        "Access-Control-Allow-Methods": ", ".join(m for m in API_METHODS.split(", ") if m in methods),
                        "Access-Control-Max-Age": "7200",
                        "Vary": "Origin",
                    }
                    if self.headers.get("Access-Control-Request-Headers"):
                        headers["Access-Control-Allow-Headers"] = self.headers["Access-Control-Request-Headers"]
                    if exposed:
                        headers["Access-Control-Expose-Headers"] = exposed
                break
        # rack-cors answers every preflight itself; the browser reads the headers, not the status.
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "0")
        for name, value in headers.items():
            self.send_header(name, value)
        with self.fediverse.lock:
            self.fediverse.log.append(
                LoggedRequest(self.server_state.domain, "OPTIONS", self.path, 200, self.headers.get("Origin"), None)
            )
        self.end_headers()

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        params = self._params()
        try:
            with self.fediverse.lock:
                outcome = self._route(method, path, params)
        except ApiError as error:
            return self._error(path, error)
        except Exception as error:  # a bug of the fake: say it rather than hang the connection
            return self._json(500, {"error": f"fake_mastodon: {error!r}"})
        if outcome is not None:
            kind, *rest = outcome
            if kind == "json":
                self._json(*rest)
            elif kind == "html":
                self._html(*rest)
            elif kind == "redirect":
                self._redirect(*rest)
            elif kind == "png":
                self._send(200, PIXEL, "image/png")

    def _error(self, path: str, error: ApiError) -> None:
        if error.status == 302:  # an authorization problem sent back to the app
            return self._redirect(error.headers["Location"])
        if path == "/oauth/authorize":  # Doorkeeper shows these on a page, not to the app
            text = html.escape(error.body.get("error_description", ""))
            return self._html(error.status, f"<!doctype html><title>An error has occurred</title><p>{text}</p>")
        return self._json(error.status, error.body, error.headers)

    def _route(self, method: str, path: str, params: dict[str, list[str]]) -> tuple | None:
        if path.startswith("/api/"):
            return self._api(method, path, params)
        routes: dict[tuple[str, str], Callable[[dict[str, list[str]]], tuple]] = {
            ("GET", "/oauth/authorize"): self.authorize_page,
            ("POST", "/oauth/authorize"): self.authorize_decision,
            ("POST", "/oauth/token"): self.token,
            ("POST", "/oauth/revoke"): self.revoke,
            ("GET", "/.well-known/oauth-authorization-server"): self.oauth_metadata,
        }
        if (method, path) in routes:
            return routes[(method, path)](params)
        if method == "GET" and path.startswith("/avatars/"):
            return ("png",)
        raise ApiError(404, {"error": "Record not found"})

    # ---- API: authentication and rate limits ----------------------------------------------------

    def _token(self, params: dict[str, list[str]]) -> Token | None:
        """The access token of the request (header or access_token parameter); 401 if it is bad."""
        value = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        value = value or self._one(params, "access_token")
        if not value:
            return None
        token = self.server_state.tokens.get(value)
        if token is None:
            raise ApiError(401, {"error": "The access token is invalid"},
                           {"WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token"'})
        if token.revoked:
            raise ApiError(401, {"error": "The access token was revoked"},
                           {"WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token"'})
        return token

    def _throttle(self, token: Token | None) -> dict[str, str]:
        """Rack::Attack's per-token (or per-address) API limit; its headers, or a 429."""
        server, now = self.server_state, self.fediverse.clock()
        who = f"token:{token.id}" if token else f"ip:{self.client_address[0]}"
        key, reset = server.window("api", who, server.api_period, now)
        server.counters[key] = server.counters.get(key, 0) + 1
        headers = {"X-RateLimit-Limit": str(server.api_limit), "X-RateLimit-Reset": iso(reset)}
        if server.counters[key] > server.api_limit:
            raise ApiError(429, {"error": "Too many requests"}, {**headers, "X-RateLimit-Remaining": "0"})
        return {**headers, "X-RateLimit-Remaining": str(server.api_limit - server.counters[key])}

    @staticmethod
    def _need(token: Token | None, *scopes: str, user: bool = True) -> Token:
        if token is None:
            raise ApiError(401, {"error": "The access token is invalid"})
        if not _scope_allows(token, *scopes):
            raise ApiError(403, {"error": "This action is outside the authorized scopes"})
        if user and token.address is None:
            raise ApiError(422, {"error": "This method requires an authenticated user"})
        return token

    # ---- API: entities ----------------------------------------------------------------------------

    def tag_timeline(self, tag: str, params: dict[str, list[str]]) -> list[dict[str, Any]]:
        """GET /api/v1/timelines/tag/:hashtag: public statuses with the tag, newest first, paged by
        ``max_id`` (a status id; 20 a page, ``limit`` up to 40), as this server sees them."""
        limit = min(int(self._one(params, "limit") or 20), 40)
        max_id = int(self._one(params, "max_id") or 10**18)
        found = []
        for number in range(len(self.fediverse.statuses), 0, -1):
            address, text, visibility, at = self.fediverse.statuses[number - 1]
            status_id = self.server_state._id_base() + number
            if visibility != "public" or status_id >= max_id:
                continue
            if f"#{tag.lower()}" not in text.lower():
                continue
            found.append(self.status(status_id, address, text, at))
            if len(found) == limit:
                break
        return found

    def status(self, status_id: int, address: str, text: str, at: float) -> dict[str, Any]:
        """A Status entity; the text rendered as Mastodon does (links and hashtags as anchors)."""
        def link(word: str) -> str:
            if word.startswith("https://"):
                rest = html.escape(word.removeprefix("https://"))
                return (f'<a href="{html.escape(word)}" rel="nofollow noopener" target="_blank">'
                        f'<span class="invisible">https://</span><span class="">{rest}</span></a>')
            if word.startswith("#"):
                name = html.escape(word[1:])
                return (f'<a href="https://{self.server_state.domain}/tags/{name}" class="mention hashtag" '
                        f'rel="tag">#<span>{name}</span></a>')
            return html.escape(word)

        content = "<p>" + " ".join(link(w) for w in text.split(" ")) + "</p>"
        return {"id": str(status_id), "created_at": iso(at), "visibility": "public", "content": content,
                "url": f"https://{self.server_state.domain}/@x/{status_id}", "account": self.account(address)}

    def account(self, address: str, nested: bool = True) -> dict[str, Any]:
        """The Account entity of a person, as this server sees them."""
        server, person = self.server_state, self.fediverse.people[address]
        local = person.domain == server.domain
        entity: dict[str, Any] = {
            "id": str(server.id_of(address)),
            "username": person.username,
            "acct": person.username if local else address,
            "display_name": person.display_name,
            "locked": person.locked,
            "bot": person.bot,
            "discoverable": True,
            "group": False,
            "created_at": "2023-01-01T00:00:00.000Z",
            "note": "",
            "url": f"https://{person.domain}/@{person.username}",
            "uri": f"https://{person.domain}/users/{person.username}",
            "avatar": f"{self.here}/avatars/original/missing.png",
            "avatar_static": f"{self.here}/avatars/original/missing.png",
            "header": f"{self.here}/headers/original/missing.png",
            "header_static": f"{self.here}/headers/original/missing.png",
            "followers_count": self.fediverse.followers_count(address),
            "following_count": self.fediverse.following_count(address),
            "statuses_count": 0,
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }
        if nested and person.moved_to in self.fediverse.people:
            entity["moved"] = self.account(person.moved_to, nested=False)  # type: ignore[arg-type]
        return entity

    def relationship(self, me: str, address: str) -> dict[str, Any]:
        mine = {(f.target, f.requested) for f in self.fediverse.follows if f.follower == me}
        theirs = {f.follower for f in self.fediverse.follows if f.target == me and not f.requested}
        following = (address, False) in mine
        return {
            "id": str(self.server_state.id_of(address)),
            "following": following,
            "showing_reblogs": following,
            "notifying": False,
            "languages": None,
            "followed_by": address in theirs,
            "blocking": False,
            "blocked_by": False,
            "muting": False,
            "muting_notifications": False,
            "requested": (address, True) in mine,
            "requested_by": False,
            "domain_blocking": False,
            "endorsed": False,
            "note": "",
        }

    def _person_by_id(self, raw_id: str) -> str:
        address = self.server_state.addresses.get(int(raw_id)) if raw_id.isdigit() else None
        if address is None or address not in self.fediverse.people:
            raise ApiError(404, {"error": "Record not found"})
        return address

    # ---- API: routes --------------------------------------------------------------------------------

    def _api(self, method: str, path: str, params: dict[str, list[str]]) -> tuple:
        token = self._token(params)
        limits = self._throttle(token)
        if (method, path) == ("POST", "/api/v1/apps"):
            kind, status, body = self.create_app(params)
            return kind, status, body, limits
        simple: dict[tuple[str, str], Callable[[dict[str, list[str]], Token | None], tuple]] = {
            ("GET", "/api/v1/accounts/verify_credentials"): self.verify_credentials,
            ("GET", "/api/v1/accounts/lookup"): self.lookup,
            ("GET", "/api/v1/accounts/relationships"): self.relationships,
            ("GET", "/api/v2/search"): self.search,
            ("GET", "/api/v1/instance"): self.instance_v1,
            ("GET", "/api/v2/instance"): self.instance_v2,
        }
        try:
            if (method, path) in simple:
                status, body, *extra = simple[(method, path)](params, token)
                return ("json", status, body, {**limits, **(extra[0] if extra else {})})
            tag = re.fullmatch(r"/api/v1/timelines/tag/([^/]+)", path)
            if tag and method == "GET":
                return ("json", 200, self.tag_timeline(tag[1], params), limits)
            match = re.fullmatch(r"/api/v1/accounts/([^/]+)(?:/(follow|unfollow|following))?", path)
            if match and (method, match[2]) in {("GET", None), ("POST", "follow"), ("POST", "unfollow"),
                                                ("GET", "following")}:
                action = {None: self.show, "follow": self.follow, "unfollow": self.unfollow,
                          "following": self.following_list}[match[2]]
                status, body, *extra = action(match[1], params, token)
                return ("json", status, body, self._merge_limits(limits, extra[0] if extra else {}))
        except ApiError as error:
            error.headers = self._merge_limits(limits, error.headers)
            raise
        raise ApiError(404, {"error": "Record not found"}, limits)

    @staticmethod
    def _merge_limits(api: dict[str, str], override: dict[str, str]) -> dict[str, str]:
        """Like override_rate_limit_headers: the follow limiter's headers, unless the API's are lower."""
        remaining = override.get("X-RateLimit-Remaining"), api.get("X-RateLimit-Remaining")
        if None not in remaining and int(remaining[0]) > int(remaining[1]):  # type: ignore[arg-type]
            override = {k: v for k, v in override.items() if not k.startswith("X-RateLimit-")}
        return {**api, **override}

    def create_app(self, params: dict[str, list[str]]) -> tuple:
        server = self.server_state
        if server.refuse_apps == 403:
            raise ApiError(403, {"error": "This action is not allowed"})
        if server.refuse_apps:
            raise ApiError(server.refuse_apps, {"error": "Validation failed: Application registrations are closed"})
        name = self._one(params, "client_name").strip()
        uris = [u for value in params.get("redirect_uris", []) for u in value.split() if u]
        scopes = (" ".join(params.get("scopes", [])) or "read").split()
        problems = []
        if not name:
            problems.append("Application name can't be blank")
        if not uris:
            problems.append("Redirect URI can't be blank")
        for uri in uris:
            parts = urlsplit(uri)
            if uri != OOB and (not parts.scheme or parts.fragment or not (parts.netloc or parts.scheme not in
                                                                          ("http", "https"))):
                problems.append("Redirect URI must be an absolute URI.")
        if any(scope not in SCOPES for scope in scopes):
            problems.append("Scopes must be a subset of the scopes the server allows")
        if problems:
            raise ApiError(422, {"error": "Validation failed: " + ", ".join(problems)})
        app = App(server.next_serial("app"), name, self._one(params, "website") or None, scopes, uris,
                  secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        server.apps[app.client_id] = app
        return ("json", 200, {
            "id": str(app.id), "name": app.name, "website": app.website, "scopes": app.scopes,
            "redirect_uri": "\n".join(uris), "redirect_uris": uris,
            "vapid_key": base64.urlsafe_b64encode(hashlib.sha256(app.client_id.encode()).digest() * 2).decode(),
            "client_id": app.client_id, "client_secret": app.client_secret, "client_secret_expires_at": 0,
        })

    def verify_credentials(self, params: dict[str, list[str]], token: Token | None) -> tuple:
        me = self._need(token, "read", "read:accounts", "profile").address
        source = {"privacy": "public", "sensitive": False, "language": "", "note": "", "fields": [],
                  "follow_requests_count": 0}
        return 200, {**self.account(me), "source": source}  # type: ignore[arg-type]

    def _known_address(self, acct: str) -> str | None:
        acct = acct.strip().lstrip("@")
        if acct.startswith("https://"):
            parts = urlsplit(acct)
            acct = f"{parts.path.strip('/').lstrip('@')}@{parts.netloc}"
        if "@" not in acct:
            acct = f"{acct}@{self.server_state.domain}"
        user, _, domain = acct.partition("@")
        return f"{user.lower()}@{domain.lower()}" if user and domain else None

    def lookup(self, params: dict[str, list[str]], token: Token | None) -> tuple:
        if token:
            self._need(token, "read", "read:accounts", user=False)
        address = self._known_address(self._one(params, "acct"))
        if address not in self.fediverse.people or not self.server_state.knows(address):  # type: ignore[arg-type]
            raise ApiError(404, {"error": "Record not found"})
        return 200, self.account(address)  # type: ignore[arg-type]

    def search(self, params: dict[str, list[str]], token: Token | None) -> tuple:
        if token:
            self._need(token, "read", "read:search", user=False)
        query = self._one(params, "q")
        if not query:
            raise ApiError(400, {"error": "param is missing or the value is empty: q"})
        resolve = self._one(params, "resolve").lower() in ("true", "1")
        if token is None and resolve:
            raise ApiError(401, {"error": "Search queries that resolve remote resources are not supported without "
                                          "authentication"})
        kind = self._one(params, "type")
        limit = min(int(self._one(params, "limit") or 20), 40)
        found: list[str] = []
        if kind in ("", "accounts"):
            address = self._known_address(query) if ("@" in query.strip("@") or "://" in query) else None
            if address in self.fediverse.people and (resolve or self.server_state.knows(address)):  # type: ignore[arg-type]
                found = [address]  # type: ignore[list-item]
            elif address is None:
                term = query.lstrip("@").lower()
                found = [a for a in self.server_state.ids if a in self.fediverse.people and (
                    a.startswith(term) or term in self.fediverse.people[a].display_name.lower())][:limit]
        return 200, {"accounts": [self.account(a) for a in found], "statuses": [], "hashtags": []}

    def relationships(self, params: dict[str, list[str]], token: Token | None) -> tuple:
        me = self._need(token, "read", "read:follows").address
        answer = []
        for raw_id in params.get("id", []):
            address = self.server_state.addresses.get(int(raw_id)) if raw_id.isdigit() else None
            if address in self.fediverse.people:
                answer.append(self.relationship(me, address))  # type: ignore[arg-type]
        return 200, answer

    def show(self, raw_id: str, params: dict[str, list[str]], token: Token | None) -> tuple:
        return 200, self.account(self._person_by_id(raw_id))

    def follow(self, raw_id: str, params: dict[str, list[str]], token: Token | None) -> tuple:
        me = self._need(token, "follow", "write", "write:follows").address
        assert me is not None
        target = self._person_by_id(raw_id)
        if target == me:
            raise ApiError(403, {"error": "This action is not allowed"})
        server, fediverse, now = self.server_state, self.fediverse, self.fediverse.clock()
        key, reset = server.window("follows", me, server.follow_period, now)
        existing = any(f.follower == me and f.target == target for f in fediverse.follows)
        if not existing:
            cap = server.follow_cap(fediverse.people[me])
            if fediverse.following_count(me) >= cap:
                # Ruby prints the 1.1 × followers limit as a float, as Python does
                raise ApiError(422, {"error": f"Validation failed: You cannot follow more than {cap} people"})
            if server.counters.get(key, 0) >= server.follow_limit:
                raise ApiError(429, {"error": "Too many requests"}, self._follow_headers(key, reset))
            server.counters[key] = server.counters.get(key, 0) + 1
            locked = fediverse.people[target].locked
            fediverse.follows.append(Follow(server.next_serial("follow"), me, target, requested=locked))
        return 200, self.relationship(me, target), self._follow_headers(key, reset)

    def _follow_headers(self, key: tuple[str, ...], reset: float) -> dict[str, str]:
        server = self.server_state
        remaining = server.follow_limit - server.counters.get(key, 0)
        return {"X-RateLimit-Limit": str(server.follow_limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": iso(reset)}

    def unfollow(self, raw_id: str, params: dict[str, list[str]], token: Token | None) -> tuple:
        me = self._need(token, "follow", "write", "write:follows").address
        target = self._person_by_id(raw_id)
        self.fediverse.follows[:] = [f for f in self.fediverse.follows if (f.follower, f.target) != (me, target)]
        return 200, self.relationship(me, target)  # type: ignore[arg-type]

    def following_list(self, raw_id: str, params: dict[str, list[str]], token: Token | None) -> tuple:
        if token:
            self._need(token, "read", "read:accounts", user=False)
        owner = self._person_by_id(raw_id)
        limit = min(int(self._one(params, "limit") or 40), 80)
        max_id, since_id = self._one(params, "max_id"), self._one(params, "since_id")
        rows = sorted((f for f in self.fediverse.follows if f.follower == owner and not f.requested),
                      key=lambda f: f.id, reverse=True)
        rows = [f for f in rows if (not max_id or f.id < int(max_id)) and (not since_id or f.id > int(since_id))]
        page = rows[:limit]
        links = []
        base = f"{self.here}/api/v1/accounts/{raw_id}/following"
        if len(page) == limit:
            links.append(f'<{base}?{urlencode({"limit": limit, "max_id": page[-1].id})}>; rel="next"')
        if page:
            links.append(f'<{base}?{urlencode({"limit": limit, "since_id": page[0].id})}>; rel="prev"')
        return 200, [self.account(f.target) for f in page], {"Link": ", ".join(links)} if links else {}

    def instance_v1(self, params: dict[str, list[str]], token: Token | None) -> tuple:
        server = self.server_state
        return 200, {"uri": server.domain, "title": server.domain, "short_description": "", "description": "",
                     "email": f"admin@{server.domain}", "version": server.version, "registrations": True,
                     "approval_required": False, "languages": ["en"], "rules": [],
                     "urls": {"streaming_api": f"wss://{server.domain}"},
                     "stats": {"user_count": len(self._locals()), "status_count": 0, "domain_count": 1}}

    def instance_v2(self, params: dict[str, list[str]], token: Token | None) -> tuple:
        server = self.server_state
        answer = {"domain": server.domain, "title": server.domain, "version": server.version,
                  "source_url": "https://github.com/mastodon/mastodon", "description": "",
                  "usage": {"users": {"active_month": len(self._locals())}},
                  "languages": ["en"], "rules": [],
                  "configuration": {"urls": {"streaming": f"wss://{server.domain}"},
                                    "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5}},
                  "registrations": {"enabled": True, "approval_required": False}}
        if server.pkce:
            answer["api_versions"] = {"mastodon": 2}
        return 200, answer

    def _locals(self) -> list[Person]:
        return [p for p in self.fediverse.people.values() if p.domain == self.server_state.domain]

    # ---- OAuth ---------------------------------------------------------------------------------------

    def oauth_metadata(self, params: dict[str, list[str]]) -> tuple:
        if not self.server_state.pkce:
            raise ApiError(404, {"error": "Record not found"})
        return ("json", 200, {
            "issuer": f"{self.here}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{self.here}/oauth/authorize",
            "token_endpoint": f"{self.here}/oauth/token",
            "app_registration_endpoint": f"{self.here}/api/v1/apps",
            "revocation_endpoint": f"{self.here}/oauth/revoke",
            "scopes_supported": sorted(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })

    def _authorization_request(self, params: dict[str, list[str]]) -> tuple[App, str, list[str]]:
        """Check the authorization parameters; a problem shown as a page or sent back to the app."""
        app = self.server_state.apps.get(self._one(params, "client_id"))
        if app is None:
            raise ApiError(401, {"error": "invalid_client", "error_description": INVALID_CLIENT})
        redirect_uri = self._one(params, "redirect_uri") or (app.redirect_uris[0] if len(app.redirect_uris) == 1
                                                             else "")
        if redirect_uri not in app.redirect_uris:
            raise ApiError(400, {"error": "invalid_redirect_uri", "error_description": "The requested redirect uri "
                                 "is malformed or doesn't match client redirect URI."})
        scopes = (self._one(params, "scope").replace("+", " ") or "read").split()
        problem = None
        if self._one(params, "response_type") != "code":
            problem = "unsupported_response_type"
        elif not set(scopes) <= set(app.scopes):
            problem = "invalid_scope"
        elif self.server_state.pkce and self._one(params, "code_challenge") and (
                self._one(params, "code_challenge_method") != "S256"):
            problem = "invalid_request"
        if problem:
            raise ApiError(302, {}, {"Location": self._back(redirect_uri, error=problem,
                                                            state=self._one(params, "state"))})
        return app, redirect_uri, scopes

    @staticmethod
    def _back(redirect_uri: str, **values: str) -> str:
        values = {k: v for k, v in values.items() if v}
        return redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(values, quote_via=quote)

    def authorize_page(self, params: dict[str, list[str]], problem: str = "") -> tuple:
        app, _, scopes = self._authorization_request(params)
        keep = ["client_id", "redirect_uri", "response_type", "scope", "state"]
        if self.server_state.pkce:
            keep += ["code_challenge", "code_challenge_method"]
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(self._one(params, name))}">' for name in keep
        )
        error = f'<p class="flash-message alert" role="alert">{html.escape(problem)}</p>' if problem else ""
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Authorization required - {html.escape(self.server_state.domain)}</title></head>
<body><main>
<h1>Authorization required</h1>
<p><strong>{html.escape(app.name)}</strong> would like permission to access your account.</p>
<ul class="scopes">{"".join(f"<li>{html.escape(s)}</li>" for s in scopes)}</ul>
{error}
<form method="post" action="/oauth/authorize">{hidden}
<label>Username or address <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit" name="decision" value="authorize">Authorize</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></main></body></html>"""  # noqa: E501
        return ("html", 422 if problem else 200, page)

    def authorize_decision(self, params: dict[str, list[str]]) -> tuple:
        app, redirect_uri, scopes = self._authorization_request(params)
        state = self._one(params, "state")
        if self._one(params, "decision") != "authorize":
            description = "The resource owner or authorization server denied the request."
            return ("redirect", self._back(redirect_uri, error="access_denied", error_description=description,
                                           state=state))
        login = self._one(params, "username").strip().lstrip("@").lower()
        address = login if "@" in login else f"{login}@{self.server_state.domain}"
        person = self.fediverse.people.get(address)
        if person is None or person.domain != self.server_state.domain or person.password != self._one(
                params, "password"):
            return self.authorize_page(params, problem="Invalid email or password.")
        challenge = self._one(params, "code_challenge") if self.server_state.pkce else ""
        grant = Grant(secrets.token_urlsafe(32), app, address, redirect_uri, scopes, challenge or None,
                      self.fediverse.clock() + 600)
        self.server_state.grants[grant.code] = grant
        if redirect_uri == OOB:
            return ("html", 200, f"<!doctype html><title>Authorization code</title><p>Copy this authorization code "
                                 f"and paste it to the application.</p><input readonly value='{grant.code}'>")
        return ("redirect", self._back(redirect_uri, code=grant.code, state=state))

    def _client(self, params: dict[str, list[str]]) -> App | None:
        """The app that authenticates with its id and secret (HTTP Basic or form), or None."""
        client_id, secret = self._one(params, "client_id"), self._one(params, "client_secret")
        basic = self.headers.get("Authorization") or ""
        if basic.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except ValueError:
                return None
        app = self.server_state.apps.get(client_id)
        if app is None or not secret or not secrets.compare_digest(secret, app.client_secret):
            return None
        return app

    def token(self, params: dict[str, list[str]]) -> tuple:
        server, now = self.server_state, self.fediverse.clock()
        grant_type = self._one(params, "grant_type")
        if not grant_type:
            raise ApiError(400, {"error": "invalid_request", "error_description": "The request is missing a required "
                                 "parameter, includes an unsupported parameter value, or is otherwise malformed."})
        if grant_type not in ("authorization_code", "client_credentials"):
            raise ApiError(400, {"error": "unsupported_grant_type", "error_description": "The authorization grant "
                                 "type is not supported by the authorization server."})
        app = self._client(params)
        if app is None:
            raise ApiError(401, {"error": "invalid_client", "error_description": INVALID_CLIENT})
        if grant_type == "client_credentials":
            scopes = (self._one(params, "scope") or "read").split()
            address = None
        else:
            grant = server.grants.get(self._one(params, "code"))
            bad = (grant is None or grant.app is not app or grant.used or grant.expires_at < now
                   or grant.redirect_uri != self._one(params, "redirect_uri"))
            verifier = self._one(params, "code_verifier")
            if not bad and server.pkce and grant is not None:
                if grant.challenge:
                    digest = hashlib.sha256(verifier.encode()).digest()
                    bad = base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge
                else:
                    bad = bool(verifier)
            if bad or grant is None:
                raise ApiError(400, {"error": "invalid_grant", "error_description": INVALID_GRANT})
            grant.used = True
            scopes, address = grant.scopes, grant.address
        token = Token(secrets.token_urlsafe(32), server.next_serial("token"), app, address, scopes, int(now))
        server.tokens[token.value] = token
        return ("json", 200, {"access_token": token.value, "token_type": "Bearer", "scope": " ".join(scopes),
                              "created_at": token.created_at})

    def revoke(self, params: dict[str, list[str]]) -> tuple:
        app = self._client(params)
        token = self.server_state.tokens.get(self._one(params, "token"))
        if app is None or (token is not None and token.app is not app):
            raise ApiError(403, {"error": "unauthorized_client",
                                 "error_description": "You are not authorized to revoke this token"})
        if token is not None:
            token.revoked = True
        return ("json", 200, {})


@contextmanager
def serve_fediverse(fediverse: FakeFediverse) -> Iterator[dict[str, str]]:
    """Serve every fake server on its own loopback port; yield {domain: base URL}."""
    running = []
    try:
        for domain, state in fediverse.servers.items():
            handler = type("Handler", (MastodonHandler,), {"server_state": state})
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            running.append((domain, server))
        yield {domain: f"http://127.0.0.1:{server.server_address[1]}" for domain, server in running}
    finally:
        for _, server in running:
            server.shutdown()
            server.server_close()
