"""The in-browser runtime: Pyodide from its npm package, self-hosted, and the app's Python as a zip.

The pinned version and the tarball's integrity live in ``[tool.passerelle]`` (``pyodide_version``,
``pyodide_integrity``: npm's ``dist.integrity``). The tarball is fetched once with ``npm pack`` into
a cache outside the site, checked, and only the files the page needs are copied into the site.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pyscript_app.directory import ClaimError, compile_directory, read_claims

from .config import Config
from .demo_networks import write_demo_networks
from .errors import BuildError
from .precompile import compiled_app, trimmed_stdlib

log = logging.getLogger("passerelle.build")

# Extracted from the tarball into the cache; the site ships the first three and a trimmed stdlib.
RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
SHIPPED_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm")
STAMP = "stamp.json"
SRI_ALGORITHM = "sha384"
FIXED_DATE = (2020, 1, 1, 0, 0, 0)


DEMO_ARCHIVE = "assets/demo/sample-archive.zip"
DEMO_DIRECTORY = "directory/"


@dataclass(frozen=True)
class RuntimeAssets:
    """Where the runtime, the app and the demo land in the site, relative to its root.

    ``pyodide_folder`` is named after the digests of what it holds, and the app zip after its
    own: a new release never mixes with files a browser kept from an old one. ``files`` maps each
    shipped runtime file to its source in the cache; ``integrity`` maps it (and ``app_zip``) to
    the SRI string the page checks it against.
    """

    pyodide_folder: str
    app_zip: str
    app_zip_bytes: bytes
    files: dict[str, Path]
    integrity: dict[str, str]
    stdlib: str
    lock_info: dict[str, str]
    demo_archive: Path | None = None
    demo_claims: Path | None = None
    demo_networks: Path | None = None

    @property
    def replayed_networks(self) -> Path | None:
        """The demo's networks, when there is a sample archive and directory to record them with."""
        return self.demo_networks if self.demo_archive and self.demo_claims else None


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


def file_integrity(path: Path) -> str:
    """The SRI string (sha384) of a file, as the page's fetch(…, {integrity}) checks it."""
    return integrity_of(path.read_bytes(), SRI_ALGORITHM)


def read_stamp(folder: Path) -> dict[str, object]:
    """The extracted folder's stamp (its tarball's integrity and its files' digests); {} when unreadable."""
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def stamp_matches(folder: Path, tarball_integrity: str) -> dict[str, str] | None:
    """The files' digests when the extracted folder is exactly what the stamp records, else None."""
    stamp = read_stamp(folder)
    recorded = stamp.get("files")
    if stamp.get("tarball") != tarball_integrity or not isinstance(recorded, dict):
        return None
    if set(recorded) != set(RUNTIME_FILES) or not all((folder / name).is_file() for name in RUNTIME_FILES):
        return None
    actual = {name: file_integrity(folder / name) for name in RUNTIME_FILES}
    return actual if actual == recorded else None


def extract_runtime(tarball: Path, folder: Path, tarball_integrity: str) -> dict[str, str]:
    """Extract the runtime files from the verified tarball and stamp them with their digests."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STAMP).unlink(missing_ok=True)
    digests = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for name in RUNTIME_FILES:
            try:
                member = tar.extractfile(f"package/{name}")
            except KeyError:
                member = None
            if member is None:
                raise BuildError(f"{tarball.name}: has no {name}; is pyodide_version right?")
            data = member.read()
            (folder / f"{name}.part").write_bytes(data)
            (folder / f"{name}.part").replace(folder / name)
            digests[name] = integrity_of(data, SRI_ALGORITHM)
    stamp = {"tarball": tarball_integrity, "files": digests}
    (folder / STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return digests


def unpacked_runtime(tarball: Path, tarball_integrity: str) -> tuple[Path, dict[str, str]]:
    """The runtime files, extracted once beside the verified tarball, and their SRI digests.

    A stamp records the tarball's integrity and the digest of every extracted file; anything
    that does not match it (another tarball, a file changed or missing in the cache) is extracted
    again from the tarball, which ``fetch_pyodide`` has just checked against the pin.
    """
    folder = tarball.with_suffix("")
    digests = stamp_matches(folder, tarball_integrity)
    if digests is None:
        log.info("extracting %s into %s", tarball.name, folder)
        digests = extract_runtime(tarball, folder, tarball_integrity)
    return folder, digests


def folder_digest(integrity: dict[str, str]) -> str:
    """A short name for a set of files, from their digests: it changes when any file does."""
    text = "\n".join(f"{name} {value}" for name, value in sorted(integrity.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def prepare_runtime(config: Config) -> RuntimeAssets | None:
    """Phase one: fetch and check what the app pages need; None when the site has no app page."""
    if not config.apps or not config.extra.get("pyodide_version"):
        return None
    tarball = fetch_pyodide(config)
    pinned = str(config.extra["pyodide_integrity"])
    source, digests = unpacked_runtime(tarball, pinned)
    stdlib_zip, stdlib_integrity = trimmed_stdlib(source, pinned, config.root)
    stdlib_name = f"python_stdlib-{stdlib_zip.stem.removeprefix('stdlib-')}.zip"
    files = {name: source / name for name in SHIPPED_FILES} | {stdlib_name: stdlib_zip}
    integrity = {name: digests[name] for name in SHIPPED_FILES} | {stdlib_name: stdlib_integrity}
    lock_info = json.loads((source / "pyodide-lock.json").read_text(encoding="utf-8"))["info"]
    data = compiled_app(source, stdlib_zip, app_zip(config))
    digest = hashlib.sha256(data).hexdigest()[:10]
    app_name = f"assets/app/pyscript_app-{digest}.zip"
    demo_keys = ("demo_archive", "demo_claims", "demo_networks")
    demo = {key: config.root / str(config.extra[key]) for key in demo_keys if config.extra.get(key)}
    for key, path in demo.items():
        if not path.exists():
            raise BuildError(f"{path}: missing (configuration key '{key}')")
    return RuntimeAssets(
        pyodide_folder=f"assets/pyodide/{config.extra['pyodide_version']}-{folder_digest(integrity)}/",
        app_zip=app_name,
        app_zip_bytes=data,
        files=files,
        integrity=integrity | {app_name: integrity_of(data, SRI_ALGORITHM)},
        stdlib=stdlib_name,
        lock_info=lock_info,
        demo_archive=demo.get("demo_archive"),
        demo_claims=demo.get("demo_claims"),
        demo_networks=demo.get("demo_networks"),
    )


def write_runtime(runtime: RuntimeAssets, out: Path) -> None:
    """Phase two: copy the runtime's needed files and the app zip into the site."""
    target = out / runtime.pyodide_folder
    target.mkdir(parents=True, exist_ok=True)
    for name, source in runtime.files.items():
        shutil.copyfile(source, target / name)
    app = out / runtime.app_zip
    app.parent.mkdir(parents=True, exist_ok=True)
    app.write_bytes(runtime.app_zip_bytes)
    if runtime.demo_archive is not None:
        write_demo_archive(runtime.demo_archive, out / DEMO_ARCHIVE)
    if runtime.demo_claims is not None:
        compile_claims([runtime.demo_claims], out / DEMO_DIRECTORY, "Passerelle demo")
    if runtime.demo_archive is not None and (networks := runtime.replayed_networks) is not None:
        write_demo_networks(networks, runtime.demo_archive, out / DEMO_DIRECTORY, out)


def write_demo_archive(folder: Path, target: Path) -> None:
    """Zip the sample archive folder as X delivers an archive."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(zip_files([p for p in folder.rglob("*") if p.is_file()], folder))


def compile_claims(sources: list[Path], out: Path, name: str, self_published: bool = False) -> tuple[int, list[str]]:
    """Compile JSON Lines claims into a directory; returns the claims kept and the problems met.
    ``self_published``: the claims come from ``directory harvest`` (each published by its own account)."""
    claims, problems = [], []
    for path, line, claim in read_claims(sources):
        if isinstance(claim, ClaimError):
            problems.append(f"{path}:{line}: {claim}")
        else:
            claims.append(claim)
    if not claims:
        raise BuildError(f"no usable claim in {', '.join(map(str, sources))}" + "".join(f"\n{p}" for p in problems))
    compile_directory(claims, out, name, self_published)
    return len(claims), problems
