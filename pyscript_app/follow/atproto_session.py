"""Signing in to Bluesky with an app password (the CLI; the page uses atproto OAuth instead).

The person's PDS is given (``--pds``) or found: the handle is resolved by the configured
``bluesky_handle_resolver`` (``com.atproto.identity.resolveHandle``), the DID document comes
from ``plc_directory_url`` (``did:plc``) or the domain's ``/.well-known/did.json`` (``did:web``),
and its ``#atproto_pds`` service is the PDS. Then ``com.atproto.server.createSession``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .. import N_
from .._compat import send
from .client import AppPasswordClient, PathClient, Transport
from .mastodon_oauth import HttpRequest, MastodonSignInError, perform
from .model import DID, HANDLE, UnreachableError


class BlueskySignInError(MastodonSignInError):
    """Signing in to Bluesky cannot go on (same shape: ``kind`` and ``notice``)."""


def _unknown(handle: str) -> BlueskySignInError:
    return BlueskySignInError("not-found", N_("%(handle)s is not a Bluesky handle that can be found."),
                              handle=handle[:253])


async def _get_json(url: str, transport: Transport) -> Any:
    try:
        answer = await perform(HttpRequest("GET", url), transport)
    except MastodonSignInError as error:
        raise BlueskySignInError(error.kind, error.notice.message, **error.notice.params) from None
    return answer.body if answer.ok else None


async def resolve_pds(handle: str, resolver_url: str, plc_url: str, transport: Transport = send) -> tuple[str, str]:
    """(DID, PDS URL) of a handle (or a DID), through the configured resolver and PLC directory."""
    handle = handle.strip().lstrip("@")
    did = handle if DID.match(handle) else ""
    if not did:
        if not HANDLE.match(handle):
            raise _unknown(handle)
        query = urlencode({"handle": handle})
        found = await _get_json(f"{resolver_url.rstrip('/')}/xrpc/com.atproto.identity.resolveHandle?{query}",
                                transport)
        answer = found.get("did") if isinstance(found, dict) else None
        if not isinstance(answer, str) or not DID.match(answer):
            raise _unknown(handle)
        did = answer
    if did.startswith("did:plc:"):
        document = await _get_json(f"{plc_url.rstrip('/')}/{quote(did)}", transport)
    else:
        host = did.removeprefix("did:web:").replace("%3A", ":")
        document = await _get_json(f"https://{host}/.well-known/did.json", transport)
    services = document.get("service") if isinstance(document, dict) else None
    for service in services if isinstance(services, list) else []:
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
            endpoint = service.get("serviceEndpoint")
            if isinstance(endpoint, str) and urlsplit(endpoint).scheme in ("http", "https"):
                return did, endpoint.rstrip("/")
    raise _unknown(handle)


async def app_password_session(
    pds_url: str, identifier: str, password: str, transport: Transport = send
) -> AppPasswordClient:
    """An ``AuthorizedClient`` for the person's PDS, signed in with an app password."""
    pds = PathClient(transport, pds_url)
    try:
        answer = await pds.request("POST", "/xrpc/com.atproto.server.createSession",
                                   {"identifier": identifier, "password": password})
    except UnreachableError:
        raise BlueskySignInError("unreachable", N_("%(server)s could not be reached."),
                                 server=urlsplit(pds_url).netloc) from None
    body = answer.body if isinstance(answer.body, dict) else {}
    access, refresh = body.get("accessJwt"), body.get("refreshJwt")
    if answer.status in (400, 401) and not isinstance(access, str):
        raise BlueskySignInError("refused", N_("Bluesky did not accept this handle and app password."))
    if not answer.ok or not isinstance(access, str) or not isinstance(refresh, str):
        raise BlueskySignInError("unreachable", N_("%(server)s could not be reached."),
                                 server=urlsplit(pds_url).netloc)
    return AppPasswordClient(pds, access, refresh)
