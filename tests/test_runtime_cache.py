"""The build's runtime cache: extracted Pyodide checked against a stamp, compressed copies, hashed names."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import brotli
import pytest

from sitebuild.config import Config
from sitebuild.precompile import app_imports, cached_stdlib, sri384
from sitebuild.runtime import STAMP, fetch_pyodide, unpacked_runtime

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tarball(config: Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the verified tarball in a cache of its own."""
    copy = tmp_path_factory.mktemp("cache") / "pyodide" / fetch_pyodide(config).name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(fetch_pyodide(config), copy)
    return copy


def test_the_extracted_runtime_is_stamped_and_reused(tarball: Path, config: Config) -> None:
    pinned = str(config.extra["pyodide_integrity"])
    folder, digests = unpacked_runtime(tarball, pinned)
    stamp = json.loads((folder / STAMP).read_text())
    assert stamp == {"tarball": pinned, "files": digests}
    assert all(value.startswith("sha384-") for value in digests.values())
    written = (folder / "pyodide.asm.wasm").stat().st_mtime_ns
    assert unpacked_runtime(tarball, pinned) == (folder, digests)
    assert (folder / "pyodide.asm.wasm").stat().st_mtime_ns == written  # not extracted again


@pytest.mark.parametrize("damage", ["changed", "missing", "other tarball"])
def test_a_runtime_that_does_not_match_its_stamp_is_extracted_again(tarball: Path, config: Config, damage) -> None:
    pinned = str(config.extra["pyodide_integrity"])
    folder, digests = unpacked_runtime(tarball, pinned)
    wasm = folder / "pyodide.asm.wasm"
    if damage == "changed":
        wasm.write_bytes(wasm.read_bytes()[:-1] + b"\0")
    elif damage == "missing":
        wasm.unlink()
    else:
        stamp = json.loads((folder / STAMP).read_text())
        (folder / STAMP).write_text(json.dumps(stamp | {"tarball": "sha512-another"}))
    assert unpacked_runtime(tarball, pinned) == (folder, digests)
    assert sri384(wasm.read_bytes()) == digests["pyodide.asm.wasm"]


def test_a_changed_cached_stdlib_is_not_used(tmp_path: Path) -> None:
    zip_path = tmp_path / "stdlib-x.zip"
    zip_path.write_bytes(b"PK trimmed")
    zip_path.with_suffix(".sri").write_text(sri384(b"PK trimmed"))
    assert cached_stdlib(zip_path) == sri384(b"PK trimmed")
    zip_path.write_bytes(b"PK changed")
    assert cached_stdlib(zip_path) is None


def test_app_imports_are_the_module_level_ones() -> None:
    imports = app_imports(ROOT)
    assert {"json", "zipfile", "csv", "pyodide.ffi:to_js"} <= set(imports)
    assert not [name for name in imports if name.startswith(("urllib.request", "concurrent.futures", "pyscript_app"))]


def test_the_site_ships_compressed_copies_and_hashed_runtime_names(built_site: Path) -> None:
    folders = list((built_site / "assets" / "pyodide").iterdir())
    assert len(folders) == 1 and folders[0].name.rsplit("-", 1)[1].isalnum()
    wasm = folders[0] / "pyodide.asm.wasm"
    assert brotli.decompress((folders[0] / "pyodide.asm.wasm.br").read_bytes()) == wasm.read_bytes()
    assert gzip.decompress((folders[0] / "pyodide.asm.wasm.gz").read_bytes()) == wasm.read_bytes()
    assert not (folders[0] / "pyodide-lock.json").exists()
    for copy in built_site.rglob("*.br"):
        original = copy.with_suffix("")
        assert brotli.decompress(copy.read_bytes()) == original.read_bytes(), original
        assert copy.stat().st_size < original.stat().st_size
