"""Python compiled ahead for the browser: the trimmed standard library and the app.

The standard library the site ships is only what the app and Pyodide import, precompiled.

Pyodide's ``python_stdlib.zip`` holds the whole standard library as ``.py`` sources (2.5 MB), and
every start compiles the hundred-odd modules Pyodide and the app import. The site instead ships
the modules that are really imported, as ``.pyc`` compiled by the pinned Pyodide itself under
Node, in a zip stored without compression (the host's Brotli compresses it as a whole).

Which modules: the app's own imports (read from its sources), plus ``SAFETY_MODULES`` (modules
the standard library imports lazily on paths the app takes, such as codecs looked up by name),
plus everything those and Pyodide's start import. Imports inside functions are lazy and not read:
the CPython-only ones (``urllib.request`` in ``_compat``) stay out; a browser path that needs one
must list it in ``SAFETY_MODULES``. The result is cached in ``.cache`` under a key
of those inputs, so Node runs only when the pinned Pyodide or the app's imports change.
``tests/test_runtime_stdlib.py`` runs the app's flows in Pyodide against the shipped zip.

The app's zip gets a ``__pycache__`` .pyc beside each module (its sources stay, for tracebacks),
compiled under Node on the first build after the app changes and cached by the zip's digest.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from .errors import BuildError

TOOL = Path(__file__).with_name("precompile.mjs")
TOOL_VERSION = "1"
# Imported lazily by the standard library on paths the app takes (found by running its flows).
SAFETY_MODULES = (
    "encodings.ascii",
    "encodings.cp437",  # zipfile: member names without the UTF-8 flag
    "encodings.latin_1",
    "encodings.utf_8_sig",  # archive.parse_ytd
    "encodings.utf_16",
    "encodings.utf_16_be",
    "encodings.utf_16_le",
    "encodings.utf_32",
    "encodings.utf_32_be",
    "encodings.utf_32_le",
    "pyodide.ffi",
    "pyodide.http",
)
# Never part of what runs in the browser: the command line and the modules only CPython uses.
NOT_IN_BROWSER = frozenset({"pyscript_app/__main__.py"})
SKIPPED_ROOTS = frozenset({"pyscript_app", "js", "__future__"})


def module_level(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node outside function bodies and ``if TYPE_CHECKING:``: imports there are lazy or never run."""
    for node in ast.iter_child_nodes(tree):
        type_checking = isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        if not type_checking and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield node
            yield from module_level(node)


def app_imports(root: Path) -> list[str]:
    """``module`` or ``module:name`` for every module-level absolute import in the app's browser modules."""
    found: set[str] = set()
    for path in sorted((root / "pyscript_app").rglob("*.py")):
        if path.relative_to(root).as_posix() in NOT_IN_BROWSER:
            continue
        for node in module_level(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.update(f"{node.module}:{alias.name}" for alias in node.names if alias.name != "*")
    return sorted(name for name in found if name.partition(":")[0].split(".")[0] not in SKIPPED_ROOTS)


def run_tool(command: str, runtime: Path, *arguments: str | Path) -> None:
    """Run ``precompile.mjs`` under Node; its last argument before the modules is the file it writes."""
    node = shutil.which("node")
    if node is None:
        raise BuildError("Node.js is needed to precompile the in-browser Python (install nodejs)")
    result = subprocess.run(
        [node, str(TOOL), command, str(runtime), *map(str, arguments)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])[-2000:] or "no output"
        raise BuildError(f"could not precompile the in-browser Python under Node ({command}):\n{detail}")


def compiled_app(runtime: Path, stdlib: Path, app: bytes) -> bytes:
    """The app zip with a .pyc for every module, compiled by the pinned Pyodide; cached by content."""
    key = hashlib.sha256(b"\n".join([TOOL_VERSION.encode(), TOOL.read_bytes(), app])).hexdigest()[:16]
    target = runtime / f"app-{key}.zip"
    if target.is_file():
        return target.read_bytes()
    source = runtime / f"app-{key}.source.zip"
    partial = runtime / f"app-{key}.part"
    source.write_bytes(app)
    try:
        run_tool("app", runtime, stdlib, source, partial)
        partial.replace(target)
    finally:
        source.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return target.read_bytes()


def stdlib_key(runtime_integrity: str, wanted: list[str]) -> str:
    """The cache key of a trimmed stdlib: the pinned runtime, the modules asked for, this tool."""
    text = "\n".join([TOOL_VERSION, runtime_integrity, TOOL.read_text(encoding="utf-8"), *wanted])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sri384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def cached_stdlib(target: Path) -> str | None:
    """The SRI digest of a cached trimmed stdlib when it is still what was built, else None."""
    try:
        recorded = target.with_suffix(".sri").read_text(encoding="utf-8").strip()
        actual = sri384(target.read_bytes())
    except OSError:
        return None
    return actual if actual == recorded else None


def trimmed_stdlib(runtime: Path, runtime_integrity: str, root: Path) -> tuple[Path, str]:
    """The trimmed, precompiled stdlib zip for this app and its SRI digest; built under Node on first use.

    The digest recorded beside the cached zip is checked at every build: a zip changed in the
    cache is built again.
    """
    wanted = sorted({*app_imports(root), *SAFETY_MODULES})
    target = runtime / f"stdlib-{stdlib_key(runtime_integrity, wanted)}.zip"
    digest = cached_stdlib(target)
    if digest is not None:
        return target, digest
    partial = target.with_suffix(".part")
    try:
        run_tool("stdlib", runtime, runtime / "python_stdlib.zip", partial, *wanted)
        digest = sri384(partial.read_bytes())
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    target.with_suffix(".sri").write_text(digest + "\n", encoding="utf-8")
    return target, digest
