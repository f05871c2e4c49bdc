"""Files the person downloads: Mastodon's own "Following list" CSV, and Bluesky handles and DIDs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from .matching import Match
from .untrusted import is_mastodon_address

MASTODON_HEADER = ["Account address", "Show boosts", "Notify on new posts", "Languages"]
MASTODON_FOLLOW_LIMIT = 7_500  # an account may follow this many (more with many followers)
# Mastodon refuses a whole "Following list" import whose rows exceed what the account may still
# follow: 7,500 (or 1.1 x its followers above that) minus those it follows, in merge mode
# (app/models/form/import.rb, validate_csv_data; it also refuses more than 20,000 rows). Without
# knowing the account, a file of at most 7,500 rows is the largest a new account imports whole.
MASTODON_SAFE_ROWS = MASTODON_FOLLOW_LIMIT


@dataclass(frozen=True)
class ExportFile:
    name: str
    mime: str
    text: str


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (``=HYPERLINK(…)``) is kept as text: ``'=…``."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _csv(rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([neutralise_formula(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def mastodon_following_lists(matches: Iterable[Match], rows_per_file: int = MASTODON_SAFE_ROWS) -> list[ExportFile]:
    """Mastodon's import format, split into files Mastodon accepts; each address once, and only
    addresses (a cell that is not ``user@host`` never reaches the file)."""
    addresses = list(
        dict.fromkeys(m.account for m in matches if m.network == "mastodon" and is_mastodon_address(m.account))
    )
    chunks = [addresses[i : i + rows_per_file] for i in range(0, len(addresses), rows_per_file)] or [[]]
    files = []
    for number, chunk in enumerate(chunks, start=1):
        suffix = "" if len(chunks) == 1 else f"-{number}"
        text = _csv([MASTODON_HEADER, *([address, "true", "false", ""] for address in chunk)])
        files.append(ExportFile(f"mastodon-following{suffix}.csv", "text/csv", text))
    return files


def bluesky_lists(matches: Iterable[Match]) -> list[ExportFile]:
    """Bluesky matches as CSV and JSON: handle, DID, display name and the X account they match."""
    chosen = list({m.account: m for m in matches if m.network == "bluesky"}.values())
    rows = [["handle", "did", "display_name", "x_handle", "x_id", "confidence"]]
    rows += [[m.account, m.did, m.display_name, m.x_handle, m.x_id, m.confidence] for m in chosen]
    data = [
        {
            "handle": m.account,
            "did": m.did,
            "display_name": m.display_name,
            "x_handle": m.x_handle,
            "x_id": m.x_id,
            "confidence": m.confidence,
        }
        for m in chosen
    ]
    return [
        ExportFile("bluesky-follows.csv", "text/csv", _csv(rows)),
        ExportFile("bluesky-follows.json", "application/json", json.dumps(data, ensure_ascii=False, indent=2) + "\n"),
    ]
