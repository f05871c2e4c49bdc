"""Finding the person's X relations on Bluesky and Mastodon, from the most trusted source down.

1. Opt-in directories keyed by X id (claims made by the people themselves).
2. Bluesky's public AppView, for ids whose handle the archive reveals.
3. Every Mastodon address is checked on its own server.
Blocked and muted people are never looked up. A failing source is reported and the others go on.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin

from . import N_
from .bluesky import AppView, Profile, bridge_address, candidate_handles, judge, profile_url
from .directory import (
    BUCKET_MAX_BYTES,
    MANIFEST_MAX_BYTES,
    SHARD_MAX_BYTES,
    Claim,
    Manifest,
    claims_in,
    plan_lookup,
)
from .graph import KnownAccount, PersonGraph
from .mastodon import RESERVED_SUFFIXES, MastodonServers, is_reserved
from .mastodon import bridge_address as mastodon_bridge
from .net import CancelRequestedError, PoliteClient, SourceError
from .notices import Notice

CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}
SEARCH_CONCURRENCY = 4
# Bluesky's public AppView allows about 3,000 requests per 5 minutes from one address; a
# directory is static files (often behind a CDN); Mastodon servers keep the default budget
# (about 300 requests per 5 minutes per address, unauthenticated).
APPVIEW_BUDGET = (2_900, 300.0)
DIRECTORY_BUDGET = (10_000, 300.0)
DIRECTORY_CONCURRENCY = 6

Progress = Callable[[str, int, int], None]
Publish = Callable[[list["Match"]], None]
# What a hostile or broken answer can raise past a source's own checks: caught at the source's
# boundary, said as that source's failure, and the other sources go on.
SOURCE_FAILURES = (SourceError, ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)


@dataclass
class Settings:
    """What a self-hoster or a test configures (``[tool.passerelle]``)."""

    bluesky_appview: str = "https://public.api.bsky.app"
    directories: list[str] = field(default_factory=list)
    mastodon_instance_urls: dict[str, str] = field(default_factory=dict)
    look_up_names: bool = True  # Bluesky lookups of the handles the archive reveals (off for the demo)
    search_actors: bool = True  # ... including searches by handle and name, not just exact handles
    directories_only: bool = False  # ask the directories and nobody else: nothing is checked
    keep_responses: bool = False  # the person chose "Keep on this device": answers may be kept there

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        return cls(
            bluesky_appview=str(data.get("bluesky_appview") or cls.bluesky_appview),
            directories=[str(d) for d in data.get("directories") or []],
            mastodon_instance_urls={str(k): str(v) for k, v in (data.get("mastodon_instance_urls") or {}).items()},
            look_up_names=bool(data.get("look_up_names", True)),
            search_actors=bool(data.get("search_actors", True)),
            directories_only=bool(data.get("directories_only", False)),
            keep_responses=bool(data.get("keep_responses", False)),
        )


@dataclass
class Match:
    """One account that may be one of the person's X relations."""

    x_id: str
    x_handle: str
    network: str  # "bluesky" or "mastodon"
    account: str  # Bluesky handle (or DID if it has none), Mastodon user@server
    confidence: str
    reasons: list[str]
    relation: str  # "following", "follower" or "both"
    display_name: str = ""
    avatar: str = ""
    url: str = ""
    did: str = ""
    bridge: str = ""
    source: str = ""
    moved_from: str = ""
    unverified: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.x_id, self.network, self.account)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    matches: list[Match]
    stats: dict[str, Any]
    failures: list[Notice]
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "matches": [m.to_json() for m in self.matches],
            "stats": self.stats,
            "failures": [f.to_json() for f in self.failures],
            "cancelled": self.cancelled,
        }


def is_reserved_handle(actor: str) -> bool:
    """Handles on reserved domains (the demo's) cannot exist: never requested, shown as unverified."""
    return not actor.startswith("did:") and actor.endswith(RESERVED_SUFFIXES)


def _relation(x_id: str, following: set[str], followers: set[str]) -> str:
    if x_id in following and x_id in followers:
        return "both"
    return "following" if x_id in following else "follower"


def _source_failure(source: str, error: Exception) -> Notice:
    """What the person reads when a source failed; anything unexpected is "could not be understood"."""
    messages = {
        "unreachable": N_("%(source)s could not be reached; its results are missing."),
        "rate-limited": N_("%(source)s asked Passerelle to slow down; some of its results are missing."),
        "malformed": N_("%(source)s sent an answer that could not be understood; its results are missing."),
        "refused": N_("%(source)s refused the request; its results are missing."),
        "too-large": N_("%(source)s sent an answer too large to read; its results are missing."),
        "too-slow": N_("%(source)s answered too slowly; its results are missing."),
    }
    kind = error.kind if isinstance(error, SourceError) else "malformed"
    return Notice(messages.get(kind, messages["malformed"]), {"source": source})


def _conflicts(claims: dict[str, list[tuple[str, Claim]]]) -> set[tuple[str, str]]:
    """(id, network) pairs for which the directories name more than one account."""
    return {
        (x_id, network)
        for x_id, found in claims.items()
        for network in ("bluesky", "mastodon")
        if len({getattr(claim, network) for _, claim in found if getattr(claim, network)}) > 1
    }


class Matcher:
    """One matching run over a graph; results arrive through ``publish`` as they are found."""

    def __init__(self, settings: Settings, client: PoliteClient | None = None) -> None:
        self.settings = settings
        self.client = client or PoliteClient()
        self.client.allow(settings.bluesky_appview, SEARCH_CONCURRENCY, APPVIEW_BUDGET)
        self.appview = AppView(self.client, settings.bluesky_appview)
        self.mastodon = MastodonServers(self.client, settings.mastodon_instance_urls)
        self.failures: list[Notice] = []
        self.found: dict[tuple[str, str, str], Match] = {}

    def cancel(self) -> None:
        self.client.cancel()

    def _fail(self, source: str, error: Exception) -> None:
        """Say a source's failure once."""
        notice = _source_failure(source, error)
        if notice not in self.failures:
            self.failures.append(notice)

    async def _contained(self, source: str, work: Awaitable[None]) -> None:
        """Run one source's work; whatever its answers raise stays inside it."""
        try:
            await work
        except SOURCE_FAILURES as error:
            self._fail(source, error)

    async def run(self, graph: PersonGraph, progress: Progress | None = None, publish: Publish | None = None) -> Report:
        progress = progress or (lambda stage, done, total: None)
        publish = publish or (lambda matches: None)
        excluded = set(graph.blocked) | set(graph.muted)
        following, followers = set(graph.following), set(graph.followers)
        relations = [x_id for x_id in graph.relations() if x_id not in excluded]
        wanted = set(relations)
        cancelled = False
        claims: dict[str, list[tuple[str, Claim]]] = defaultdict(list)
        try:
            for index, url in enumerate(self.settings.directories):
                progress("directories", index, len(self.settings.directories))
                for source, claim in await self._directory_claims(url, wanted):
                    claims[claim.x_id].append((source, claim))
            progress("directories", len(self.settings.directories), len(self.settings.directories))
            handles = {x_id: graph.known[x_id].handle for x_id in relations if x_id in graph.known}
            for x_id, found in claims.items():
                handles.setdefault(x_id, found[0][1].x_handle)
            if self.settings.directories_only:
                self._unchecked_directory_claims(claims, handles, following, followers)
                publish(list(self.found.values()))
            else:  # directory claims and the archive's names are checked at the same time
                await asyncio.gather(
                    self._contained(
                        "Bluesky",
                        self._check_directory_claims(claims, handles, following, followers, progress, publish),
                    ),
                    self._contained(
                        "Bluesky",
                        self._search_bluesky(graph, relations, claims, following, followers, progress, publish),
                    )
                    if self.settings.look_up_names
                    else asyncio.sleep(0),
                )
        except CancelRequestedError:
            cancelled = True
        matches = sorted(self.found.values(), key=lambda m: (CONFIDENCE_ORDER[m.confidence], m.x_handle, m.network))
        stats = {
            "relations": len(relations),
            "excluded": len(excluded & (following | followers)),
            "named": sum(1 for x_id in relations if x_id in graph.known),
            "directory_claims": sum(len(v) for v in claims.values()),
            "matched_people": len({m.x_id for m in matches}),
            "bluesky": sum(1 for m in matches if m.network == "bluesky"),
            "mastodon": sum(1 for m in matches if m.network == "mastodon"),
            "requests": self.client.stats.to_json(),
        }
        return Report(matches, stats, self.failures, cancelled)

    # --- 1. directories -----------------------------------------------------------------------

    async def _directory_claims(self, url: str, wanted: set[str]) -> list[tuple[str, Claim]]:
        base = url if url.endswith("/") else url + "/"
        self.client.allow(base, DIRECTORY_CONCURRENCY, DIRECTORY_BUDGET)
        try:
            data = await self.client.get_json(urljoin(base, "directory.json"), MANIFEST_MAX_BYTES)
            if data is None:
                self.failures.append(Notice(N_("The directory %(source)s was not found."), {"source": base}))
                return []
            manifest = Manifest.from_json(data)
        except SourceError as error:
            self._fail(base, error)
            return []
        except SOURCE_FAILURES:
            self.failures.append(Notice(N_("%(source)s is not a Passerelle directory."), {"source": base}))
            return []
        name = manifest.name or base
        paths = plan_lookup(manifest, wanted).paths(manifest)
        skipped = 0

        async def fetch(path: str) -> list[Claim]:
            nonlocal skipped
            cap = SHARD_MAX_BYTES if path.startswith("s/") else BUCKET_MAX_BYTES
            try:
                found, bad = claims_in(await self.client.get_json(urljoin(base, path), cap) or [], wanted)
            except SOURCE_FAILURES as error:
                self._fail(name, error)
                return []
            skipped += bad
            return found

        results = await asyncio.gather(*(fetch(path) for path in paths))
        if skipped:
            self.failures.append(
                Notice(
                    N_("%(source)s has %(count)s entries that are not valid; they were skipped."),
                    {"source": name, "count": skipped},
                )
            )
        return [(name, claim) for found in results for claim in found]

    def _unchecked_directory_claims(
        self, claims: dict[str, list[tuple[str, Claim]]], handles: dict[str, str], following: set[str],
        followers: set[str],
    ) -> None:
        """Directories only: every claim is shown as the directory says it, checked by nobody."""
        conflicts = _conflicts(claims)
        for x_id, found in claims.items():
            for source, claim in found:
                for network, account in (("bluesky", claim.bluesky), ("mastodon", claim.mastodon)):
                    if not account:
                        continue
                    conflict = (x_id, network) in conflicts
                    match = Match(
                        x_id=x_id,
                        x_handle=handles.get(x_id, ""),
                        network=network,
                        account=account,
                        confidence="",
                        reasons=[],
                        relation=_relation(x_id, following, followers),
                        bridge=bridge_address(account) if network == "bluesky" else mastodon_bridge(account),
                        unverified=True,
                    )
                    reasons = ["directory", *(["conflict"] if conflict else []), "not_checked"]
                    self._add(match, "medium", reasons, source)

    async def _check_directory_claims(
        self,
        claims: dict[str, list[tuple[str, Claim]]],
        handles: dict[str, str],
        following: set[str],
        followers: set[str],
        progress: Progress,
        publish: Publish,
    ) -> None:
        bluesky: dict[str, list[tuple[str, str]]] = defaultdict(list)  # actor -> [(x_id, source)]
        mastodon: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for x_id, found in claims.items():
            for source, claim in found:
                if claim.bluesky:
                    bluesky[claim.bluesky].append((x_id, source))
                if claim.mastodon:
                    mastodon[claim.mastodon].append((x_id, source))
        conflicts = _conflicts(claims)
        checking_mastodon = asyncio.ensure_future(
            self._check_mastodon(mastodon, handles, conflicts, following, followers, progress, publish)
        )
        profiles = await self._profiles([actor for actor in bluesky if not is_reserved_handle(actor)])
        for actor, owners in bluesky.items():
            profile = profiles.get(actor)
            unverified = is_reserved_handle(actor)
            if unverified:
                profile = Profile(did="", handle=actor, display_name="", description="", avatar="")
            if profile is None or profile.hidden:
                continue  # not on Bluesky (any more), or labelled as an impersonation
            for x_id, source in owners:
                conflict = (x_id, "bluesky") in conflicts
                match = self._bluesky_match(x_id, handles.get(x_id, ""), profile, following, followers)
                if unverified:
                    match.unverified, match.url = True, ""
                self._add(
                    match,
                    confidence="medium" if conflict or unverified else "high",
                    reasons=["directory", *(["conflict"] if conflict else []), *(["unverified"] if unverified else [])],
                    source=source,
                )
        publish(list(self.found.values()))
        await checking_mastodon

    async def _profiles(self, actors: list[str]) -> dict[str, Profile]:
        """Profiles by the handle or DID asked for."""
        try:
            profiles = await self.appview.profiles(actors)
        except SourceError as error:
            self.failures.append(_source_failure("Bluesky", error))
            return {}
        by_actor = {}
        for profile in profiles:
            by_actor[profile.handle] = profile
            by_actor[profile.did] = profile
        return by_actor

    async def _check_mastodon(
        self,
        addresses: dict[str, list[tuple[str, str]]],
        handles: dict[str, str],
        conflicts: set[tuple[str, str]],
        following: set[str],
        followers: set[str],
        progress: Progress,
        publish: Publish,
    ) -> None:
        done = 0

        async def check(address: str) -> None:
            """One address on its own server; the client keeps each server's requests to its own slots."""
            nonlocal done
            failed = False
            account = None
            if not is_reserved(address):
                try:
                    account = await self.mastodon.lookup(address)
                except SOURCE_FAILURES as error:
                    self._fail(address.partition("@")[2], error)
                    failed = True
                if account is None and not failed:
                    done += 1
                    return  # deleted, suspended, or not a public server: never proposed
            unverified = account is None
            for x_id, source in addresses[address]:
                conflict = (x_id, "mastodon") in conflicts
                final = account.address if account else address
                self._add(
                    Match(
                        x_id=x_id,
                        x_handle=handles.get(x_id, ""),
                        network="mastodon",
                        account=final,
                        confidence="",
                        reasons=[],
                        relation=_relation(x_id, following, followers),
                        display_name=account.display_name if account else "",
                        avatar=account.avatar if account else "",
                        url=account.url if account else "",
                        bridge=mastodon_bridge(final),
                        moved_from=account.moved_from or "" if account else "",
                        unverified=unverified,
                    ),
                    confidence="medium" if conflict or unverified else "high",
                    reasons=[
                        "directory",
                        *(["moved"] if account and account.moved_from else []),
                        *(["conflict"] if conflict else []),
                        *(["not_checked"] if failed else ["unverified"] if unverified else []),
                    ],
                    source=source,
                )
            done += 1
            progress("mastodon", done, len(addresses))

        progress("mastodon", 0, len(addresses))
        await asyncio.gather(*(check(address) for address in addresses))
        publish(list(self.found.values()))

    # --- 2. Bluesky heuristics ------------------------------------------------------------------

    async def _search_bluesky(
        self,
        graph: PersonGraph,
        relations: list[str],
        claims: dict[str, list[tuple[str, Claim]]],
        following: set[str],
        followers: set[str],
        progress: Progress,
        publish: Publish,
    ) -> None:
        claimed = {x_id for x_id, found in claims.items() if any(c.bluesky for _, c in found)}
        people = [graph.known[x_id] for x_id in relations if x_id in graph.known and x_id not in claimed]
        if not people:
            return
        candidates = {handle: person for person in people for handle in candidate_handles(person.handle)}
        progress("bluesky", 0, len(people))
        profiles = await self._profiles(list(candidates))

        def consider(person: KnownAccount, profile: Profile, by_name: bool = False) -> str | None:
            """Add the profile as a match of the person if there is a reason; the confidence."""
            verdict = None if profile.hidden else judge(person.handle, person.names, profile, found_by_name=by_name)
            if verdict is None:
                return None
            match = self._bluesky_match(person.x_id, person.handle, profile, following, followers)
            self._add(match, verdict.confidence, list(verdict.reasons), "Bluesky")
            return verdict.confidence

        exact = {
            person.x_id
            for handle, person in candidates.items()
            if handle in profiles and consider(person, profiles[handle]) == "high"
        }
        publish(list(self.found.values()))
        if not self.settings.search_actors:
            return
        slots = asyncio.Semaphore(SEARCH_CONCURRENCY)
        done = 0
        failed = False

        async def search(person: KnownAccount) -> None:
            nonlocal done, failed
            async with slots:
                queries = [(person.handle, False)] + [(name, True) for name in person.names[:1]]
                for query, by_name in queries:
                    if failed:
                        break
                    try:
                        results = await self.appview.search(query)
                    except SourceError as error:
                        if not failed:
                            failed = True
                            self.failures.append(_source_failure("Bluesky", error))
                        break
                    for profile in results:
                        consider(person, profile, by_name)
            done += 1
            progress("bluesky", done, len(people))
            if done % 50 == 0:
                publish(list(self.found.values()))

        # Searches cost two requests a person and find weaker matches: only for people followed.
        await asyncio.gather(*(search(p) for p in people if p.x_id not in exact and p.x_id in following))
        progress("bluesky", len(people), len(people))
        publish(list(self.found.values()))

    # --- results ----------------------------------------------------------------------------------

    def _bluesky_match(
        self, x_id: str, x_handle: str, profile: Profile, following: set[str], followers: set[str]
    ) -> Match:
        account = profile.handle if profile.handle != "handle.invalid" else profile.did
        return Match(
            x_id=x_id,
            x_handle=x_handle,
            network="bluesky",
            account=account,
            confidence="",
            reasons=[],
            relation=_relation(x_id, following, followers),
            display_name=profile.display_name,
            avatar=profile.avatar,
            url=profile_url(profile),
            did=profile.did,
            bridge=bridge_address(account),
        )

    def _add(self, match: Match, confidence: str, reasons: list[str], source: str) -> None:
        """Keep one match per (id, network, account): the most confident, with every reason."""
        match.confidence, match.reasons, match.source = confidence, reasons, source
        existing = self.found.get(match.key)
        if existing is None:
            self.found[match.key] = match
            return
        merged = list(dict.fromkeys(existing.reasons + reasons))
        if CONFIDENCE_ORDER[confidence] < CONFIDENCE_ORDER[existing.confidence]:
            match.reasons = merged
            self.found[match.key] = match
        else:
            existing.reasons = merged
