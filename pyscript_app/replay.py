"""The demo's networks: answers recorded once, read back from static files of the site.

The sample archive is matched by the same code that asks the real AppView and Mastodon servers;
only the fetcher differs. At build time the demo's fictional world is asked through this code and
every successful answer is written as ``<replay>/<replay_name(url)>``; in the browser,
:func:`replaying` turns each request for another origin into a request for that file, on the
site's own origin. An answer that was not recorded is a 404, as for an account that does not
exist. Requests for the site's own origin (the demo's directory) are fetched as they are.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit

from ._compat import Response
from .net import Fetcher

NAME_LENGTH = 24  # hex digits of SHA-256: no two of the demo's few hundred answers collide


def canonical_url(url: str) -> str:
    """The URL with its query parameters in one order: a batch asked in another order is the same."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path}" + (f"?{query}" if query else "")


def replay_name(url: str) -> str:
    """The file that holds the recorded answer to ``url``."""
    return hashlib.sha256(canonical_url(url).encode()).hexdigest()[:NAME_LENGTH] + ".json"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def replaying(base: str, fetch: Fetcher) -> Fetcher:
    """A fetcher that reads other origins' answers from the recording at ``base`` (a folder URL)."""
    folder = base if base.endswith("/") else base + "/"
    own_origin = _origin(folder)

    async def fetch_recorded(url: str, timeout: float, max_bytes: int) -> Response:
        if _origin(url) == own_origin:
            return await fetch(url, timeout, max_bytes)
        return await fetch(folder + replay_name(url), timeout, max_bytes)

    return fetch_recorded
