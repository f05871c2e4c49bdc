"""Languages of the site and the translator that falls back to the source for missing messages."""

from __future__ import annotations

import gettext as gettext_module
from collections.abc import Callable
from dataclasses import dataclass, field

from babel.messages.catalog import Catalog

from .catalogs import is_translated, parse_locale


@dataclass(frozen=True)
class Language:
    """A language as the site uses it: gettext code, BCP 47 tag, URL folder, native name, direction."""

    code: str
    tag: str
    slug: str
    native_name: str
    direction: str

    @classmethod
    def from_code(cls, code: str) -> Language:
        locale = parse_locale(code)
        name = locale.get_display_name(locale) or code
        tag = code.replace("_", "-")
        return cls(code, tag, tag.lower(), name[:1].upper() + name[1:], locale.text_direction)


@dataclass
class Translator:
    """gettext over a Babel catalog that records which messages fell back to the source text.

    Untranslated and fuzzy messages show the source text, message by message, and are
    remembered in ``missing`` so the page can say that its translation is incomplete.
    """

    catalog: Catalog | None = None
    missing: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        expression = self.catalog.plural_expr if self.catalog is not None else "(n != 1)"
        self._plural: Callable[[int], int] = gettext_module.c2py(expression)

    def _lookup(self, msgid: str) -> str | tuple[str, ...] | list[str] | None:
        if self.catalog is None:
            return None
        message = self.catalog.get(msgid)
        if message is None or not is_translated(message):
            self.missing.add(msgid)
            return None
        return message.string

    def gettext(self, msgid: str) -> str:
        if not msgid:
            return msgid
        found = self._lookup(msgid)
        return found if isinstance(found, str) else msgid

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = self._lookup(singular)
        if isinstance(found, tuple):
            return found[min(self._plural(n), len(found) - 1)]
        return singular if n == 1 else plural

    def pgettext(self, context: str, msgid: str) -> str:
        return self.gettext(msgid)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self.ngettext(singular, plural, n)
