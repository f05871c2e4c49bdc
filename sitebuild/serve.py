"""A small static server for the built site, on loopback, with the MIME types the site needs."""

from __future__ import annotations

import functools
import http.server
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".svg": "image/svg+xml",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with explicit MIME types, the site's security headers, and no directory listings."""

    extensions_map: ClassVar[dict[str, str]] = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def __init__(self, *args, extra_headers: Mapping[str, str] | None = None, **kwargs) -> None:
        self.extra_headers = dict(extra_headers or {})
        super().__init__(*args, **kwargs)

    def end_headers(self) -> None:
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def list_directory(self, path):
        self.send_error(404, "Not found")
        return None


def make_server(
    directory: Path, port: int, host: str = "127.0.0.1", headers: Mapping[str, str] | None = None
) -> http.server.ThreadingHTTPServer:
    """A server for ``directory``; ``headers`` (the site's security headers) go with every response."""
    handler = functools.partial(SiteHandler, directory=str(directory), extra_headers=headers)
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve(directory: Path, port: int, headers: Mapping[str, str] | None = None) -> None:
    """Serve ``directory`` until interrupted."""
    server = make_server(directory, port, headers=headers)
    host, bound_port = server.server_address[:2]
    print(f"Serving {directory} at http://{host}:{bound_port}/ (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
