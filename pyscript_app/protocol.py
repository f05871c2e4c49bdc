"""The one typed home of what the page and the worker say to each other (pyodide-kernel's pattern).

Every message, every match, and every code the page turns into words (networks, confidence
levels, reasons, stages, follow states) is spelled here once. ``site/static/matcher-worker.js``
and ``matcher.js`` speak these shapes; ``tests/test_protocol.py`` checks that the scripts use only
the message types named here and that the page has a translated text for every reason, stage
and follow state.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, get_args

Network = Literal["bluesky", "mastodon"]
Confidence = Literal["high", "medium", "low"]
Relation = Literal["following", "follower", "both"]
# Where the worker is: starting, reading posts for names, and the three matching stages.
Stage = Literal["runtime", "posts", "directories", "bluesky", "mastodon"]
MATCHING_STAGES: tuple[Stage, ...] = ("directories", "bluesky", "mastodon")
# Why a suggestion was made, or why it is doubted; the page shows ``reason_<code>``.
Reason = Literal[
    # where it comes from
    "directory",
    "conflict",
    "unverified",
    "not_checked",
    "moved",
    "found_by_name",
    # the handle
    "exact_handle",
    "close_handle",
    "domain_handle",
    "domain_is_name",
    "digits_differ",
    "digits_dropped",
    "handle_is_name",
    "lookalike",
    # the name and the bio
    "same_name",
    "same_name_shared",
    "similar_name",
    "name_differs",
    "bio_links_x",
    "bio_names_x",
    "bio_mentions_handle",
    "fan_or_parody",
    "labelled",
    # ties on Bluesky
    "ties",
    "tie_self",
    "no_ties",
    "several_contacts",
    # ties on Mastodon
    "ties_mastodon",
]
REASONS: tuple[Reason, ...] = get_args(Reason)
# A person in the follow queue; the page shows ``follow_<state>`` and sets ``data-follow-state``.
FollowState = Literal["queued", "followed", "already", "not-found", "failed"]
FOLLOW_STATES: tuple[FollowState, ...] = get_args(FollowState)


class NoticeJSON(TypedDict):
    """A message for the person: an English msgid the page translates, and its parameters."""

    message: str
    params: dict[str, Any]


class EvidenceJSON(TypedDict):
    reason: Reason
    weight: float
    count: NotRequired[int]


class MatchJSON(TypedDict):
    """One suggestion, as the page receives it."""

    x_id: str  # a string: X ids overflow JavaScript numbers
    x_handle: str
    network: Network
    account: str
    confidence: Confidence
    reasons: list[Reason]
    relation: Relation
    display_name: str
    avatar: str
    url: str
    did: str
    bridge: str
    source: str
    moved_from: str
    unverified: bool
    evidence: list[EvidenceJSON]
    chance: float
    ties: int
    choice: str
    bio: str


class MatchSettingsJSON(TypedDict, total=False):
    """What the page sends with ``match``."""

    bluesky_appview: str
    directories: list[str]  # the site's own directories
    added_directories: list[str]  # the ones the person added by URL: never "high" by themselves
    mastodon_instance_urls: dict[str, str]
    look_up_names: bool
    search_actors: bool
    directories_only: bool
    keep_responses: bool
    corroborate: bool
    self_did: str


# --- page -> worker --------------------------------------------------------------------------------


class RuntimeFiles(TypedDict):
    stdlib: str
    integrity: dict[str, str]
    lock: str


class BootRequest(TypedDict):
    type: Literal["boot"]
    pyodide: str
    app: str
    runtime: RuntimeFiles


class PickedEntry(TypedDict):
    path: str
    file: object  # a File: handed to the worker by reference, mounted read-only, never read whole


class ReadRequest(TypedDict):
    """``read``: the relations, answered with the counts; ``read-names``: the names in the posts,
    answered with ``{"known": KnownJSON}`` (by a second worker when there is one, at the same time)."""

    type: Literal["read", "read-names"]
    id: int
    entries: list[PickedEntry]


class NamesRequest(TypedDict):
    """The names ``read-names`` found, for the graph ``read`` read: answered with the complete summary."""

    type: Literal["names"]
    id: int
    known: dict[str, list[Any]]  # {x_id: [handles, names, times seen]}


class RestoreRequest(TypedDict):
    type: Literal["restore"]
    id: int
    saved: str


class PlainRequest(TypedDict):
    """``save``, ``forget`` and ``cancel`` carry nothing else."""

    type: Literal["save", "forget", "cancel"]
    id: int


class MatchRequest(TypedDict):
    type: Literal["match"]
    id: int
    settings: MatchSettingsJSON


class BlueskyConnection(TypedDict):
    """Signed in to Bluesky: the page holds the OAuth session and signs the relayed requests."""

    did: str


class MastodonConnection(TypedDict):
    address: str  # user@server
    token: str
    instance_urls: NotRequired[dict[str, str]]


class FollowConnections(TypedDict, total=False):
    bluesky: BlueskyConnection
    mastodon: MastodonConnection


class ExportRequest(TypedDict):
    type: Literal["export"]
    id: int
    network: Network
    keys: list[list[str]]  # [x_id, network, account] of the selected matches
    mastodon: NotRequired[MastodonConnection]  # signed in: the file is cut to the account's real allowance


class FollowPlanRequest(TypedDict):
    """Queue the selected matches of the connected networks (onto the kept queue, if any) and plan."""

    type: Literal["follow-plan"]
    id: int
    keys: list[list[str]]  # [x_id, network, account] of the selected matches
    networks: list[Network]
    saved: NotRequired[str]  # the queue kept in this browser (IndexedDB)


class FollowStartRequest(TypedDict):
    type: Literal["follow-start"]
    id: int
    connections: FollowConnections


class FollowControlRequest(TypedDict):
    type: Literal["follow-pause", "follow-resume", "follow-cancel"]
    id: int


class MastodonBeginRequest(TypedDict):
    """Register the app if needed; the answer has the consent page's address, the state and verifier."""

    type: Literal["mastodon-begin"]
    id: int
    address: str
    redirect_uri: str
    website: str
    instance_urls: dict[str, str]
    apps: dict[str, Any]  # the apps kept in this browser, by server URL


class MastodonFinishRequest(TypedDict):
    type: Literal["mastodon-finish"]
    id: int
    app: dict[str, str]
    state: str
    verifier: str
    callback: str  # the query the consent page sent back: code=…&state=… or error=…


class ClaimRequest(TypedDict):
    """The person's opt-in claim in their own repository: read it, publish it, or withdraw it."""

    type: Literal["claim-state", "claim-publish", "claim-withdraw"]
    id: int
    did: str
    collection: str
    mastodon: NotRequired[str]


class SignedAnswer(TypedDict):
    """The page's answer to a ``signed-request``: {status, headers, body} or {error} as JSON text."""

    type: Literal["signed-answer"]
    relay: int
    answer: str


Request = (
    BootRequest | ReadRequest | NamesRequest | RestoreRequest | PlainRequest | MatchRequest | ExportRequest
    | FollowPlanRequest | FollowStartRequest | FollowControlRequest | MastodonBeginRequest | MastodonFinishRequest
    | ClaimRequest | SignedAnswer
)
RequestType = Literal[
    "boot", "read", "read-names", "names", "restore", "save", "forget", "cancel", "match", "export", "follow-plan",
    "follow-start", "follow-pause", "follow-resume", "follow-cancel", "mastodon-begin", "mastodon-finish",
    "claim-state", "claim-publish", "claim-withdraw", "signed-answer",
]
REQUEST_TYPES: tuple[RequestType, ...] = get_args(RequestType)


# --- worker -> page --------------------------------------------------------------------------------


class ProgressReply(TypedDict):
    type: Literal["progress"]
    id: NotRequired[int]
    stage: Stage
    done: NotRequired[int]
    total: NotRequired[int]


class ReadyReply(TypedDict):
    type: Literal["ready"]
    seconds: float
    stages: dict[str, float]


class MatchesReply(TypedDict):
    """Matches new or changed since the last ``matches`` of this run (never all of them again)."""

    type: Literal["matches"]
    id: int
    matches: list[MatchJSON]


class AnswerReply(TypedDict):
    type: Literal["answer"]
    id: int
    answer: dict[str, Any]  # the request's result, or {"error": NoticeJSON, "crash"?: traceback}


class FailedReply(TypedDict):
    type: Literal["failed"]
    id: NotRequired[int]
    stage: str
    detail: str


class FollowStateReply(TypedDict):
    """After every step of a follow run: each account's state, counts and time left, the queue to keep."""

    type: Literal["follow-state"]
    id: int
    state: dict[str, Any]


class FollowNoticeReply(TypedDict):
    type: Literal["follow-notice"]
    id: int
    notice: NoticeJSON


class SignedRequest(TypedDict):
    """A Bluesky request for the page to send with the signed-in session (it holds the DPoP key)."""

    type: Literal["signed-request"]
    relay: int
    method: str
    path: str
    headers: dict[str, str]
    body: str | None


Reply = (
    ProgressReply | ReadyReply | MatchesReply | AnswerReply | FailedReply | FollowStateReply
    | FollowNoticeReply | SignedRequest
)
ReplyType = Literal[
    "progress", "ready", "matches", "answer", "failed", "follow-state", "follow-notice", "signed-request"
]
REPLY_TYPES: tuple[ReplyType, ...] = get_args(ReplyType)
