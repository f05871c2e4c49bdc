"""HTTP under CPython (the command line and the tests): urllib in a worker thread.

Same rules as the browser's ``fetch``: no redirects (an answer that redirects could send the
client to a private address), answers read up to a cap, HTTP errors returned as responses with
their headers. ``urllib.request`` is imported where it runs, so the browser never loads it (and
the trimmed standard library the site ships does not contain it).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from ._compat import USER_AGENT, NetworkError, Response, ResponseTooLargeError, _read_capped

if TYPE_CHECKING:
    import urllib.request


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """A urllib opener that refuses every redirect."""
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            raise NetworkError(f"redirected ({code}) to another address")

    return urllib.request.build_opener(NoRedirects)


def request(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float, max_bytes: int
) -> Response:
    """One blocking request; NetworkError when the server cannot be reached, ResponseTooLargeError
    when the answer passes ``max_bytes``."""
    import urllib.error
    import urllib.request

    prepared = urllib.request.Request(
        url, data=body, method=method, headers={"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
    )
    try:
        with _opener().open(prepared, timeout=timeout) as answer:
            declared = answer.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ResponseTooLargeError()
            content = _read_capped(answer.read, max_bytes)
            return Response(answer.status, content, {k.lower(): v for k, v in answer.headers.items()})
    except urllib.error.HTTPError as error:
        content = _read_capped(error.read, max_bytes) if error.fp else b""
        return Response(error.code, content, {k.lower(): v for k, v in (error.headers or {}).items()})
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as error:
        raise NetworkError(str(getattr(error, "reason", error))) from None
