"""Fake Bluesky AppView, Mastodon servers and directory hosts on 127.0.0.1, speaking the real shapes.

Responses follow the atproto lexicons (``app.bsky.actor.getProfiles`` -> ``{"profiles": [...]}``,
``app.bsky.actor.searchActors`` -> ``{"actors": [...], "cursor": ...}``,
``app.bsky.graph.getRelationships`` -> ``{"actor", "relationships": [{"$type":
"app.bsky.graph.defs#relationship", "did", "following"?, "followedBy"?} | {"$type":
"app.bsky.graph.defs#notFoundActor", "actor", "notFound": true}]}`` (at most 30 ``others``),
``app.bsky.graph.getFollows`` / ``getFollowers`` -> ``{"subject", "follows"|"followers", "cursor"?}``)
and Mastodon's API
(``/api/v1/accounts/lookup`` -> Account, 404 ``{"error": "Record not found"}``). Faults can be
injected per path: 429 with Retry-After, slow answers, malformed JSON, dropped connections.
Every server sends ``Access-Control-Allow-Origin: *``, as the real ones do.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """What to do instead of answering, ``times`` times (0: always)."""

    kind: str  # "429", "slow", "malformed", "drop", "500"
    times: int = 1
    seconds: float = 1.0
    used: int = 0


@dataclass
class FakeWorld:
    """The state behind every fake server: accounts, directory files, faults and a request log."""

    bluesky: dict[str, dict[str, Any]] = field(default_factory=dict)  # did -> profile
    follows: dict[str, set[str]] = field(default_factory=dict)  # did -> dids it follows on Bluesky
    mastodon: dict[str, dict[str, Any]] = field(default_factory=dict)  # user@domain -> account
    static_root: Path | None = None
    faults: dict[str, Fault] = field(default_factory=dict)  # path prefix -> fault
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _index: dict[str, dict[str, Any]] = field(default_factory=dict)
    _index_size: int = -1
    _followers: dict[str, list[str]] | None = None
    _search_rows: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    _search_size: int = -1

    def add_bluesky(
        self,
        handle: str,
        display_name: str = "",
        description: str = "",
        labels: list[str] | None = None,
        did: str | None = None,
        followers: int = 10,
    ) -> dict[str, Any]:
        did = did or f"did:plc:{abs(hash(handle)) % 10**20:020d}"
        profile = {
            "did": did,
            "handle": handle,
            "displayName": display_name,
            "description": description,
            "followersCount": followers,
            "followsCount": 10,
            "postsCount": 3,
            "indexedAt": "2026-01-01T00:00:00.000Z",
            "createdAt": "2024-01-01T00:00:00.000Z",
            "labels": [
                {"src": did, "uri": f"at://{did}/app.bsky.actor.profile/self", "val": v, "cts": "2026-01-01T00:00:00Z"}
                for v in labels or []
            ],
        }
        self.bluesky[did] = profile
        return profile

    def follow(self, follower: str, followed: str) -> None:
        with self.lock:
            self.follows.setdefault(follower, set()).add(followed)
            self._followers = None

    def followers_of(self, did: str) -> list[str]:
        with self.lock:
            if self._followers is None:
                index: dict[str, list[str]] = {}
                for follower, followed in self.follows.items():
                    for target in followed:
                        index.setdefault(target, []).append(follower)
                self._followers = index
            return sorted(self._followers.get(did, []))

    def search(self, term: str) -> list[dict[str, Any]]:
        """Profiles whose handle (with or without its dots and hyphens) or display name holds the term,
        the most followed first, then those whose bio holds it, as the real search ranks them."""
        with self.lock:
            if self._search_size != len(self.bluesky):
                self._search_rows = [
                    (
                        p["handle"].lower(),
                        p["handle"].lower().replace("-", "").replace(".", ""),
                        p["displayName"].lower(),
                        p,
                    )
                    for p in sorted(self.bluesky.values(), key=lambda p: -p["followersCount"])
                ]
                self._search_size = len(self.bluesky)
            rows = self._search_rows
        squeezed = term.replace(" ", "").replace("_", "")
        first = [
            p for handle, bare, name, p in rows if term in handle or term in name or (squeezed and squeezed in bare)
        ]
        seen = {p["did"] for p in first}
        return first + [p for *_, p in rows if p["did"] not in seen and term in p["description"].lower()]

    def by_handle(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            if self._index_size != len(self.bluesky):
                self._index = {p["handle"]: p for p in self.bluesky.values()}
                self._index_size = len(self.bluesky)
            return self._index

    def add_mastodon(self, address: str, display_name: str = "", moved_to: str | None = None) -> None:
        user, domain = address.split("@")
        self.mastodon[address] = {
            "id": str(len(self.mastodon) + 1),
            "username": user,
            "acct": user,
            "display_name": display_name,
            "locked": False,
            "bot": False,
            "created_at": "2023-01-01T00:00:00.000Z",
            "note": "<p>Hello</p>",
            "url": f"https://{domain}/@{user}",
            "followers_count": 1,
            "following_count": 1,
            "statuses_count": 1,
            "moved": None,
            "_moved_to": moved_to,
        }


# A 1x1 PNG, served as every avatar.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaPhfDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class FakeHandler(http.server.BaseHTTPRequestHandler):
    world: FakeWorld
    domain: str  # the Mastodon domain this server pretends to be, if any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, status: int, body: bytes, content_type: str = "application/json", headers: dict | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: dict | None = None) -> None:
        self._send(status, json.dumps(value).encode(), headers=headers)

    def _fault(self, path: str) -> bool:
        with self.world.lock:
            fault = next((f for prefix, f in self.world.faults.items() if path.startswith(prefix)), None)
            if fault is None or (fault.times and fault.used >= fault.times):
                return False
            fault.used += 1
        if fault.kind == "429":
            self._json(429, {"error": "RateLimitExceeded"}, {"Retry-After": str(int(fault.seconds))})
        elif fault.kind == "500":
            self._json(500, {"error": "InternalServerError"})
        elif fault.kind == "malformed":
            self._send(200, b'{"profiles": [ {"did": ')
        elif fault.kind == "drop":
            self.connection.shutdown(2)
            self.close_connection = True
        elif fault.kind == "slow":
            time.sleep(fault.seconds)
            return False
        return True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        with self.world.lock:
            self.world.log.append(f"{self.server.server_address[1]} {self.path}")
        if self._fault(url.path):
            return
        query = parse_qs(url.query)
        here = f"http://{self.headers.get('Host')}"
        if url.path.startswith("/avatar/"):
            return self._send(200, PIXEL, "image/png")
        if url.path == "/xrpc/app.bsky.actor.getProfiles":
            actors = query.get("actors", [])
            if len(actors) > 25:
                return self._json(400, {"error": "InvalidRequest", "message": "too many actors"})
            by_handle = self.world.by_handle()
            chosen = {}
            for actor in actors:
                profile = self.world.bluesky.get(actor) or by_handle.get(actor)
                if profile is not None:
                    chosen[profile["did"]] = {**profile, "avatar": f"{here}/avatar/{profile['did']}.png"}
            found = list(chosen.values())
            return self._json(200, {"profiles": found})
        if url.path == "/xrpc/app.bsky.actor.searchActors":
            term = (query.get("q") or [""])[0].lower().strip()
            limit = int((query.get("limit") or ["25"])[0])
            if not 1 <= limit <= 100:
                return self._json(400, {"error": "InvalidRequest", "message": "limit must be 1 to 100"})
            found = [self._view(p, here) for p in (self.world.search(term) if term else [])[:limit]]
            return self._json(200, {"actors": found, "cursor": str(limit)})
        if url.path == "/xrpc/app.bsky.graph.getRelationships":
            return self._relationships(query)
        if url.path in ("/xrpc/app.bsky.graph.getFollows", "/xrpc/app.bsky.graph.getFollowers"):
            return self._follow_list(url.path.rsplit(".", 1)[1], query, here)
        if url.path == "/api/v1/accounts/lookup":
            user = (query.get("acct") or [""])[0].split("@")[0]
            account = self.world.mastodon.get(f"{user}@{self.domain}")
            if account is None:
                return self._json(404, {"error": "Record not found"})
            answer = {k: v for k, v in account.items() if not k.startswith("_")} | {
                "avatar": f"{here}/avatar/{user}.png"
            }
            if account["_moved_to"]:
                new_user = account["_moved_to"].split("@")[0]
                answer["moved"] = {**answer, "username": new_user, "acct": account["_moved_to"]}
            return self._json(200, answer)
        if self.world.static_root is not None:
            file = (self.world.static_root / url.path.lstrip("/")).resolve()
            if file.is_file() and self.world.static_root.resolve() in file.parents:
                return self._send(200, file.read_bytes())
        return self._json(404, {"error": "NotFound"})

    def _view(self, profile: dict[str, Any], here: str) -> dict[str, Any]:
        """A profileView: no counts (those are in profileViewDetailed only)."""
        hidden = ("followersCount", "followsCount", "postsCount")
        return {k: v for k, v in profile.items() if k not in hidden} | {"avatar": f"{here}/avatar/{profile['did']}.png"}

    def _actor(self, actor: str) -> dict[str, Any] | None:
        return self.world.bluesky.get(actor) or self.world.by_handle().get(actor)

    def _relationships(self, query: dict[str, list[str]]) -> None:
        actor = (query.get("actor") or [""])[0]
        others = query.get("others", [])
        if not actor or len(others) > 30:
            return self._json(
                400, {"error": "InvalidRequest", "message": "Error: others must not have more than 30 elements"}
            )
        subject = self._actor(actor)
        if subject is None:
            return self._json(400, {"error": "InvalidRequest", "message": "Profile not found"})
        did = subject["did"]
        follows = self.world.follows
        relationships: list[dict[str, Any]] = []
        for other in others:
            profile = self._actor(other)
            if profile is None:
                relationships.append({"$type": "app.bsky.graph.defs#notFoundActor", "actor": other, "notFound": True})
                continue
            entry: dict[str, Any] = {"$type": "app.bsky.graph.defs#relationship", "did": profile["did"]}
            if profile["did"] in follows.get(did, ()):
                entry["following"] = f"at://{did}/app.bsky.graph.follow/{abs(hash(profile['did'])) % 10**12}"
            if did in follows.get(profile["did"], ()):
                entry["followedBy"] = f"at://{profile['did']}/app.bsky.graph.follow/{abs(hash(did)) % 10**12}"
            relationships.append(entry)
        return self._json(200, {"actor": did, "relationships": relationships})

    def _follow_list(self, kind: str, query: dict[str, list[str]], here: str) -> None:
        subject = self._actor((query.get("actor") or [""])[0])
        if subject is None:
            return self._json(400, {"error": "InvalidRequest", "message": "Profile not found"})
        limit = min(max(int((query.get("limit") or ["50"])[0]), 1), 100)
        start = int((query.get("cursor") or ["0"])[0] or 0)
        if kind == "getFollows":
            dids, key = sorted(self.world.follows.get(subject["did"], ())), "follows"
        else:
            dids, key = self.world.followers_of(subject["did"]), "followers"
        page = [self._view(self.world.bluesky[d], here) for d in dids[start : start + limit] if d in self.world.bluesky]
        answer: dict[str, Any] = {"subject": self._view(subject, here), key: page}
        if start + limit < len(dids):
            answer["cursor"] = str(start + limit)
        return self._json(200, answer)


@contextmanager
def serve(world: FakeWorld, domain: str = "") -> Iterator[str]:
    """Run one fake server on 127.0.0.1 and yield its base URL."""
    handler = type("Handler", (FakeHandler,), {"world": world, "domain": domain})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
