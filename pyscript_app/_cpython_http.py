"""HTTP under CPython (the command line and the tests): urllib in a worker thread.

Imported only where it runs, so the browser never loads ``urllib.request``. Same rules as the
browser's ``fetch``: no redirects (an answer that redirects could send the client to a private
address), answers read up to a cap, HTTP errors returned as responses with their headers.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from http.client import HTTPMessage
from typing import IO

from ._compat import USER_AGENT, NetworkError, Response, ResponseTooLargeError, _read_capped


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        raise NetworkError(f"redirected ({code}) to another address")


_OPENER = urllib.request.build_opener(_NoRedirects)


def request(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float, max_bytes: int
) -> Response:
    """One blocking request; NetworkError when the server cannot be reached, ResponseTooLargeError
    when the answer passes ``max_bytes``."""
    prepared = urllib.request.Request(
        url, data=body, method=method, headers={"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
    )
    try:
        with _OPENER.open(prepared, timeout=timeout) as answer:
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
