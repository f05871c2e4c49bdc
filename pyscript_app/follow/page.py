"""The follow panel's Python: the queue built from the page's selection, the run on the networks
the person signed in to, and the Mastodon sign-in.

Bluesky's requests are signed in the page, where the official atproto OAuth client keeps its
DPoP key and tokens; the worker hands each request to the page and gets the answer back
(``RelayTransport``). Mastodon's requests carry the person's bearer token and go straight from
the worker with ``_compat.send``. Nothing here is kept: the page keeps the queue (IndexedDB, in
this browser only) and gives it back with ``restore``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast
from urllib.parse import urlsplit

from .. import N_
from .._compat import NetworkError, Response, ResponseTooLargeError
from ..notices import ArchiveError, Notice
from ..protocol import FollowConnections, MastodonConnection, Network
from .bluesky import BlueskyFollower
from .client import PathClient
from .mastodon import MastodonFollower, follow_allowance
from .mastodon_oauth import (
    MastodonApp,
    MastodonSignInError,
    authorization_url,
    code_from_callback,
    exchange_code,
    new_state,
    parse_address,
    pkce_pair,
    register_app,
    server_url,
)
from .model import FollowQueue, Selectable, UnreachableError
from .pacing import BLUESKY_PACE, MASTODON_PACE, Pace, plan_network
from .runner import Follower, FollowRunner
from .waiting import Clock, Sleep

# (method, path, headers as JSON, body or None) -> the answer as JSON: {status, headers, body} or {error}
Relay = Callable[[str, str, str, str | None], Awaitable[Any]]
PACES: dict[Network, Pace] = {"bluesky": BLUESKY_PACE, "mastodon": MASTODON_PACE}
# The page waits at most this long for the next batch; a later one is left for when it is open again.
PAGE_MAX_WAIT = 6 * 3600.0


class RelayTransport:
    """A ``follow.client.Transport`` whose requests the page sends with the signed-in Bluesky
    session (``OAuthSession.fetchHandler``: DPoP proof, nonce, refresh). Paths are relative to
    the person's PDS. The page answers ``{"error": "session-ended"}`` when the client could not
    refresh the session, and ``{"error": "network"}`` when the request did not go through."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def __call__(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None, timeout: float, max_bytes: int
    ) -> Response:
        async def ask() -> Any:
            return await self.relay(method, path, json.dumps(headers), body.decode("utf-8") if body else None)

        try:
            text = await asyncio.wait_for(ask(), timeout)
        except TimeoutError:
            raise NetworkError(f"{path}: no answer in {timeout:.0f} s") from None
        return relayed_response(str(text), max_bytes)


def relayed_response(text: str, max_bytes: int) -> Response:
    """The page's answer to a relayed request, checked like any other server answer."""
    try:
        answer = json.loads(text)
    except ValueError:
        raise NetworkError("the page's answer is not JSON") from None
    if not isinstance(answer, dict):
        raise NetworkError("the page's answer is not an object")
    if answer.get("error") == "session-ended":  # said the way a PDS says it, so the follower stops the same way
        return Response(401, b'{"error": "ExpiredToken"}', {"content-type": "application/json"})
    if answer.get("error") or not isinstance(answer.get("status"), int):
        raise NetworkError(str(answer.get("error") or "no status"))
    body = str(answer.get("body") or "").encode("utf-8")
    if len(body) > max_bytes:
        raise ResponseTooLargeError(f"{len(body)} bytes")
    headers = answer.get("headers")
    if not isinstance(headers, dict):
        headers = {}
    return Response(answer["status"], body, {str(k).lower(): str(v) for k, v in headers.items()})


class PageFollow:
    """The follow queue of the page, and the run that works through it."""

    def __init__(self, clock: Clock = time.time, sleep: Sleep = asyncio.sleep) -> None:
        self.queue = FollowQueue()
        self.runner: FollowRunner | None = None
        self.clock = clock
        self.sleep = sleep

    # --- the queue ---------------------------------------------------------------------------------

    def restore(self, saved: str) -> None:
        """The queue the page kept; what cannot be read is said, and a new queue starts."""
        try:
            self.queue = FollowQueue.from_json(json.loads(saved))
        except ValueError:
            self.queue = FollowQueue()
            raise ArchiveError(
                N_("The follow list kept in this browser cannot be read; a new one was started.")
            ) from None

    def add(self, matches: Iterable[Selectable], networks: Iterable[Network]) -> int:
        """Queue the selected matches of the networks signed in to."""
        wanted = set(networks)
        return self.queue.add(m for m in matches if m.network in wanted)

    def state(self) -> dict[str, Any]:
        """What the page shows and keeps: each account's state, the counts and time left per network,
        and the queue as JSON (the page keeps it in IndexedDB)."""
        now = self.clock()
        networks = {}
        for network, queue in self.queue.networks.items():
            plan = plan_network(queue, PACES[network], now)
            networks[network] = {
                "counts": queue.counts(), "total": len(queue.tasks), "seconds_left": round(plan.seconds),
                "stop": queue.stop, "resume_at": queue.resume_at or None, "owner": queue.owner,
            }
        return {"tasks": self.queue.task_states(), "networks": networks,
                "saved": json.dumps(self.queue.to_json(), ensure_ascii=False)}

    def plan(self, networks: Iterable[Network]) -> dict[str, Any]:
        """What a run would do now on each network, in words, with the state."""
        now = self.clock()
        plans = [plan_network(self.queue.queue(n), PACES[n], now).to_json() for n in networks]
        return {"plans": plans} | self.state()

    # --- the run -----------------------------------------------------------------------------------

    def followers(self, connections: FollowConnections, relay: Relay) -> dict[Network, Follower]:
        followers: dict[Network, Follower] = {}
        bluesky = connections.get("bluesky")
        if bluesky:
            followers["bluesky"] = BlueskyFollower(PathClient(RelayTransport(relay)), did=bluesky["did"])
        mastodon = connections.get("mastodon")
        if mastodon:
            _, domain = parse_address(mastodon["address"])
            base_url = server_url(domain, mastodon.get("instance_urls", {}))
            followers["mastodon"] = MastodonFollower(PathClient(base_url=base_url, token=mastodon["token"]), domain)
        return followers

    async def run(
        self,
        connections: FollowConnections,
        relay: Relay,
        on_state: Callable[[dict[str, Any]], None],
        on_notice: Callable[[Notice], None],
    ) -> dict[str, Any]:
        """Follow every queued account on the connected networks, paced; the state goes to the page
        after every step, so closing the page loses nothing."""
        if self.runner is not None:
            return {"running": True}
        followers = self.followers(connections, relay)
        self.runner = FollowRunner(
            self.queue, followers, clock=self.clock, sleep=self.sleep, on_change=lambda queue: on_state(self.state()),
            on_notice=on_notice, max_wait=PAGE_MAX_WAIT,
        )
        try:
            result = await self.runner.run()
        finally:
            self.runner = None
        return {"stops": dict(result.stops), "notices": [n.to_json() for n in result.notices]} | self.state()

    def pause(self) -> dict[str, Any]:
        if self.runner is not None:
            self.runner.pause()
        return {"paused": self.runner is not None}

    def resume(self) -> dict[str, Any]:
        if self.runner is not None:
            self.runner.resume()
        return {"resumed": self.runner is not None}

    def cancel(self) -> dict[str, Any]:
        if self.runner is not None:
            self.runner.cancel()
        return {"cancelling": self.runner is not None}

    def forget(self) -> None:
        self.cancel()
        self.queue = FollowQueue()


# --- signing in to Mastodon --------------------------------------------------------------------------

def app_from_json(data: Any) -> MastodonApp | None:
    """An app the page kept (``MastodonApp.to_json``); None if it is not one."""
    if not isinstance(data, dict):
        return None
    fields = ("base_url", "client_id", "client_secret", "redirect_uri")
    if not all(isinstance(data.get(k), str) and data[k] for k in fields):
        return None
    return MastodonApp(*(str(data[k]) for k in fields))


def kept_app(apps: Any, base_url: str, redirect_uri: str) -> MastodonApp | None:
    """The app registered earlier on this server for this page, if the page kept it."""
    app = app_from_json(apps.get(base_url)) if isinstance(apps, dict) else None
    return app if app and app.base_url == base_url and app.redirect_uri == redirect_uri else None


async def mastodon_begin(request: dict[str, Any]) -> dict[str, Any]:
    """Register Passerelle on the person's server (once: the page keeps the app) and the address of
    the server's consent page, with PKCE and a state the page checks on return."""
    address = str(request.get("address") or "")
    redirect_uri = str(request.get("redirect_uri") or "")
    _, domain = parse_address(address)
    instance_urls = cast(dict[str, str], request.get("instance_urls") or {})
    base_url = server_url(domain, instance_urls)
    app = kept_app(request.get("apps"), base_url, redirect_uri)
    if app is None:
        website = str(request.get("website") or "")
        app = await register_app(base_url, redirect_uri, website if website.startswith("https://") else "")
    verifier, challenge = pkce_pair()
    state = new_state()
    return {"authorize_url": authorization_url(app, challenge, state), "state": state, "verifier": verifier,
            "app": app.to_json(), "address": address.strip().lstrip("@").lower(), "server": urlsplit(base_url).netloc}


async def mastodon_finish(request: dict[str, Any]) -> dict[str, Any]:
    """The token for the code the consent page sent back (the state must be the one sent)."""
    app = app_from_json(request.get("app"))
    if app is None:
        raise MastodonSignInError("state-mismatch", N_("This sign-in did not start here; please start it again."))
    code = code_from_callback(str(request.get("callback") or ""), str(request.get("state") or ""))
    token = await exchange_code(app, code, str(request.get("verifier") or ""))
    return {"token": token}


async def mastodon_allowance(connection: MastodonConnection) -> int | None:
    """How many more people the signed-in Mastodon account may follow (its server says), or None
    when it cannot be asked: then the export keeps to Mastodon's general rule."""
    try:
        _, domain = parse_address(connection["address"])
        client = PathClient(base_url=server_url(domain, connection.get("instance_urls", {})), token=connection["token"])
        me = await client.request("GET", "/api/v1/accounts/verify_credentials")
    except (MastodonSignInError, UnreachableError, KeyError):
        return None
    body = me.body if me.ok and isinstance(me.body, dict) else {}
    following, followers = body.get("following_count"), body.get("followers_count")
    if not isinstance(following, int) or not isinstance(followers, int):
        return None
    return follow_allowance(following, followers)


def sign_in_failure(error: Exception) -> dict[str, Any] | None:
    """A sign-in problem the person can act on, as the page shows it; None for anything else."""
    if isinstance(error, MastodonSignInError):
        return {"error": error.notice.to_json(), "kind": error.kind}
    return None


__all__ = ["PAGE_MAX_WAIT", "PageFollow", "RelayTransport", "mastodon_allowance", "mastodon_begin",
           "mastodon_finish", "server_url", "sign_in_failure"]
