"""``directory harvest``: collect the opt-in claim records people wrote into their own atproto
repositories and turn them into the claim lines ``directory compile`` reads.

Where the records are found:

- ``--relay URL``: ``com.atproto.sync.listReposByCollection`` names every repository holding the
  claim collection; each repository's PDS comes from its DID document (did:plc from
  ``plc_directory_url``, did:web from ``https://<host>/.well-known/did.json``).
- ``--pds URL``: ``com.atproto.sync.listRepos`` of one PDS (small deployments, tests).
- ``--mastodon-tag URL``: a (large) Mastodon server's public timeline of ``#PasserelleMoved``,
  for people with a Mastodon account only: each post of the documented form
  (``pyscript_app.follow.claim.mastodon_claim_post``) is a claim credited to the post's author.

Then ``com.atproto.repo.listRecords`` of the collection reads each repository's claims. Every
record is credited to the repository that holds it (its DID becomes the claim's ``bluesky``),
whatever its own fields say; a record whose key is not its ``xId`` is skipped and counted.

Incremental and resumable: the state file keeps, per repository, its PDS, the ``rev`` of its latest
commit and its claims. A repository whose ``rev`` has not changed is not read again (``listRepos``
gives the revs of a whole page at once; through a relay one ``getLatestCommit`` per repository
replaces the DID lookup and the listing). The state is written atomically after every page of
repositories, with the listing cursor, so a crashed run goes on where it stopped. Claims are only
dropped on evidence: the repository's records are gone, the repository is gone or deactivated,
or a complete listing no longer names it. A server that keeps failing is given up for the run and
its repositories keep their previous claims.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from pyscript_app._compat import Response, ResponseCache, fetch
from pyscript_app.directory import DATE, HANDLE, MASTODON, X_ID, ClaimError, parse_claim
from pyscript_app.follow.claim import MASTODON_CLAIM_POST, MASTODON_CLAIM_TAG
from pyscript_app.net import PoliteClient, SourceError

STATE_FORMAT = "passerelle-harvest-state"
STATE_VERSION = 1
PAGE_LIMIT = 1000  # repositories per listRepos page (the maximum the PDS allows)
RELAY_PAGE_LIMIT = 2000  # DIDs per listReposByCollection page
RECORDS_LIMIT = 100  # records per listRecords page
MAX_RECORD_PAGES = 10  # nobody has a thousand X accounts: the rest of a repository is not read
MAX_ANSWER_BYTES = 2 * 1024 * 1024
HOST_FAILURES_TO_GIVE_UP = 3  # repositories of one server failing in a row
# Error names of an XRPC answer saying the repository is not there to be read any more.
GONE_ERRORS = {"RepoNotFound", "RepoDeactivated", "RepoTakendown", "RepoSuspended"}
DID = re.compile(r"^did:(plc:[a-z2-7]{24}|web:[A-Za-z0-9.:%-]{1,253})\Z")
LOOPBACK = {"localhost", "127.0.0.1", "[::1]"}


class HarvestError(Exception):
    """The harvest cannot start or its listing failed for good (nothing was dropped)."""


# --- records to claims ----------------------------------------------------------------------------


def claim_line(did: str, record: Any, collection: str, today: str) -> dict[str, str] | str:
    """The claim line of one listRecords entry credited to ``did``, or the reason it is skipped.

    The record's ``mastodon`` address is kept as ``mastodon_unverified``: nothing proves the
    Mastodon account is theirs, so ``directory compile`` and the matcher do not read it."""
    if not isinstance(record, dict) or not isinstance(record.get("uri"), str):
        return "not a record"
    value = record.get("value")
    if not isinstance(value, dict):
        return "not a record"
    parts = record["uri"].removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != collection:
        return "not in the collection"
    x_id = value.get("xId")
    if not isinstance(x_id, str) or not X_ID.match(x_id) or len(x_id) > 20:
        return "xId is not an X account id"
    if parts[2] != x_id:
        return "record key is not the xId"
    line: dict[str, str] = {"x_id": x_id, "bluesky": did}
    handle = value.get("xHandle")
    if isinstance(handle, str) and HANDLE.match(handle.lstrip("@")) and len(handle.lstrip("@")) <= 15:
        line["x_handle"] = handle.lstrip("@")
    created = value.get("createdAt")
    day = created[:10] if isinstance(created, str) else ""
    line["updated"] = day if DATE.match(day) and day <= today else today
    mastodon = value.get("mastodon")
    if isinstance(mastodon, str) and len(mastodon) <= 320 and MASTODON.match(mastodon.strip().lower()):
        line["mastodon_unverified"] = mastodon.strip().lower().lstrip("@")
    try:
        parse_claim(line)
    except ClaimError as error:
        return str(error)
    return line


MAX_TAG_PAGES = 500  # 20,000 posts of a tag on one server: beyond that, a later run reads the rest
TAGS = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)
MARKUP = re.compile(r"<[^>]+>")


def status_text(content: str) -> str:
    """A status's HTML as the plain text its author typed (Mastodon wraps links and hashtags)."""
    return " ".join(html.unescape(MARKUP.sub("", TAGS.sub(" ", content))).split())


def mastodon_claim(status: Any, today: str) -> dict[str, str] | str:
    """The claim of one public post of the documented form, credited to its author's account;
    otherwise the reason it is skipped."""
    if not isinstance(status, dict) or status.get("visibility", "public") != "public":
        return "not a public post"
    found = MASTODON_CLAIM_POST.search(status_text(str(status.get("content") or "")[:20_000]))
    if found is None:
        return "post not of the documented form"
    account = status.get("account")
    if not isinstance(account, dict):
        account = {}
    acct = str(account.get("acct") or "").lstrip("@").lower()
    if "@" not in acct:  # a local account: its server is the one its profile lives on
        host = urlsplit(str(account.get("url") or "")).hostname or ""
        acct = f"{acct}@{host}" if host else ""
    if not MASTODON.match(acct):
        return "post by an account without a valid address"
    created = str(status.get("created_at") or "")[:10]
    return {"x_id": found["x_id"], "x_handle": found["handle"], "mastodon": acct,
            "updated": created if DATE.match(created) else today}


# --- state ----------------------------------------------------------------------------------------


@dataclass
class Repo:
    """What is known of one repository: where it lives, its latest rev, its claims."""

    source: str
    pds: str = ""
    rev: str = ""
    seen: str = ""  # the id of the last run whose listing named it
    claims: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "pds": self.pds, "rev": self.rev, "seen": self.seen, "claims": self.claims}


@dataclass
class State:
    repos: dict[str, Repo] = field(default_factory=dict)
    runs: dict[str, dict[str, str]] = field(default_factory=dict)  # source -> {"id", "cursor"} while unfinished

    @classmethod
    def load(cls, path: Path | None) -> State:
        if path is None or not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as error:
            raise HarvestError(f"{path}: cannot read the harvest state: {error}") from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT or data.get("version") != STATE_VERSION:
            raise HarvestError(f"{path}: not a harvest state file")
        repos = {
            did: Repo(str(r["source"]), str(r["pds"]), str(r["rev"]), str(r["seen"]), list(r["claims"]))
            for did, r in data.get("repos", {}).items()
        }
        return cls(repos, dict(data.get("runs", {})))

    def save(self, path: Path | None) -> None:
        if path is not None:
            data = {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "runs": self.runs,
                "repos": {did: repo.to_json() for did, repo in self.repos.items()},
            }
            write_atomically(path, json.dumps(data, separators=(",", ":")))

    def claim_lines(self) -> list[str]:
        lines = {json.dumps(c, sort_keys=True, ensure_ascii=False) for r in self.repos.values() for c in r.claims}
        return sorted(lines)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- the network ----------------------------------------------------------------------------------


class NoCache(ResponseCache):
    """The harvest reads each answer once: keeping them would only grow the memory."""

    async def put(self, url: str, response: Response) -> None:
        return None


async def xrpc_fetch(url: str, timeout: float, max_bytes: int) -> Response:
    """``fetch``, with an XRPC answer "this repository is gone" turned into 410 (read as None)."""
    response = await fetch(url, timeout, max_bytes)
    if response.status == 400:
        try:
            error = json.loads(response.body).get("error")
        except (ValueError, AttributeError, RecursionError):
            error = None
        if error in GONE_ERRORS:
            return Response(410, b"", response.headers)
    return response


def allowed_endpoint(url: str) -> bool:
    """An https service, or plain http on loopback (tests, a PDS on the same machine)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and (parts.hostname in LOOPBACK))


def xrpc_url(base: str, nsid: str, **params: str | int) -> str:
    return f"{base.rstrip('/')}/xrpc/{nsid}?{urlencode({k: v for k, v in params.items() if v != ''})}"


def pds_of(document: Any, did: str) -> str | None:
    """The ``#atproto_pds`` endpoint of a DID document that is about ``did``."""
    if not isinstance(document, dict) or document.get("id") != did or not isinstance(document.get("service"), list):
        return None
    for service in document["service"]:
        if (
            isinstance(service, dict)
            and str(service.get("id", "")).endswith("#atproto_pds")
            and service.get("type") == "AtprotoPersonalDataServer"
            and isinstance(service.get("serviceEndpoint"), str)
            and allowed_endpoint(service["serviceEndpoint"])
        ):
            return str(service["serviceEndpoint"]).rstrip("/")
    return None


# --- the harvest ----------------------------------------------------------------------------------


@dataclass
class Report:
    repos_listed: int = 0
    repos_read: int = 0
    repos_unchanged: int = 0
    repos_dropped: int = 0
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    given_up: dict[str, str] = field(default_factory=dict)  # host -> why
    kept_unread: int = 0  # repositories whose server failed: their previous claims kept
    failed_sources: list[str] = field(default_factory=list)


class Harvest:
    def __init__(
        self,
        state: State,
        collection: str,
        plc_url: str,
        client: PoliteClient,
        state_path: Path | None = None,
        progress: Callable[[str], None] | None = None,
        today: str | None = None,
    ) -> None:
        self.state = state
        self.collection = collection
        self.plc_url = plc_url.rstrip("/")
        self.client = client
        self.state_path = state_path
        self.progress = progress
        self.today = today or datetime.now(UTC).date().isoformat()
        self.report = Report()
        self.failures_in_a_row: Counter[str] = Counter()
        self.last_progress = 0.0

    # -- bookkeeping

    def _host(self, url: str) -> str:
        return urlsplit(url).netloc

    def _given_up(self, url: str) -> bool:
        host = self._host(url)
        return host in self.report.given_up or host in self.client.given_up

    def _failed(self, url: str, error: SourceError) -> None:
        host = self._host(url)
        self.failures_in_a_row[host] += 1
        if self.failures_in_a_row[host] >= HOST_FAILURES_TO_GIVE_UP or host in self.client.given_up:
            self.report.given_up.setdefault(host, f"{error.kind} ({error})")
            self.client.given_up.setdefault(host, error)  # the requests queued for it fail at once

    def _answered(self, url: str) -> None:
        self.failures_in_a_row[self._host(url)] = 0

    def _tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress and (force or now - self.last_progress >= 0.5):
            self.last_progress = now
            r, stats = self.report, self.client.stats
            self.progress(
                f"harvest: {r.repos_listed} repositories listed, {r.repos_read} read, {r.repos_unchanged} unchanged,"
                f" {r.records} claims, {stats.requests} requests, {stats.retries} retries,"
                f" {len(r.given_up)} hosts given up"
            )

    def _begin(self, source: str) -> dict[str, str]:
        run = self.state.runs.get(source)
        if run is None:
            run = self.state.runs[source] = {"id": f"{time.time():.6f}", "cursor": ""}
        return run

    def _finish(self, source: str, run: dict[str, str]) -> None:
        """The listing was complete: repositories of this source it did not name are gone."""
        for did in [d for d, r in self.state.repos.items() if r.source == source and r.seen != run["id"]]:
            if self._given_up(self.state.repos[did].pds or "x://unknown"):
                continue
            del self.state.repos[did]
            self.report.repos_dropped += 1
        del self.state.runs[source]
        self.state.save(self.state_path)

    # -- reading one repository

    async def _records(self, pds: str, did: str) -> list[dict[str, str]] | None:
        """Every claim of the repository (None when it is gone); SourceError when it cannot be read."""
        claims: list[dict[str, str]] = []
        cursor = ""
        for _ in range(MAX_RECORD_PAGES):
            url = xrpc_url(
                pds, "com.atproto.repo.listRecords", repo=did, collection=self.collection, limit=RECORDS_LIMIT,
                cursor=cursor,
            )
            page = await self.client.get_json(url, MAX_ANSWER_BYTES)
            if page is None:
                return None
            records = page.get("records") if isinstance(page, dict) else None
            if not isinstance(records, list):
                raise SourceError("malformed", url, "no records")
            for record in records:
                line = claim_line(did, record, self.collection, self.today)
                if isinstance(line, str):
                    self.report.skipped[line] += 1
                else:
                    claims.append(line)
            next_cursor = page.get("cursor")
            if not records or not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
                break
            cursor = next_cursor
        return claims

    def _withdraw(self, did: str) -> None:
        repo = self.state.repos.get(did)
        if repo is not None and repo.claims:
            repo.claims = []
            self.report.repos_dropped += 1
        if repo is not None:
            repo.rev = ""

    async def _read(self, source: str, run_id: str, did: str, pds: str, rev: str) -> None:
        """Read the repository's claims at ``rev`` (already known to differ from the state's)."""
        repo = self.state.repos.setdefault(did, Repo(source))
        repo.source, repo.seen = source, run_id
        if self._given_up(pds):
            self.report.kept_unread += 1
            return
        try:
            claims = await self._records(pds, did)
        except SourceError as error:
            self._failed(pds, error)
            self.report.kept_unread += 1
            return
        self._answered(pds)
        self.report.repos_read += 1
        repo.pds = pds
        if claims is None:
            self._withdraw(did)
            return
        repo.rev, repo.claims = rev, claims
        self.report.records += len(claims)
        self._tick()

    async def _listing(
        self, base: str, url: str, key: str | None, give_up: bool
    ) -> tuple[list[Any], str] | None:
        """One page of a listing: the list at ``key`` of the answer (the answer itself if None) and
        the answer's cursor ("" if none), or None when it cannot be had; the failure is reported (and
        the host given up, if asked), and nothing is dropped: the listing goes on next run."""
        try:
            page = await self.client.get_json(url, MAX_ANSWER_BYTES)
            items = page if key is None else page.get(key) if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise SourceError("malformed", url, f"no {key or 'list'}")
        except SourceError as error:
            self.report.failed_sources.append(f"{base}: {error}")
            if give_up:
                self.report.given_up.setdefault(self._host(base), f"{error.kind} ({error})")
            return None
        cursor = page.get("cursor") if isinstance(page, dict) else None
        return items, cursor if isinstance(cursor, str) else ""

    # -- one PDS

    async def harvest_pds(self, base: str) -> None:
        base = base.rstrip("/")
        source = f"pds {base}"
        run = self._begin(source)
        while True:
            url = xrpc_url(base, "com.atproto.sync.listRepos", limit=PAGE_LIMIT, cursor=run["cursor"])
            listed = await self._listing(base, url, "repos", give_up=True)
            if listed is None:
                return
            repos, cursor = listed
            tasks = []
            for entry in repos:
                if not isinstance(entry, dict) or not isinstance(entry.get("did"), str) or not DID.match(entry["did"]):
                    self.report.skipped["malformed repository entry"] += 1
                    continue
                did, rev = entry["did"], str(entry.get("rev") or entry.get("head") or "")
                self.report.repos_listed += 1
                known = self.state.repos.get(did)
                if entry.get("active") is False:  # deactivated, taken down, suspended: withdrawn
                    self._withdraw(did)
                    self.state.repos.setdefault(did, Repo(source, base)).seen = run["id"]
                elif known is not None and known.rev == rev and rev and known.pds == base:
                    known.seen, known.source = run["id"], source
                    self.report.repos_unchanged += 1
                else:
                    tasks.append(self._read(source, run["id"], did, base, rev))
            await asyncio.gather(*tasks)
            if not repos or not cursor or cursor == run["cursor"]:
                break
            run["cursor"] = cursor
            self.state.save(self.state_path)
            self._tick()
        self._finish(source, run)

    # -- a relay

    async def resolve_pds(self, did: str) -> str | None:
        """The PDS named by the DID's document; SourceError when the document cannot be had."""
        if did.startswith("did:plc:"):
            url = f"{self.plc_url}/{quote(did, safe=':')}"
        else:
            host = did.removeprefix("did:web:")
            if ":" in host or "%" in host:  # did:web with a path or a port: not a repository host
                return None
            url = f"https://{host}/.well-known/did.json"
        document = await self.client.get_json(url, 256 * 1024)
        return pds_of(document, did)

    async def _relay_repo(self, source: str, run_id: str, did: str) -> None:
        known = self.state.repos.get(did)
        if known is not None:
            known.seen, known.source = run_id, source
        pds = known.pds if known is not None and known.pds else None
        for attempt in range(2):
            if pds is None or attempt == 1:
                try:
                    resolved = await self.resolve_pds(did)
                except SourceError as error:
                    self._failed(self.plc_url if did.startswith("did:plc:") else f"https://{did[8:]}", error)
                    self.report.kept_unread += 1
                    return
                if resolved is None:
                    self._withdraw(did)
                    return
                if resolved == pds:
                    break  # same server, the repository is gone from it
                pds = resolved
            if self._given_up(pds):
                self.report.kept_unread += 1
                return
            url = xrpc_url(pds, "com.atproto.sync.getLatestCommit", did=did)
            try:
                commit = await self.client.get_json(url, 64 * 1024)
            except SourceError as error:
                self._failed(pds, error)
                self.report.kept_unread += 1
                return
            self._answered(pds)
            if commit is None:
                continue  # gone from this server: it may have moved, ask its DID document again
            rev = commit.get("rev") if isinstance(commit, dict) else None
            if not isinstance(rev, str) or not rev:
                self._failed(pds, SourceError("malformed", url, "no rev"))
                self.report.kept_unread += 1
                return
            if known is not None and known.rev == rev and known.pds == pds:
                self.report.repos_unchanged += 1
                return
            await self._read(source, run_id, did, pds, rev)
            return
        self.state.repos.setdefault(did, Repo(source)).seen = run_id
        self._withdraw(did)

    async def harvest_relay(self, base: str) -> None:
        base = base.rstrip("/")
        source = f"relay {base}"
        run = self._begin(source)
        while True:
            url = xrpc_url(
                base, "com.atproto.sync.listReposByCollection", collection=self.collection, limit=RELAY_PAGE_LIMIT,
                cursor=run["cursor"],
            )
            listed = await self._listing(base, url, "repos", give_up=False)
            if listed is None:
                return
            repos, cursor = listed
            dids = {e["did"] for e in repos if isinstance(e, dict) and DID.match(str(e.get("did", "")))}
            self.report.skipped["malformed repository entry"] += len(repos) - len(dids)
            self.report.repos_listed += len(dids)
            await asyncio.gather(*(self._relay_repo(source, run["id"], did) for did in sorted(dids)))
            if not repos or not cursor or cursor == run["cursor"]:
                break
            run["cursor"] = cursor
            self.state.save(self.state_path)
            self._tick()
        self._finish(source, run)

    # -- Mastodon: public posts of the documented form on a server's tag timeline

    async def harvest_mastodon_tag(self, base: str) -> None:
        """Every post of the form ``mastodon_claim_post`` writes on the server's public timeline of
        ``#PasserelleMoved``, newest first, paged by ``max_id``. A claim is credited to the post's
        author account, never to an address the text names; a complete reading replaces what this
        server said last time (a deleted post is a withdrawn claim), a failed one keeps it."""
        base = base.rstrip("/")
        source = f"mastodon {base}"
        run = self._begin(source)
        found: dict[str, dict[str, str]] = {}  # account -> its newest claim
        max_id = ""
        for _ in range(MAX_TAG_PAGES):
            query = {"limit": 40, **({"max_id": max_id} if max_id else {})}
            url = f"{base}/api/v1/timelines/tag/{MASTODON_CLAIM_TAG}?{urlencode(query)}"
            listed = await self._listing(base, url, None, give_up=True)
            if listed is None:
                return
            page = listed[0]
            if not page:
                break
            for status in page:
                claim = mastodon_claim(status, self.today)
                if isinstance(claim, str):
                    self.report.skipped[claim] += 1
                elif claim["mastodon"] not in found:  # newest first: the first one is the latest
                    found[claim["mastodon"]] = claim
                    self.report.records += 1
            last = page[-1].get("id") if isinstance(page[-1], dict) else None
            if not isinstance(last, str) or not last.isdigit() or last == max_id:
                break
            max_id = last
            self._tick()
        for account, claim in found.items():
            self.state.repos[f"mastodon:{account}"] = Repo(source, base, "", run["id"], [claim])
        self._finish(source, run)


async def run_harvest(
    relays: Iterable[str],
    pdses: Iterable[str],
    state: State,
    collection: str,
    plc_url: str,
    state_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
    per_host: int = 4,
    concurrency: int = 16,
    budget: tuple[int, float] = (3000, 300.0),
    max_wait: float = 120.0,
    mastodon_tags: Iterable[str] = (),
    today: str | None = None,
) -> Report:
    """Harvest every source in turn, saving the state as it goes; the Report says what happened."""
    relays, pdses, mastodon_tags = list(relays), list(pdses), list(mastodon_tags)
    for url in [*relays, *pdses, *mastodon_tags, plc_url]:
        if not allowed_endpoint(url.rstrip("/")):
            raise HarvestError(f"{url}: an https address is needed (plain http only on loopback)")
    client = PoliteClient(
        fetcher=xrpc_fetch,
        cache=NoCache(),
        concurrency=concurrency,
        per_host=per_host,
        default_budget=budget,
        max_wait=max_wait,
        host_deadline=24 * 3600.0,
        timeout=30.0,
    )
    harvest = Harvest(state, collection, plc_url, client, state_path, progress, today)
    for relay in relays:
        await harvest.harvest_relay(relay)
    for pds in pdses:
        await harvest.harvest_pds(pds)
    for server in mastodon_tags:
        await harvest.harvest_mastodon_tag(server)
    harvest._tick(force=True)
    state.save(state_path)
    harvest.report.skipped = Counter({k: v for k, v in harvest.report.skipped.items() if v})
    return harvest.report


def progress_printer() -> Callable[[str], None]:
    def show(line: str) -> None:
        print(f"\r{line}", end="", file=sys.stderr, flush=True)

    return show
