"""The site's Content Security Policy and the other security headers, from the configuration.

Every page carries the policy as a ``<meta>`` element; a meta policy does not reach the matcher's
worker and cannot say ``frame-ancestors``, so ``build.py serve`` sends it as a header too and the
build writes a ``_headers`` file for hosts that read one (README gives nginx and Apache lines).

The page asks https servers only, except where the configuration names a plain-http origin
(a loopback test server): those origins, and only those, are added to ``connect-src``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .config import Config

POLICY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("default-src", ("'none'",)),
    ("script-src", ("'self'", "'wasm-unsafe-eval'")),
    ("worker-src", ("'self'",)),
    ("connect-src", ("'self'", "https:")),
    ("img-src", ("'self'", "https:", "data:")),
    ("style-src", ("'self'",)),
    ("object-src", ("'none'",)),
    ("base-uri", ("'none'",)),
    ("form-action", ("'none'",)),
    ("frame-ancestors", ("'none'",)),
)
HEADER_ONLY = {"frame-ancestors"}  # browsers ignore it (and complain) in a <meta> policy


def _configured_urls(extra: dict[str, Any]) -> list[str]:
    urls = [str(extra.get("bluesky_appview", ""))]
    urls += [str(url) for url in extra.get("directories", []) or []]
    urls += [str(url) for url in (extra.get("mastodon_instance_urls", {}) or {}).values()]
    return urls


def plain_http_origins(config: Config) -> list[str]:
    """The origins of configured ``http://`` servers (tests on loopback), each once."""
    origins = []
    for url in _configured_urls(config.extra):
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.netloc:
            origins.append(f"http://{parts.netloc}")
    return list(dict.fromkeys(origins))


def content_security_policy(config: Config, for_meta: bool = False) -> str:
    """The policy as one header value; ``for_meta`` leaves out what a meta element cannot carry."""
    directives = []
    for name, sources in POLICY:
        if for_meta and name in HEADER_ONLY:
            continue
        values = list(sources) + (plain_http_origins(config) if name == "connect-src" else [])
        directives.append(f"{name} {' '.join(values)}")
    return "; ".join(directives)


def security_headers(config: Config) -> dict[str, str]:
    """Headers every response of the site should carry."""
    return {
        "Content-Security-Policy": content_security_policy(config),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


IMMUTABLE_FOLDERS = ("/assets/pyodide/*", "/assets/app/*")  # content-hashed names: never change


def headers_file(config: Config) -> str:
    """A ``_headers`` file (Netlify, Cloudflare Pages, for a site at a domain's root): the security
    headers on every path, and a year of caching for the content-hashed runtime."""
    lines = ["/*"] + [f"  {name}: {value}" for name, value in security_headers(config).items()]
    for folder in IMMUTABLE_FOLDERS:
        lines += [folder, "  Cache-Control: public, max-age=31536000, immutable"]
    return "\n".join(lines) + "\n"
