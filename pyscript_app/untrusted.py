"""What strangers send, made safe to ask, link to or show: host names, profile links, avatars, text.

Directories, server answers and names come from people we do not know. A Mastodon domain that
is an IP address, a port, a path or ``localhost`` could turn the person's browser against their
own network; a profile link to another host could be a phishing page; an avatar over plain http
or from a private host leaks the person's address to whoever runs it. Each is refused here.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# LDH labels (letters, digits, hyphens), at least two of them, and a top-level label that starts
# with a letter: "social.example.org" yes; "127.0.0.1", "localhost", "host:8080", "a/b" no.
HOST_NAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}\Z")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".onion")
MASTODON_USER = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]{0,62}[a-z0-9_])?\Z")
# Control characters and the bidi overrides that could make a name display as something else.
HIDDEN_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def is_public_host_name(host: str) -> bool:
    """A host name that could be a public server: no IP address, port, path, user or local name."""
    host = host.lower()
    return bool(HOST_NAME.match(host)) and not host.endswith(LOCAL_SUFFIXES)


def _host_of(url: str) -> str | None:
    """The host of an https URL with no user, password or port; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or parts.username or parts.password or port not in (None, 443):
        return None
    return (parts.hostname or "").lower()


def safe_avatar(url: str) -> str:
    """The avatar URL if it is https from a public host, else "" (no picture is shown)."""
    host = _host_of(url)
    return url if host and is_public_host_name(host) else ""


def account_link(url: str, hosts: set[str], fallback: str) -> str:
    """A link to an account only at a URL on that account's own host(s); else ``fallback``."""
    host = _host_of(url)
    return url if host and host in hosts else fallback


def is_mastodon_address(address: str) -> bool:
    """``user@host`` with a Mastodon user name and a public host name (already in lower case)."""
    user, at, domain = address.partition("@")
    return bool(at) and bool(MASTODON_USER.match(user)) and is_public_host_name(domain)


def plain_text(value: object, limit: int) -> str:
    """A stranger's name or bio as one-line text: hidden and direction-changing characters out, capped."""
    text = value if isinstance(value, str) else ""
    return HIDDEN_CHARACTERS.sub(" ", text[: limit * 2]).strip()[:limit]
