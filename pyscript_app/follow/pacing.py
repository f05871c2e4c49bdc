"""Pacing like a careful person, not a bot: when the next batch may go, and how big it may be.

Bluesky allows 5,000 write points an hour and 35,000 a day per account; a follow costs 3 points
(1,666 follows an hour, 11,666 a day), and accounts that follow hundreds of people at once have
been labelled as spam. Passerelle stays well below: **50 follows every 5 minutes** (600 an hour:
36 % of the hourly points) and **at most 2,500 in any 24 hours** (21 % of the daily points), in
one ``applyWrites`` call per batch (the server takes at most 200).

Mastodon allows 400 new follows per account per 24 hours, in a fixed window that starts at
midnight UTC (``RateLimiter``: ``now // period``), and 300 API calls per 5 minutes per token:
**one follow every 3 seconds, at most 400 in a window**; what is left waits for the next window.

On top of that the server's own word always wins: a 429 blocks until its reset time, and the
``RateLimit-Remaining``/``X-RateLimit-Remaining`` headers shrink the next batches. The plan shown
before starting is computed by ``schedule``, i.e. by the very ``next_batch`` the run obeys.
"""

from __future__ import annotations

import copy
import email.utils
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from .. import N_
from ..notices import Notice
from .model import NetworkQueue, PacerState

HOUR, DAY = 3600.0, 86400.0
MAX_WRITES_PER_CALL = 200  # com.atproto.repo.applyWrites refuses more ("Too many writes. Max: 200")


@dataclass(frozen=True)
class Window:
    """At most ``limit`` follows in ``seconds``: a sliding window, or a fixed one aligned on the epoch."""

    limit: int
    seconds: float
    fixed: bool = False


@dataclass(frozen=True)
class Pace:
    """Batches of at most ``batch`` follows, one every ``gap`` seconds, within every window."""

    batch: int
    gap: float
    windows: tuple[Window, ...]
    cost: int = 1  # the server's points per follow (Bluesky: 3)

    def __post_init__(self) -> None:
        if not 1 <= self.batch <= MAX_WRITES_PER_CALL or self.gap < 0:
            raise ValueError("a batch is 1 to 200 follows")


BLUESKY_PACE = Pace(batch=50, gap=300.0, windows=(Window(600, HOUR), Window(2_500, DAY)), cost=3)
MASTODON_PACE = Pace(batch=1, gap=3.0, windows=(Window(400, DAY, fixed=True),))


def _window_wait(window: Window, sent: list[tuple[float, int]], at: float) -> tuple[int, float]:
    """(room left in the window at ``at``, the time when there is room again if there is none)."""
    if window.fixed:
        start = (at // window.seconds) * window.seconds
        used = sum(count for when, count in sent if when >= start)
        return window.limit - used, start + window.seconds
    recent = [(when, count) for when, count in sent if at - window.seconds < when <= at]
    used = sum(count for _, count in recent)
    freed_at = at
    for when, count in sorted(recent):
        if used < window.limit:
            break
        used -= count
        freed_at = when + window.seconds
    return window.limit - sum(count for _, count in recent), freed_at


def next_batch(pace: Pace, state: PacerState, now: float, pending: int) -> tuple[float, int]:
    """When the next batch may start (never before ``now``) and how many follows it may hold."""
    at = max(now, state.blocked_until)
    if pending <= 0:
        return at, 0
    if state.sent:
        at = max(at, state.sent[-1][0] + pace.gap)
    for _ in range(10_000):
        size = min(pace.batch, pending)
        later = at
        for window in pace.windows:
            room, freed_at = _window_wait(window, state.sent, at)
            if room <= 0:
                later = max(later, freed_at)
            size = min(size, room)
        if state.room is not None and at < state.room_reset:
            if state.room <= 0:
                later = max(later, state.room_reset)
            size = min(size, state.room)
        if later == at and size > 0:
            return at, size
        at = max(later, at + 1.0)
    return at, 0  # pragma: no cover - windows always open again


def record_batch(pace: Pace, state: PacerState, at: float, size: int) -> None:
    """Remember a batch that went (forgetting those older than every window)."""
    state.sent.append((at, size))
    horizon = at - max([w.seconds for w in pace.windows] + [pace.gap])
    state.sent[:] = [(when, count) for when, count in state.sent if when > horizon]
    if state.room is not None and at < state.room_reset:
        state.room -= size


def _reset_time(value: str, now: float) -> float | None:
    """A reset time as epoch seconds: epoch seconds, seconds from now, an ISO or HTTP date."""
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            try:
                return email.utils.parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError):
                return None
    return number if number > 10**9 else now + max(number, 0.0)


def _policy_window(policy: str) -> float | None:
    """The window of a ``RateLimit-Policy`` such as ``5000;w=3600`` (None when there is none)."""
    for part in policy.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name == "w" and value.isdigit():
            return float(value)
    return None


def observe(pace: Pace, state: PacerState, headers: dict[str, str], now: float) -> None:
    """Take the server's rate-limit headers into account (``RateLimit-*``, ``X-RateLimit-*``).

    A PDS names the tightest of its limits: the account's write points (``5000;w=3600``,
    ``35000;w=86400``: ``cost`` points a follow) or a count of calls (``3000;w=300``: one batch a
    call). Mastodon's ``X-RateLimit-*`` count follows (or calls: one follow each)."""
    remaining = (headers.get("ratelimit-remaining") or headers.get("x-ratelimit-remaining") or "").strip()
    reset = _reset_time(headers.get("ratelimit-reset") or headers.get("x-ratelimit-reset") or "", now)
    if not remaining.isdigit() or reset is None or reset <= now:
        return
    window = _policy_window(headers.get("ratelimit-policy", ""))
    reset = min(reset, now + 2 * DAY)
    if window is not None and window < HOUR:  # calls, not points: only an exhausted limit matters
        if int(remaining) == 0:
            state.blocked_until = max(state.blocked_until, reset)
        return
    state.room, state.room_reset = int(remaining) // pace.cost, reset


def rate_limited_until(headers: dict[str, str], now: float, fallback: float = 60.0) -> float:
    """When to try again after a 429: the server's reset time (capped at two days), else a minute."""
    for name in ("retry-after", "ratelimit-reset", "x-ratelimit-reset"):
        when = _reset_time(headers.get(name, ""), now)
        if when is not None:
            return min(max(when, now + 1.0), now + 2 * DAY)
    return now + fallback


def schedule(pace: Pace, state: PacerState, now: float, count: int) -> list[tuple[float, int]]:
    """The batches that ``count`` follows would take from ``now``: (start time, size), as the run does."""
    simulated = copy.deepcopy(state)
    batches: list[tuple[float, int]] = []
    at = now
    while count > 0:
        at, size = next_batch(pace, simulated, at, count)
        if size <= 0:  # pragma: no cover - next_batch always finds room
            break
        record_batch(pace, simulated, at, size)
        batches.append((at, size))
        count -= size
    return batches


def busiest(batches: list[tuple[float, int]], seconds: float) -> int:
    """The most follows in any ``seconds`` of a schedule (e.g. the busiest hour)."""
    best = total = first = 0
    for when, size in batches:  # a schedule is in time order: a sliding window over it
        total += size
        while batches[first][0] <= when - seconds:
            total -= batches[first][1]
            first += 1
        best = max(best, total)
    return best


NETWORK_NAMES = {"bluesky": "Bluesky", "mastodon": "Mastodon"}


def duration_notice(network: str, count: int, seconds: float, per_day: int, by_days: bool = False) -> Notice:
    """'Bluesky: 1,240 people to follow, about 2 hours.' as a translatable notice."""
    params: dict[str, object] = {"network": NETWORK_NAMES.get(network, network), "count": count}
    if count == 0:
        return Notice(N_("%(network)s: nobody left to follow."), params)
    if seconds < 60 and not by_days:
        return Notice(N_("%(network)s: %(count)s people to follow, in under a minute."), params)
    if seconds < 90 * 60 and not by_days:
        return Notice(N_("%(network)s: %(count)s people to follow, about %(minutes)s minutes."),
                      params | {"minutes": round(seconds / 60)})
    if seconds < 36 * HOUR and not by_days:
        return Notice(N_("%(network)s: %(count)s people to follow, about %(hours)s hours."),
                      params | {"hours": round(seconds / HOUR)})
    days = math.ceil(count / per_day) if per_day > 0 else math.ceil(seconds / DAY)  # the days it runs on
    return Notice(N_("%(network)s: %(count)s people to follow, about %(days)s days, %(per_day)s a day."),
                  params | {"days": max(2, days), "per_day": per_day})


@dataclass(frozen=True)
class NetworkPlan:
    """What a run of one network would do from now: counts, the batches, the words for it."""

    network: str
    to_follow: int
    over_limit: int  # Mastodon: beyond what the account may still follow
    done: dict[str, int]
    batches: list[tuple[float, int]]
    seconds: float
    notices: list[Notice]

    def to_json(self) -> dict[str, object]:
        return {"network": self.network, "to_follow": self.to_follow, "over_limit": self.over_limit,
                "counts": dict(self.done), "batches": len(self.batches), "seconds": round(self.seconds),
                "ends_at": self.batches[-1][0] if self.batches else None,
                "notices": [n.to_json() for n in self.notices]}


def plan_network(queue: NetworkQueue, pace: Pace, now: float) -> NetworkPlan:
    """The plan for one network's pending tasks (known allowance applied), by the run's own pacing."""
    pending = len(queue.pending())
    over = max(0, pending - queue.allowance) if queue.allowance is not None else 0
    batches = schedule(pace, queue.pacer, now, pending - over)
    seconds = batches[-1][0] - now if batches else 0.0
    daily_limits = [w.limit for w in pace.windows if w.seconds >= DAY]
    # More than a day's allowance is said in days whatever the hour: a Mastodon plan of 1,000 is
    # "2 days, 400 a day" at midnight as at noon, although the last batch is 48 or 36 hours away.
    by_days = seconds >= 36 * HOUR or (bool(daily_limits) and pending - over > min(daily_limits))
    per_day = min([*daily_limits, busiest(batches, DAY)]) if by_days else pending - over
    notices = [duration_notice(queue.network, pending - over, seconds, per_day, by_days)]
    if over:
        notices.append(Notice(
            N_("Mastodon lets this account follow %(allowed)s more people: %(count)s cannot be followed."),
            {"allowed": queue.allowance, "count": over},
        ))
    return NetworkPlan(queue.network, pending - over, over, queue.counts(), batches, seconds, notices)


def follow_limit_notice(count: int) -> Notice:
    return Notice(N_("Mastodon does not let this account follow more people: %(count)s could not be followed."),
                  {"count": count})


def clock_text(moment: float) -> str:
    """A time for the English text of a notice (the page formats ``at`` itself)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")
