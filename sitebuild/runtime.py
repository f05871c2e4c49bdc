"""The in-browser runtime: Pyodide from its npm package, self-hosted, and the app's Python as a zip.

The pinned version and the tarball's integrity live in ``[tool.passerelle]`` (``pyodide_version``,
``pyodide_integrity``: npm's ``dist.integrity``). The tarball is fetched once with ``npm pack`` into
a cache outside the site, checked, and only the files the page needs are copied into the site.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pyscript_app.directory import ClaimError, compile_directory, read_claims

from .config import Config
from .errors import BuildError

RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
FIXED_DATE = (2020, 1, 1, 0, 0, 0)


DEMO_ARCHIVE = "assets/demo/sample-archive.zip"
DEMO_DIRECTORY = "directory/"


@dataclass(frozen=True)
class RuntimeAssets:
    """Where the runtime, the app and the demo land in the site, relative to its root."""

    pyodide_folder: str
    app_zip: str
    app_zip_bytes: bytes
    tarball: Path
    demo_archive: Path | None = None
    demo_claims: Path | None = None


def cache_dir(config: Config) -> Path:
    return Path(os.environ.get("PASSERELLE_CACHE", config.root / ".cache"))


def integrity_of(data: bytes, algorithm: str) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def verify_integrity(path: Path, expected: str) -> None:
    """Compare a file with an npm/SRI integrity string such as ``sha512-…``."""
    algorithm = expected.partition("-")[0]
    if algorithm not in ("sha256", "sha384", "sha512"):
        raise BuildError(f"pyodide_integrity must be an npm integrity string such as 'sha512-…', not {expected!r}")
    actual = integrity_of(path.read_bytes(), algorithm)
    if actual != expected:
        path.unlink()
        raise BuildError(
            f"{path.name}: integrity check failed (expected {expected}, got {actual}); the download was removed"
        )


def fetch_pyodide(config: Config) -> Path:
    """The verified tarball of the pinned Pyodide, fetched with ``npm pack`` on first use."""
    version = str(config.extra["pyodide_version"])
    integrity = str(config.extra.get("pyodide_integrity", ""))
    if not integrity:
        raise BuildError("configuration: 'pyodide_integrity' must pin the tarball of pyodide_version")
    folder = cache_dir(config) / "pyodide"
    tarball = folder / f"pyodide-{version}.tgz"
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise BuildError(
                f"npm is needed once to fetch Pyodide {version}: install Node.js and npm, or put {tarball}"
            )
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "pack", f"pyodide@{version}", "--pack-destination", str(folder), "--silent"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not tarball.exists():
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise BuildError(f"could not fetch Pyodide {version} with 'npm pack': {detail}")
    verify_integrity(tarball, integrity)
    return tarball


def zip_files(files: list[Path], base: Path) -> bytes:
    """A zip of ``files`` named relative to ``base``, with fixed dates: same sources, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path.relative_to(base).as_posix(), FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def app_zip(config: Config) -> bytes:
    """The in-browser Python package, as the worker unpacks it."""
    return zip_files(list((config.root / "pyscript_app").rglob("*.py")), config.root)


def unpacked_runtime(tarball: Path) -> Path:
    """The runtime files the page needs, extracted once beside the verified tarball."""
    folder = tarball.with_suffix("")
    if all((folder / name).is_file() for name in RUNTIME_FILES):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as tar:
        for name in RUNTIME_FILES:
            try:
                member = tar.extractfile(f"package/{name}")
            except KeyError:
                member = None
            if member is None:
                raise BuildError(f"{tarball.name}: has no {name}; is pyodide_version right?")
            (folder / f"{name}.part").write_bytes(member.read())
            (folder / f"{name}.part").replace(folder / name)
    return folder


def prepare_runtime(config: Config) -> RuntimeAssets | None:
    """Phase one: fetch and check what the app pages need; None when the site has no app page."""
    if not config.apps or not config.extra.get("pyodide_version"):
        return None
    tarball = fetch_pyodide(config)
    data = app_zip(config)
    digest = hashlib.sha256(data).hexdigest()[:10]
    demo_keys = ("demo_archive", "demo_claims")
    demo = {key: config.root / str(config.extra[key]) for key in demo_keys if config.extra.get(key)}
    for key, path in demo.items():
        if not path.exists():
            raise BuildError(f"{path}: missing (configuration key '{key}')")
    return RuntimeAssets(
        pyodide_folder=f"assets/pyodide/{config.extra['pyodide_version']}/",
        app_zip=f"assets/app/pyscript_app-{digest}.zip",
        app_zip_bytes=data,
        tarball=tarball,
        demo_archive=demo.get("demo_archive"),
        demo_claims=demo.get("demo_claims"),
    )


def write_runtime(runtime: RuntimeAssets, out: Path) -> None:
    """Phase two: copy the runtime's needed files and the app zip into the site."""
    target = out / runtime.pyodide_folder
    target.mkdir(parents=True, exist_ok=True)
    source = unpacked_runtime(runtime.tarball)
    for name in RUNTIME_FILES:
        shutil.copyfile(source / name, target / name)
    app = out / runtime.app_zip
    app.parent.mkdir(parents=True, exist_ok=True)
    app.write_bytes(runtime.app_zip_bytes)
    if runtime.demo_archive is not None:
        write_demo_archive(runtime.demo_archive, out / DEMO_ARCHIVE)
    if runtime.demo_claims is not None:
        compile_claims([runtime.demo_claims], out / DEMO_DIRECTORY, "Passerelle demo")


def write_demo_archive(folder: Path, target: Path) -> None:
    """Zip the sample archive folder as X delivers an archive."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(zip_files([p for p in folder.rglob("*") if p.is_file()], folder))


def compile_claims(sources: list[Path], out: Path, name: str) -> tuple[int, list[str]]:
    """Compile JSON Lines claims into a directory; returns the claims kept and the problems met."""
    claims, problems = [], []
    for path, line, claim in read_claims(sources):
        if isinstance(claim, ClaimError):
            problems.append(f"{path}:{line}: {claim}")
        else:
            claims.append(claim)
    if not claims:
        raise BuildError(f"no usable claim in {', '.join(map(str, sources))}" + "".join(f"\n{p}" for p in problems))
    compile_directory(claims, out, name)
    return len(claims), problems
