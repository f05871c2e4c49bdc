"""The follow queue: one task per account to follow, its state, and the whole of it as JSON.

A task's ``state`` is one of ``queued``, ``followed``, ``already``, ``not-found``, ``failed`` (the
page puts it in ``data-follow-state``); a failed task has a ``reason``. The queue of each network
also keeps its pacing (when batches went, what the server said about its limits), who it
belongs to and why it stopped, so that a run stopped by a cancel, a crash or an expired session
goes on later exactly where it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast, get_args

from ..notices import Notice
from ..protocol import FOLLOW_STATES, FollowState, Network
from ..untrusted import HOST_NAME, MASTODON_USER

# Why a task failed: the server refused it, the account is gone, the account's follow limit is
# reached (Mastodon), or what was selected is not an account name at all.
FailureReason = Literal["refused", "gone", "follow-limit", "invalid"]
# Why a network's run ended ("" while it runs). Rate limits, ended sessions and unreachable
# servers stop the *network*, never a task: its tasks stay "queued" and the next run does them.
# "waiting": the next batch may only go at ``resume_at`` (pace, daily cap or the server's 429).
StopReason = Literal[
    "", "done", "waiting", "cancelled", "session-expired", "unreachable", "not-mastodon", "follow-limit",
    "wrong-account",
]
NETWORKS: tuple[Network, ...] = get_args(Network)
FAILURE_REASONS: tuple[FailureReason, ...] = get_args(FailureReason)
STOP_REASONS: tuple[StopReason, ...] = get_args(StopReason)
FINAL_STATES = {"followed", "already", "not-found"}
STATE_VERSION = 1
MAX_ACCOUNT_LENGTH = 253 + 64 + 2

# atproto syntax (atproto.com/specs/handle, /specs/did): checked before anything is sent.
HANDLE = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
DID = re.compile(r"^did:(plc:[a-z2-7]{24}|web:[a-zA-Z0-9._:%-]{1,2000})\Z")
MASTODON_ID = re.compile(r"^[0-9]{1,30}\Z")


class Selectable(Protocol):
    """What the follow queue needs of a match (``matching.Match`` has it)."""

    @property
    def network(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def did(self) -> str: ...
    @property
    def x_id(self) -> str: ...


@dataclass
class FollowTask:
    """One account to follow on one network, for one or more of the person's X relations."""

    network: Network
    account: str  # Bluesky handle or DID; Mastodon user@server
    x_ids: list[str] = field(default_factory=list)
    did: str = ""  # Bluesky: the subject of the follow record
    remote_id: str = ""  # Mastodon: the account's id on the person's own server (a string: beyond 2^53)
    state: FollowState = "queued"
    reason: FailureReason | Literal[""] = ""
    uri: str = ""  # Bluesky: the follow record's address (at://…), created or found

    @property
    def key(self) -> tuple[str, str]:
        return (self.network, self.account)

    def to_json(self) -> dict[str, Any]:
        return {
            "network": self.network, "account": self.account, "x_ids": list(self.x_ids), "did": self.did,
            "remote_id": self.remote_id, "state": self.state, "reason": self.reason, "uri": self.uri,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FollowTask:
        network, state, reason = data.get("network"), data.get("state", "queued"), data.get("reason", "")
        if network not in NETWORKS or state not in FOLLOW_STATES or (reason and reason not in FAILURE_REASONS):
            raise ValueError("not a follow task")
        return cls(
            network=cast(Network, network),
            account=_text(data.get("account"), MAX_ACCOUNT_LENGTH),
            x_ids=[_text(x, 32) for x in data.get("x_ids") or []][:100],
            did=_text(data.get("did"), 2048),
            remote_id=_text(data.get("remote_id"), 32),
            state=cast(FollowState, state),
            reason=cast(FailureReason, reason),
            uri=_text(data.get("uri"), 4096),
        )

    def fail(self, reason: FailureReason) -> None:
        self.state, self.reason = "failed", reason

    def settle(self, state: FollowState, uri: str = "") -> None:
        self.state, self.reason = state, ""
        if uri:
            self.uri = uri


def _text(value: object, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > limit:
        raise ValueError("not a follow task")
    return str(value)


@dataclass
class PacerState:
    """What the pacing remembers: the batches sent (when, how many) and the server's last word."""

    sent: list[tuple[float, int]] = field(default_factory=list)
    blocked_until: float = 0.0  # a 429, or no room left until the server's reset time
    room: int | None = None  # follows the server still allows until ``room_reset``
    room_reset: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"sent": [[when, count] for when, count in self.sent], "blocked_until": self.blocked_until,
                "room": self.room, "room_reset": self.room_reset}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PacerState:
        sent = [(float(when), int(count)) for when, count in (data.get("sent") or [])[-10_000:]]
        room = data.get("room")
        return cls(sent, float(data.get("blocked_until") or 0), None if room is None else int(room),
                   float(data.get("room_reset") or 0))


@dataclass
class NetworkQueue:
    """The tasks of one network, whose account follows them, and where the run stands."""

    network: Network
    tasks: list[FollowTask] = field(default_factory=list)
    owner: str = ""  # the signed-in account (a DID, or user@server): a queue is never run for another
    pacer: PacerState = field(default_factory=PacerState)
    stop: StopReason = ""
    resume_at: float = 0.0  # when "waiting": the time the next batch may go
    allowance: int | None = None  # Mastodon: how many more the account may follow (its follow limit)

    def pending(self) -> list[FollowTask]:
        """Tasks a run still has to do: queued ones, and failures worth another try."""
        return [t for t in self.tasks if t.state == "queued" or (t.state == "failed" and t.reason != "invalid")]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {state: 0 for state in FOLLOW_STATES}
        for task in self.tasks:
            found[task.state] += 1
        return found

    def to_json(self) -> dict[str, Any]:
        return {"network": self.network, "owner": self.owner, "tasks": [t.to_json() for t in self.tasks],
                "pacer": self.pacer.to_json(), "stop": self.stop, "resume_at": self.resume_at,
                "allowance": self.allowance}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkQueue:
        network, stop = data.get("network"), data.get("stop") or ""
        if network not in NETWORKS or stop not in STOP_REASONS:
            raise ValueError("not a follow queue")
        allowance = data.get("allowance")
        return cls(
            network=cast(Network, network),
            tasks=[FollowTask.from_json(t) for t in data.get("tasks") or []],
            owner=_text(data.get("owner"), MAX_ACCOUNT_LENGTH),
            pacer=PacerState.from_json(data.get("pacer") or {}),
            stop=cast(StopReason, stop),
            resume_at=float(data.get("resume_at") or 0),
            allowance=None if allowance is None else int(allowance),
        )


@dataclass
class FollowQueue:
    """Every network's queue; ``to_json``/``from_json`` keep and restore all of it."""

    networks: dict[Network, NetworkQueue] = field(default_factory=dict)

    def queue(self, network: Network) -> NetworkQueue:
        if network not in self.networks:
            self.networks[network] = NetworkQueue(network)
        return self.networks[network]

    def add(self, matches: Iterable[Selectable]) -> int:
        """Queue the selected matches not queued yet (one task per account); how many were new."""
        added = 0
        for match in matches:
            network = match.network
            if network not in NETWORKS:
                continue
            queue = self.queue(network)
            account = (match.account or match.did or "").strip()
            if network == "mastodon":
                account = account.lstrip("@").lower()
            elif not account.startswith("did:"):
                account = account.lstrip("@").lower()  # handles are case-insensitive
            existing = next((t for t in queue.tasks if t.account == account), None)
            if existing is not None:
                if match.x_id and match.x_id not in existing.x_ids:
                    existing.x_ids.append(match.x_id)
                continue
            task = FollowTask(queue.network, account[:MAX_ACCOUNT_LENGTH], [match.x_id] if match.x_id else [])
            if network == "bluesky":
                task.did = match.did if DID.match(match.did or "") else ""
                if not task.did and not (HANDLE.match(account) or DID.match(account)):
                    task.fail("invalid")
            elif not is_followable_address(account):
                task.fail("invalid")
            queue.tasks.append(task)
            added += 1
        return added

    def task_states(self) -> list[dict[str, str]]:
        """For the page: each account's state and reason (``data-follow-state``)."""
        return [{"network": t.network, "account": t.account, "state": t.state, "reason": t.reason}
                for q in self.networks.values() for t in q.tasks]

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "networks": {n: q.to_json() for n, q in self.networks.items()}}

    @classmethod
    def from_json(cls, data: Any) -> FollowQueue:
        """The queue kept earlier; ValueError if it is not one (a file from elsewhere, a newer version)."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("not a follow queue")
        try:
            queues = [NetworkQueue.from_json(q) for q in (data.get("networks") or {}).values()]
        except (TypeError, AttributeError, KeyError) as error:
            raise ValueError("not a follow queue") from error
        return cls({q.network: q for q in queues})


def is_followable_address(address: str) -> bool:
    """``user@server`` as Mastodon spells it (the server may be any host name, even a test one)."""
    user, at, domain = address.partition("@")
    return bool(at) and bool(MASTODON_USER.match(user)) and bool(HOST_NAME.match(domain))


class FollowStopError(Exception):
    """A network's queue cannot go on now: ``stop`` says why, ``notice`` says it to the person."""

    def __init__(self, stop: StopReason, notice: Notice, until: float = 0.0) -> None:
        super().__init__(notice.text)
        self.stop, self.notice, self.until = stop, notice, until


class RateLimitedError(Exception):
    """The server said to slow down (429): nothing may be sent before ``until``."""

    def __init__(self, until: float) -> None:
        super().__init__(f"rate limited until {until}")
        self.until = until


class SessionExpiredError(Exception):
    """The server no longer accepts the person's session (expired, revoked, signed out)."""


class UnreachableError(Exception):
    """The server could not be reached, failed, or answered something that is not its API."""
