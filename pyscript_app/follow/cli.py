"""``python -m pyscript_app follow RESULTS.json --bluesky HANDLE --mastodon ADDRESS``: the page's follow
step from a terminal, with the same planner and pacing.

Secrets come from the environment, never from the command line (which other users can see):
``PASSERELLE_BLUESKY_APP_PASSWORD`` (an app password: Settings → Privacy and security → App
passwords) and ``PASSERELLE_MASTODON_TOKEN`` (an access token with ``read:accounts read:follows
read:search write:follows``: Preferences → Development → New application).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ..config_file import passerelle_table
from ..notices import ArchiveError, Notice
from ..protocol import Network
from . import FollowSettings
from .atproto_session import app_password_session, resolve_pds
from .bluesky import BlueskyFollower
from .client import PathClient
from .mastodon import MastodonFollower
from .mastodon_oauth import MastodonSignInError, parse_address, server_url
from .model import FollowQueue
from .pacing import BLUESKY_PACE, MASTODON_PACE, plan_network
from .runner import Follower, FollowRunner

BLUESKY_PASSWORD_VARIABLE = "PASSERELLE_BLUESKY_APP_PASSWORD"
MASTODON_TOKEN_VARIABLE = "PASSERELLE_MASTODON_TOKEN"
CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2, "": 1}
MAX_RESULTS_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Selected:
    """A match from RESULTS.json, as much of it as following needs."""

    network: str
    account: str
    did: str
    x_id: str


def read_results(path: Path, min_confidence: str) -> list[Selected]:
    """The matches of ``match --json`` output (untrusted: checked field by field)."""
    try:
        if path.stat().st_size > MAX_RESULTS_BYTES:
            raise ArchiveError("%(file)s is too large.", file=str(path))
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ArchiveError("%(file)s cannot be read: %(reason)s", file=str(path), reason=str(error)) from None
    rows = data.get("matches") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ArchiveError("%(file)s is not what `match --json` prints.", file=str(path))
    selected = []
    for row in rows:
        if not isinstance(row, dict) or row.get("network") not in ("bluesky", "mastodon"):
            continue
        fields = {k: str(row[k]) if isinstance(row.get(k), str) else "" for k in ("account", "did", "x_id")}
        if CONFIDENCE_RANK.get(str(row.get("confidence") or ""), 2) <= CONFIDENCE_RANK[min_confidence]:
            selected.append(Selected(str(row["network"]), fields["account"], fields["did"], fields["x_id"]))
    return selected


def read_config(path: Path | None) -> tuple[FollowSettings, dict[str, str]]:
    """Follow settings and ``mastodon_instance_urls`` from a TOML file (``[tool.passerelle]`` or top level)."""
    if path is None:
        return FollowSettings(), {}
    table = passerelle_table(path)
    urls = {str(k).lower(): str(v).rstrip("/") for k, v in (table.get("mastodon_instance_urls") or {}).items()}
    return FollowSettings.from_json(table), urls


def load_queue(path: Path | None) -> FollowQueue:
    if path is None or not path.exists():
        return FollowQueue()
    try:
        return FollowQueue.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise ArchiveError(
            "%(file)s is not a follow state file: %(reason)s", file=str(path), reason=str(error)
        ) from None


def save_queue(path: Path | None, queue: FollowQueue) -> None:
    """Write the state file whole, atomically: a crash leaves the previous one."""
    if path is None:
        return
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(queue.to_json()), encoding="utf-8")
    partial.replace(path)


def secret(variable: str, what: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ArchiveError("Set %(variable)s to %(what)s.", variable=variable, what=what)
    return value


async def connect(args: argparse.Namespace) -> dict[Network, Follower]:
    """Sign in to each network asked for; a refusal is said and stops the command."""
    settings, instance_urls = read_config(args.config)
    followers: dict[Network, Follower] = {}
    try:
        if args.bluesky:
            password = secret(BLUESKY_PASSWORD_VARIABLE, f"an app password of {args.bluesky}")
            pds = args.pds
            if not pds:
                _, pds = await resolve_pds(args.bluesky, args.handle_resolver or settings.bluesky_handle_resolver,
                                           args.plc_directory or settings.plc_directory_url)
            followers["bluesky"] = BlueskyFollower(await app_password_session(pds, args.bluesky.lstrip("@"), password))
        if args.mastodon:
            token = secret(MASTODON_TOKEN_VARIABLE, f"an access token of {args.mastodon}")
            _, domain = parse_address(args.mastodon)
            base_url = server_url(domain, instance_urls)
            followers["mastodon"] = MastodonFollower(PathClient(base_url=base_url, token=token), domain)
    except MastodonSignInError as error:  # the Bluesky sign-in error has the same shape
        raise ArchiveError(error.notice.message, **error.notice.params) from None
    return followers


def plan_json(queue: FollowQueue, networks: list[Network], now: float) -> list[dict[str, Any]]:
    paces = {"bluesky": BLUESKY_PACE, "mastodon": MASTODON_PACE}
    return [plan_network(queue.queue(n), paces[n], now).to_json() for n in networks]


def say(notice: Notice, quiet: bool) -> None:
    if not quiet:
        print(notice.text, file=sys.stderr)


def command_follow(args: argparse.Namespace) -> int:
    if not args.bluesky and not args.mastodon:
        raise ArchiveError("Say which account follows: --bluesky HANDLE and/or --mastodon ADDRESS.")
    queue = load_queue(args.state)
    queue.add(read_results(args.results, args.min_confidence))
    networks = [cast(Network, n) for n, wanted in (("bluesky", args.bluesky), ("mastodon", args.mastodon)) if wanted]
    for network in [n for n in list(queue.networks) if n not in networks]:
        del queue.networks[network]  # only the networks signed in to are run (and kept in this state file)
    if args.dry_run:
        plans = plan_json(queue, networks, FollowRunner(queue, {}).waiter.clock())
        if args.json:
            print(json.dumps({"plan": plans}, ensure_ascii=False))
        else:
            for plan in plans:
                for notice in plan["notices"]:
                    print(Notice.from_json(notice).text)
        return 0
    return asyncio.run(_follow(args, queue))


async def _follow(args: argparse.Namespace, queue: FollowQueue) -> int:
    followers = await connect(args)
    runner = FollowRunner(
        queue, followers, on_change=lambda q: save_queue(args.state, q), on_notice=lambda n: say(n, args.json),
        max_wait=args.wait_up_to,
    )
    for plan in runner.plan():
        for notice in plan.notices:
            say(notice, args.json)
    result = await runner.run()
    save_queue(args.state, queue)
    if args.json:
        print(json.dumps({"stops": result.stops, "notices": [n.to_json() for n in result.notices],
                          "counts": {n: q.counts() for n, q in queue.networks.items()},
                          "tasks": queue.task_states()}, ensure_ascii=False))
    else:
        for notice in result.notices:
            print(notice.text)
    return 0 if all(stop in ("done", "waiting") for stop in result.stops.values()) else 1


def add_parser(commands: Any) -> None:
    follow = commands.add_parser("follow", help="follow the matches of `match --json` on Bluesky and Mastodon")
    follow.add_argument("results", type=Path, help="what `python -m pyscript_app match … --json` printed")
    follow.add_argument("--bluesky", metavar="HANDLE",
                        help=f"your handle; app password in ${BLUESKY_PASSWORD_VARIABLE}")
    follow.add_argument("--pds", metavar="URL", help="your PDS (else found from the handle)")
    follow.add_argument("--handle-resolver", metavar="URL", help="resolves the handle (config bluesky_handle_resolver)")
    follow.add_argument("--plc-directory", metavar="URL", help="DID documents (config plc_directory_url)")
    follow.add_argument("--mastodon", metavar="ADDRESS", help=f"you@server; access token in ${MASTODON_TOKEN_VARIABLE}")
    follow.add_argument("--config", type=Path, help="TOML: bluesky_handle_resolver, plc_directory_url, "
                                                    "mastodon_instance_urls")
    follow.add_argument("--state", type=Path, help="keep the queue here and go on from it (created if missing)")
    follow.add_argument("--min-confidence", choices=("high", "medium", "low"), default="low",
                        help="follow only matches at least this sure (default: all)")
    follow.add_argument("--wait-up-to", type=float, default=3600.0, metavar="SECONDS",
                        help="stop (to be run again later) when the next batch is further away (default 3600; "
                             "inf: wait)")
    follow.add_argument("--dry-run", action="store_true", help="print the plan; ask no server")
    follow.add_argument("--json", action="store_true", help="print one JSON object")
    follow.set_defaults(run=command_follow)


__all__ = ["add_parser"]
