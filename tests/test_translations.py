"""Every shipped language is complete, passes the check, and is a translation, not an English copy."""

from __future__ import annotations

import re

import pytest

from sitebuild.catalogs import catalog_status, check_catalogs, po_path, read_catalog, shipped_languages
from sitebuild.config import Config

SHIPPED = ["ar", "ca", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "sv", "tr", "uk"]
# Messages that are the same in every language: code, file names, product names, numbers.
UNTRANSLATABLE = re.compile(r"^(`[^`]*`|Bluesky|Mastodon|Passerelle|X|[\d\s.,%:/-]+)$")


def test_the_shipped_languages_are_all_there(config: Config) -> None:
    assert set(SHIPPED) <= set(shipped_languages(config))


@pytest.mark.parametrize("code", SHIPPED)
def test_language_is_complete_and_not_english(config: Config, code: str) -> None:
    template = read_catalog(config.pot_path)
    catalog = read_catalog(po_path(config, code), locale=code)
    catalog.update(template)
    status = catalog_status(code, catalog)
    assert (status.fuzzy, status.untranslated) == (0, 0), f"{code}: {status}"
    copies = [m.id for m in catalog if m.id and m.string == m.id and not UNTRANSLATABLE.match(m.id)]
    assert len(copies) <= 3, f"{code}: left in English: {copies}"


def test_every_catalog_passes_the_check(config: Config) -> None:
    assert [str(p) for p in check_catalogs(config)] == []
