"""Light fake atproto hosts on 127.0.0.1 for the harvest's tests and benchmark: a PDS
(listRepos, getLatestCommit, listRecords), a relay (listReposByCollection) and a PLC directory,
answering with the shapes and error bodies of the real services, with failures on demand
(every answer a 5xx, or every Nth a 429 with ``Retry-After``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class FakeRepo:
    rev: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # "collection/rkey" -> value
    active: bool = True


@dataclass
class FakeHost:
    """What one fake server knows; change it between runs to simulate the network changing."""

    repos: dict[str, FakeRepo] = field(default_factory=dict)  # the PDS role
    collection_dids: list[str] = field(default_factory=list)  # the relay role
    did_pds: dict[str, str] = field(default_factory=dict)  # the PLC role: did -> PDS URL
    fail_status: int = 0  # answer every request with this status (5xx: a failing host)
    rate_limit_every: int = 0  # every Nth request gets 429 with Retry-After
    retry_after: str = "1"
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.requests += 1
            number = self.requests
        if self.fail_status:
            return self.fail_status, {}, {"error": "InternalServerError", "message": "Internal Server Error"}
        if self.rate_limit_every and number % self.rate_limit_every == 0:
            headers = {"Retry-After": self.retry_after, "RateLimit-Remaining": "0"}
            return 429, headers, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        limit = min(int(query.get("limit", "50") or 50), 1000 if path.endswith(".listRepos") else 2000)
        cursor = query.get("cursor", "")
        if path == "/xrpc/com.atproto.sync.listRepos":
            dids = sorted(self.repos)
            page = [d for d in dids if d > cursor][:limit]
            repos = []
            for did in page:
                repo = self.repos[did]
                entry: dict[str, Any] = {"did": did, "head": f"bafy{repo.rev}", "rev": repo.rev, "active": repo.active}
                if not repo.active:
                    entry["status"] = "deactivated"
                repos.append(entry)
            return 200, {}, {"repos": repos, **({"cursor": page[-1]} if len(page) == limit else {})}
        if path == "/xrpc/com.atproto.sync.listReposByCollection":
            page = [d for d in sorted(self.collection_dids) if d > cursor][:limit]
            more = {"cursor": page[-1]} if len(page) == limit else {}
            return 200, {}, {"repos": [{"did": d} for d in page], **more}
        if path == "/xrpc/com.atproto.sync.getLatestCommit":
            repo = self.repos.get(query.get("did", ""))
            if repo is None:
                return 400, {}, {"error": "RepoNotFound", "message": f"Could not find repo for DID: {query.get('did')}"}
            if not repo.active:
                return 400, {}, {"error": "RepoDeactivated", "message": "Repo has been deactivated"}
            return 200, {}, {"cid": f"bafy{repo.rev}", "rev": repo.rev}
        if path == "/xrpc/com.atproto.repo.listRecords":
            did, collection = query.get("repo", ""), query.get("collection", "")
            repo = self.repos.get(did)
            if repo is None or not repo.active:
                return 400, {}, {"error": "InvalidRequest", "message": f"Could not find repo: {did}"}
            keys = sorted(k for k in repo.records if k.startswith(collection + "/") and k > f"{collection}/{cursor}")
            page = keys[: min(limit, 100)]
            records = [{"uri": f"at://{did}/{k}", "cid": f"bafy{repo.rev}", "value": repo.records[k]} for k in page]
            more = {"cursor": page[-1].split("/", 1)[1]} if len(page) == min(limit, 100) else {}
            return 200, {}, {"records": records, **more}
        did = unquote(path.lstrip("/"))
        if did in self.did_pds:
            return 200, {}, did_document(did, self.did_pds[did])
        return 404, {}, {"message": "DID not registered"}


def did_document(did: str, pds: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "alsoKnownAs": [],
        "verificationMethod": [],
        "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}],
    }


def _handler(host: FakeHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            status, headers, body = host.answer(parts.path, query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def serve_hosts(hosts: list[FakeHost]) -> Iterator[list[str]]:
    """Serve each host on its own loopback port; yields their base URLs."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(host)) for host in hosts]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield [f"http://127.0.0.1:{server.server_address[1]}" for server in servers]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def claim_value(collection: str, x_id: str, handle: str = "", mastodon: str = "") -> dict[str, Any]:
    value: dict[str, Any] = {"$type": collection, "xId": x_id, "createdAt": "2026-11-20T10:00:00.000Z"}
    if handle:
        value["xHandle"] = handle
    if mastodon:
        value["mastodon"] = mastodon
    return value


def claim_network(repos: int, hosts: int, collection: str) -> tuple[FakeHost, FakeHost, list[FakeHost]]:
    """A relay, a PLC and ``hosts`` PDSes holding ``repos`` repositories with one claim each (X ids
    from 10**15, repository n on host n % hosts), the relay listing them all; serve them with
    :func:`serve_hosts`, then point the PLC at each PDS's URL."""
    pdses = [FakeHost() for _ in range(hosts)]
    relay, plc = FakeHost(), FakeHost()
    for n in range(repos):
        did = "did:plc:" + "".join("abcdefghij"[int(c)] for c in f"{n:024d}")
        x_id = str(n + 10**15)
        pdses[n % hosts].repos[did] = FakeRepo("3l0", {f"{collection}/{x_id}": claim_value(collection, x_id)})
        relay.collection_dids.append(did)
    return relay, plc, pdses
