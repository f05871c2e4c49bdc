"""Site configuration: ``[tool.passerelle]`` in pyproject.toml, overridable by ``--config FILE``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import BuildError

PATH_KEYS = ("content_dir", "templates_dir", "static_dir", "locales_dir")


@dataclass(frozen=True)
class Config:
    """Everything the build needs to know; paths are absolute."""

    root: Path
    content_dir: Path
    templates_dir: Path
    static_dir: Path
    locales_dir: Path
    source_language: str = "en"
    site_name: str = "Passerelle"
    site_url: str = ""
    guide: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    extract_python: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pot_path(self) -> Path:
        return self.locales_dir / "messages.pot"

    @property
    def pages(self) -> tuple[str, ...]:
        """Every page key, guide pages first."""
        return self.guide + self.apps


def _table_from(path: Path) -> dict[str, Any]:
    """Read the passerelle table of a TOML file (``[tool.passerelle]`` or top level)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise BuildError(f"{path}: not valid TOML: {error}") from None
    table: dict[str, Any] = data.get("tool", {}).get("passerelle", data if "tool" not in data else {})
    return table


def _apply(config: Config, table: dict[str, Any], base: Path, origin: Path) -> Config:
    """Return ``config`` with the keys of ``table`` applied; relative paths resolve from ``base``."""
    known = {f.name for f in fields(Config)} - {"root", "extra"}
    changes: dict[str, Any] = {}
    extra = dict(config.extra)
    for key, value in table.items():
        if key in PATH_KEYS:
            changes[key] = (base / str(value)).resolve()
        elif key in ("guide", "apps", "extract_python"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BuildError(f"{origin}: '{key}' must be a list of strings")
            changes[key] = tuple(value)
        elif key in known:
            changes[key] = value
        else:
            extra[key] = value
    return replace(config, **changes, extra=extra)


def load_config(root: Path, override: Path | None = None) -> Config:
    """Load the project's configuration, then apply an optional override file."""
    root = root.resolve()
    config = Config(
        root=root,
        content_dir=root / "content",
        templates_dir=root / "site" / "templates",
        static_dir=root / "site" / "static",
        locales_dir=root / "locales",
    )
    pyproject = root / "pyproject.toml"
    if pyproject.exists():
        config = _apply(config, _table_from(pyproject), root, pyproject)
    if override is not None:
        override = override.resolve()
        config = _apply(config, _table_from(override), override.parent, override)
    if not config.guide:
        raise BuildError("configuration: 'guide' must list the guide's pages in reading order")
    return config
