"""Following on Bluesky: follow records written into the person's own repository, on their PDS.

Before anything is written, the existing follows are read (``com.atproto.repo.listRecords``,
collection ``app.bsky.graph.follow``, every page): somebody already followed is ``already`` and
their record is never written again (the reference PDS would replace it, with a new address).
Handles without a DID are resolved by the person's own PDS (``com.atproto.identity.resolveHandle``:
it sees no more than the follows it is about to store). Then ``com.atproto.repo.applyWrites``
creates a batch of follows at once (at most 200; all or nothing).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from .. import N_
from ..notices import Notice
from .client import AuthorizedClient
from .model import DID, HANDLE, FollowStopError, FollowTask, NetworkQueue, UnreachableError
from .pacing import BLUESKY_PACE, MAX_WRITES_PER_CALL, Pace
from .waiting import Waiter, check, read

COLLECTION = "app.bsky.graph.follow"
PAGE_SIZE = 100
RESOLVE_CONCURRENCY = 4  # handles resolved at once by the person's PDS
MAX_PAGES = 5_000  # 500,000 follows: far beyond any account; a PDS that pages forever is stopped


def follow_write(subject: str, created_at: str) -> dict[str, Any]:
    """One create of ``applyWrites``: a follow record of ``subject`` (a DID)."""
    return {
        "$type": "com.atproto.repo.applyWrites#create",
        "collection": COLLECTION,
        "value": {"$type": COLLECTION, "subject": subject, "createdAt": created_at},
    }


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BlueskyFollower:
    """Follows on the person's own PDS through an ``AuthorizedClient`` (app password or OAuth)."""

    network = "bluesky"
    prepare_chunk = 1_000  # handles resolved ahead of the follows (cheap: the person's own PDS)

    def __init__(self, client: AuthorizedClient, pace: Pace = BLUESKY_PACE, did: str = "") -> None:
        """``did``: the signed-in account when the caller knows it (an OAuth session's ``did``);
        otherwise it is asked of the PDS (``getSession``)."""
        self.client = client
        self.pace = pace
        self.repo = did if DID.match(did) else ""
        self.existing: dict[str, str] = {}  # subject DID -> follow record address

    async def start(self, queue: NetworkQueue, waiter: Waiter) -> None:
        """Who is signed in, and whom they follow already (every page of it)."""
        did = self.repo or await self.signed_in(waiter)
        if queue.owner and queue.owner != did:
            raise FollowStopError("wrong-account", Notice(
                N_("%(network)s: these follows were queued for another account (%(owner)s). Sign in with it, or "
                   "start a new list."), {"network": "Bluesky", "owner": queue.owner}))
        queue.owner = self.repo = did
        self.existing = await self.existing_follows(waiter)

    async def prepare(self, tasks: list[FollowTask], queue: NetworkQueue, waiter: Waiter) -> None:
        """The DID of each task (handles resolved, a few at once); those followed already are settled."""
        slots = asyncio.Semaphore(RESOLVE_CONCURRENCY)

        async def resolve(task: FollowTask) -> None:
            async with slots:
                task.did = task.account if DID.match(task.account) else await self.resolve(task.account, waiter)

        await asyncio.gather(*(resolve(task) for task in tasks if not task.did))
        seen: set[str] = set()
        for task in tasks:
            if not task.did:
                task.settle("not-found")
            elif task.did == self.repo:
                task.fail("refused")  # one cannot follow oneself
            elif task.did in self.existing:
                task.settle("already", self.existing[task.did])
            elif task.did in seen:
                task.settle("already")  # the same person under two names: followed once
            else:
                seen.add(task.did)

    async def signed_in(self, waiter: Waiter) -> str:
        """The DID of the account the session belongs to."""
        session = await read(self.client, waiter, "GET", "/xrpc/com.atproto.server.getSession")
        did = session.body.get("did") if isinstance(session.body, dict) else None
        if not session.ok or not isinstance(did, str) or not DID.match(did):
            raise UnreachableError("no session")
        return did

    async def existing_follows(self, waiter: Waiter) -> dict[str, str]:
        """Every follow record of the repository: subject DID -> record address."""
        found: dict[str, str] = {}
        cursor = ""
        for _ in range(MAX_PAGES):
            query = {"repo": self.repo, "collection": COLLECTION, "limit": str(PAGE_SIZE)}
            if cursor:
                query["cursor"] = cursor
            answer = await read(self.client, waiter, "GET", f"/xrpc/com.atproto.repo.listRecords?{urlencode(query)}")
            records = answer.body.get("records") if isinstance(answer.body, dict) else None
            if not answer.ok or not isinstance(records, list):
                raise UnreachableError("listRecords")
            for record in records:
                value = record.get("value") if isinstance(record, dict) else None
                subject = value.get("subject") if isinstance(value, dict) else None
                uri = record.get("uri") if isinstance(record, dict) else None
                if isinstance(subject, str) and isinstance(uri, str):
                    found.setdefault(subject, uri)
            next_cursor = answer.body.get("cursor")
            if not records or not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
                return found
            cursor = next_cursor
        raise UnreachableError("listRecords pages without end")

    async def resolve(self, handle: str, waiter: Waiter) -> str:
        """The DID behind a handle, or "" if nobody has it."""
        if not HANDLE.match(handle):
            return ""
        answer = await read(
            self.client, waiter, "GET", f"/xrpc/com.atproto.identity.resolveHandle?{urlencode({'handle': handle})}"
        )
        did = answer.body.get("did") if isinstance(answer.body, dict) and answer.ok else None
        return did if isinstance(did, str) and DID.match(did) else ""

    async def follow(self, batch: list[FollowTask], queue: NetworkQueue, now: float) -> dict[str, str]:
        """Create the batch's follow records in one call; a refused batch is split to find the refused one.
        The answer's headers are returned (rate limits)."""
        if len(batch) > MAX_WRITES_PER_CALL:
            raise ValueError("at most 200 writes per applyWrites")
        body = {"repo": self.repo, "validate": True,
                "writes": [follow_write(task.did, _iso(now)) for task in batch]}
        answer = check(await self.client.request("POST", "/xrpc/com.atproto.repo.applyWrites", body), now)
        if answer.ok:
            results = answer.body.get("results") if isinstance(answer.body, dict) else None
            results = results if isinstance(results, list) and len(results) == len(batch) else [{}] * len(batch)
            for task, result in zip(batch, results, strict=True):
                uri = result.get("uri") if isinstance(result, dict) else None
                task.settle("followed", uri if isinstance(uri, str) else "")
                self.existing[task.did] = task.uri
            return answer.headers
        if answer.status == 400 and len(batch) > 1:  # all or nothing: find who was refused
            middle = len(batch) // 2
            await self.follow(batch[:middle], queue, now)
            return await self.follow(batch[middle:], queue, now)
        for task in batch:
            task.fail("refused")
        return answer.headers
