// Builds the trimmed, precompiled standard library the site ships (run by sitebuild/stdlib.py under Node).
// Usage: node stdlib.mjs PYODIDE_DIR FULL_STDLIB_ZIP OUT_ZIP MODULE[:NAME]...
// Starts the pinned Pyodide with its full standard library, imports every MODULE (the app's own
// imports and a safety list), then writes OUT_ZIP: every standard-library module now in sys.modules,
// compiled to .pyc by Pyodide's own Python (so the bytecode matches the browser's), stored uncompressed
// (the host's Brotli/gzip compresses across files far better than per-file deflate).
import { pathToFileURL } from "node:url";

const [pyodideDir, fullStdlib, outZip, ...modules] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(pyodideDir + "/pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + "/", stdLibURL: fullStdlib });
pyodide.FS.mkdirTree("/out");
const outDir = outZip.slice(0, outZip.lastIndexOf("/")) || ".";
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: outDir }, "/out");
pyodide.globals.set("wanted", pyodide.toPy(modules));
pyodide.globals.set("out_name", "/out/" + outZip.slice(outZip.lastIndexOf("/") + 1));
pyodide.runPython(`
import importlib, importlib.util, marshal, sys, zipfile

STDLIB = f"/lib/python{sys.version_info.major}{sys.version_info.minor}.zip"
for entry in wanted:  # "module" or "module:name", as the app's "from module import name"
    module_name, _, attribute = entry.partition(":")
    module = importlib.import_module(module_name)
    if attribute and not hasattr(module, attribute):  # a submodule, not an attribute
        importlib.import_module(f"{module_name}.{attribute}")

def zip_member(module):
    origin = getattr(getattr(module, "__spec__", None), "origin", None) or ""
    return origin[len(STDLIB) + 1:] if origin.startswith(STDLIB + "/") else None

members = sorted({m for m in (zip_member(mod) for mod in list(sys.modules.values())) if m})
# A package's __init__ is imported before its submodules, so every parent package is in the set.
full = zipfile.ZipFile(STDLIB)
with zipfile.ZipFile(out_name, "w", zipfile.ZIP_STORED) as out:
    for member in members:
        source = full.read(member)
        code = compile(source, member, "exec", dont_inherit=True)
        header = importlib.util.MAGIC_NUMBER + bytes(12)  # timestamp flags, no source beside it
        info = zipfile.ZipInfo(member[:-3] + ".pyc", (2020, 1, 1, 0, 0, 0))
        out.writestr(info, header + marshal.dumps(code))
`);
