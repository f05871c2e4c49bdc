"""The person's graph: what an X archive says about them and the people around them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .notices import Notice

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Account:
    """The archive owner's X account."""

    id: str
    username: str
    display_name: str | None = None


@dataclass
class KnownAccount:
    """An X account the archive names: handles and display names seen in the owner's posts."""

    x_id: str
    handles: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    seen: int = 0

    @property
    def handle(self) -> str:
        return self.handles[0] if self.handles else ""

    @property
    def name(self) -> str | None:
        return self.names[0] if self.names else None


def known_to_json(known: dict[str, KnownAccount]) -> dict[str, list[Any]]:
    """Named accounts in a compact JSON form: ``{id: [handles, names, seen]}``."""
    return {x_id: [account.handles, account.names, account.seen] for x_id, account in known.items()}


def known_from_json(data: dict[str, Any]) -> dict[str, KnownAccount]:
    """The inverse of ``known_to_json``; ``ValueError``/``TypeError``/``KeyError`` if malformed."""
    known = {}
    for x_id, (handles, names, seen) in data.items():
        texts = [x_id, *handles, *names] if isinstance(handles, list) and isinstance(names, list) else [None]
        if not all(isinstance(item, str) for item in texts) or not isinstance(seen, int):
            raise TypeError("named accounts: [handles, names, times seen] with text and a count")
        known[x_id] = KnownAccount(x_id, list(handles), list(names), seen)
    return known


@dataclass
class PersonGraph:
    """One typed object the matcher consumes: ids are strings (they exceed 2**53)."""

    account: Account | None
    following: list[str]
    followers: list[str]
    blocked: list[str] = field(default_factory=list)
    muted: list[str] = field(default_factory=list)
    known: dict[str, KnownAccount] = field(default_factory=dict)
    warnings: list[Notice] = field(default_factory=list)
    generation: str = "modern"

    def relations(self) -> list[str]:
        """Followed and follower ids, each once, followed first."""
        return list(dict.fromkeys(self.following + self.followers))

    def named_relations(self) -> list[str]:
        """Followed or follower ids whose handle the archive reveals."""
        return [x_id for x_id in self.relations() if x_id in self.known and self.known[x_id].handles]

    def named_count(self) -> int:
        """``len(self.named_relations())``, without listing 200,000 relations to count a few thousand."""
        if not self.known:
            return 0
        related = set(self.following).union(self.followers)
        return sum(1 for x_id, account in self.known.items() if account.handles and x_id in related)

    def summary(self) -> dict[str, Any]:
        """The figures the page shows, and the CLI prints with ``--json``."""
        account = self.account
        return {
            "account": None
            if account is None
            else {"id": account.id, "username": account.username, "display_name": account.display_name},
            "following": len(self.following),
            "followers": len(self.followers),
            "blocked": len(self.blocked),
            "muted": len(self.muted),
            "named": self.named_count(),
            "warnings": [notice.text for notice in self.warnings],
        }

    def to_json(self) -> str:
        """A compact JSON form, for the browser's storage when the person asks to keep it."""
        account = None if self.account is None else [self.account.id, self.account.username, self.account.display_name]
        return json.dumps(
            {
                "version": FORMAT_VERSION,
                "account": account,
                "following": self.following,
                "followers": self.followers,
                "blocked": self.blocked,
                "muted": self.muted,
                "known": known_to_json(self.known),
                "warnings": [w.to_json() for w in self.warnings],
                "generation": self.generation,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> PersonGraph:
        data = json.loads(text)
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"saved graph has format {data.get('version')!r}, expected {FORMAT_VERSION}")
        account = data["account"]
        return cls(
            account=None if account is None else Account(*account),
            following=list(data["following"]),
            followers=list(data["followers"]),
            blocked=list(data["blocked"]),
            muted=list(data["muted"]),
            known=known_from_json(data["known"]),
            warnings=[Notice.from_json(w) for w in data["warnings"]],
            generation=str(data["generation"]),
        )
