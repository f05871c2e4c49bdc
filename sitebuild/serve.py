"""A small static server for the built site, on loopback, with the MIME types the site needs.

It serves the build's precompressed files (``name.br``, ``name.gz``) to browsers that accept
them, as ``gzip_static``/``brotli_static`` do in nginx, and lets browsers keep content-hashed
files for a year (see README, "Hosting").
"""

from __future__ import annotations

import functools
import http.server
import io
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO, ClassVar

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
# Python's own map with the site's types on top, as the handler reads it (shared by every request).
EXTENSIONS_MAP = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
# Precompressed variants written by the build, in order of preference.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# A name that carries its content's digest: a folder or file named "…-<10+ hex digits>", or "?v=<digest>".
HASHED_PATH = re.compile(r"-[0-9a-f]{10,}(?:/|\.[A-Za-z0-9.]+$)")
VERSIONED_QUERY = re.compile(r"(?:^|&)v=[0-9a-f]{6,}(?:&|$)")


def accepted_encodings(header: str) -> set[str]:
    """The content codings an Accept-Encoding header allows (q=0 excluded)."""
    accepted = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
        try:
            if name.strip() and float(quality) > 0:
                accepted.add(name.strip().lower())
        except ValueError:
            continue
    return accepted


def precompressed_variant(path: str, accept_encoding: str) -> tuple[str, str] | None:
    """The (encoding, file) to send instead of ``path``, if the build wrote one the browser accepts."""
    accepted = accepted_encodings(accept_encoding)
    for encoding, suffix in ENCODINGS:
        if (encoding in accepted or "*" in accepted) and os.path.isfile(path + suffix):
            return encoding, path + suffix
    return None


def has_variants(path: str) -> bool:
    return any(os.path.isfile(path + suffix) for _, suffix in ENCODINGS)


def cache_control(url: str) -> str:
    """A year for content-hashed names, which change with their content; revalidate anything else."""
    path, _, query = url.partition("?")
    return IMMUTABLE if HASHED_PATH.search(path) or VERSIONED_QUERY.search(query) else REVALIDATE


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with explicit MIME types, precompressed variants, cache headers, the site's security
    headers, and no directory listings."""

    extensions_map = EXTENSIONS_MAP
    extra_headers: ClassVar[dict[str, str]] = {}

    def send_head(self) -> io.BytesIO | BinaryIO | None:
        self.variant: tuple[str, str] | None = None
        self.plain_path = self.requested_file()
        if self.plain_path is not None:
            self.variant = precompressed_variant(self.plain_path, self.headers.get("Accept-Encoding", ""))
        return super().send_head()

    def requested_file(self) -> str | None:
        """The file a GET names, with a folder's index.html; None for anything else."""
        path = super().translate_path(self.path)
        if os.path.isdir(path) and self.path.partition("?")[0].endswith("/"):
            path = os.path.join(path, "index.html")
        return path if os.path.isfile(path) else None

    def translate_path(self, path: str) -> str:
        variant = getattr(self, "variant", None)
        return variant[1] if variant else super().translate_path(path)

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        variant = getattr(self, "variant", None)
        if variant:
            assert self.plain_path is not None  # a variant is only chosen for a file that exists
            path = self.plain_path
        return super().guess_type(path)

    def end_headers(self) -> None:
        for name, value in self.response_headers().items():
            self.send_header(name, value)
        super().end_headers()

    def response_headers(self) -> dict[str, str]:
        """Content-Encoding, Vary and Cache-Control for the file being sent, plus ``extra_headers``."""
        headers = dict(self.extra_headers)
        plain = getattr(self, "plain_path", None)
        if plain is not None:
            variant = getattr(self, "variant", None)
            if variant:
                headers["Content-Encoding"] = variant[0]
            if variant or has_variants(plain):
                headers["Vary"] = "Accept-Encoding"
            headers["Cache-Control"] = cache_control(self.path)
        return headers

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "Not found")
        return None


def make_server(
    directory: Path, port: int, host: str = "127.0.0.1", headers: Mapping[str, str] | None = None
) -> http.server.ThreadingHTTPServer:
    """A server for ``directory``; ``headers`` (the site's security headers) go with every response."""
    handler_class = type("Handler", (SiteHandler,), {"extra_headers": dict(headers or {})})
    handler = functools.partial(handler_class, directory=str(directory))
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve(directory: Path, port: int, headers: Mapping[str, str] | None = None) -> None:
    """Serve ``directory`` until interrupted."""
    server = make_server(directory, port, headers=headers)
    host, bound_port = server.server_address[:2]
    assert isinstance(host, str)  # an internet socket's address is (host, port), the host as text
    print(f"Serving {directory} at http://{host}:{bound_port}/ (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
