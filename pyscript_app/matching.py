"""Finding the person's X relations on Bluesky and Mastodon, from the most trusted source down.

1. Opt-in directories keyed by X id (claims made by the people themselves).
2. Bluesky's public AppView, for ids whose handle the archive reveals (followed and followers):
   exact handles, one search by handle, one by name, then ties with the confirmed contacts
   (:mod:`pyscript_app.corroboration`), all within ``REQUESTS_PER_CONTACT`` requests a contact;
   the evidence is weighed into calibrated levels by :mod:`pyscript_app.scoring`.
3. Every Mastodon address is checked on its own server.
Blocked and muted people are never looked up. A failing source is reported and the others go on.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, cast
from urllib.parse import urljoin

from . import N_, scoring
from ._compat import fetch
from .bluesky import AppView, Profile, bridge_address, candidate_handles, profile_url
from .corroboration import corroborate
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
from .mastodon import RESERVED_SUFFIXES, MastodonAccount, MastodonServers, is_reserved
from .mastodon import bridge_address as mastodon_bridge
from .membership import FilterError
from .net import MALFORMED_ANSWER, CancelRequestedError, Fetcher, PoliteClient, SourceError
from .notices import Notice
from .protocol import Confidence, MatchJSON, Network, Reason, Relation
from .replay import replaying

CONFIDENCE_ORDER = {"high": 0, "medium": 1, "low": 2}
SEARCH_CONCURRENCY = 4
# Bluesky's public AppView allows about 3,000 requests per 5 minutes from one address; a
# directory is static files (often behind a CDN); Mastodon servers keep the default budget
# (about 300 requests per 5 minutes per address, unauthenticated).
APPVIEW_BUDGET = (2_900, 300.0)
DIRECTORY_BUDGET = (10_000, 300.0)
DIRECTORY_CONCURRENCY = 6
REQUESTS_PER_CONTACT = 2.0  # AppView requests a named contact may cost, searches and ties included
TIES_RESERVE = 0.35  # ... of which this share is kept for counting ties
BIO_SHOWN = 300  # characters of a candidate's bio sent to the page
TIES_MINIMUM = 4  # ... plus a few, so that a handful of contacts can be corroborated too
APPVIEW_SECONDS_PER_REQUEST = 300.0 / APPVIEW_BUDGET[0]  # the budget is the limit, not the network
MASTODON_TIES_CHECKED = 50  # doubtful Mastodon accounts whose lists are asked for (2 requests each)

Progress = Callable[[str, int, int], None]
Publish = Callable[[list["Match"]], None]
# What a hostile or broken answer can raise past a source's own checks: caught at the source's
# boundary, said as that source's failure, and the other sources go on.
SOURCE_FAILURES = (SourceError, *MALFORMED_ANSWER)


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
    corroborate: bool = True  # ... and ties with the confirmed contacts (app.bsky.graph.getRelationships)
    self_did: str = ""  # the person's own Bluesky account, once known (sign-in): ties with it count most
    # Directories the person added by URL: anybody can publish one, so what they say alone is
    # never "high" (a configured directory must say the same).
    added_directories: list[str] = field(default_factory=list)
    # The demo: a folder of the site holding the recorded answers of its fictional networks
    # (``replay``); their reserved ``.example`` domains are asked there, never elsewhere.
    replay: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        return cls(
            bluesky_appview=str(data.get("bluesky_appview") or cls.bluesky_appview),
            directories=[str(d) for d in data.get("directories") or []],
            added_directories=[str(d) for d in data.get("added_directories") or []],
            mastodon_instance_urls={str(k): str(v) for k, v in (data.get("mastodon_instance_urls") or {}).items()},
            look_up_names=bool(data.get("look_up_names", True)),
            search_actors=bool(data.get("search_actors", True)),
            directories_only=bool(data.get("directories_only", False)),
            keep_responses=bool(data.get("keep_responses", False)),
            corroborate=bool(data.get("corroborate", True)),
            self_did=_did_or_empty(data.get("self_did")),
            replay=str(data.get("replay") or ""),
        )


def _did_or_empty(value: Any) -> str:
    text = str(value or "")
    return text if text.startswith("did:") and len(text) <= 2048 and text.isprintable() else ""


def estimate_seconds(named: int) -> float:
    """How long the Bluesky lookups of ``named`` contacts may take: the AppView's rate limit bounds it."""
    return named * REQUESTS_PER_CONTACT * APPVIEW_SECONDS_PER_REQUEST


@dataclass
class Match:
    """One account that may be one of the person's X relations."""

    x_id: str
    x_handle: str
    network: Network
    account: str  # Bluesky handle (or DID if it has none), Mastodon user@server
    confidence: Confidence  # with ``reasons``, decided by ``Matcher._add``
    reasons: list[Reason]
    relation: Relation
    display_name: str = ""
    avatar: str = ""
    url: str = ""
    did: str = ""
    bridge: str = ""
    source: str = ""
    moved_from: str = ""
    unverified: bool = False
    evidence: list[dict[str, Any]] = field(default_factory=list)  # [{"reason", "weight", "count"?}]
    chance: float = 0.0  # the weighed chance that this is the person (heuristic matches only)
    ties: int = 0  # confirmed contacts this account is linked to on its network
    choice: str = ""  # set on the two candidates the person is asked to pick from (the X id)
    bio: str = ""  # the start of the Bluesky bio, for the side-by-side choice

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.x_id, self.network, self.account)

    def to_json(self) -> MatchJSON:
        return cast(MatchJSON, asdict(self))  # the fields are MatchJSON's, typed alike


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


def fetcher_for(settings: Settings) -> Fetcher:
    """The network, or for the demo its recorded answers."""
    return replaying(settings.replay, fetch) if settings.replay else fetch


def is_reserved_handle(actor: str) -> bool:
    """Handles on reserved domains cannot exist: never requested, shown as unverified."""
    return not actor.startswith("did:") and actor.endswith(RESERVED_SUFFIXES)


def _relation(x_id: str, following: set[str], followers: set[str]) -> Relation:
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


def _directory_reasons(
    moved: bool = False, conflict: bool = False, not_checked: bool = False, unverified: bool = False
) -> list[Reason]:
    """The reasons of a directory match, in the order the page shows them."""
    flags: tuple[tuple[Reason, bool], ...] = (
        ("moved", moved),
        ("conflict", conflict),
        ("not_checked", not_checked),
        ("unverified", unverified),
    )
    return ["directory", *(reason for reason, on in flags if on)]


# What, in a Bluesky profile, agrees with a claim its own account published (issue 8): the X
# handle as the Bluesky handle (or on the account's own domain), or the bio naming the X account.
CORROBORATING: frozenset[str] = frozenset({"exact_handle", "domain_handle", "bio_links_x", "bio_names_x"})


def self_claim_corroboration(x_handle: str, profile: Profile) -> list[Reason]:
    """The reasons a self-published claim's Bluesky profile gives to believe it ([] if none)."""
    if not x_handle:
        return []
    evidence = [*scoring.handle_evidence(x_handle, [], profile.handle),
                *scoring.bio_evidence(x_handle, profile.description)]
    return [e.reason for e in evidence if e.reason in CORROBORATING and e.weight > 0]


def _said(claim: Claim) -> list[tuple[str, str, str]]:
    """(x_id, network, account) for each account a claim names."""
    said = [(claim.x_id, "bluesky", claim.bluesky), (claim.x_id, "mastodon", claim.mastodon)]
    return [(x_id, network, account) for x_id, network, account in said if account]


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
        self.client = client or PoliteClient(fetcher=fetcher_for(settings))
        self.client.allow(settings.bluesky_appview, SEARCH_CONCURRENCY, APPVIEW_BUDGET)
        self.appview = AppView(self.client, settings.bluesky_appview)
        self.search_view = AppView(self.client, settings.bluesky_appview)  # its own request count
        self.confirmed_bluesky: asyncio.Event | None = None
        self.undecided = 0
        self.mastodon = MastodonServers(self.client, settings.mastodon_instance_urls)
        self.mastodon_accounts: dict[str, MastodonAccount] = {}  # address -> the account its server answered
        self.failures: list[Notice] = []
        self.found: dict[tuple[str, str, str], Match] = {}
        self.vouched: set[tuple[str, str, str]] = set()  # (x_id, network, account) a configured directory says
        self.self_published: set[str] = set()  # sources whose claims only their own accounts published
        self.published: dict[tuple[str, str, str], MatchJSON] = {}  # what the page was last sent
        self.name_lookup: NameLookup | None = None  # the last run's, for the benchmark's diagnosis

    def cancel(self) -> None:
        self.client.cancel()

    def _reserved_handle(self, actor: str) -> bool:
        """A reserved handle is asked only of the demo's recorded networks."""
        return is_reserved_handle(actor) and not self.settings.replay

    def _reserved_address(self, address: str) -> bool:
        """A Mastodon address on a reserved domain, likewise."""
        return is_reserved(address) and not self.settings.replay

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
        self.confirmed_bluesky = asyncio.Event()
        claims: dict[str, list[tuple[str, Claim]]] = defaultdict(list)
        try:
            directories = self._directories()
            for index, (url, added) in enumerate(directories):
                progress("directories", index, len(directories))
                for source, claim in await self._directory_claims(url, wanted, added):
                    claims[claim.x_id].append((source, claim))
                    if not added and source not in self.self_published:
                        self.vouched.update(_said(claim))
            progress("directories", len(directories), len(directories))
            handles = {x_id: graph.known[x_id].handle for x_id in relations if x_id in graph.known}
            for x_id, found in claims.items():
                handles.setdefault(x_id, found[0][1].x_handle)
            if self.settings.directories_only:
                self._unchecked_directory_claims(claims, handles, following, followers)
                self._publish(publish)
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
        self._doubt_conflicts()
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
            "appview_requests": self.appview.requests + self.search_view.requests,
            "name_lookup_requests": self.search_view.requests,
            "undecided": self.undecided,
        }
        return Report(matches, stats, self.failures, cancelled)

    # --- 1. directories -----------------------------------------------------------------------

    def _directories(self) -> list[tuple[str, bool]]:
        """(URL, added by the person) for every directory, the configured ones first, each once."""
        configured = list(dict.fromkeys(self.settings.directories))
        added = [url for url in dict.fromkeys(self.settings.added_directories) if url not in configured]
        return [(url, False) for url in configured] + [(url, True) for url in added]

    async def _directory_claims(self, url: str, wanted: set[str], added: bool = False) -> list[tuple[str, Claim]]:
        base = url if url.endswith("/") else url + "/"
        not_a_directory = Notice(N_("%(source)s is not a Passerelle directory."), {"source": base})
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
            self.failures.append(not_a_directory)
            return []
        name = base if added else manifest.name or base  # an added one cannot take a configured one's name
        if manifest.self_published:
            self.self_published.add(name)
        listed = None
        if manifest.filter is not None:  # asked once a run; without one, every id is looked up
            try:
                data = await self.client.get_bytes(urljoin(base, manifest.filter.path), manifest.filter.size)
                if data is None:
                    raise FilterError("the filter the directory announces is missing")
                listed = manifest.filter.read(data, manifest.ids)
            except SourceError as error:
                self._fail(name, error)
                return []
            except SOURCE_FAILURES:
                self.failures.append(not_a_directory)
                return []
        paths = plan_lookup(manifest, wanted, listed).paths(manifest)
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
                accounts: tuple[tuple[Network, str | None], ...] = (
                    ("bluesky", claim.bluesky),
                    ("mastodon", claim.mastodon),
                )
                for network, account in accounts:
                    if not account:
                        continue
                    conflict = (x_id, network) in conflicts
                    match = Match(
                        x_id=x_id,
                        x_handle=handles.get(x_id, ""),
                        network=network,
                        account=account,
                        confidence="low",
                        reasons=[],
                        relation=_relation(x_id, following, followers),
                        bridge=bridge_address(account) if network == "bluesky" else mastodon_bridge(account),
                        unverified=True,
                    )
                    self._add(match, "medium", _directory_reasons(conflict=conflict, not_checked=True), source)

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
        try:
            profiles = await self._profiles([actor for actor in bluesky if not self._reserved_handle(actor)])
        finally:
            if self.confirmed_bluesky is not None:
                self.confirmed_bluesky.set()  # the directory's Bluesky accounts are known: anchors for ties
        for actor, owners in bluesky.items():
            profile = profiles.get(actor)
            unverified = self._reserved_handle(actor)
            if unverified:
                profile = Profile(did="", handle=actor, display_name="", description="", avatar="")
            if profile is None or profile.hidden:
                continue  # not on Bluesky (any more), or labelled as an impersonation
            for x_id, source in owners:
                conflict = (x_id, "bluesky") in conflicts
                match = self._bluesky_match(x_id, handles.get(x_id, ""), profile, following, followers)
                if unverified:
                    match.unverified, match.url = True, ""
                vouched = (x_id, "bluesky", actor) in self.vouched
                corroboration: list[Reason] = []
                if source in self.self_published:  # the account said so itself: does its profile agree?
                    corroboration = self_claim_corroboration(handles.get(x_id, ""), profile)
                    vouched = vouched or bool(corroboration)
                self._add(
                    match,
                    confidence="medium" if conflict or unverified or not vouched else "high",
                    reasons=[*_directory_reasons(conflict=conflict, unverified=unverified), *corroboration],
                    source=source,
                )
        self._publish(publish)
        await checking_mastodon

    async def _profiles(self, actors: list[str], appview: AppView | None = None) -> dict[str, Profile]:
        """Profiles by the handle or DID asked for."""
        try:
            profiles = await (appview or self.appview).profiles(actors)
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
            if not self._reserved_address(address):
                try:
                    account = await self.mastodon.lookup(address)
                except SOURCE_FAILURES as error:
                    self._fail(address.partition("@")[2], error)
                    failed = True
                if account is None and not failed:
                    done += 1
                    return  # deleted, suspended, or not a public server: never proposed
            unverified = account is None
            if account is not None:
                self.mastodon_accounts[account.address] = account
            for x_id, source in addresses[address]:
                conflict = (x_id, "mastodon") in conflicts
                vouched = (x_id, "mastodon", address) in self.vouched
                final = account.address if account else address
                corroboration: list[Reason] = []
                if source in self.self_published:  # the account said so itself: its username agrees?
                    if account is not None and final.partition("@")[0].lower() == handles.get(x_id, "").lower() != "":
                        corroboration = ["exact_handle"]
                    vouched = vouched or bool(corroboration)
                self._add(
                    Match(
                        x_id=x_id,
                        x_handle=handles.get(x_id, ""),
                        network="mastodon",
                        account=final,
                        confidence="low",
                        reasons=[],
                        relation=_relation(x_id, following, followers),
                        display_name=account.display_name if account else "",
                        avatar=account.avatar if account else "",
                        url=account.url if account else "",
                        bridge=mastodon_bridge(final),
                        moved_from=account.moved_from or "" if account else "",
                        unverified=unverified,
                    ),
                    confidence="medium" if conflict or unverified or not vouched else "high",
                    reasons=[*_directory_reasons(
                        moved=bool(account and account.moved_from),
                        conflict=conflict,
                        not_checked=failed,
                        unverified=unverified and not failed,
                    ), *corroboration],
                    source=source,
                )
            done += 1
            progress("mastodon", done, len(addresses))

        progress("mastodon", 0, len(addresses))
        await asyncio.gather(*(check(address) for address in addresses))
        if self.settings.corroborate:
            await self._mastodon_ties()
        self._publish(publish)

    async def _mastodon_ties(self) -> None:
        """Mastodon accounts not yet sure (claimed by the account alone, or in conflict) that follow,
        or are followed by, the person's confirmed Mastodon contacts, as their servers' public lists
        say: a reason to show, with the count. Optional: a server that will not say is not a failure."""
        mastodon = [m for m in self.found.values() if m.network == "mastodon" and not m.unverified]
        anchors = {m.account for m in mastodon if m.confidence == "high"}
        doubtful = list(dict.fromkeys(m.account for m in mastodon if m.confidence != "high"))
        doubtful = [a for a in doubtful if a in self.mastodon_accounts and anchors - {a}][:MASTODON_TIES_CHECKED]

        async def count(address: str) -> None:
            try:
                linked = await self.mastodon.connections(self.mastodon_accounts[address])
            except SOURCE_FAILURES:
                return
            tied = len(linked & (anchors - {address}))
            if not tied:
                return
            for match in (m for m in mastodon if m.account == address):
                match.ties = tied
                match.reasons = [*match.reasons, "ties_mastodon"]
                match.evidence = [*match.evidence, {"reason": "ties_mastodon", "weight": 0.0, "count": tied}]

        await asyncio.gather(*(count(address) for address in doubtful))

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
        people = [person for person in people if person.handle]
        if not people:
            return
        lookup = self.name_lookup = NameLookup(self, people)
        budget = int(REQUESTS_PER_CONTACT * len(people)) + TIES_MINIMUM
        reserve = int(TIES_RESERVE * len(people)) + TIES_MINIMUM if self.settings.corroborate else 0
        progress("bluesky", 0, len(people))
        exact = {handle: person for person in people for handle in candidate_handles(person.handle, True)}
        profiles = await self._profiles(list(exact), self.search_view)
        for handle, person in exact.items():
            if handle in profiles:
                lookup.add(person, profiles[handle], by_handle=True)
        try:
            if self.settings.search_actors:
                # One search by handle for each undecided contact, then one by name while the budget lasts.
                undecided = [p for p in people if not lookup.decided(p)]
                await lookup.search(undecided, by_name=False, limit=budget - reserve, progress=progress)
                named = [p for p in people if scoring.names_for(p.handle, p.names) and not lookup.decided(p)]
                await lookup.search(named, by_name=True, limit=budget - reserve, progress=progress)
            if self.settings.corroborate:
                if self.confirmed_bluesky is not None:
                    await self.confirmed_bluesky.wait()
                await lookup.corroborate(budget - self.search_view.requests)
        finally:  # cancelled too: what was found so far is weighed and shown
            for person in people:
                self._add_candidates(person, lookup, following, followers)
            self._one_contact_per_account()
        progress("bluesky", len(people), len(people))
        self._publish(publish)

    def _add_candidates(
        self, person: KnownAccount, lookup: NameLookup, following: set[str], followers: set[str]
    ) -> None:
        ranked = lookup.rank(person)
        ask = scoring.is_choice(ranked)
        shown = [c for c in ranked if scoring.candidate_level(c) is not None]
        if shown and not any(scoring.candidate_level(c) in (scoring.HIGH, scoring.MEDIUM) for c in shown):
            self.undecided += 1
        for index, candidate in enumerate(shown):
            confidence = scoring.candidate_level(candidate) or scoring.LOW
            match = self._bluesky_match(
                person.x_id, person.handle, lookup.profiles[candidate.did], following, followers
            )
            if ask and index < 2:
                match.choice = person.x_id
                confidence = scoring.LOW
            match.bio = candidate.description[:BIO_SHOWN]
            match.evidence = [e.to_json() for e in candidate.evidence]
            match.chance = round(candidate.chance, 4)
            match.ties = next((e.count for e in candidate.evidence if e.reason == "ties"), 0)
            self._add(match, confidence, [e.reason for e in candidate.evidence], "Bluesky")

    def _one_contact_per_account(self) -> None:
        """A Bluesky account is one person: proposed for several X contacts, its chances are shared
        between them (:func:`scoring.shared_chances`) and each level follows its share; a contact
        whose share is too small to show loses it, the likeliest always keeps it."""
        proposed: dict[str, list[Match]] = defaultdict(list)
        for match in self.found.values():
            if match.network == "bluesky" and match.did and match.evidence:
                proposed[match.did].append(match)
        for matches in proposed.values():
            if len(matches) < 2:
                continue
            matches.sort(key=lambda m: -m.chance)
            shares = scoring.shared_chances([m.chance for m in matches])
            kept = [m for m, share in zip(matches, shares, strict=True) if share >= scoring.P_SHOWN] or matches[:1]
            for match, share in zip(matches, shares, strict=True):
                if match not in kept:
                    del self.found[match.key]
                    continue
                identity = sum(
                    float(e.get("weight", 0.0)) for e in match.evidence if e.get("reason") not in scoring.TIE_REASONS
                )
                shared_level = scoring.level(share, identity) or scoring.LOW
                if CONFIDENCE_ORDER[shared_level] > CONFIDENCE_ORDER[match.confidence]:
                    match.confidence = shared_level
                match.chance = round(share, 4)
                if len(kept) > 1:
                    match.reasons = [*match.reasons, "several_contacts"]
                    match.evidence = [
                        *match.evidence,
                        {"reason": "several_contacts", "weight": 0.0, "count": len(kept)},
                    ]

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
            confidence="low",
            reasons=[],
            relation=_relation(x_id, following, followers),
            display_name=profile.display_name,
            avatar=profile.avatar,
            url=profile_url(profile),
            did=profile.did,
            bridge=bridge_address(account),
        )

    def confirmed_dids(self) -> list[str]:
        """Bluesky accounts already confirmed by a directory (not conflicting): anchors for ties."""
        return [
            m.did
            for m in self.found.values()
            if m.network == "bluesky" and m.did and m.confidence == "high" and not m.unverified
        ]

    def _doubt_conflicts(self) -> None:
        """Directories that give one contact several accounts on one network: at most one of them
        is theirs, so none is followed without a look (low: never pre-selected). One left (the
        others gone) keeps its level, with the conflict still shown."""
        claimed: dict[tuple[str, str], list[Match]] = defaultdict(list)
        for match in self.found.values():
            if "conflict" in match.reasons:
                claimed[(match.x_id, match.network)].append(match)
        for matches in claimed.values():
            if len(matches) > 1:
                for match in matches:
                    match.confidence = "low"

    def _publish(self, publish: Publish) -> None:
        """Hand the page the matches that are new or changed since the last time, never all again."""
        changed = []
        for key, match in self.found.items():
            data = match.to_json()
            if self.published.get(key) != data:
                self.published[key] = data
                changed.append(match)
        if changed:
            publish(changed)

    def _add(self, match: Match, confidence: Confidence, reasons: list[Reason], source: str) -> None:
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


class NameLookup:
    """The Bluesky candidates of the contacts the archive names, gathered, weighed and corroborated."""

    def __init__(self, matcher: Matcher, people: list[KnownAccount]) -> None:
        self.matcher = matcher
        self.people = people
        self.candidates: dict[str, dict[str, scoring.Candidate]] = defaultdict(dict)  # x_id -> did -> candidate
        self.profiles: dict[str, Profile] = {}
        self.ties: dict[str, scoring.Ties] = {}
        self.failed = False
        self.done = 0
        self.searched: dict[str, set[str]] = defaultdict(set)  # x_id -> "handle", "name": searches made
        self.over_budget: set[str] = set()  # x_ids whose search the request budget left out

    def add(self, person: KnownAccount, profile: Profile, by_handle: bool = False, by_name: bool = False) -> None:
        if profile.hidden or not profile.did:
            return  # labelled as an impersonation, or taken down: never proposed
        self.profiles[profile.did] = profile
        candidate = self.candidates[person.x_id].get(profile.did)
        if candidate is None:
            candidate = self.candidates[person.x_id][profile.did] = profile.candidate()
        candidate.found_by_handle |= by_handle
        candidate.found_by_name |= by_name

    def rank(self, person: KnownAccount) -> list[scoring.Candidate]:
        found = list(self.candidates.get(person.x_id, {}).values())
        return scoring.weigh_all(person.handle, person.names, found, self.ties)

    def decided(self, person: KnownAccount) -> bool:
        ranked = self.rank(person)
        return bool(ranked) and ranked[0].chance >= scoring.P_HIGH

    async def search(self, people: list[KnownAccount], by_name: bool, limit: int, progress: Progress) -> None:
        """One search a person (handle or name), in order, while fewer than ``limit`` requests were made."""
        view = self.matcher.search_view
        slots = asyncio.Semaphore(SEARCH_CONCURRENCY)

        async def one(person: KnownAccount) -> None:
            async with slots:
                if self.failed or view.requests >= limit:
                    self.over_budget.add(person.x_id)
                    return
                names = scoring.names_for(person.handle, person.names)
                query = (names[0] if names else "") if by_name else person.handle
                if not query.strip():
                    return
                self.searched[person.x_id].add("name" if by_name else "handle")
                try:
                    results = await view.search(query)
                except SourceError as error:
                    if not self.failed:
                        self.failed = True
                        self.matcher.failures.append(_source_failure("Bluesky", error))
                    return
                for profile in results:
                    self.add(person, profile, by_handle=not by_name, by_name=by_name)
            if not by_name:
                self.done += 1
                progress("bluesky", min(self.done, len(self.people)), len(self.people))

        await asyncio.gather(*(one(person) for person in people))

    async def corroborate(self, budget: int) -> None:
        """Count ties between the doubtful candidates and the confirmed accounts, within ``budget`` requests."""
        if budget <= 0 or self.failed:
            return
        anchors = list(self.matcher.confirmed_dids())
        matched: list[str] = []  # high on what their profile says: are they tied to the others?
        by_rank: list[list[str]] = []  # the best candidate of every contact first, then the second...
        for person in self.people:
            ranked = self.rank(person)
            if ranked and ranked[0].chance >= scoring.P_HIGH:
                matched.append(ranked[0].did)
                continue
            for rank, candidate in enumerate(scoring.worth_corroborating(ranked)):
                if len(by_rank) <= rank:
                    by_rank.append([])
                by_rank[rank].append(candidate.did)
        doubtful = [did for dids in by_rank for did in dids]
        try:
            found = await corroborate(
                self.matcher.search_view.relationships,
                self.matcher.search_view.neighbours,
                doubtful,
                anchors + matched,
                self.matcher.settings.self_did,
                budget,
                SEARCH_CONCURRENCY,
                recheck=matched,
            )
        except SourceError as error:
            self.failed = True
            self.matcher.failures.append(_source_failure("Bluesky", error))
            return
        self.ties = found.ties
        self.discover(found.met.values())

    def discover(self, accounts: Iterable[Profile]) -> None:
        """Contacts not yet decided may be among the accounts met around the confirmed ones:
        those bearing their name, or a handle made from their X handle, become candidates."""
        by_name: dict[str, list[Profile]] = defaultdict(list)
        by_stem: dict[str, list[Profile]] = defaultdict(list)
        for profile in accounts:
            if isinstance(profile, Profile) and not profile.hidden:
                if scoring.simplify(profile.display_name):
                    by_name[scoring.simplify(profile.display_name)].append(profile)
                for stem in scoring.handle_stems(profile.handle)[0]:
                    by_stem[scoring.letters_of(stem)].append(profile)
        for person in self.people:
            if self.decided(person):
                continue
            names = scoring.names_for(person.handle, person.names)
            # Without a name, the handle may be one ("jeananderson" for Jean Anderson).
            for name in names or [scoring.letters_of(scoring.simplify(person.handle))]:
                for profile in by_name.get(scoring.simplify(name), []):
                    self.add(person, profile, by_name=True)
            for profile in by_stem.get(scoring.letters_of(scoring.simplify(person.handle)), []):
                self.add(person, profile, by_handle=True)
