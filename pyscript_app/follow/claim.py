"""Being findable: the opt-in claim in the person's own atproto repository (issue 8).

One record, in the collection the site names (``claim_collection``, default
``org.passerelle.x.claim``, lexicon in ``lexicons/``), with the X account id as its record key:
``{"xId", "xHandle", "mastodon"?, "createdAt"}``. Writing it again replaces it; deleting it
withdraws the claim. The X id and username come from the archive's ``account.js``; nothing else
of the archive is written. Requests go through the signed-in session (``AuthorizedClient``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from .. import N_
from ..notices import ArchiveError
from .client import ApiAnswer, AuthorizedClient
from .model import DID, is_followable_address

X_ID = re.compile(r"^[1-9][0-9]{0,19}\Z")
# Being findable with a Mastodon account only: a public post of this exact form, which a harvest
# reads from the tag's public timeline on large servers and credits to the post's author account.
# It is not translated: machines read it. ``MASTODON_CLAIM_POST`` parses what ``mastodon_claim_post`` writes.
MASTODON_CLAIM_TAG = "PasserelleMoved"
MASTODON_CLAIM_POST = re.compile(
    r"I moved from X: https://x\.com/(?P<handle>[A-Za-z0-9_]{1,15}) \(X id (?P<x_id>[1-9][0-9]{0,19})\) #"
    + MASTODON_CLAIM_TAG
)
X_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}\Z")
NSID = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,62})?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})?)+\Z")


def claim_record(collection: str, x_id: str, x_handle: str, mastodon: str = "", now: datetime | None = None
                 ) -> dict[str, Any]:
    """The record as the lexicon defines it; only what the person chose to say."""
    if not X_ID.match(x_id):
        raise ArchiveError(N_("Your archive does not name your X account, so there is nothing to publish."))
    record: dict[str, Any] = {"$type": collection, "xId": x_id,
                              "createdAt": (now or datetime.now(UTC)).isoformat(timespec="seconds")}
    if X_HANDLE.match(x_handle):
        record["xHandle"] = x_handle
    address = mastodon.strip().lstrip("@").lower()
    if address:
        if not is_followable_address(address):
            raise ArchiveError(N_("%(address)s is not a Mastodon address: write it as name@server."),
                               address=mastodon[:100])
        record["mastodon"] = address
    return record


def mastodon_claim_post(x_id: str, x_handle: str) -> str:
    """The text a person posts publicly on Mastodon to be findable there ('' without a valid X account)."""
    if not X_ID.match(x_id) or not X_HANDLE.match(x_handle):
        return ""
    return f"I moved from X: https://x.com/{x_handle} (X id {x_id}) #{MASTODON_CLAIM_TAG}"


def _checked(answer: ApiAnswer) -> ApiAnswer:
    if answer.status in (401, 403):
        raise ArchiveError(N_("Your Bluesky session does not allow this: sign out, then connect again."))
    if not answer.ok:
        raise ArchiveError(N_("Your Bluesky server refused: %(reason)s"),
                           reason=answer.error or f"HTTP {answer.status}")
    return answer


class ClaimStore:
    """The person's claim on their own PDS: read, publish, withdraw."""

    def __init__(self, client: AuthorizedClient, did: str, collection: str) -> None:
        if not DID.match(did) or not NSID.match(collection):
            raise ArchiveError(N_("Your Bluesky session does not allow this: sign out, then connect again."))
        self.client = client
        self.did = did
        self.collection = collection

    async def read(self, x_id: str) -> dict[str, Any] | None:
        """The published claim for this X id, or None. (``listRecords``, not ``getRecord``: a
        missing record is an empty list, not an HTTP error the browser logs.)"""
        query = urlencode({"repo": self.did, "collection": self.collection, "limit": 100})
        answer = _checked(await self.client.request("GET", f"/xrpc/com.atproto.repo.listRecords?{query}"))
        records = answer.body.get("records") if isinstance(answer.body, dict) else None
        for record in records if isinstance(records, list) else []:
            value = record.get("value") if isinstance(record, dict) else None
            uri = str(record.get("uri", "")) if isinstance(record, dict) else ""
            if isinstance(value, dict) and value.get("xId") == x_id and uri.endswith(f"/{x_id}"):
                return value
        return None

    async def publish(self, record: dict[str, Any]) -> dict[str, Any]:
        body = {"repo": self.did, "collection": self.collection, "rkey": record["xId"], "record": record}
        _checked(await self.client.request("POST", "/xrpc/com.atproto.repo.putRecord", body))
        return record

    async def withdraw(self, x_id: str) -> None:
        body = {"repo": self.did, "collection": self.collection, "rkey": x_id}
        _checked(await self.client.request("POST", "/xrpc/com.atproto.repo.deleteRecord", body))


def shown(record: dict[str, Any] | None) -> dict[str, Any]:
    """What the page shows of a claim: whether it is published and what it says."""
    if record is None:
        return {"published": False}
    return {"published": True, "x_id": str(record.get("xId", "")), "x_handle": str(record.get("xHandle", ""))[:15],
            "mastodon": str(record.get("mastodon", ""))[:320], "created_at": str(record.get("createdAt", ""))[:40]}
