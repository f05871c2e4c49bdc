"""Fake Bluesky AppView, Mastodon servers and directory hosts on 127.0.0.1, speaking the real shapes.

The answers are :class:`sitebuild.network_world.NetworkWorld`'s (the demo's networks are made by
the same code); this adds the HTTP servers, a request log, static directory files and faults
injected per path: 429 with Retry-After, slow answers, malformed JSON, dropped connections.
Every server sends ``Access-Control-Allow-Origin: *``, as the real ones do.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sitebuild.network_world import NetworkWorld


@dataclass
class Fault:
    """What to do instead of answering, ``times`` times (0: always)."""

    kind: str  # "429", "slow", "malformed", "drop", "500"
    times: int = 1
    seconds: float = 1.0
    used: int = 0


@dataclass
class FakeWorld(NetworkWorld):
    """The state behind every fake server: the accounts, directory files, faults and a request log."""

    static_root: Path | None = None
    faults: dict[str, Fault] = field(default_factory=dict)  # path prefix -> fault
    log: list[str] = field(default_factory=list)


# A 1x1 PNG, served as every avatar.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaPhfDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class FakeHandler(http.server.BaseHTTPRequestHandler):
    world: FakeWorld
    domain: str  # the Mastodon domain this server pretends to be, if any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, status: int, body: bytes, content_type: str = "application/json", headers: dict | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: dict | None = None) -> None:
        self._send(status, json.dumps(value).encode(), headers=headers)

    def _fault(self, path: str) -> bool:
        with self.world.lock:
            fault = next((f for prefix, f in self.world.faults.items() if path.startswith(prefix)), None)
            if fault is None or (fault.times and fault.used >= fault.times):
                return False
            fault.used += 1
        if fault.kind == "429":
            self._json(429, {"error": "RateLimitExceeded"}, {"Retry-After": str(int(fault.seconds))})
        elif fault.kind == "500":
            self._json(500, {"error": "InternalServerError"})
        elif fault.kind == "malformed":
            self._send(200, b'{"profiles": [ {"did": ')
        elif fault.kind == "drop":
            self.connection.shutdown(2)
            self.close_connection = True
        elif fault.kind == "slow":
            time.sleep(fault.seconds)
            return False
        return True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        with self.world.lock:
            self.world.log.append(f"{self.server.server_address[1]} {self.path}")
        if self._fault(url.path):
            return
        query = parse_qs(url.query)
        here = f"http://{self.headers.get('Host')}"
        if url.path.startswith("/avatar/"):
            return self._send(200, PIXEL, "image/png")
        answer = self.world.answer(url.path, query, here, self.domain)
        if answer is not None:
            return self._json(*answer)
        if self.world.static_root is not None:
            file = (self.world.static_root / url.path.lstrip("/")).resolve()
            if file.is_file() and self.world.static_root.resolve() in file.parents:
                return self._send(200, file.read_bytes())
        return self._json(404, {"error": "NotFound"})


@contextmanager
def serve(world: FakeWorld, domain: str = "") -> Iterator[str]:
    """Run one fake server on 127.0.0.1 and yield its base URL."""
    handler = type("Handler", (FakeHandler,), {"world": world, "domain": domain})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
