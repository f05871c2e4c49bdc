// Passerelle's matcher worker (a module worker): runs Python (Pyodide) off the page's thread.
// The messages both ways are typed in pyscript_app/protocol.py (tests/test_protocol.py keeps this
// file and matcher.js to them): requests boot, read, read-names, names, restore, save, forget, match,
// cancel, export, follow and claim ones; replies progress, ready, matches (new or changed ones
// only), answer, failed. The page may start this script twice: the second worker only reads names
// from the posts (read-names) while the first reads the relations.
// Picked files are mounted read-only (WORKERFS): Python seeks in them; nothing is copied or sent.
const MOUNT = "/archive";
const APP_DIR = "/home/pyodide/passerelle";
let pyodide = null;
let app = null;
let booted = null;

function post(type, fields) {
  self.postMessage(Object.assign({ type: type }, fields || {}));
}

// Pyodide fetches its wasm and standard library itself; during the start, fetch() adds the
// page's SRI digest to exactly those two URLs, so the browser refuses bytes that differ from the
// build's. A refused file fails the start at once (Pyodide alone would only log it and wait).
function checkedFetch(plainFetch, digests, refused) {
  return function (input, init) {
    const url = new URL(input instanceof Request ? input.url : String(input), self.location.href).href;
    const integrity = digests.get(url);
    const answer = plainFetch.call(self, input, integrity ? Object.assign({}, init, { integrity: integrity }) : init);
    if (integrity) {
      answer.catch(function (error) {
        refused(new Error(url + " was refused (not the file the page's digest names) or could not be fetched: " + error));
      });
    }
    return answer;
  };
}

async function startPyodide(message) {
  const index = message.pyodide;
  const files = message.runtime;
  const stdLibURL = index + files.stdlib;
  const digests = new Map([
    [index + "pyodide.asm.wasm", files.integrity["pyodide.asm.wasm"]],
    [stdLibURL, files.integrity[files.stdlib]],
  ]);
  // Both modules at once: pyodide.mjs would import pyodide.asm.mjs only after it has loaded.
  const modules = await Promise.all([import(index + "pyodide.mjs"), import(index + "pyodide.asm.mjs")]);
  const plainFetch = self.fetch;
  let refuse = null;
  const refused = new Promise(function (_, reject) { refuse = reject; });
  self.fetch = checkedFetch(plainFetch, digests, refuse);
  try {
    return await Promise.race([
      modules[0].loadPyodide({ indexURL: index, stdLibURL: stdLibURL, lockFileContents: files.lock, packageBaseUrl: index }),
      refused,
    ]);
  } finally {
    self.fetch = plainFetch;
  }
}

async function boot(message) {
  const started = performance.now();
  post("progress", { stage: "runtime" });
  const appResponse = fetch(message.app, { integrity: message.runtime.integrity.app });  // in parallel
  appResponse.catch(function () {});  // awaited below; no unhandled rejection meanwhile
  pyodide = await startPyodide(message);
  const loaded = performance.now();
  const response = await appResponse;
  if (!response.ok) throw new Error(message.app + ": HTTP " + response.status);
  pyodide.unpackArchive(await response.arrayBuffer(), "zip", { extractDir: APP_DIR });
  pyodide.runPython("import sys\nsys.path.insert(0, " + JSON.stringify(APP_DIR) + ")");
  const unpacked = performance.now();
  app = pyodide.pyimport("pyscript_app.worker");
  const now = performance.now();
  post("ready", {
    seconds: (now - started) / 1000,
    stages: { runtime: (loaded - started) / 1000, app: (unpacked - loaded) / 1000, imports: (now - unpacked) / 1000 },
  });
}

function mount(entries) {
  unmount();
  pyodide.FS.mkdirTree(MOUNT);
  const blobs = entries.map(function (entry) { return { name: entry.path, data: entry.file }; });
  pyodide.FS.mount(pyodide.FS.filesystems.WORKERFS, { blobs: blobs }, MOUNT);
}

function unmount() {
  try {
    pyodide.FS.unmount(MOUNT);
  } catch (error) {
    // nothing was mounted
  }
}

// What Python opens: a folder when every path shares one top folder, else each file.
function pickedPaths(entries) {
  const tops = new Set(entries.map(function (entry) { return entry.path.split("/")[0]; }));
  if (entries.every(function (entry) { return entry.path.indexOf("/") > 0; }) && tops.size === 1) {
    return [MOUNT + "/" + Array.from(tops)[0]];
  }
  return entries.map(function (entry) { return MOUNT + "/" + entry.path; });
}

// The picked files, mounted for the length of one call.
function withMounted(entries, work) {
  mount(entries);
  try {
    return work(JSON.stringify(pickedPaths(entries)));
  } finally {
    unmount();
  }
}

function readNames(message) {
  const progress = function (stage, done, total) { post("progress", { id: message.id, stage: stage, done: done, total: total }); };
  return withMounted(message.entries, function (paths) { return app.read_names(paths, progress); });
}

function match(message) {
  const progress = function (stage, done, total) { post("progress", { id: message.id, stage: stage, done: done, total: total }); };
  const publish = function (text) { post("matches", { id: message.id, matches: JSON.parse(text) }); };
  return app.match(JSON.stringify(message.settings), progress, publish);
}

// Bluesky requests of a follow run: the page signs and sends them, the answer comes back as text.
const relayed = new Map();
let nextRelay = 1;

function relay(method, path, headersJson, body) {
  const id = nextRelay++;
  return new Promise(function (resolve) {
    relayed.set(id, resolve);
    post("signed-request", { relay: id, method: method, path: path, headers: JSON.parse(headersJson), body: body === undefined ? null : body });
  });
}

function followStart(message) {
  const state = function (text) { post("follow-state", { id: message.id, state: JSON.parse(text) }); };
  const notice = function (text) { post("follow-notice", { id: message.id, notice: JSON.parse(text) }); };
  return app.follow_start(JSON.stringify(message.connections), relay, state, notice);
}

async function handle(message) {
  switch (message.type) {
    case "read": return withMounted(message.entries, function (paths) { return app.read(paths); });
    case "read-names": return readNames(message);
    case "names": return app.add_names(JSON.stringify(message.known));
    case "restore": return app.restore(message.saved);
    case "save": return app.saved_form();
    case "forget": return app.forget();
    case "match": return await match(message);
    case "cancel": return app.cancel();
    case "export": return await app.export(message.network, JSON.stringify(message.keys), JSON.stringify(message.mastodon || null));
    case "follow-plan": return app.follow_plan(JSON.stringify(message));
    case "follow-start": return await followStart(message);
    case "follow-pause":
    case "follow-resume":
    case "follow-cancel": return app.follow_control(message.type);
    case "mastodon-begin":
    case "mastodon-finish": return await app.mastodon_sign_in(message.type, JSON.stringify(message));
    case "claim-state":
    case "claim-publish":
    case "claim-withdraw": return await app.claim(message.type, JSON.stringify(message), relay);
    default: throw new Error("unknown request " + message.type);
  }
}

self.onmessage = async function (event) {
  const message = event.data;
  if (message.type === "signed-answer") {
    const resolve = relayed.get(message.relay);
    relayed.delete(message.relay);
    if (resolve) resolve(message.answer);
    return;
  }
  if (message.type === "boot") {
    booted = boot(message).then(
      function () { return true; },
      function (error) {
        post("failed", { stage: "boot", detail: String((error && error.stack) || error) });
        return false;
      }
    );
    return;
  }
  if (!booted || !(await booted)) {
    post("failed", { id: message.id, stage: message.type, detail: "the runtime did not start" });
    return;
  }
  try {
    post("answer", { id: message.id, answer: JSON.parse(await handle(message)) });
  } catch (error) {
    post("failed", { id: message.id, stage: message.type, detail: String((error && error.stack) || error) });
  }
};
