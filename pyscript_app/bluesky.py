"""Finding X accounts on Bluesky through the public AppView, with reasons and a confidence.

Lexicons used: ``app.bsky.actor.getProfiles`` (up to 25 ``actors``, answers
``{"profiles": [profileViewDetailed]}``, unknown actors left out),
``app.bsky.actor.searchActors`` (``q``, ``limit``; answers ``{"actors": [profileView], "cursor"}``)
``app.bsky.graph.getFollows`` / ``getFollowers`` (``actor``, ``limit`` up to 100, ``cursor``; answer
``{"subject", "follows"|"followers": [profileView], "cursor"?}``)
and ``app.bsky.graph.getRelationships`` (``actor`` and up to 30 ``others``, no sign-in; answers
``{"actor", "relationships": [{"$type": "app.bsky.graph.defs#relationship", "did", "following"?,
"followedBy"?} | {"$type": "app.bsky.graph.defs#notFoundActor", "actor", "notFound": true}]}``).
The scoring itself lives in :mod:`pyscript_app.scoring`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .net import PoliteClient
from .scoring import (
    HIDDEN_LABELS,
    Candidate,
    jaro_winkler,
    level,
    simplify,
    weigh_all,
)
from .untrusted import HOST_NAME, plain_text, safe_avatar

PROFILES_PER_CALL = 25
RELATIONSHIPS_PER_CALL = 30
FOLLOWS_PER_CALL = 100
SEARCH_LIMIT = 25
__all__ = ["jaro_winkler", "simplify"]
HANDLE_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
DID = re.compile(r"^did:(?:plc|web):[A-Za-z0-9._:%-]{1,253}\Z")
NAME_LIMIT = 120
BIO_LIMIT = 2_000


def candidate_handles(x_handle: str, with_digits_dropped: bool = False) -> list[str]:
    """Bluesky handles the X user would likely have taken on the default host (a weak guess
    without the handle's final digits, if asked)."""
    base = x_handle.lower()
    labels = [base.replace("_", "-").strip("-"), base.replace("_", "")]
    if with_digits_dropped:
        labels.append(re.sub(r"\d+$", "", base).replace("_", ""))
    return list(dict.fromkeys(f"{label}.bsky.social" for label in labels if HANDLE_LABEL.match(label)))


@dataclass
class Profile:
    did: str
    handle: str
    display_name: str
    description: str
    avatar: str
    labels: set[str] = field(default_factory=set)
    followers: int = -1  # -1: not said (search results do not carry counts)

    @classmethod
    def from_json(cls, data: Any) -> Profile | None:
        """A profile from an AppView answer; None unless its DID and handle are well formed."""
        if not isinstance(data, dict):
            return None
        if not isinstance(data.get("did"), str) or not isinstance(data.get("handle"), str):
            return None
        did, handle = data["did"], data["handle"].lower()
        if not DID.match(did) or not (HOST_NAME.match(handle) or handle == "handle.invalid"):
            return None
        labels = data.get("labels")
        return cls(
            did=did,
            handle=handle,
            display_name=plain_text(data.get("displayName"), NAME_LIMIT),
            description=plain_text(data.get("description"), BIO_LIMIT),
            avatar=safe_avatar(str(data.get("avatar") or "")),
            labels={str(label.get("val")) for label in labels if isinstance(label, dict)}
            if isinstance(labels, list)
            else set(),
            followers=data["followersCount"] if isinstance(data.get("followersCount"), int) else -1,
        )

    def candidate(self, by_handle: bool = False, by_name: bool = False) -> Candidate:
        return Candidate(
            self.did, self.handle, self.display_name, self.description, set(self.labels), by_handle, by_name
        )

    @property
    def hidden(self) -> bool:
        return bool(self.labels & HIDDEN_LABELS) or self.handle == "handle.invalid"


@dataclass(frozen=True)
class Verdict:
    confidence: str
    reasons: tuple[str, ...]


def judge(x_handle: str, x_names: Iterable[str], profile: Profile, found_by_name: bool = False) -> Verdict | None:
    """Why this Bluesky profile alone may be this X account, and how sure that is; None if not shown."""
    candidate = profile.candidate(by_handle=not found_by_name, by_name=found_by_name)
    ranked = weigh_all(x_handle, list(x_names), [candidate])
    if not ranked:
        return None
    confidence = level(ranked[0].chance)
    positive = [e for e in ranked[0].evidence if e.weight > 0 or e.reason == "found_by_name"]
    if confidence is None or not positive:
        return None
    return Verdict(confidence, tuple(e.reason for e in ranked[0].evidence))


class AppView:
    """The read-only calls the matcher makes, on a configurable AppView; ``requests`` counts them."""

    def __init__(self, client: PoliteClient, base_url: str) -> None:
        self.client = client
        self.base = base_url.rstrip("/")
        self.requests = 0

    async def _get(self, method: str, query: str) -> Any:
        self.requests += 1
        return await self.client.get_json(f"{self.base}/xrpc/{method}?{query}")

    async def profiles(self, actors: list[str]) -> list[Profile]:
        """Profiles of handles or DIDs, 25 a request, requests in parallel; unknown ones are absent."""

        async def batch(names: list[str]) -> list[Profile]:
            query = urlencode([("actors", actor) for actor in names])
            data = await self._get("app.bsky.actor.getProfiles", query)
            items = data.get("profiles", []) if isinstance(data, dict) else []
            return [p for p in (Profile.from_json(item) for item in items) if p is not None]

        batches = [actors[i : i + PROFILES_PER_CALL] for i in range(0, len(actors), PROFILES_PER_CALL)]
        return [profile for found in await asyncio.gather(*(batch(b) for b in batches)) for profile in found]

    async def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[Profile]:
        data = await self._get("app.bsky.actor.searchActors", urlencode({"q": query, "limit": limit}))
        items = data.get("actors", []) if isinstance(data, dict) else []
        return [p for p in (Profile.from_json(item) for item in items) if p is not None]

    async def neighbours(self, actor: str, direction: str, cursor: str = "") -> tuple[list[Profile], str]:
        """One page (100) of the accounts ``actor`` follows (``follows``) or is followed by
        (``followers``), and the cursor of the next page ("" at the end)."""
        method = "app.bsky.graph.getFollows" if direction == "follows" else "app.bsky.graph.getFollowers"
        query = urlencode([("actor", actor), ("limit", FOLLOWS_PER_CALL), *([("cursor", cursor)] if cursor else [])])
        data = await self._get(method, query)
        items = data.get(direction, []) if isinstance(data, dict) else []
        profiles = (
            [p for p in (Profile.from_json(i) for i in items) if p is not None] if isinstance(items, list) else []
        )
        following = data.get("cursor") if isinstance(data, dict) else None
        return profiles, following if isinstance(following, str) and profiles else ""

    async def relationships(self, actor: str, others: list[str]) -> dict[str, tuple[bool, bool]]:
        """For each of up to 30 ``others``: (``actor`` follows them, they follow ``actor``)."""
        query = urlencode([("actor", actor), *(("others", did) for did in others[:RELATIONSHIPS_PER_CALL])])
        data = await self._get("app.bsky.graph.getRelationships", query)
        items = data.get("relationships", []) if isinstance(data, dict) else []
        found = {}
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("did"), str) and not item.get("notFound"):
                found[item["did"]] = (bool(item.get("following")), bool(item.get("followedBy")))
        return found


def bridge_address(handle: str) -> str:
    """How Mastodon users follow a Bluesky account through Bridgy Fed (if its owner opted in)."""
    return f"@{handle}@bsky.brid.gy"


def profile_url(profile: Profile) -> str:
    return f"https://bsky.app/profile/{profile.handle if profile.handle != 'handle.invalid' else profile.did}"
