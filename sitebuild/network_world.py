"""Bluesky's AppView and Mastodon's API, answered from a small world kept in memory.

The answers have the real shapes: the atproto lexicons (``app.bsky.actor.getProfiles`` ->
``{"profiles": [...]}``, ``app.bsky.actor.searchActors`` -> ``{"actors": [...], "cursor": ...}``,
``app.bsky.graph.getRelationships`` -> ``{"actor", "relationships": [{"$type":
"app.bsky.graph.defs#relationship", "did", "following"?, "followedBy"?} | {"$type":
"app.bsky.graph.defs#notFoundActor", "actor", "notFound": true}]}`` (at most 30 ``others``),
``app.bsky.graph.getFollows`` / ``getFollowers`` -> ``{"subject", "follows"|"followers", "cursor"?}``)
and Mastodon's (``/api/v1/accounts/lookup`` -> Account, 404 ``{"error": "Record not found"}``;
``/api/v1/accounts/:id/following`` and ``/followers`` -> ``[Account]``, ``[]`` when the account hides
them).

Two users: the demo's fictional networks (the build asks this world through the app's own code
and writes every answer as a static file, :mod:`sitebuild.demo_networks`), and the tests' fake
servers on 127.0.0.1, which add faults and a request log around it.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any

Answer = tuple[int, Any]  # HTTP status and JSON body
Query = dict[str, list[str]]


@dataclass
class NetworkWorld:
    """Bluesky profiles and follows, Mastodon accounts: what the answers are made of."""

    bluesky: dict[str, dict[str, Any]] = field(default_factory=dict)  # did -> profile
    follows: dict[str, set[str]] = field(default_factory=dict)  # did -> dids it follows on Bluesky
    mastodon: dict[str, dict[str, Any]] = field(default_factory=dict)  # user@domain -> account
    mastodon_follows: dict[str, set[str]] = field(default_factory=dict)  # user@domain -> addresses it follows
    avatars: dict[str, str] = field(default_factory=dict)  # DID or user@domain -> picture URL
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
        did = did or f"did:plc:{_number(handle, 20)}"
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

    def add_mastodon(
        self, address: str, display_name: str = "", moved_to: str | None = None, hides_network: bool = False
    ) -> None:
        user, domain = address.split("@")
        self.mastodon[address.lower()] = {
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
            "_hides_network": hides_network,
        }

    # --- the answers ---------------------------------------------------------------------------

    def avatar_of(self, key: str, here: str) -> str:
        """The picture of an account (a profile's DID, a Mastodon user name): its own when it has one."""
        return self.avatars.get(key) or f"{here}/avatar/{key}.png"

    def answer(self, path: str, query: Query, here: str, domain: str = "") -> Answer | None:
        """What the AppView (or, with ``domain``, that Mastodon server) answers; None: not an API path."""
        if path == "/xrpc/app.bsky.actor.getProfiles":
            actors = query.get("actors", [])
            if len(actors) > 25:
                return 400, {"error": "InvalidRequest", "message": "too many actors"}
            chosen = {}
            for actor in actors:
                profile = self._actor(actor)
                if profile is not None:
                    chosen[profile["did"]] = {**profile, "avatar": self.avatar_of(profile["did"], here)}
            return 200, {"profiles": list(chosen.values())}
        if path == "/xrpc/app.bsky.actor.searchActors":
            term = (query.get("q") or [""])[0].lower().strip()
            limit = int((query.get("limit") or ["25"])[0])
            if not 1 <= limit <= 100:
                return 400, {"error": "InvalidRequest", "message": "limit must be 1 to 100"}
            found = [self._view(p, here) for p in (self.search(term) if term else [])[:limit]]
            return 200, {"actors": found, "cursor": str(limit)}
        if path == "/xrpc/app.bsky.graph.getRelationships":
            return self._relationships(query)
        if path in ("/xrpc/app.bsky.graph.getFollows", "/xrpc/app.bsky.graph.getFollowers"):
            return self._follow_list(path.rsplit(".", 1)[1], query, here)
        if path == "/api/v1/accounts/lookup":
            return self._lookup(query, here, domain)
        if domain and (lists := MASTODON_LISTS.fullmatch(path)):
            return self._mastodon_list(lists[1], lists[2], query, here, domain)
        return None

    def _lookup(self, query: Query, here: str, domain: str) -> Answer:
        user = (query.get("acct") or [""])[0].split("@")[0]
        account = self.mastodon.get(f"{user}@{domain}".lower())
        if account is None:
            return 404, {"error": "Record not found"}
        answer = {k: v for k, v in account.items() if not k.startswith("_")} | {
            "avatar": self.avatar_of(f"{user}@{domain}".lower(), here)
        }
        if account["_moved_to"]:
            new_user = account["_moved_to"].split("@")[0]
            answer["moved"] = {**answer, "username": new_user, "acct": account["_moved_to"]}
        return 200, answer

    def _mastodon_list(self, account_id: str, kind: str, query: Query, here: str, domain: str) -> Answer:
        """Who a user of this server follows, or who follows it (one page, at most 80)."""
        address = next((a for a, v in self.mastodon.items() if v["id"] == account_id and a.endswith(f"@{domain}")), "")
        if not address:
            return 404, {"error": "Record not found"}
        limit = min(max(int((query.get("limit") or ["40"])[0]), 1), 80)
        if self.mastodon[address]["_hides_network"]:
            others: list[str] = []
        elif kind == "following":
            others = sorted(self.mastodon_follows.get(address, ()))
        else:
            others = sorted(a for a, followed in self.mastodon_follows.items() if address in followed)
        page = []
        for other in [o for o in others if o in self.mastodon][:limit]:
            user, _, host = other.partition("@")
            account = {k: v for k, v in self.mastodon[other].items() if not k.startswith("_")}
            page.append(account | {"acct": user if host == domain else other, "avatar": self.avatar_of(other, here)})
        return 200, page

    def _view(self, profile: dict[str, Any], here: str) -> dict[str, Any]:
        """A profileView: no counts (those are in profileViewDetailed only)."""
        hidden = ("followersCount", "followsCount", "postsCount")
        return {k: v for k, v in profile.items() if k not in hidden} | {"avatar": self.avatar_of(profile["did"], here)}

    def _actor(self, actor: str) -> dict[str, Any] | None:
        return self.bluesky.get(actor) or self.by_handle().get(actor)

    def _relationships(self, query: Query) -> Answer:
        actor = (query.get("actor") or [""])[0]
        others = query.get("others", [])
        if not actor or len(others) > 30:
            return 400, {"error": "InvalidRequest", "message": "Error: others must not have more than 30 elements"}
        subject = self._actor(actor)
        if subject is None:
            return 400, {"error": "InvalidRequest", "message": "Profile not found"}
        did = subject["did"]
        relationships: list[dict[str, Any]] = []
        for other in others:
            profile = self._actor(other)
            if profile is None:
                relationships.append({"$type": "app.bsky.graph.defs#notFoundActor", "actor": other, "notFound": True})
                continue
            entry: dict[str, Any] = {"$type": "app.bsky.graph.defs#relationship", "did": profile["did"]}
            if profile["did"] in self.follows.get(did, ()):
                entry["following"] = f"at://{did}/app.bsky.graph.follow/{_record_key(profile['did'])}"
            if did in self.follows.get(profile["did"], ()):
                entry["followedBy"] = f"at://{profile['did']}/app.bsky.graph.follow/{_record_key(did)}"
            relationships.append(entry)
        return 200, {"actor": did, "relationships": relationships}

    def _follow_list(self, kind: str, query: Query, here: str) -> Answer:
        subject = self._actor((query.get("actor") or [""])[0])
        if subject is None:
            return 400, {"error": "InvalidRequest", "message": "Profile not found"}
        limit = min(max(int((query.get("limit") or ["50"])[0]), 1), 100)
        start = int((query.get("cursor") or ["0"])[0] or 0)
        if kind == "getFollows":
            dids, key = sorted(self.follows.get(subject["did"], ())), "follows"
        else:
            dids, key = self.followers_of(subject["did"]), "followers"
        page = [self._view(self.bluesky[d], here) for d in dids[start : start + limit] if d in self.bluesky]
        answer: dict[str, Any] = {"subject": self._view(subject, here), key: page}
        if start + limit < len(dids):
            answer["cursor"] = str(start + limit)
        return 200, answer


MASTODON_LISTS = re.compile(r"/api/v1/accounts/([0-9]+)/(following|followers)")


def _number(text: str, digits: int) -> str:
    """A number made from ``text``, the same at every run (the demo's files must not change at each build)."""
    return f"{int(hashlib.sha256(text.encode()).hexdigest(), 16) % 10**digits:0{digits}d}"


def _record_key(did: str) -> str:
    return _number(did, 12)
