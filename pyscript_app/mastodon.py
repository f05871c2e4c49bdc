"""Checking Mastodon addresses on their own server: does it exist, has it moved?

``GET /api/v1/accounts/lookup?acct=user`` answers the account (with ``moved`` set when it
moved) or 404; ``/api/v1/accounts/:id/following`` and ``/followers``, public on most servers,
list whom it follows and who follows it (empty when the account hides them). Addresses on
reserved test domains (``.example``, ``.invalid``, ``.test``, ``.localhost``) are never
requested: they cannot exist. A domain from a directory or a ``moved`` answer is asked only if
it is a public host name (no IP address, port, path or ``localhost``), unless the configuration
maps it to a URL (``mastodon_instance_urls``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from .net import PoliteClient
from .untrusted import account_link, is_mastodon_address, plain_text, safe_avatar

RESERVED_SUFFIXES = (".example", ".invalid", ".test", ".localhost")
MAX_MOVES = 3
ACCOUNT_MAX_BYTES = 256 * 1024  # an Account entity is a few kilobytes
LIST_PAGE = 80  # accounts in one page of follows or followers, the most a server gives
LIST_MAX_BYTES = 2 * 1024 * 1024
ACCOUNT_ID = re.compile(r"[0-9]{1,20}\Z")  # servers' ids are numbers (snowflakes)
NAME_LIMIT = 120


def split_address(address: str) -> tuple[str, str]:
    user, _, domain = address.lstrip("@").partition("@")
    return user, domain.lower()


def is_reserved(address: str) -> bool:
    return split_address(address)[1].endswith(RESERVED_SUFFIXES)


def bridge_address(address: str) -> str:
    """How Bluesky users follow a Mastodon account through Bridgy Fed (if its owner opted in)."""
    user, domain = split_address(address)
    return f"{user}.{domain}.ap.brid.gy"


@dataclass(frozen=True)
class MastodonAccount:
    address: str
    display_name: str
    avatar: str
    url: str
    moved_from: str | None = None
    id: str = ""  # the server's id for it ("" if the answer gave none that looks like one)


def _address_of(account: dict[str, Any], domain: str) -> str:
    acct = str(account.get("acct") or account.get("username") or "")
    return acct.lower() if "@" in acct else f"{acct.lower()}@{domain}"


class MastodonServers:
    """Looks addresses up on their servers; tests map a domain to a local URL."""

    def __init__(self, client: PoliteClient, instance_urls: dict[str, str] | None = None) -> None:
        self.client = client
        self.instance_urls = {k.lower(): v.rstrip("/") for k, v in (instance_urls or {}).items()}

    def base_url(self, domain: str) -> str:
        return self.instance_urls.get(domain, f"https://{domain}")

    def may_ask(self, address: str) -> bool:
        """Only addresses on public host names, or on a domain the configuration maps, are asked."""
        user, domain = split_address(address)
        return domain in self.instance_urls or is_mastodon_address(f"{user}@{domain}")

    async def lookup(self, address: str) -> MastodonAccount | None:
        """The account now behind ``address`` (following moves), or None if it is gone or cannot be asked."""
        original = address.lower().lstrip("@")
        current = original
        for _ in range(MAX_MOVES + 1):
            if not self.may_ask(current):
                return None
            user, domain = split_address(current)
            data = await self.client.get_json(
                f"{self.base_url(domain)}/api/v1/accounts/lookup?{urlencode({'acct': user})}", ACCOUNT_MAX_BYTES
            )
            if not isinstance(data, dict) or data.get("suspended"):
                return None
            moved = data.get("moved")
            if isinstance(moved, dict) and (moved.get("acct") or moved.get("username")):
                current = _address_of(moved, domain)
                continue
            own_hosts = {domain, (urlsplit(self.base_url(domain)).hostname or "").lower()}
            return MastodonAccount(
                address=current,
                display_name=plain_text(data.get("display_name") or data.get("username"), NAME_LIMIT),
                avatar=safe_avatar(str(data.get("avatar") or "")),
                url=account_link(str(data.get("url") or ""), own_hosts, f"https://{domain}/@{user}"),
                moved_from=original if current != original else None,
                id=str(data.get("id")) if ACCOUNT_ID.match(str(data.get("id"))) else "",
            )
        return None

    async def connections(self, account: MastodonAccount) -> set[str]:
        """The addresses in the first page of whom ``account`` follows and of who follows it, asked on
        its own server; none when it hides them or has no id."""
        if not account.id or not self.may_ask(account.address):
            return set()
        domain = split_address(account.address)[1]
        found: set[str] = set()
        for kind in ("following", "followers"):
            url = f"{self.base_url(domain)}/api/v1/accounts/{account.id}/{kind}?{urlencode({'limit': LIST_PAGE})}"
            data = await self.client.get_json(url, LIST_MAX_BYTES)
            items = data[:LIST_PAGE] if isinstance(data, list) else []
            found.update(_address_of(item, domain) for item in items if isinstance(item, dict))
        return {address for address in found if "@" in address.strip("@")}
