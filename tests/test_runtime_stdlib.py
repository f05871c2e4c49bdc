"""The shipped standard library holds every module the app imports: its flows run in Pyodide against it.

``tests/pyodide_flows.mjs`` starts the site's own Pyodide under Node with the trimmed,
precompiled stdlib the build wrote, and runs the worker's read, keep, restore, match (against
the sample directory, on 127.0.0.1), export, failure and forget paths. A module the app needs and
the zip lacks is a ModuleNotFoundError there.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

FLOWS = Path(__file__).with_name("pyodide_flows.mjs")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js runs Pyodide outside the browser")


def page_config(site: Path) -> dict:
    html = (site / "en" / "match" / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="matcher-config">(.*?)</script>', html, re.S)
    assert found, "the matcher page has no #matcher-config"
    return json.loads(found.group(1))


def runtime_paths(site: Path) -> tuple[Path, Path, Path, dict]:
    config = page_config(site)
    folder = (site / "en" / "match" / config["pyodide"]).resolve()
    return folder, folder / config["runtime"]["stdlib"], (site / "en" / "match" / config["app"]).resolve(), config


def run_flows(site: Path, stdlib: Path) -> subprocess.CompletedProcess:
    folder, _, app, config = runtime_paths(site)
    lock = json.dumps(config["runtime"]["lock"])
    command = [str(NODE), str(FLOWS), str(site), str(folder), str(stdlib), str(app), lock]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def module_names(stdlib: Path) -> set[str]:
    """Dotted module names in a stdlib zip (a package by its name)."""
    names = set()
    for name in zipfile.ZipFile(stdlib).namelist():
        dotted = name.removesuffix(".pyc").removesuffix(".py").replace("/", ".")
        names.add(dotted.removesuffix(".__init__"))
    return names


def test_the_app_flows_run_on_the_shipped_stdlib(built_site: Path) -> None:
    _, stdlib, _, _ = runtime_paths(built_site)
    result = run_flows(built_site, stdlib)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["ok"]


def test_a_module_missing_from_the_stdlib_fails_the_flows(built_site: Path, tmp_path: Path) -> None:
    _, stdlib, _, _ = runtime_paths(built_site)
    smaller = tmp_path / "stdlib.zip"
    with zipfile.ZipFile(stdlib) as source, zipfile.ZipFile(smaller, "w") as target:
        for info in source.infolist():
            if info.filename != "csv.pyc":
                target.writestr(info, source.read(info))
    result = run_flows(built_site, smaller)
    assert result.returncode != 0
    assert "No module named 'csv'" in result.stderr


def test_the_stdlib_is_trimmed_and_precompiled(built_site: Path) -> None:
    _, stdlib, _, _ = runtime_paths(built_site)
    names = zipfile.ZipFile(stdlib).namelist()
    assert names and all(name.endswith(".pyc") for name in names)
    shipped = module_names(stdlib)
    assert {"json", "zipfile", "csv", "asyncio", "encodings.utf_8_sig", "pyodide.http"} <= shipped
    assert not {"tkinter", "unittest", "urllib.request", "http.client"} & shipped  # not used in the browser
