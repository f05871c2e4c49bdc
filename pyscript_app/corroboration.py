"""Social corroboration: is a candidate linked on Bluesky to the person's confirmed contacts?

A stranger who shares a contact's name rarely follows, or is followed by, the other people the
person knows; the contact's real account usually is. ``app.bsky.graph.getRelationships`` answers,
without sign-in, whether one account follows or is followed by up to 30 others. Ties are counted
between each doubtful candidate and up to 30 "anchors": the accounts already confirmed (listed
in a directory by their owner, or matched with high confidence), and the person's own account
when it is known (``Settings.self_did``). Each call is one request; the caller gives a budget.

Two ways to ask, whichever costs fewer requests: one call per candidate (actor = candidate,
others = the anchors), or one call per anchor and 30 candidates (actor = anchor). The person's
own account is always asked as the actor, 30 candidates a call.
A tie to an anchor that is tied to most candidates (a very followed account) counts less.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable

from .scoring import Ties

PER_CALL = 30
POPULAR_SHARE = 0.25  # an anchor tied to more than this share of the candidates is "popular"
POPULAR_WEIGHT = 0.3

Relationships = Callable[[str, list[str]], Awaitable[dict[str, tuple[bool, bool]]]]


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
) -> dict[str, Ties]:
    """Ties of each candidate DID (in priority order) with the anchors; within ``budget`` requests.

    Candidates that are anchors themselves, or that the budget leaves out, are absent from the answer.
    """
    anchors = [a for a in dict.fromkeys(anchors) if a and a != self_did][:PER_CALL]
    anchor_set = set(anchors)
    wanted = [c for c in dict.fromkeys(candidates) if c not in anchor_set and c != self_did]
    wanted = wanted[: affordable(len(wanted), len(anchors), bool(self_did), budget)]
    if not wanted or not (anchors or self_did):
        return {}
    links: dict[str, set[str]] = defaultdict(set)  # candidate -> anchors tied to it
    with_self: set[str] = set()
    slots = asyncio.Semaphore(concurrency)

    async def ask(actor: str, others: list[str]) -> dict[str, tuple[bool, bool]]:
        async with slots:
            return await relationships(actor, others)

    batches = [wanted[i : i + PER_CALL] for i in range(0, len(wanted), PER_CALL)]
    jobs: list[tuple[str, list[str]]] = []
    if self_did:
        jobs += [(self_did, batch) for batch in batches]
    if anchors and len(wanted) <= len(anchors) * len(batches):
        jobs += [(candidate, anchors) for candidate in wanted]
    elif anchors:
        jobs += [(anchor, batch) for anchor in anchors for batch in batches]
    answers = await asyncio.gather(*(ask(actor, others) for actor, others in jobs))
    for (actor, _), answer in zip(jobs, answers, strict=True):
        for other, (following, followed_by) in answer.items():
            if not (following or followed_by):
                continue
            if actor == self_did:
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
        return POPULAR_WEIGHT if len(wanted) >= 8 and tied_to[anchor] > POPULAR_SHARE * len(wanted) else 1.0

    return {
        candidate: Ties(
            contacts=sum(weight(a) for a in links.get(candidate, set())),
            contact_count=len(links.get(candidate, set())),
            with_self=candidate in with_self,
        )
        for candidate in wanted
    }
