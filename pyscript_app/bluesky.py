"""Finding X accounts on Bluesky through the public AppView, with reasons and a confidence.

Lexicons used: ``app.bsky.actor.getProfiles`` (up to 25 ``actors``, answers
``{"profiles": [profileViewDetailed]}``, unknown actors left out) and
``app.bsky.actor.searchActors`` (``q``, ``limit``; answers ``{"actors": [profileView], "cursor"}``).
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .net import PoliteClient
from .untrusted import plain_text, safe_avatar

PROFILES_PER_CALL = 25
CLOSE_HANDLE = 0.92  # Jaro-Winkler threshold, as Sky Follower Bridge uses
HIDDEN_LABELS = {"impersonation", "!hide", "!takedown"}
HANDLE_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HANDLE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
DID = re.compile(r"^did:(?:plc|web):[A-Za-z0-9._:%-]{1,253}$")
NAME_LIMIT = 120
BIO_LIMIT = 2_000


def jaro_winkler(a: str, b: str, prefix_scale: float = 0.1) -> float:
    """Similarity of two strings, 1.0 when equal (Winkler's variant of Jaro's distance)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    a_matched = [False] * len(a)
    b_matched = [False] * len(b)
    matches = 0
    for i, char in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_matched[j] and b[j] == char:
                a_matched[i] = b_matched[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    a_chars = [c for c, m in zip(a, a_matched, strict=True) if m]
    b_chars = [c for c, m in zip(b, b_matched, strict=True) if m]
    transpositions = sum(x != y for x, y in zip(a_chars, b_chars, strict=True)) / 2
    jaro = (matches / len(a) + matches / len(b) + (matches - transpositions) / matches) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)


def simplify(text: str) -> str:
    """Lower case, no accents, letters and digits only: for comparing names and handles."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def candidate_handles(x_handle: str) -> list[str]:
    """Bluesky handles the X user would likely have taken on the default host."""
    base = x_handle.lower()
    labels = [base.replace("_", "-").strip("-"), base.replace("_", "")]
    return list(dict.fromkeys(f"{label}.bsky.social" for label in labels if HANDLE_LABEL.match(label)))


@dataclass
class Profile:
    did: str
    handle: str
    display_name: str
    description: str
    avatar: str
    labels: set[str] = field(default_factory=set)

    @classmethod
    def from_json(cls, data: Any) -> Profile | None:
        """A profile from an AppView answer; None unless its DID and handle are well formed."""
        if not isinstance(data, dict):
            return None
        if not isinstance(data.get("did"), str) or not isinstance(data.get("handle"), str):
            return None
        did, handle = data["did"], data["handle"].lower()
        if not DID.match(did) or not (HANDLE.match(handle) or handle == "handle.invalid"):
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
        )

    @property
    def hidden(self) -> bool:
        return bool(self.labels & HIDDEN_LABELS) or self.handle == "handle.invalid"


@dataclass(frozen=True)
class Verdict:
    confidence: str
    reasons: tuple[str, ...]


def judge(x_handle: str, x_names: Iterable[str], profile: Profile, found_by_name: bool = False) -> Verdict | None:
    """Why this Bluesky profile may be this X account, and how sure that is; None if no reason."""
    reasons = []
    handle = x_handle.lower()
    bio = profile.description.lower()
    if re.search(rf"(?:^|[^a-z0-9_])(?:x|twitter)\.com/@?{re.escape(handle)}(?![a-z0-9_])", bio):
        reasons.append("bio_links_x")
    first_label = profile.handle.split(".")[0]
    simple_handle, simple_label = simplify(handle), simplify(first_label)
    if profile.handle in candidate_handles(handle) or (simple_handle and simple_handle == simple_label):
        reasons.append("exact_handle")
    elif jaro_winkler(simple_handle, simple_label) >= CLOSE_HANDLE:
        reasons.append("close_handle")
    names = {simplify(name) for name in x_names if simplify(name)}
    if simplify(profile.display_name) and simplify(profile.display_name) in names:
        reasons.append("same_name")
    if found_by_name:
        reasons.append("found_by_name")
    strong = {"bio_links_x"} & set(reasons) or {"exact_handle", "same_name"} <= set(reasons)
    if strong:
        confidence = "high"
    elif "exact_handle" in reasons or {"close_handle", "same_name"} <= set(reasons):
        confidence = "medium"
    elif {"close_handle", "same_name"} & set(reasons):
        confidence = "low"
    else:
        return None
    return Verdict(confidence, tuple(reasons))


class AppView:
    """The two read-only calls the matcher makes, on a configurable AppView."""

    def __init__(self, client: PoliteClient, base_url: str) -> None:
        self.client = client
        self.base = base_url.rstrip("/")

    async def profiles(self, actors: list[str]) -> list[Profile]:
        """Profiles of handles or DIDs, 25 a request, requests in parallel; unknown ones are absent."""

        async def batch(names: list[str]) -> list[Profile]:
            query = urlencode([("actors", actor) for actor in names])
            data = await self.client.get_json(f"{self.base}/xrpc/app.bsky.actor.getProfiles?{query}")
            items = data.get("profiles", []) if isinstance(data, dict) else []
            return [p for p in (Profile.from_json(item) for item in items) if p is not None]

        batches = [actors[i : i + PROFILES_PER_CALL] for i in range(0, len(actors), PROFILES_PER_CALL)]
        return [profile for found in await asyncio.gather(*(batch(b) for b in batches)) for profile in found]

    async def search(self, query: str, limit: int = 8) -> list[Profile]:
        data = await self.client.get_json(
            f"{self.base}/xrpc/app.bsky.actor.searchActors?{urlencode({'q': query, 'limit': limit})}"
        )
        items = data.get("actors", []) if isinstance(data, dict) else []
        return [p for p in (Profile.from_json(item) for item in items) if p is not None]


def bridge_address(handle: str) -> str:
    """How Mastodon users follow a Bluesky account through Bridgy Fed (if its owner opted in)."""
    return f"@{handle}@bsky.brid.gy"


def profile_url(profile: Profile) -> str:
    return f"https://bsky.app/profile/{profile.handle if profile.handle != 'handle.invalid' else profile.did}"
