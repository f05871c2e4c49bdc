// Passerelle's matcher page: thin glue between the page and the Python worker.
// All reading happens in Python (pyscript_app), in a Web Worker, on this device. Nothing here
// sends the archive anywhere: the picked File objects go to the worker by reference only.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("matcher-config").textContent);
  const page = document.querySelector("[data-testid=matcher-page]");
  const $ = function (selector) { return page.querySelector(selector); };
  const ui = {
    runtimeText: $("[data-runtime-text]"),
    runtimeProgress: $("[data-runtime-progress]"),
    fileInput: $("[data-testid=archive-input]"),
    folderInput: $("[data-testid=archive-folder-input]"),
    dropZone: $("[data-drop-zone]"),
    reading: $("[data-testid=archive-progress]"),
    readingText: $("[data-reading-text]"),
    readingProgress: $("[data-reading-progress]"),
    error: $("[data-testid=archive-error]"),
    summary: $("[data-testid=archive-summary]"),
    account: $("[data-summary-account]"),
    warnings: $("[data-summary-warnings]"),
    status: $("[data-testid=matcher-status]"),
    saved: $("[data-testid=saved-archive]"),
    savedText: $("[data-saved-text]"),
  };
  const numbers = new Intl.NumberFormat(config.language);
  const absolute = function (url) { return new URL(url, document.baseURI).href; };

  // --- messages: the page's translations, with %(name)s parameters --------------------------
  function translate(message, params) {
    const text = config.messages[message] || config.ui[message] || message;
    return text.replace(/%\((\w+)\)s/g, function (_, name) {
      const value = params ? params[name] : "";
      return typeof value === "number" ? numbers.format(value) : String(value);
    });
  }

  function showError(notice) {
    ui.error.textContent = translate(notice.message, notice.params);
    ui.error.hidden = false;
  }

  // --- the worker ----------------------------------------------------------------------------
  const worker = new Worker(absolute(config.worker), { type: "module" });
  const pending = new Map();
  let nextId = 1;
  let ready = false;

  function ask(type, fields) {
    const id = nextId++;
    return new Promise(function (resolve, reject) {
      pending.set(id, { resolve: resolve, reject: reject });
      worker.postMessage(Object.assign({ type: type, id: id }, fields || {}));
    });
  }

  worker.onmessage = function (event) {
    const message = event.data;
    if (message.type === "progress") return showProgress(message);
    if (message.type === "ready") return becomeReady(message);
    if (message.type === "summary") return showSummary(message.summary);
    const waiting = pending.get(message.id);
    if (message.type === "failed") {
      console.error("Passerelle worker failed (" + message.stage + "):", message.detail);
      if (message.stage === "boot") return runtimeFailed();
    }
    if (!waiting) return;
    pending.delete(message.id);
    if (message.type === "answer") waiting.resolve(message.answer);
    else waiting.reject(new Error(message.detail));
  };
  worker.onerror = function (event) {
    console.error("Passerelle worker error:", event.message);
    runtimeFailed();
  };
  worker.postMessage({ type: "boot", pyodide: absolute(config.pyodide), app: absolute(config.app) });

  function becomeReady(message) {
    ready = true;
    performance.mark("passerelle:ready");
    ui.runtimeText.textContent = translate("ready");
    ui.runtimeProgress.hidden = true;
    document.documentElement.dataset.ready = "1";
    document.documentElement.dataset.readySeconds = message.seconds.toFixed(3);
  }

  function runtimeFailed() {
    ui.runtimeText.textContent = translate("runtimeFailed");
    ui.runtimeProgress.hidden = true;
    setBusy(false);
  }

  function showProgress(message) {
    if (message.stage === "runtime") return;
    if (message.stage === "posts" && message.total > 0) {
      ui.readingText.textContent = translate("posts", { done: message.done, total: message.total });
      ui.readingProgress.max = message.total;
      ui.readingProgress.value = message.done;
    }
  }

  // --- reading -------------------------------------------------------------------------------
  function setBusy(busy) {
    ui.fileInput.disabled = busy;
    ui.folderInput.disabled = busy;
    page.dataset.busy = busy ? "1" : "0";
    ui.reading.hidden = !busy;
  }

  function resetResult() {
    ui.error.hidden = true;
    ui.summary.hidden = true;
    ui.status.hidden = true;
  }

  function showStatus(key) {
    ui.status.textContent = translate(key);
    ui.status.hidden = false;
  }

  function entriesFrom(files, useRelativePath) {
    return Array.prototype.map.call(files, function (file) {
      const path = (useRelativePath && file.webkitRelativePath) || file.name;
      return { path: path, file: file };
    });
  }

  async function readPicked(entries) {
    if (!entries.length) return;
    resetResult();
    setBusy(true);
    ui.readingText.textContent = translate("opening");
    ui.readingProgress.removeAttribute("value");
    performance.mark("passerelle:picked");
    try {
      const answer = await ask("read", { entries: entries });
      finish(answer);
    } catch (error) {
      showError({ message: "Something went wrong while reading your archive.", params: {} });
    } finally {
      setBusy(false);
      ui.fileInput.value = "";
      ui.folderInput.value = "";
    }
  }

  function finish(answer) {
    if (answer.crash) console.error("Passerelle: unexpected problem in Python:\n" + answer.crash);
    if (answer.error) {
      ui.summary.hidden = true;
      showError(answer.error);
      return;
    }
    showSummary(answer);
  }

  function showSummary(summary) {
    performance.mark(summary.complete ? "passerelle:summary-complete" : "passerelle:summary");
    const account = summary.account;
    if (!account) ui.account.textContent = translate("noAccount");
    else if (account.display_name) ui.account.textContent = translate("account", { username: account.username, name: account.display_name });
    else ui.account.textContent = translate("accountNoName", { username: account.username });
    const figures = {
      following: summary.following,
      followers: summary.followers,
      named: summary.named,
      hidden: summary.blocked + summary.muted,
    };
    Object.keys(figures).forEach(function (key) {
      ui.summary.querySelector("[data-figure=" + key + "]").textContent = numbers.format(figures[key]);
    });
    ui.warnings.replaceChildren.apply(ui.warnings, (summary.notices || []).map(function (notice) {
      const item = document.createElement("li");
      item.textContent = translate(notice.message, notice.params);
      return item;
    }));
    ui.summary.dataset.following = summary.following;
    ui.summary.dataset.followers = summary.followers;
    ui.summary.dataset.named = summary.named;
    ui.summary.dataset.complete = summary.complete ? "1" : "0";
    ui.summary.hidden = false;
  }

  ui.fileInput.addEventListener("change", function () { readPicked(entriesFrom(ui.fileInput.files, false)); });
  ui.folderInput.addEventListener("change", function () { readPicked(entriesFrom(ui.folderInput.files, true)); });
  ui.dropZone.addEventListener("dragover", function (event) {
    event.preventDefault();
    ui.dropZone.classList.add("dragging");
  });
  ui.dropZone.addEventListener("dragleave", function () { ui.dropZone.classList.remove("dragging"); });
  ui.dropZone.addEventListener("drop", function (event) {
    event.preventDefault();
    ui.dropZone.classList.remove("dragging");
    if (!page.dataset.busy || page.dataset.busy === "0") readPicked(entriesFrom(event.dataTransfer.files, false));
  });

  // --- keeping the summary on this device, only when asked ------------------------------------
  const STORE = "graphs";
  const KEY = "current";

  function database() {
    return new Promise(function (resolve, reject) {
      const request = indexedDB.open("passerelle", 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  async function storage(mode, action) {
    const db = await database();
    try {
      return await new Promise(function (resolve, reject) {
        const transaction = db.transaction(STORE, mode);
        const request = action(transaction.objectStore(STORE));
        transaction.oncomplete = function () { resolve(request.result); };
        transaction.onerror = function () { reject(transaction.error); };
      });
    } finally {
      db.close();
    }
  }

  async function keep() {
    try {
      const answer = await ask("save");
      if (answer.error) return showError(answer.error);
      await storage("readwrite", function (store) { return store.put({ saved: answer.saved, at: Date.now() }, KEY); });
      showStatus("kept");
    } catch (error) {
      showStatus("storageFailed");
    }
  }

  async function forgetEverything() {
    try {
      await storage("readwrite", function (store) { return store.delete(KEY); });
    } catch (error) {
      // storage is off in this browser: nothing was kept there
    }
    if (ready) await ask("forget");
    resetResult();
    ui.saved.hidden = true;
    ui.fileInput.value = "";
    ui.folderInput.value = "";
    showStatus("forgotten");
  }

  async function offerSaved() {
    let record = null;
    try {
      record = await storage("readonly", function (store) { return store.get(KEY); });
    } catch (error) {
      return;
    }
    if (!record) return;
    const date = new Date(record.at).toLocaleString(config.language, { dateStyle: "long", timeStyle: "short" });
    ui.savedText.textContent = translate("savedOn", { date: date });
    ui.saved.hidden = false;
    $("[data-testid=restore-saved]").onclick = async function () {
      resetResult();
      ui.saved.hidden = true;
      finish(await ask("restore", { saved: record.saved }));
    };
  }

  $("[data-testid=keep-on-device]").addEventListener("click", keep);
  $("[data-testid=forget-everything]").addEventListener("click", forgetEverything);
  $("[data-testid=forget-saved]").addEventListener("click", forgetEverything);
  offerSaved();
})();
