"""Social corroboration: is a candidate linked on Bluesky to the person's confirmed contacts?

A stranger who shares a contact's name rarely follows, or is followed by, the other people the
person knows; the contact's real account usually is. ``app.bsky.graph.getRelationships`` answers,
without sign-in, whether one account follows or is followed by up to 30 others. Ties are counted
between each doubtful candidate and up to 30 "anchors": the accounts already confirmed (listed
in a directory by their owner, or matched with high confidence), and the person's own account
when it is known (``Settings.self_did``). Each call is one request; the caller gives a budget.

Three ways to ask, whichever covers more for the requests it costs: one call per candidate
(actor = candidate, others = 30 anchors), one call per anchor and 30 candidates (actor = anchor),
or, when the candidates are many, the anchors' neighbourhoods: a page of 100 accounts each anchor
follows, then of its followers (``app.bsky.graph.getFollows`` / ``getFollowers``), which finds the
ties of every candidate at once, lets far more anchors count and tells, for free, how the anchors
are tied to each other. The person's own account is always asked as the actor, 30 candidates a
call. A tie to an anchor that is tied to many candidates (a very followed account) counts less.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .scoring import Ties

PER_CALL = 30
POPULAR_SHARE = 0.25  # an anchor tied to more than this share of the candidates is "popular"
POPULAR_WEIGHT = 0.3

Relationships = Callable[[str, list[str]], Awaitable[dict[str, tuple[bool, bool]]]]


class Account(Protocol):
    did: str


Neighbours = Callable[[str, str, str], Awaitable[tuple[list[Any], str]]]


@dataclass
class Corroboration:
    """Ties of the candidates asked about, and every account met in the anchors' neighbourhoods
    (with their ties), where a contact not found by search may be: also those already proposed
    for another contact, who may be this one's."""

    ties: dict[str, Ties] = field(default_factory=dict)
    met: dict[str, Any] = field(default_factory=dict)  # did -> account (a Profile)


RECHECK_ANCHORS = 5  # fewer other anchors, and an anchor tied to none of them says little
NEIGHBOUR_PAGES = 2  # pages of 100 per anchor and direction: a very followed account is only sampled
MAX_NEIGHBOUR_ANCHORS = 400


def calls_needed(candidates: int, anchors: int, with_self: bool) -> int:
    """Requests to check ``candidates`` against ``anchors`` (and the person's account)."""
    if not candidates:
        return 0
    batches = math.ceil(candidates / PER_CALL)
    by_anchor = min(candidates, anchors * batches) if anchors else 0
    return by_anchor + (batches if with_self else 0)


def affordable(candidates: int, anchors: int, with_self: bool, budget: int) -> int:
    """How many candidates (the first ones, by priority) the budget lets us check."""
    low, high = 0, candidates
    while low < high:
        middle = (low + high + 1) // 2
        if calls_needed(middle, anchors, with_self) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


async def count_ties(
    relationships: Relationships,
    candidates: list[str],
    anchors: list[str],
    self_did: str = "",
    budget: int = 0,
    concurrency: int = 4,
    recheck: Sequence[str] = (),
) -> dict[str, Ties]:
    """Ties of each candidate DID (in priority order) with the anchors; within ``budget`` requests.

    The person's own account is asked about every candidate the budget allows (30 a call), then the
    anchors about the first candidates, then, one call each while the budget lasts, the anchors in
    ``recheck`` (matched on their handle alone) about the other anchors. Candidates that are anchors
    themselves, or that the budget leaves out, are absent from the answer.
    """
    anchors = [a for a in dict.fromkeys(anchors) if a and a != self_did][:PER_CALL]
    anchor_set = set(anchors)
    wanted = [c for c in dict.fromkeys(candidates) if c not in anchor_set and c != self_did]
    # The person's own account first: one call for 30 candidates, the cheapest tie there is.
    self_checked = wanted[: budget * PER_CALL] if self_did else []
    budget -= math.ceil(len(self_checked) / PER_CALL)
    anchored = wanted[: affordable(len(wanted), len(anchors), False, budget)] if anchors else []
    wanted = list(dict.fromkeys(self_checked + anchored))
    budget -= calls_needed(len(anchored), len(anchors), False) if anchors else 0
    rechecked = [a for a in dict.fromkeys(recheck) if len(anchor_set - {a}) >= RECHECK_ANCHORS][: max(budget, 0)]
    if not wanted and not rechecked:
        return {}
    links: dict[str, set[str]] = defaultdict(set)  # candidate -> anchors tied to it
    with_self: set[str] = set()
    slots = asyncio.Semaphore(concurrency)

    async def ask(actor: str, others: list[str]) -> dict[str, tuple[bool, bool]]:
        async with slots:
            return await relationships(actor, others)

    def batches(items: list[str]) -> list[list[str]]:
        return [items[i : i + PER_CALL] for i in range(0, len(items), PER_CALL)]

    jobs: list[tuple[str, list[str]]] = [(self_did, batch) for batch in batches(self_checked)]
    if anchored and len(anchored) <= len(anchors) * len(batches(anchored)):
        jobs += [(candidate, anchors) for candidate in anchored]
    elif anchored:
        jobs += [(anchor, batch) for anchor in anchors for batch in batches(anchored)]
    first_recheck = len(jobs)
    jobs += [(anchor, [a for a in anchors if a != anchor]) for anchor in rechecked]
    answers = await asyncio.gather(*(ask(actor, others) for actor, others in jobs))
    among_anchors: dict[str, set[str]] = defaultdict(set)
    for index, ((actor, _), answer) in enumerate(zip(jobs, answers, strict=True)):
        for other, (following, followed_by) in answer.items():
            if not (following or followed_by):
                continue
            if index >= first_recheck:
                among_anchors[actor].add(other)
            elif actor == self_did:
                with_self.add(other)
            elif actor in anchor_set:
                links[other].add(actor)
            elif other in anchor_set:
                links[actor].add(other)
    tied_to: dict[str, int] = defaultdict(int)
    for tied in links.values():
        for anchor in tied:
            tied_to[anchor] += 1

    def weight(anchor: str) -> float:
        crowded = len(anchored) >= 8 and tied_to[anchor] > POPULAR_SHARE * len(anchored)
        return POPULAR_WEIGHT if crowded else 1.0

    asked = set(anchored)
    found = {
        candidate: Ties(
            contacts=sum(weight(a) for a in links.get(candidate, set())),
            contact_count=len(links.get(candidate, set())),
            with_self=candidate in with_self,
            asked_contacts=candidate in asked,
        )
        for candidate in wanted
    }
    for anchor in rechecked:
        tied = among_anchors.get(anchor, set())
        found[anchor] = Ties(contacts=float(len(tied)), contact_count=len(tied), asked_contacts=True)
    return found


async def neighbourhood_ties(
    neighbours: Neighbours,
    candidates: list[str],
    anchors: list[str],
    budget: int,
    concurrency: int = 4,
) -> Corroboration:
    """Ties of every candidate, from the pages of who the anchors follow and who follows them.

    Pages are fetched round by round (every anchor's first page of follows, then of followers,
    then second pages) until ``budget`` requests are spent. Every account met is kept, with its
    ties: as it was met *because* it is tied, its ties weigh less (see :func:`tie_log_odds`).
    """
    anchors = [a for a in dict.fromkeys(anchors) if a][:MAX_NEIGHBOUR_ANCHORS]
    wanted = set(candidates) - set(anchors)
    if not wanted or not anchors or budget <= 0:
        return Corroboration()
    links: dict[str, set[str]] = defaultdict(set)
    anchor_set = set(anchors)
    met: dict[str, Any] = {}
    cursors = {(anchor, direction): "" for anchor in anchors for direction in ("follows", "followers")}
    covered: set[str] = set()
    slots = asyncio.Semaphore(concurrency)
    spent = 0

    async def page(anchor: str, direction: str) -> None:
        async with slots:
            accounts, cursor = await neighbours(anchor, direction, cursors[(anchor, direction)])
        cursors[(anchor, direction)] = cursor
        covered.add(anchor)
        for account in accounts:
            if account.did != anchor:
                links[account.did].add(anchor)
                if account.did not in anchor_set:
                    met[account.did] = account

    for round_number in range(NEIGHBOUR_PAGES):
        for direction in ("follows", "followers"):
            # The first round asks every anchor; later rounds only where a next page exists.
            keys = [(a, direction) for a in anchors if round_number == 0 or cursors[(a, direction)]]
            keys = keys[: max(budget - spent, 0)]
            if not keys:
                continue
            spent += len(keys)
            await asyncio.gather(*(page(anchor, d) for anchor, d in keys))
    tied_to: dict[str, int] = defaultdict(int)
    for did in wanted:
        for anchor in links.get(did, set()):
            tied_to[anchor] += 1

    def weight(anchor: str) -> float:
        crowded = len(wanted) >= 8 and tied_to[anchor] > POPULAR_SHARE * len(wanted)
        return POPULAR_WEIGHT if crowded else 1.0

    def weighted(did: str) -> float:
        return sum(weight(a) for a in links.get(did, set()) if a in covered)

    asked = len(covered) >= min(len(anchors), 10)
    # How many ties the person's real contacts have (measured on the anchors, who are such
    # contacts) against how many any candidate has (mostly strangers): the weight of a tie.
    contact_rate = sum(weighted(a) for a in covered) / len(covered) if covered else 0.0
    candidate_rate = sum(weighted(c) for c in wanted) / len(wanted)

    def ties(did: str, met_by_ties: bool) -> Ties:
        odds = tie_log_odds(weighted(did), contact_rate, candidate_rate, met_by_ties) if asked else None
        return Ties(weighted(did), len(links.get(did, set()) & covered), asked_contacts=asked, log_odds=odds)

    found = {did: ties(did, False) for did in wanted}
    found.update({did: ties(did, True) for did in met if did not in wanted})
    # The anchors' own ties come with their pages: an account matched on its handle alone that
    # none of the person's other contacts is tied to may be a namesake who took that handle.
    if asked:
        found.update({did: ties(did, False) for did in covered})
    return Corroboration(found, met)


def tie_log_odds(ties: float, contact_rate: float, candidate_rate: float, met_by_ties: bool = False) -> float:
    """Log-likelihood ratio of seeing ``ties`` if the candidate is a contact (Poisson of mean
    ``contact_rate``) rather than anyone (Poisson of mean ``candidate_rate``); for an account
    met only because it has a tie, both given at least one."""
    stranger = max(candidate_rate, 0.05)
    contact = max(contact_rate, stranger)
    if contact <= stranger * 1.5:
        return 0.0  # ties do not tell contacts from strangers here
    odds = ties * math.log(contact / stranger) - (contact - stranger)
    if met_by_ties:
        odds -= math.log((1 - math.exp(-contact)) / (1 - math.exp(-stranger)))
    return odds


async def corroborate(
    relationships: Relationships,
    neighbours: Neighbours,
    candidates: list[str],
    anchors: list[str],
    self_did: str,
    budget: int,
    concurrency: int = 4,
    recheck: Sequence[str] = (),
) -> Corroboration:
    """Ties of the candidates (in priority order): the cheaper of the two ways for the anchors,
    the person's own account always through ``getRelationships``; and the ties of the anchors in
    ``recheck`` (matched on their handle alone) to the other anchors."""
    anchors = [a for a in dict.fromkeys(anchors) if a and a != self_did]
    wanted = [c for c in dict.fromkeys(candidates) if c not in set(anchors) and c != self_did]
    self_calls = min(math.ceil(len(wanted) / PER_CALL), budget) if self_did else 0
    direct = calls_needed(len(wanted), min(len(anchors), PER_CALL), False)
    if direct <= max(budget - self_calls, 0) or len(anchors) < 5:
        return Corroboration(await count_ties(relationships, wanted, anchors, self_did, budget, concurrency, recheck))
    found = await neighbourhood_ties(neighbours, wanted, anchors, budget - self_calls, concurrency)
    if self_did:
        mine = await count_ties(relationships, wanted, [], self_did, self_calls, concurrency)
        for did, tie in mine.items():
            found.ties.setdefault(did, Ties(asked_contacts=False)).with_self = tie.with_self
    return found
