"""The project's own files: what ./dev installs is what pyproject.toml asks for, pinned with hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pinned(lock: Path) -> dict[str, str]:
    """Package name -> version of a pip-compile lock file; every pin must carry hashes."""
    text = lock.read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+) \\$", text, re.MULTILINE))
    assert len(re.findall(r"^[A-Za-z0-9_.-]+==", text, re.MULTILINE)) == len(pins), f"{lock}: a pin without hashes"
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins.items()}


def wanted(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]).lower() for r in requirements}


def test_lock_files_pin_every_dependency_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    site = pinned(ROOT / "requirements" / "site.txt")
    test = pinned(ROOT / "requirements" / "test.txt")
    assert wanted(project["dependencies"]) <= set(site)
    assert wanted(project["dependencies"] + project["optional-dependencies"]["test"]) <= set(test)
    assert {name: test[name] for name in site} == site  # the tests run what the site runs
