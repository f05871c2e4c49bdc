"""Messages for people: an English msgid (in the catalog) plus its parameters.

Python never shows text itself: it hands ``{"message": msgid, "params": {...}}`` to the page,
which shows the translation for the page's language. Under CPython, ``text`` is the English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Notice:
    """A translatable message with named ``%(name)s`` parameters."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.message % self.params if self.params else self.message

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notice:
        return cls(str(data["message"]), dict(data.get("params") or {}))


class ArchiveError(Exception):
    """The archive cannot be read; ``notice`` says why, in words for the person."""

    def __init__(self, message: str, **params: Any) -> None:
        self.notice = Notice(message, params)
        super().__init__(self.notice.text)
