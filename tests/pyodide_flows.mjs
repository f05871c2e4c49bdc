// Runs the app's browser flows inside the site's own Pyodide runtime, under Node, with the shipped
// (trimmed, precompiled) standard library: read the sample archive, keep and restore it, match it
// against the sample directory (served here on 127.0.0.1), export, and one unexpected failure.
// Usage: node pyodide_flows.mjs SITE_DIR RUNTIME_FOLDER STDLIB_ZIP APP_ZIP LOCK_JSON
// (LOCK_JSON: the lock file contents the page passes, as the site ships no pyodide-lock.json)
// Prints one JSON line: {"ok": true, "modules": [...]} or exits non-zero with the problem.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [site, runtime, stdlib, appZip, lock] = process.argv.slice(2);

function serve(root) {
  const server = http.createServer(function (request, response) {
    const file = path.join(root, decodeURIComponent(new URL(request.url, "http://x").pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      response.writeHead(404);
      return response.end();
    }
    response.writeHead(200, { "content-type": "application/json", "access-control-allow-origin": "*" });
    response.end(fs.readFileSync(file));
  });
  return new Promise(function (resolve) { server.listen(0, "127.0.0.1", function () { resolve(server); }); });
}

// Node prints a failing line of the minified runtime whole: print the error's message only.
process.on("uncaughtException", function (error) { fail(error); });
process.on("unhandledRejection", function (error) { fail(error); });
function fail(error) {
  process.stderr.write(String((error && error.message) || error) + "\n");
  process.exit(1);
}

const { loadPyodide } = await import(pathToFileURL(path.join(runtime, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: runtime + "/", stdLibURL: stdlib, lockFileContents: lock });
pyodide.unpackArchive(new Uint8Array(fs.readFileSync(appZip)), "zip", { extractDir: "/home/pyodide/passerelle" });
pyodide.FS.writeFile("/tmp/sample.zip", new Uint8Array(fs.readFileSync(path.join(site, "assets/demo/sample-archive.zip"))));
const server = await serve(site);
const directory = "http://127.0.0.1:" + server.address().port + "/directory/";
pyodide.globals.set("directory_url", directory);
try {
  const modules = await pyodide.runPythonAsync(`
import json, sys
sys.path.insert(0, "/home/pyodide/passerelle")
import pyscript_app.worker as worker

def answer(text):
    result = json.loads(text)
    if "error" in result or "crash" in result:
        raise AssertionError(text)
    return result

sample = json.dumps(["/tmp/sample.zip"])
counts = answer(worker.read(sample))
names = answer(worker.read_names(sample, lambda *args: None))
summary = answer(worker.add_names(json.dumps(names["known"])))
assert not counts["complete"] and summary["complete"] and summary["named"] > 0, summary
answer(worker.restore(answer(worker.saved_form())["saved"]))
settings = {"directories": [directory_url], "bluesky_appview": directory_url, "look_up_names": False}
report = json.loads(await worker.match(json.dumps(settings), lambda *args: None, lambda text: None))
assert report.get("matches"), report
keys = [[m["x_id"], m["network"], m["account"]] for m in report["matches"]]
for network in ("mastodon", "bluesky"):
    answer(await worker.export(network, json.dumps(keys)))
failure = json.loads(worker.read(json.dumps(["/no/such/file.zip"])))
assert "error" in failure, failure
answer(worker.forget())
json.dumps(sorted(sys.modules))
`);
  console.log(JSON.stringify({ ok: true, modules: JSON.parse(modules) }));
} finally {
  server.close();
}
