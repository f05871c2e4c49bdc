// Compiles Python for the site under the pinned Pyodide, so that the bytecode is the browser's own.
// Run by sitebuild/precompile.py under Node:
//   node precompile.mjs stdlib PYODIDE_DIR FULL_STDLIB_ZIP OUT_ZIP MODULE[:NAME]...
//     Starts Pyodide with its full standard library, imports every MODULE (the app's own imports
//     and a safety list; "module:name" as in "from module import name"), then writes OUT_ZIP: every
//     standard-library module now in sys.modules as .pyc, stored uncompressed (the host's Brotli
//     compresses across files far better than per-file deflate).
//   node precompile.mjs app PYODIDE_DIR STDLIB_ZIP APP_ZIP OUT_ZIP
//     Writes OUT_ZIP, stored like the stdlib: APP_ZIP's files plus, for every .py, its __pycache__ .pyc (unchecked-hash, so
//     the import never compares it with the source's date; the source stays for tracebacks).
import { pathToFileURL } from "node:url";

const [command, pyodideDir, stdlib, ...rest] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(pyodideDir + "/pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + "/", stdLibURL: stdlib });

function mountFolderOf(file, where) {
  pyodide.FS.mkdirTree(where);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: file.slice(0, file.lastIndexOf("/")) || "." }, where);
  return where + "/" + file.slice(file.lastIndexOf("/") + 1);
}

const PYC_HEADER = `
import importlib.util, marshal, zipfile

DATE = (2020, 1, 1, 0, 0, 0)

def pyc(source, name, unchecked):
    code = compile(source, name, "exec", dont_inherit=True)
    if not unchecked:  # timestamp flags, no source beside it
        return importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)
    flags = (0b01).to_bytes(4, "little")  # hash-based, not checked against the source
    return importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)
`;

if (command === "stdlib") {
  const [outZip, ...modules] = rest;
  pyodide.globals.set("wanted", pyodide.toPy(modules));
  pyodide.globals.set("out_name", mountFolderOf(outZip, "/out"));
  pyodide.runPython(PYC_HEADER + `
import importlib, sys

STDLIB = f"/lib/python{sys.version_info.major}{sys.version_info.minor}.zip"
for entry in wanted:
    module_name, _, attribute = entry.partition(":")
    module = importlib.import_module(module_name)
    if attribute and not hasattr(module, attribute):  # a submodule, not an attribute
        importlib.import_module(f"{module_name}.{attribute}")

def zip_member(module):
    origin = getattr(getattr(module, "__spec__", None), "origin", None) or ""
    return origin[len(STDLIB) + 1:] if origin.startswith(STDLIB + "/") else None

# A package's __init__ is imported before its submodules, so every parent package is in the set.
members = sorted({m for m in (zip_member(mod) for mod in list(sys.modules.values())) if m})
full = zipfile.ZipFile(STDLIB)
with zipfile.ZipFile(out_name, "w", zipfile.ZIP_STORED) as out:
    for member in members:
        out.writestr(zipfile.ZipInfo(member[:-3] + ".pyc", DATE), pyc(full.read(member), member, False))
`);
} else if (command === "app") {
  const [appZip, outZip] = rest;
  pyodide.globals.set("app_name", mountFolderOf(appZip, "/in"));
  pyodide.globals.set("out_name", mountFolderOf(outZip, "/out"));
  pyodide.runPython(PYC_HEADER + `
with zipfile.ZipFile(app_name) as app, zipfile.ZipFile(out_name, "w", zipfile.ZIP_STORED) as out:
    for info in app.infolist():
        data = app.read(info)
        out.writestr(zipfile.ZipInfo(info.filename, DATE), data)
        if info.filename.endswith(".py"):
            cached = importlib.util.cache_from_source(info.filename)
            out.writestr(zipfile.ZipInfo(cached, DATE), pyc(data, "/home/pyodide/passerelle/" + info.filename, True))
`);
} else {
  throw new Error("unknown command " + command);
}
