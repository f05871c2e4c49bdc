"""What the Web Worker calls: JSON in, JSON out, one session's graph kept between calls.

The JavaScript glue (``site/static/matcher-worker.js``) mounts the picked files read-only
under ``/archive`` and calls these functions; it never sees a traceback: a problem the person
can act on comes back as ``{"error": notice}``, anything else as ``{"crash": text}`` for the
console, and the page shows a translated message for both.
"""

from __future__ import annotations

import gc
import json
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import N_
from ._compat import ResponseCache
from .archive import ArchiveReader, give_names
from .export import MASTODON_FOLLOW_LIMIT, MASTODON_SAFE_ROWS, bluesky_lists, mastodon_following_lists
from .follow.claim import ClaimStore, claim_record, mastodon_claim_post, shown
from .follow.client import PathClient
from .follow.page import (
    PageFollow,
    Relay,
    RelayTransport,
    mastodon_allowance,
    mastodon_begin,
    mastodon_finish,
    sign_in_failure,
)
from .graph import PersonGraph, known_from_json, known_to_json
from .matching import Match, Matcher, Settings, estimate_seconds, fetcher_for
from .net import PoliteClient
from .notices import ArchiveError, Notice
from .protocol import FollowConnections, MastodonConnection, Network
from .sources import open_source

PostProgress = Callable[[str, int, int], None]


@contextmanager
def without_collector_pauses() -> Iterator[None]:
    """No cyclic garbage collection while an archive is read: parsing 200,000 followers creates
    objects by the hundred thousand, none in cycles, and the collector's passes over them cost
    about a tenth of the reading time. It runs again, as before, once the reading is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def opened(paths: list[str]) -> Iterator[ArchiveReader]:
    """An archive reader over what was picked, closed afterwards."""
    source = open_source(Path(p) for p in paths)
    try:
        yield ArchiveReader(source)
    finally:
        source.close()


def names_in(paths: list[str], progress: PostProgress) -> dict[str, Any]:
    """Every handle and name the picked archive's posts give, keeping nothing: any worker can
    do this, so a second one reads the posts while the first reads the relations."""
    with without_collector_pauses(), opened(paths) as reader:
        return {"known": known_to_json(reader.collect_names(progress))}


def page_summary(graph: PersonGraph, complete: bool) -> dict[str, Any]:
    """The summary plus its warnings as notices, for the page to translate, and how long the
    Bluesky lookups may take (the page says so before a run longer than a minute)."""
    account = graph.account
    summary = graph.summary()
    return summary | {
        "claim_post": mastodon_claim_post(account.id, account.username) if account else "",
        "notices": [w.to_json() for w in graph.warnings],
        "complete": complete,
        "estimate_seconds": round(estimate_seconds(summary["named"])),  # named: the relations named
    }


class Session:
    """The person's graph for as long as the page is open; nothing is written anywhere."""

    def __init__(self) -> None:
        self.graph: PersonGraph | None = None
        self.unnamed: tuple[PersonGraph, bool] | None = None  # read, waiting for its names (and has posts)
        self.matcher: Matcher | None = None
        self.matches: list[Match] = []
        self.responses = ResponseCache()  # in memory; on the device only with the person's consent
        self.follow = PageFollow()

    def read(self, paths: list[str]) -> dict[str, Any]:
        """Read the relations of what was picked: the counts, before the names (``add_names``)."""
        with without_collector_pauses(), opened(paths) as reader:
            graph = reader.read_relations()
            self.unnamed = graph, bool(reader.post_files())
        self.graph = None
        return page_summary(graph, complete=False)

    def add_names(self, known: dict[str, Any]) -> dict[str, Any]:
        """Complete the graph just read with the names ``read_names`` found: the complete summary."""
        if self.unnamed is None:
            raise ArchiveError(N_("There is nothing to keep yet: pick your archive first."))
        graph, has_posts = self.unnamed
        give_names(graph, known_from_json(known), has_posts)
        self.graph, self.unnamed = graph, None
        return page_summary(graph, complete=True)

    def restore(self, saved: str) -> dict[str, Any]:
        try:
            self.graph = PersonGraph.from_json(saved)
        except (ValueError, KeyError, TypeError, IndexError):
            raise ArchiveError(
                N_("What was kept on this device cannot be read any more. Pick your archive again.")
            ) from None
        return page_summary(self.graph, complete=True)

    def saved_form(self) -> dict[str, Any]:
        if self.graph is None:
            raise ArchiveError(N_("There is nothing to keep yet: pick your archive first."))
        return {"saved": self.graph.to_json()}

    def forget(self) -> dict[str, Any]:
        """Drop everything; an answer still on its way after this is kept nowhere."""
        self.cancel()
        self.follow.forget()
        self.responses.close()
        self.responses = ResponseCache()
        self.graph, self.unnamed, self.matches = None, None, []
        return {"forgotten": True}

    async def match(
        self, settings: dict[str, Any], progress: PostProgress, publish: Callable[[str], None]
    ) -> dict[str, Any]:
        """Find the graph's people; matches are published as they come, the report returned at the end."""
        if self.graph is None:
            raise ArchiveError(N_("There is nothing to keep yet: pick your archive first."))
        parsed = Settings.from_json(settings)
        if parsed.keep_responses:
            await self.responses.keep_on_device()
        self.matcher = Matcher(parsed, PoliteClient(fetcher=fetcher_for(parsed), cache=self.responses))

        def publish_matches(matches: list[Match]) -> None:
            publish(json.dumps([m.to_json() for m in matches], ensure_ascii=False))

        report = await self.matcher.run(self.graph, progress, publish_matches)
        self.matches = report.matches
        self.matcher = None
        return report.to_json()

    def cancel(self) -> dict[str, Any]:
        if self.matcher is not None:
            self.matcher.cancel()
        return {"cancelling": self.matcher is not None}

    def export(self, network: str, keys: list[list[str]], allowance: int | None = None) -> dict[str, Any]:
        """The download files for the selected matches of one network, with warnings on limits.
        ``allowance``: how many more the signed-in Mastodon account may follow (None: not signed in)."""
        wanted = {tuple(key) for key in keys}
        chosen = [m for m in self.matches if m.key in wanted and m.network == network]
        warnings = []
        if network == "mastodon":
            if allowance is not None and len(chosen) > allowance:
                warnings.append(Notice(
                    N_("Your Mastodon account may follow %(allowed)s more people, so the file holds the first "
                       "%(allowed)s of the %(count)s you selected: Mastodon would refuse a longer list."),
                    {"allowed": allowance, "count": len(chosen)},
                ))
                chosen = chosen[:allowance]
            elif allowance is None and len(chosen) > MASTODON_FOLLOW_LIMIT:
                warnings.append(
                    Notice(
                        N_("Mastodon lets an account follow about %(limit)s accounts; you selected %(count)s."),
                        {"limit": MASTODON_FOLLOW_LIMIT, "count": len(chosen)},
                    )
                )
            files = mastodon_following_lists(chosen)
            if len(files) > 1:
                warnings.append(
                    Notice(
                        N_(
                            "Mastodon refuses a whole import that lists more accounts than yours may still "
                            "follow, so the list is split into %(files)s files of at most %(rows)s. Import "
                            "one, confirm it, and wait until it is done before the next."
                        ),
                        {"rows": MASTODON_SAFE_ROWS, "files": len(files)},
                    )
                )
        else:
            files = bluesky_lists(chosen)
        return {
            "files": [{"name": f.name, "mime": f.mime, "text": f.text} for f in files],
            "warnings": [w.to_json() for w in warnings],
        }


    def follow_plan(self, keys: list[list[str]], networks: list[Network], saved: str | None) -> dict[str, Any]:
        """Queue the selected matches of the signed-in networks (after what was kept) and say the plan."""
        notices = []
        if saved and self.follow.runner is None:
            try:
                self.follow.restore(saved)
            except ArchiveError as error:
                notices.append(error.notice.to_json())
        wanted = {tuple(key) for key in keys}
        added = self.follow.add((m for m in self.matches if m.key in wanted), networks)
        return self.follow.plan(networks) | {"added": added, "notices": notices}


SESSION = Session()
FOLLOW_FAILED = N_("Something went wrong while following. Nothing is lost: start again to go on.")
SIGN_IN_FAILED = N_("Signing in did not work. Please try again.")
FINDABLE_FAILED = N_("Something went wrong; your claim is as it was. Please try again.")


def _failure(
    error: BaseException, unexpected: str = N_("Something went wrong while reading your archive.")
) -> dict[str, Any]:
    """What the page shows for a failure: a notice, plus the traceback for the console if unexpected."""
    if isinstance(error, ArchiveError):
        return {"error": error.notice.to_json()}
    if isinstance(error, MemoryError):
        return {"error": Notice(N_("Your device ran out of memory while reading the archive.")).to_json()}
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {"error": Notice(unexpected).to_json(), "crash": trace}


def _answer(work: Callable[[], dict[str, Any]]) -> str:
    """Run one request; turn every failure into a message the page can show."""
    try:
        result = work()
    except Exception as error:  # the page must never show a traceback; the console gets it
        result = _failure(error)
    return json.dumps(result, ensure_ascii=False)


def read(paths_json: str) -> str:
    return _answer(lambda: SESSION.read(json.loads(paths_json)))


def read_names(paths_json: str, progress: PostProgress) -> str:
    return _answer(lambda: names_in(json.loads(paths_json), progress))


def add_names(known_json: str) -> str:
    return _answer(lambda: SESSION.add_names(json.loads(known_json)))


def restore(saved: str) -> str:
    return _answer(lambda: SESSION.restore(saved))


def saved_form() -> str:
    return _answer(SESSION.saved_form)


def forget() -> str:
    return _answer(SESSION.forget)


async def match(settings_json: str, progress: PostProgress, publish: Callable[[str], None]) -> str:
    try:
        result = await SESSION.match(json.loads(settings_json), progress, publish)
    except Exception as error:  # as in _answer
        result = _failure(error)
    return json.dumps(result, ensure_ascii=False)


def cancel() -> str:
    return _answer(SESSION.cancel)


async def export(network: str, keys_json: str, mastodon_json: str = "null") -> str:
    """The files to download; a signed-in Mastodon account's real allowance first asked of its server."""
    connection: MastodonConnection | None = json.loads(mastodon_json)
    allowance = await mastodon_allowance(connection) if network == "mastodon" and connection else None
    return _answer(lambda: SESSION.export(network, json.loads(keys_json), allowance))


def follow_plan(request_json: str) -> str:
    request = json.loads(request_json)
    return _answer(lambda: SESSION.follow_plan(request["keys"], request["networks"], request.get("saved")))


async def follow_start(
    connections_json: str, relay: Relay, post_state: Callable[[str], None], post_notice: Callable[[str], None]
) -> str:
    """Run the follow queue; every step's state and every notice go to the page as they come."""
    connections: FollowConnections = json.loads(connections_json)
    try:
        result = await SESSION.follow.run(
            connections, relay,
            on_state=lambda state: post_state(json.dumps(state, ensure_ascii=False)),
            on_notice=lambda notice: post_notice(json.dumps(notice.to_json(), ensure_ascii=False)),
        )
    except Exception as error:  # as in _answer
        result = sign_in_failure(error) or _failure(error, FOLLOW_FAILED)
    return json.dumps(result, ensure_ascii=False)


def follow_control(action: str) -> str:
    controls = {"follow-pause": SESSION.follow.pause, "follow-resume": SESSION.follow.resume,
                "follow-cancel": SESSION.follow.cancel}
    return _answer(controls[action])


async def mastodon_sign_in(step: str, request_json: str) -> str:
    """``mastodon-begin`` (the app, the consent page's address) or ``mastodon-finish`` (the token)."""
    try:
        request = json.loads(request_json)
        result = await (mastodon_begin(request) if step == "mastodon-begin" else mastodon_finish(request))
    except Exception as error:  # as in _answer
        result = sign_in_failure(error) or _failure(error, SIGN_IN_FAILED)
    return json.dumps(result, ensure_ascii=False)


async def claim(action: str, request_json: str, relay: Relay) -> str:
    """``claim-state``, ``claim-publish`` or ``claim-withdraw``: the person's opt-in claim, written
    with their Bluesky session into their own repository; the X account comes from the archive."""
    try:
        request = json.loads(request_json)
        account = SESSION.graph.account if SESSION.graph is not None else None
        if account is None:
            raise ArchiveError(N_("Your archive does not name your X account, so there is nothing to publish."))
        store = ClaimStore(PathClient(RelayTransport(relay)), str(request.get("did", "")),
                           str(request.get("collection", "")))
        if action == "claim-publish":
            record = claim_record(store.collection, account.id, account.username, str(request.get("mastodon") or ""))
            result = shown(await store.publish(record))
        elif action == "claim-withdraw":
            await store.withdraw(account.id)
            result = shown(None)
        else:
            result = shown(await store.read(account.id))
        result["x_account"] = {"id": account.id, "username": account.username}
    except Exception as error:  # as in _answer
        result = _failure(error, FINDABLE_FAILED)
    return json.dumps(result, ensure_ascii=False)
