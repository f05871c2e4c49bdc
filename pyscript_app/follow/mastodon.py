"""Following on Mastodon: everything through the person's own server, with their bearer token.

Each address is resolved on that server (``/api/v1/accounts/lookup``, then an authenticated
``/api/v2/search?resolve=true`` that makes the server fetch an account it has not seen yet); the
ids found are the server's own (strings: they pass 2^53). Those already followed or requested are
skipped (``/api/v1/accounts/relationships``, 40 ids a call); then ``POST
/api/v1/accounts/:id/follow``. Every call counts against the token's 300 calls per 5 minutes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from .. import N_
from ..net import Budget
from ..notices import Notice
from .client import ApiAnswer, AuthorizedClient
from .model import MASTODON_ID, FollowStopError, FollowTask, NetworkQueue, UnreachableError
from .pacing import MASTODON_PACE, Pace, follow_limit_notice
from .waiting import Waiter, check, read

RELATIONSHIPS_PER_CALL = 40
API_BUDGET = (280, 300.0)  # Mastodon: 300 calls per 5 minutes per token; a little room left
FOLLOW_LIMIT, FOLLOW_RATIO = 7_500, 1.1  # Mastodon's FollowLimitValidator


def follow_allowance(following: int, followers: int) -> int:
    """How many more accounts Mastodon lets this account follow (FollowLimitValidator)."""
    limit = FOLLOW_LIMIT if following < FOLLOW_LIMIT else max(round(followers * FOLLOW_RATIO), FOLLOW_LIMIT)
    return max(limit - following, 0)


def not_mastodon(server: str) -> FollowStopError:
    return FollowStopError("not-mastodon", Notice(N_("%(server)s is not a Mastodon server."), {"server": server}))


def _account_id(body: Any) -> str:
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and MASTODON_ID.match(value) else ""


class MastodonFollower:
    """Follows through the person's own Mastodon server (``client`` carries their token)."""

    network = "mastodon"
    # ids looked up ahead of the follows: 200 lookups fit in the token's 300 calls per 5 minutes,
    # and the next ones are looked up while the daily window waits, not all on the first day
    prepare_chunk = 200

    def __init__(self, client: AuthorizedClient, domain: str, pace: Pace = MASTODON_PACE) -> None:
        self.client = client
        self.domain = domain.lower()
        self.pace = pace
        self.budget = Budget(*API_BUDGET)
        self.followed: set[str] = set()  # ids followed in this run

    async def _call(self, waiter: Waiter, method: str, path: str) -> ApiAnswer:
        """A reading call within the token's budget (429s waited for)."""
        await self._spend(waiter)
        return await read(self.client, waiter, method, path)

    async def _spend(self, waiter: Waiter) -> None:
        while (delay := self.budget.wait_time(waiter.clock())) > 0:
            await waiter.sleep_until(waiter.clock() + delay)
        self.budget.sent.append(waiter.clock())

    async def start(self, queue: NetworkQueue, waiter: Waiter) -> None:
        """Who is signed in, and how many more people they may follow."""
        me = await self._call(waiter, "GET", "/api/v1/accounts/verify_credentials")
        if me.status in (404, 410) or not isinstance(me.body, dict) or not _account_id(me.body):
            raise not_mastodon(self.domain)
        username = str(me.body.get("username") or me.body.get("acct") or "").lower()
        owner = f"{username}@{self.domain}"
        if queue.owner and queue.owner != owner:
            raise FollowStopError("wrong-account", Notice(
                N_("%(network)s: these follows were queued for another account (%(owner)s). Sign in with it, or "
                   "start a new list."), {"network": "Mastodon", "owner": queue.owner}))
        queue.owner = owner
        following, followers = me.body.get("following_count"), me.body.get("followers_count")
        if isinstance(following, int) and isinstance(followers, int):
            queue.allowance = follow_allowance(following, followers)

    async def prepare(self, tasks: list[FollowTask], queue: NetworkQueue, waiter: Waiter) -> None:
        """Each task's id on the person's own server; those followed (or requested) already are settled."""
        by_id: dict[str, FollowTask] = {}
        for task in tasks:
            if task.account == queue.owner:
                task.fail("refused")
                continue
            if not task.remote_id:
                task.remote_id = await self.resolve(task.account, waiter)
            if not task.remote_id:
                task.settle("not-found")
            elif task.remote_id in by_id or task.remote_id in self.followed:
                task.settle("already")  # one account under two addresses (a move): followed once
            else:
                by_id[task.remote_id] = task
        await self._skip_followed(by_id, waiter)

    async def resolve(self, address: str, waiter: Waiter) -> str:
        """The id of ``user@server`` on the person's own server, or "" if it cannot be found."""
        user, _, domain = address.partition("@")
        acct = user if domain == self.domain else address
        found = await self._call(waiter, "GET", f"/api/v1/accounts/lookup?{urlencode({'acct': acct})}")
        if found.ok and _account_id(found.body):
            return "" if found.body.get("suspended") else _account_id(found.body)
        if found.status not in (404, 410):
            return ""
        query = urlencode({"q": f"@{address}", "type": "accounts", "resolve": "true", "limit": "1"})
        searched = await self._call(waiter, "GET", f"/api/v2/search?{query}")
        accounts = searched.body.get("accounts") if isinstance(searched.body, dict) else None
        for account in accounts if isinstance(accounts, list) else []:
            acct = str(account.get("acct") or "").lower() if isinstance(account, dict) else ""
            if acct in (address, user if domain == self.domain else address) and not account.get("suspended"):
                return _account_id(account)
        return ""

    async def _skip_followed(self, by_id: dict[str, FollowTask], waiter: Waiter) -> None:
        ids = list(by_id)
        for start in range(0, len(ids), RELATIONSHIPS_PER_CALL):
            chunk = ids[start : start + RELATIONSHIPS_PER_CALL]
            answer = await self._call(
                waiter, "GET", "/api/v1/accounts/relationships?" + urlencode([("id[]", i) for i in chunk])
            )
            if not answer.ok or not isinstance(answer.body, list):
                raise UnreachableError("relationships")
            for relation in answer.body:
                if not isinstance(relation, dict):
                    continue
                task = by_id.get(str(relation.get("id")))
                if task and (relation.get("following") is True or relation.get("requested") is True):
                    task.settle("already")

    async def follow(self, batch: list[FollowTask], queue: NetworkQueue, now: float) -> dict[str, str]:
        """Follow each account of the batch (one call each); the last answer's headers (rate limits)."""
        headers: dict[str, str] = {}
        for task in batch:
            await self._spend_now(now)
            answer = check(await self.client.request("POST", f"/api/v1/accounts/{quote(task.remote_id)}/follow"), now)
            headers = answer.headers
            if answer.ok and isinstance(answer.body, dict):
                task.settle("followed")
                self.followed.add(task.remote_id)
                if queue.allowance is not None:
                    queue.allowance -= 1
            elif answer.status in (404, 410):
                task.fail("gone")
            elif answer.status == 422 and "follow more" in str(answer.error):
                queue.allowance = 0
                task.fail("follow-limit")
                raise FollowStopError("follow-limit", follow_limit_notice(len(queue.pending())))
            else:
                task.fail("refused")
        return headers

    async def _spend_now(self, now: float) -> None:
        self.budget.sent.append(now)
