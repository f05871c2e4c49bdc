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
from .errors import BuildError

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


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _configured_urls(extra: dict[str, Any]) -> list[str]:
    urls = [str(extra.get(key, "")) for key in ("bluesky_appview", "bluesky_handle_resolver", "plc_directory_url")]
    urls += [str(url) for url in extra.get("directories", []) or []]
    urls += [str(url) for url in (extra.get("mastodon_instance_urls", {}) or {}).values()]
    return urls


def extra_connect_origins(config: Config) -> list[str]:
    """``extra_connect_origins``: plain-http loopback origins the page may also reach (a test PDS,
    which the person's handle leads to and no other key names). Anything else is refused."""
    value = config.extra.get("extra_connect_origins", []) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BuildError("configuration: 'extra_connect_origins' must be a list of origins such as 'http://127.0.0.1:2583'")
    origins = []
    for item in value:
        if not _is_loopback_http_origin(item):
            raise BuildError(
                f"configuration: 'extra_connect_origins' takes plain-http loopback origins only "
                f"(http://127.0.0.1:PORT, http://localhost:PORT, http://[::1]:PORT), not {item!r}; "
                "https servers are allowed already"
            )
        origins.append(f"http://{urlsplit(item).netloc}")
    return origins


def _is_loopback_http_origin(text: str) -> bool:
    try:
        parts = urlsplit(text)
        host, _ = parts.hostname, parts.port  # .port raises on a port that is not a number
    except ValueError:
        return False
    plain = not (parts.query or parts.fragment or parts.username or parts.password) and parts.path in ("", "/")
    return parts.scheme == "http" and host in LOOPBACK_HOSTS and plain and "?" not in text and "#" not in text


def plain_http_origins(config: Config) -> list[str]:
    """The origins of configured ``http://`` servers (tests on loopback), each once."""
    origins = []
    for url in _configured_urls(config.extra):
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.netloc:
            origins.append(f"http://{parts.netloc}")
    return list(dict.fromkeys(origins + extra_connect_origins(config)))


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
