"""The command line's configuration file: ``[tool.passerelle]`` of a pyproject.toml, or a plain TOML file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .notices import ArchiveError


def passerelle_table(path: Path) -> dict[str, Any]:
    """The passerelle keys of a TOML file; a file that cannot be read is an ArchiveError (one line)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ArchiveError(
            "The configuration file %(file)s cannot be read: %(reason)s", file=str(path), reason=str(error)
        ) from None
    table = data.get("tool", {}).get("passerelle", data)
    return table if isinstance(table, dict) else {}
