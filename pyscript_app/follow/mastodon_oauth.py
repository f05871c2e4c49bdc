"""Signing in to someone's Mastodon server: app registration, PKCE, the code, the token.

Pure functions build each request (``HttpRequest``) and read each answer; ``perform`` sends one
with ``_compat.send`` (the page's worker or the CLI). The flow, as Mastodon documents it:

1. ``POST /api/v1/apps`` (once per server, kept in the browser): a confidential app, always with
   a ``client_secret``;
2. the person opens ``authorization_url`` (PKCE S256 and ``state``) and comes back with
   ``?code=…&state=…`` (``code_from_callback`` checks the state and says a refusal);
3. ``POST /oauth/token`` with the code, the client id **and** secret, and the PKCE verifier
   (servers older than 4.3 ignore PKCE; the secret is what they check).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .. import N_
from .._compat import NetworkError, ResponseTooLargeError, send
from ..notices import Notice
from .client import ApiAnswer, Transport, decode
from .model import is_followable_address

SCOPES = "read:accounts read:follows read:search write:follows"
CLIENT_NAME = "Passerelle"
VERSION = re.compile(r"^(\d+)\.(\d+)")


class MastodonSignInError(Exception):
    """Signing in cannot go on; ``kind`` is the reason code, ``notice`` the words for the person."""

    def __init__(self, kind: str, message: str, **params: Any) -> None:
        self.kind = kind
        self.notice = Notice(message, params)
        super().__init__(self.notice.text)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class MastodonApp:
    """The app registered on one server (kept per server, reused for every sign-in there)."""

    base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str = SCOPES

    def to_json(self) -> dict[str, str]:
        return {"base_url": self.base_url, "client_id": self.client_id, "client_secret": self.client_secret,
                "redirect_uri": self.redirect_uri, "scopes": self.scopes}


def parse_address(address: str) -> tuple[str, str]:
    """``user@server`` (a leading @ is fine) as (user, server); MastodonSignInError if it is not one."""
    cleaned = address.strip().lstrip("@").lower()
    if not is_followable_address(cleaned):
        raise MastodonSignInError(
            "bad-address", N_("%(address)s is not a Mastodon address: write it as name@server."), address=address[:100]
        )
    user, _, domain = cleaned.partition("@")
    return user, domain


def server_url(domain: str, instance_urls: dict[str, str]) -> str:
    """Where a Mastodon domain is asked: its https origin unless the configuration maps it."""
    mapped = {k.lower(): v.rstrip("/") for k, v in instance_urls.items()}
    return mapped.get(domain, f"https://{domain}")


def not_mastodon(base_url: str) -> MastodonSignInError:
    return MastodonSignInError("not-mastodon", N_("%(server)s is not a Mastodon server."),
                               server=urlsplit(base_url).netloc or base_url)


async def perform(request: HttpRequest, transport: Transport = send) -> ApiAnswer:
    """Send one sign-in request (no token); an unreachable server is a MastodonSignInError."""
    try:
        response = await transport(request.method, request.url, dict(request.headers), request.body, 20.0,
                                   256 * 1024)
    except (NetworkError, ResponseTooLargeError):
        # In a browser, a server that is not Mastodon (no CORS headers) cannot be told from one that is down.
        raise MastodonSignInError("unreachable", N_("%(server)s could not be reached, or it is not a Mastodon server."),
                                  server=urlsplit(request.url).netloc) from None
    return decode(response)


# --- the server and its version ------------------------------------------------------------------

def instance_request(base_url: str, version: int = 2) -> HttpRequest:
    return HttpRequest("GET", f"{base_url.rstrip('/')}/api/v{version}/instance")


def instance_version(answer: ApiAnswer) -> tuple[int, int] | None:
    """Mastodon's version from ``/api/v2/instance`` or ``/api/v1/instance``; None if it is not one."""
    version = answer.body.get("version") if answer.ok and isinstance(answer.body, dict) else None
    found = VERSION.match(version) if isinstance(version, str) else None
    return (int(found[1]), int(found[2])) if found else None


def supports_pkce(version: tuple[int, int]) -> bool:
    """PKCE (S256) came with Mastodon 4.3; older servers ignore it and check the client secret."""
    return version >= (4, 3)


async def detect_version(base_url: str, transport: Transport = send) -> tuple[int, int]:
    """The server's Mastodon version (v2 instance, else v1); MastodonSignInError if it is not Mastodon."""
    for api in (2, 1):
        version = instance_version(await perform(instance_request(base_url, api), transport))
        if version:
            return version
    raise not_mastodon(base_url)


# --- 1. the app -----------------------------------------------------------------------------------

def app_registration_request(base_url: str, redirect_uri: str, website: str = "") -> HttpRequest:
    body: dict[str, Any] = {"client_name": CLIENT_NAME, "redirect_uris": redirect_uri, "scopes": SCOPES}
    if website:
        body["website"] = website
    return HttpRequest("POST", f"{base_url.rstrip('/')}/api/v1/apps", {"Content-Type": "application/json"},
                       json.dumps(body).encode())


def parse_app(base_url: str, redirect_uri: str, answer: ApiAnswer) -> MastodonApp:
    if answer.status in (403, 422):
        raise MastodonSignInError("app-refused", N_("%(server)s refused to register Passerelle as an app."),
                                  server=urlsplit(base_url).netloc)
    body = answer.body if answer.ok and isinstance(answer.body, dict) else {}
    client_id, secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id or not secret:
        raise not_mastodon(base_url)
    return MastodonApp(base_url.rstrip("/"), client_id, secret, redirect_uri)


async def register_app(base_url: str, redirect_uri: str, website: str = "", transport: Transport = send) -> MastodonApp:
    answer = await perform(app_registration_request(base_url, redirect_uri, website), transport)
    return parse_app(base_url, redirect_uri, answer)


# --- 2. the person's consent --------------------------------------------------------------------------

def pkce_pair(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> tuple[str, str]:
    """(code_verifier, S256 code_challenge): a 43-character verifier from 32 random bytes."""
    verifier = base64.urlsafe_b64encode(random_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorization_url(app: MastodonApp, challenge: str, state: str) -> str:
    query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": app.redirect_uri,
             "scope": app.scopes, "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{app.base_url}/oauth/authorize?{urlencode(query)}"


def code_from_callback(callback: str, expected_state: str) -> str:
    """The code of the redirect back (a URL or its query); the state must be the one sent."""
    query = parse_qs(urlsplit(callback).query if "?" in callback or "://" in callback else callback)
    state = (query.get("state") or [""])[0]
    if not secrets.compare_digest(state.encode(), expected_state.encode()):
        raise MastodonSignInError("state-mismatch", N_("This sign-in did not start here; please start it again."))
    if query.get("error"):
        raise MastodonSignInError("denied", N_("Access was not given, so nobody can be followed from here."))
    code = (query.get("code") or [""])[0]
    if not code:
        raise MastodonSignInError("denied", N_("Access was not given, so nobody can be followed from here."))
    return code


# --- 3. the token -----------------------------------------------------------------------------------

def token_request(app: MastodonApp, code: str, verifier: str) -> HttpRequest:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri,
            "client_id": app.client_id, "client_secret": app.client_secret, "code_verifier": verifier,
            "scope": app.scopes}
    return HttpRequest("POST", f"{app.base_url}/oauth/token", {"Content-Type": "application/x-www-form-urlencoded"},
                       urlencode(form).encode())


def parse_token(app: MastodonApp, answer: ApiAnswer) -> str:
    token = answer.body.get("access_token") if answer.ok and isinstance(answer.body, dict) else None
    if not isinstance(token, str) or not token:
        raise MastodonSignInError("token-refused", N_("%(server)s did not accept the sign-in; please try again."),
                                  server=urlsplit(app.base_url).netloc)
    return token


async def exchange_code(app: MastodonApp, code: str, verifier: str, transport: Transport = send) -> str:
    return parse_token(app, await perform(token_request(app, code, verifier), transport))


def revoke_request(app: MastodonApp, token: str) -> HttpRequest:
    form = {"client_id": app.client_id, "client_secret": app.client_secret, "token": token}
    return HttpRequest("POST", f"{app.base_url}/oauth/revoke", {"Content-Type": "application/x-www-form-urlencoded"},
                       urlencode(form).encode())
