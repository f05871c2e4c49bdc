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
    keep: $("[data-testid=keep-on-device]"),
    account: $("[data-summary-account]"),
    warnings: $("[data-summary-warnings]"),
    status: $("[data-testid=matcher-status]"),
    saved: $("[data-testid=saved-archive]"),
    savedText: $("[data-saved-text]"),
  };
  const numbers = new Intl.NumberFormat(config.language);
  // The person chose "Keep on this device" (or restored what they kept): only then may answers
  // be kept in this browser's storage. "Forget everything" starts a new generation: an answer
  // that belongs to an older one is dropped.
  let keptOnDevice = false;
  let generation = 0;
  const absolute = function (url) { return new URL(url, document.baseURI).href; };

  // --- messages: the page's translations, with %(name)s parameters --------------------------
  // A handle, an address or a URL inside a right-to-left sentence is isolated (FSI … PDI), so that
  // "@alice" never shows as "alice@" and "https://" never as "//:https".
  const rightToLeft = document.documentElement.dir === "rtl";
  function translate(message, params) {
    const text = config.messages[message] || config.ui[message] || message;
    return text.replace(/(@?)%\((\w+)\)s/g, function (_, at, name) {  // "@%(handle)s": the @ goes with it
      const value = params ? params[name] : "";
      if (typeof value === "number") return at + numbers.format(value);
      return rightToLeft ? "\u2068" + at + String(value) + "\u2069" : at + String(value);
    });
  }

  function showError(notice) {
    ui.error.textContent = translate(notice.message, notice.params);
    ui.error.hidden = false;
  }

  // --- the workers ---------------------------------------------------------------------------
  // One worker does everything. Once it is ready, a second one starts (on a device with two cores
  // or more, and 2 GB of memory or more) to read the names in the posts while the first reads the
  // relations of the same picked files; without it, or if it fails, the first reads them itself.
  const bootMessage = { type: "boot", pyodide: absolute(config.pyodide), runtime: config.runtime, app: absolute(config.app) };

  // A worker and its requests: ask() sends one and resolves with its answer.
  function connect(onOther, onFailed) {
    const worker = new Worker(absolute(config.worker), { type: "module" });
    const pending = new Map();
    let nextId = 1;
    worker.onmessage = function (event) {
      const message = event.data;
      const waiting = pending.get(message.id);
      if (message.type === "failed") onFailed(message);
      else if (message.type !== "answer") return onOther(message);
      if (!waiting) return;
      pending.delete(message.id);
      if (message.type === "answer") waiting.resolve(message.answer);
      else waiting.reject(new Error(message.detail));
    };
    worker.postMessage(bootMessage);
    return {
      worker: worker,
      nextId: function () { return nextId; },  // the id the next request will carry
      abandon: function (reason) {  // the worker is gone: no answer will come
        pending.forEach(function (waiting) { waiting.reject(new Error(reason)); });
        pending.clear();
      },
      ask: function (type, fields) {
        const id = nextId++;
        return new Promise(function (resolve, reject) {
          pending.set(id, { resolve: resolve, reject: reject });
          worker.postMessage(Object.assign({ type: type, id: id }, fields || {}));
        });
      },
    };
  }

  let ready = false;
  const main = connect(function (message) {
    if (message.type === "progress") return showProgress(message);
    if (message.type === "ready") return becomeReady(message);
    if (message.type === "matches") return matching.current(message.id) && results.update(message.matches);
    if (message.type === "follow-state") return following.showState(message.state);
    if (message.type === "follow-notice") return following.showNotice(message.notice);
    if (message.type === "signed-request") return following.sendSigned(message);
  }, function (message) {
    console.error("Passerelle worker failed (" + message.stage + "):", message.detail);
    if (message.stage === "boot") runtimeFailed();
  });
  const worker = main.worker;
  const ask = main.ask;
  worker.onerror = function (event) {
    console.error("Passerelle worker error:", event.message);
    runtimeFailed();
  };

  // The second worker, once it is ready. A pick made while it is still starting is read whole by
  // the first: waiting for the second would be slower (measured in bench/startup.py).
  let namesReader = null;
  function startNamesReader() {
    // Worth it only where both can run at once, with memory for a second interpreter.
    if (!(navigator.hardwareConcurrency > 1) || (navigator.deviceMemory || 4) < 2) return;
    const second = connect(function (message) {
      if (message.type === "progress") return showProgress(message);
      if (message.type !== "ready") return;
      namesReader = second;
      document.documentElement.dataset.namesReader = "1";
    }, function (message) {
      if (message.stage === "boot") stop("did not start", message.detail);
    });
    second.worker.onerror = function (event) { stop("stopped", event.message); };
    function stop(what, detail) {
      console.warn("Passerelle: the second worker " + what + "; the first reads the names itself.", detail);
      if (namesReader === second) namesReader = null;
      second.worker.terminate();
      second.abandon(String(detail));  // its requests are answered by the first worker instead
    }
  }

  // Once it has answered, the second worker is replaced by a fresh one: its memory (over 100 MB
  // after a 5 GB archive's posts, freed but still held by the interpreter) goes back to the device.
  function renewNamesReader(used) {
    used.worker.terminate();
    if (namesReader !== used) return;
    namesReader = null;
    delete document.documentElement.dataset.namesReader;
    startNamesReader();
  }

  function becomeReady(message) {
    ready = true;
    performance.mark("passerelle:ready");
    ui.runtimeText.textContent = translate("ready");
    ui.runtimeProgress.hidden = true;
    document.documentElement.dataset.ready = "1";
    document.documentElement.dataset.readySeconds = message.seconds.toFixed(3);
    document.documentElement.dataset.readyStages = JSON.stringify(message.stages);
    following.comeBack();
    startNamesReader();
  }

  function runtimeFailed() {
    ui.runtimeText.textContent = translate("runtimeFailed");
    ui.runtimeProgress.hidden = true;
    setBusy(false);
  }

  function showProgress(message) {
    if (message.stage === "runtime") return;
    if (message.stage === "directories" || message.stage === "bluesky" || message.stage === "mastodon") {
      return matching.current(message.id) && matching.progress(message);
    }
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
    following.archive(false);
    findable.refresh(null);
    ui.error.hidden = true;
    ui.summary.hidden = true;
    ui.status.hidden = true;
    matching.reset();
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
    keptOnDevice = false;  // a new archive: nothing of it is kept until the person asks
    resetResult();
    setBusy(true);
    ui.readingText.textContent = translate("opening");
    ui.readingProgress.removeAttribute("value");
    performance.mark("passerelle:picked");
    const started = generation;
    try {
      const helper = namesReader;  // the names are read there, at the same time
      const names = helper && helper.ask("read-names", { entries: entries });
      if (names) names.catch(function () {});  // awaited below; no unhandled rejection meanwhile
      const counts = await ask("read", { entries: entries });
      if (started !== generation) return;  // "Forget everything" was pressed meanwhile
      if (counts.error || counts.crash) return finish(counts);
      showSummary(counts);
      let readBy = names ? "second" : "first";
      const found = await (names || Promise.reject(new Error("no second worker"))).catch(function () {
        readBy = "first";
        return ask("read-names", { entries: entries });
      });
      ui.summary.dataset.namesReadBy = readBy;  // which worker read the posts (the bench reports it)
      if (helper) renewNamesReader(helper);
      if (started !== generation) return;
      if (found.error || found.crash) return finish(found);
      finish(await ask("names", { known: found.known }));
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
    ui.keep.disabled = !summary.complete;  // the counts come first; the names complete what is kept
    ui.summary.hidden = false;
    if (summary.complete) {
      matching.offer(summary);
      following.archive(true);
      findable.refresh(summary);
    }
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
    if (!page.dataset.busy || page.dataset.busy === "0") {
      leaveDemo();
      readPicked(entriesFrom(event.dataTransfer.files, false));
    }
  });

  // --- the sample archive ---------------------------------------------------------------------
  let demoMode = false;
  const demoButton = $("[data-testid=try-demo]");
  if (demoButton) {
    demoButton.addEventListener("click", async function () {
      try {
        const response = await fetch(absolute(config.demo.archive));
        if (!response.ok) throw new Error("HTTP " + response.status);
        const file = new File([await response.blob()], "sample-archive.zip", { type: "application/zip" });
        demoMode = true;
        following.demo(true);
        await readPicked([{ path: file.name, file: file }]);
      } catch (error) {
        showError({ message: "demoLoadFailed", params: {} });
      }
    });
  }
  function leaveDemo() {
    demoMode = false;
    following.demo(false);
  }
  ui.fileInput.addEventListener("change", leaveDemo, true);
  ui.folderInput.addEventListener("change", leaveDemo, true);

  // --- matching ------------------------------------------------------------------------------
  const matching = (function () {
    const section = $("[data-testid=matching]");
    const start = $("[data-testid=start-matching]");
    const cancel = $("[data-testid=cancel-matching]");
    const progressBox = $("[data-testid=match-progress]");
    const progressText = $("[data-match-text]");
    const progressBar = $("[data-match-bar]");
    const failures = $("[data-testid=match-failures]");
    const done = $("[data-testid=matching-done]");
    const directoryList = $("[data-directory-list]");
    const addForm = $("[data-add-directory]");
    const addInput = $("[data-testid=directory-url]");
    const directoriesOnly = $("[data-testid=directories-only]");
    const networkParties = Array.prototype.slice.call(section.querySelectorAll("[data-network-party]"));
    const extraDirectories = [];
    let runningId = 0;
    directoriesOnly.addEventListener("change", function () {
      networkParties.forEach(function (item) { item.hidden = directoriesOnly.checked; });
    });

    function directories() {
      if (demoMode) return [absolute(config.demo.directory)];
      return config.settings.directories.map(absolute).concat(extraDirectories);
    }

    function showDirectories() {
      directoryList.replaceChildren.apply(directoryList, directories().map(function (url) {
        const item = document.createElement("li");
        item.textContent = url;
        item.dir = "ltr";
        return item;
      }));
      $("[data-demo-note]").hidden = !demoMode;
    }

    addForm.addEventListener("submit", function (event) {
      event.preventDefault();
      let url = null;
      try {
        url = new URL(addInput.value.trim());
      } catch (error) {
        url = null;
      }
      // https only; plain http only for a directory on this computer (a test or a local copy)
      const local = url && url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].indexOf(url.hostname) !== -1;
      if (!url || (url.protocol !== "https:" && !local)) {
        addInput.setCustomValidity(translate("badDirectory"));
        addInput.reportValidity();
        return;
      }
      addInput.setCustomValidity("");
      if (extraDirectories.indexOf(url.href) === -1) extraDirectories.push(url.href);
      addInput.value = "";
      showDirectories();
    });
    addInput.addEventListener("input", function () { addInput.setCustomValidity(""); });

    function offer(summary) {
      section.hidden = false;
      showDirectories();
      const estimate = $("[data-testid=match-estimate]");
      const seconds = (summary && summary.estimate_seconds) || 0;
      estimate.hidden = demoMode || seconds <= 60;
      estimate.textContent = translate("estimate", { count: summary ? summary.named : 0, minutes: Math.ceil(seconds / 60) });
    }

    function reset() {
      section.hidden = true;
      results.clear();
      failures.replaceChildren();
      done.hidden = true;
      progressBox.hidden = true;
    }

    function progress(message) {
      progressBox.hidden = false;
      progressText.textContent = translate("stage_" + message.stage, { done: message.done, total: message.total });
      progressBar.max = Math.max(message.total, 1);
      progressBar.value = message.done;
    }

    async function run() {
      results.clear();
      failures.replaceChildren();
      done.hidden = true;
      start.disabled = true;
      cancel.hidden = false;
      progressBox.hidden = false;
      progressText.textContent = translate("stage_directories", { done: 0, total: directories().length });
      // The sample is matched by the same code against the demo's networks, recorded as files of
      // this site (sitebuild/demo_networks.py): nothing leaves the site.
      const demo = demoMode && config.demo.networks;
      const settings = {
        bluesky_appview: demo ? config.demo.appview : config.settings.bluesky_appview,
        // the site's directories, and apart the ones the person added (never "high" by themselves)
        directories: demoMode ? directories() : config.settings.directories.map(absolute),
        added_directories: demoMode ? [] : extraDirectories.slice(),
        mastodon_instance_urls: demoMode ? {} : config.settings.mastodon_instance_urls,
        look_up_names: !demoMode || Boolean(demo),
        directories_only: directoriesOnly.checked,
        keep_responses: keptOnDevice && !demoMode,
        replay: demo ? absolute(config.demo.networks) : "",
      };
      const started = generation;
      performance.mark("passerelle:matching-start");
      try {
        runningId = main.nextId();
        const answer = await ask("match", { settings: settings });
        if (started !== generation) return;  // "Forget everything" was pressed meanwhile
        if (answer.crash) console.error("Passerelle: unexpected problem in Python:\n" + answer.crash);
        if (answer.error) {
          showError(answer.error);
          return;
        }
        results.update(answer.matches, true);
        failures.replaceChildren.apply(failures, answer.failures.map(function (notice) {
          const item = document.createElement("li");
          item.textContent = translate(notice.message, notice.params);
          return item;
        }));
        const stats = answer.stats;
        done.textContent = answer.cancelled ? translate("cancelled") : translate("done", {
          people: stats.matched_people, relations: stats.relations, bluesky: stats.bluesky, mastodon: stats.mastodon,
        });
        results.showUndecided(stats.undecided || 0);
        if (!answer.cancelled) await compareWithLastRun();
        done.dataset.requests = stats.requests.requests;
        done.dataset.bytes = stats.requests.bytes;
        done.hidden = false;
        performance.mark("passerelle:matching-done");
      } catch (error) {
        showError({ message: "Something went wrong while reading your archive.", params: {} });
      } finally {
        runningId = 0;
        start.disabled = false;
        cancel.hidden = true;
        progressBox.hidden = true;
      }
    }

    function current(id) { return id === runningId; }

    start.addEventListener("click", run);
    cancel.addEventListener("click", function () { ask("cancel"); });
    return { offer: offer, reset: reset, progress: progress, current: current, forgotten: function () { runningId = 0; } };
  })();

  // --- results: review, filter, select, export -------------------------------------------------
  const results = (function () {
    const section = $("[data-testid=results]");
    const list = $("[data-match-list]");
    const counts = $("[data-testid=result-counts]");
    const warnings = $("[data-testid=export-warnings]");
    const filters = Array.prototype.slice.call(section.querySelectorAll("[data-filter]"));
    const rows = new Map();  // key -> {match, element, checkbox, text}
    const selected = new Set();

    function keyOf(match) { return [match.x_id, match.network, match.account].join("\u0000"); }

    function element(tag, className, text) {
      const node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    function reasonText(match, reason) {
      if (reason === "moved") return translate("reason_moved", { old: match.moved_from });
      const evidence = (match.evidence || []).filter(function (e) { return e.reason === reason; })[0];
      const count = evidence && evidence.count ? evidence.count : 0;
      if (reason === "same_name" && count > 1) return translate("reason_same_name_shared", { count: count });
      return translate("reason_" + reason, { count: count });
    }

    // An https picture; the sample's are files of this site, named in its recorded answers as
    // config.demo.avatarOrigin (a reserved domain, never requested).
    function avatarSource(url) {
      const origin = config.demo.avatarOrigin;
      if (demoMode && origin && url.indexOf(origin) === 0) return absolute(config.demo.avatars + url.slice(origin.length));
      return /^https:\/\//.test(url) ? url : "";
    }

    function render(match, key) {
      const item = element("li", "match-row");
      item.setAttribute("data-testid", "match-row");
      item.dataset.xId = match.x_id;
      item.dataset.network = match.network;
      item.dataset.account = match.account;
      item.dataset.confidence = match.confidence;
      item.dataset.relation = match.relation;
      const checkbox = element("input");
      checkbox.type = "checkbox";
      checkbox.checked = selected.has(key);
      checkbox.setAttribute("aria-label", translate("select", { account: match.account }));
      checkbox.setAttribute("data-testid", "match-select");
      checkbox.addEventListener("change", function () {
        if (checkbox.checked) selected.add(key); else selected.delete(key);
        showCounts();
      });
      item.appendChild(checkbox);
      const avatar = element("img", "avatar");
      avatar.alt = "";
      avatar.width = 48;
      avatar.height = 48;
      avatar.loading = "lazy";
      avatar.referrerPolicy = "no-referrer";
      const picture = avatarSource(match.avatar);
      if (picture) avatar.src = picture; else avatar.classList.add("empty");
      item.appendChild(avatar);
      const body = element("div", "match-body");
      const title = element("p", "match-title");
      const name = element("strong", "", match.display_name || match.account);
      name.dir = "auto";  // a stranger's name, in any script: its own direction, isolated
      title.appendChild(name);
      title.appendChild(document.createTextNode(" "));
      if (/^https:\/\//.test(match.url) && !demoMode) {  // the sample's people are fictional: no link
        const link = element("a", "handle", "@" + match.account);
        link.dir = "ltr";
        link.href = match.url;
        link.rel = "noopener noreferrer";
        link.target = "_blank";
        link.title = translate("openProfile");
        title.appendChild(link);
      } else {
        const handle = element("span", "handle", "@" + match.account);
        handle.dir = "ltr";
        title.appendChild(handle);
      }
      body.appendChild(title);
      const meta = element("p", "match-meta");
      meta.appendChild(element("span", "badge network-" + match.network, match.network === "bluesky" ? "Bluesky" : "Mastodon"));
      meta.appendChild(element("span", "badge confidence-" + match.confidence, translate("confidence_" + match.confidence)));
      meta.appendChild(element("span", "badge", translate("relation_" + match.relation)));
      if (match.x_handle) meta.appendChild(element("span", "x-handle", translate("xAccount", { handle: match.x_handle })));
      body.appendChild(meta);
      body.appendChild(element("p", "match-reasons", match.reasons.map(function (r) { return reasonText(match, r); }).join(" · ")));
      if (match.bridge) body.appendChild(element("p", "match-bridge", translate("bridge_" + match.network, { address: match.bridge })));
      if (match.choice) {
        if (match.bio) {
          const bio = element("p", "match-bio", match.bio);
          bio.dir = "auto";
          body.appendChild(bio);
        }
        const pick = element("label", "choice-pick");
        const radio = element("input");
        radio.type = "radio";
        radio.name = "choice-" + match.choice;
        radio.checked = selected.has(key);
        radio.setAttribute("data-testid", "choice-pick");
        radio.addEventListener("change", function () { if (radio.checked) choose(match.choice, key); });
        pick.appendChild(radio);
        pick.appendChild(document.createTextNode(translate("choicePick")));
        body.appendChild(pick);
      }
      item.appendChild(body);
      const followState = following.stateOf(match);
      if (followState) showFollowState(item, followState);
      return { match: match, element: item, checkbox: checkbox,
        text: [match.display_name, match.account, match.x_handle].join(" ").toLowerCase() };
    }

    // Matches arrive as they are found, only the new or changed ones; the run's final answer holds
    // all of them (``complete``): a row it no longer names (a doubtful candidate dropped) goes.
    function update(matches, complete) {
      if (complete) {
        const kept = new Set(matches.map(keyOf));
        rows.forEach(function (row, key) {
          if (kept.has(key)) return;
          row.element.remove();
          rows.delete(key);
          selected.delete(key);
        });
      }
      const fragment = document.createDocumentFragment();
      matches.forEach(function (match) {
        const key = keyOf(match);
        const existing = rows.get(key);
        if (existing && JSON.stringify(existing.match) === JSON.stringify(match)) return;
        if (!existing && match.confidence !== "low") selected.add(key);
        if (existing && match.confidence === "low" && existing.match.confidence !== "low") selected.delete(key);
        if (match.choice && remembered[match.choice] !== undefined) {
          if (remembered[match.choice] === match.account) selected.add(key); else selected.delete(key);
        }
        const row = render(match, key);
        if (existing) existing.element.replaceWith(row.element); else fragment.appendChild(row.element);
        rows.set(key, row);
      });
      list.appendChild(fragment);
      matches.forEach(function (match) {  // the matcher's order; the two candidates of a choice side by side
        const row = rows.get(keyOf(match));
        if (!match.choice) return list.appendChild(row.element);
        const group = choiceGroup(match);
        group.options.appendChild(row.element);
        list.appendChild(group.element);
      });
      section.hidden = rows.size === 0;
      following.offer(rows.size > 0);
      applyFilters();
    }

    // --- "which one is it?": two candidates for one contact, the person picks ---------------------
    const groups = new Map();  // x_id -> {element, options}
    let remembered = {};  // x_id -> the account picked, when the person kept their choices

    function choiceGroup(match) {
      let group = groups.get(match.choice);
      if (group) return group;
      const item = element("li", "choice-group");
      item.setAttribute("data-testid", "match-choice");
      item.dataset.xId = match.choice;
      item.appendChild(element("p", "choice-title", translate("choiceTitle", { handle: match.x_handle })));
      const options = element("ol", "choice-options");
      item.appendChild(options);
      const neither = element("button", "button", translate("choiceNeither"));
      neither.type = "button";
      neither.setAttribute("data-testid", "choice-neither");
      neither.addEventListener("click", function () { choose(match.choice, null); });
      item.appendChild(neither);
      item.appendChild(element("p", "hint", translate(keeping() ? "choiceKept" : "choiceNotKept")));
      group = { element: item, options: options };
      groups.set(match.choice, group);
      return group;
    }

    function choose(xId, pickedKey) {
      let account = "";
      rows.forEach(function (row, key) {
        if (row.match.choice !== xId) return;
        const on = key === pickedKey;
        if (on) { selected.add(key); account = row.match.account; } else selected.delete(key);
        row.checkbox.checked = on;
        const radio = row.element.querySelector("[data-testid=choice-pick]");
        if (radio) radio.checked = on;
      });
      remembered[xId] = account;
      if (keeping()) saveChoices(remembered);
      showCounts();
    }

    function remember(choices) { remembered = Object.assign({}, choices || {}); }

    function choices() { return remembered; }

    function showUndecided(count) {
      const note = $("[data-testid=undecided]");
      note.hidden = !count;
      note.textContent = translate("undecided", { count: count });
    }

    function visible(row) {
      const values = {};
      filters.forEach(function (f) { values[f.dataset.filter] = f.value.trim().toLowerCase(); });
      const m = row.match;
      return (!values.relation || m.relation === values.relation) &&
        (!values.network || m.network === values.network) &&
        (!values.confidence || m.confidence === values.confidence) &&
        (!values.text || row.text.indexOf(values.text) !== -1);
    }

    function applyFilters() {
      rows.forEach(function (row) { row.element.hidden = !visible(row); });
      showCounts();
    }

    function showCounts() {
      let shown = 0;
      rows.forEach(function (row) { if (!row.element.hidden) shown++; });
      counts.textContent = translate("counts", { shown: shown, selected: selected.size });
    }

    function selectShown(on) {
      rows.forEach(function (row, key) {
        if (row.element.hidden) return;
        row.checkbox.checked = on;
        if (on) selected.add(key); else selected.delete(key);
      });
      showCounts();
    }

    // The follow run's state of one account, on its row (``data-follow-state``) and in words.
    function showFollowState(item, task) {
      item.dataset.followState = task.state;
      let label = item.querySelector(".follow-state");
      if (!label) {
        label = element("span", "badge follow-state");
        item.querySelector(".match-meta").appendChild(label);
      }
      const words = translate("follow_" + task.state);
      label.textContent = task.state === "failed" && task.reason ? words + " (" + translate("failure_" + task.reason) + ")" : words;
    }

    function showFollowStates() {
      rows.forEach(function (row) {
        const task = following.stateOf(row.match);
        if (task) showFollowState(row.element, task);
      });
    }

    // Matches not found by the run kept last time: marked "new" and moved to the top.
    function showNew(keys) {
      keys.forEach(function (key) {
        const row = rows.get(key);
        if (!row) return;
        row.element.classList.add("is-new");
        row.element.dataset.new = "1";
        row.element.querySelector(".match-meta").prepend(element("span", "badge new", translate("newBadge")));
        if (row.element.parentNode === list) list.prepend(row.element);
      });
    }

    function keys() { return Array.from(rows.keys()); }

    function selectedKeys() {
      const keys = [];
      rows.forEach(function (row, key) {
        if (selected.has(key)) keys.push([row.match.x_id, row.match.network, row.match.account]);
      });
      return keys;
    }

    function clear() {
      following.offer(false);
      rows.clear();
      groups.clear();
      selected.clear();
      list.replaceChildren();
      warnings.replaceChildren();
      section.hidden = true;
    }

    async function download(network, wanted) {
      const keys = [];
      rows.forEach(function (row, key) {
        if (selected.has(key) && row.match.network === network) keys.push([row.match.x_id, network, row.match.account]);
      });
      const signedIn = following.connections().mastodon;
      const answer = await ask("export", { network: network, keys: keys, mastodon: network === "mastodon" ? signedIn : undefined });
      if (answer.error) return showError(answer.error);
      warnings.replaceChildren.apply(warnings, answer.warnings.map(function (notice) {
        return element("li", "", translate(notice.message, notice.params));
      }));
      answer.files.filter(function (file) { return !wanted || file.name.endsWith(wanted); }).forEach(function (file) {
        const url = URL.createObjectURL(new Blob([file.text], { type: file.mime + ";charset=utf-8" }));
        const link = element("a");
        link.href = url;
        link.download = file.name;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      });
    }

    filters.forEach(function (f) { f.addEventListener("input", applyFilters); });
    $("[data-testid=select-all]").addEventListener("click", function () { selectShown(true); });
    $("[data-testid=deselect-all]").addEventListener("click", function () { selectShown(false); });
    $("[data-testid=export-mastodon-csv]").addEventListener("click", function () { download("mastodon"); });
    $("[data-testid=export-bluesky]").addEventListener("click", function () { download("bluesky", ".csv"); });
    $("[data-testid=export-bluesky-json]").addEventListener("click", function () { download("bluesky", ".json"); });
    return { update: update, clear: clear, selected: selected, remember: remember, choices: choices, showUndecided: showUndecided,
      selectedKeys: selectedKeys, showFollowStates: showFollowStates, showNew: showNew, keys: keys };
  })();

  // --- keeping the summary on this device, only when asked ------------------------------------
  const STORE = "graphs";
  const KEY = "current";
  const CHOICES = "choices";  // the picks between two candidates, kept only with the summary
  const LAST_RUN = "last-run";  // the matches of the last run, kept only with the summary

  // Find more later: with the summary kept on this device, each run is compared with the last one.
  async function compareWithLastRun() {
    if (!keptOnDevice) return;
    const found = results.keys();
    let last = null;
    try {
      last = await storage("readonly", function (store) { return store.get(LAST_RUN); });
    } catch (error) {
      return;
    }
    if (last && Array.isArray(last.keys)) {
      const before = new Set(last.keys);
      const fresh = found.filter(function (key) { return !before.has(key); });
      results.showNew(fresh);
      const note = $("[data-testid=new-since]");
      const date = new Date(last.at).toLocaleString(config.language, { dateStyle: "long", timeStyle: "short" });
      note.textContent = translate("newSince", { date: date, count: fresh.length });
      note.hidden = false;
    }
    try {
      await rememberRun(found);
    } catch (error) {
      showStatus("storageFailed");
    }
  }

  // This run's matches, the ones the next run is compared with.
  function rememberRun(keys) {
    return storage("readwrite", function (store) { return store.put({ keys: keys, at: Date.now() }, LAST_RUN); });
  }

  function keeping() { return keptOnDevice; }

  async function saveChoices(choices) {
    try {
      await storage("readwrite", function (store) { return store.put({ choices: choices, at: Date.now() }, CHOICES); });
    } catch (error) {
      showStatus("storageFailed");
    }
  }

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
      keptOnDevice = true;
      await saveChoices(results.choices());
      if (results.keys().length) await rememberRun(results.keys());
      showStatus("kept");
    } catch (error) {
      showStatus("storageFailed");
    }
  }

  async function forgetEverything() {
    generation++;
    keptOnDevice = false;
    leaveDemo();
    matching.forgotten();
    try {
      await storage("readwrite", function (store) { store.delete(CHOICES); store.delete(LAST_RUN); return store.delete(KEY); });
    } catch (error) {
      // storage is off in this browser: nothing was kept there
    }
    await following.forget();
    if (ready) await ask("forget");
    if (window.caches) {
      try {
        await caches.delete("passerelle-responses-v1");
      } catch (error) {
        // no cache to forget
      }
    }
    results.remember({});
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
      leaveDemo();
      resetResult();
      keptOnDevice = true;
      ui.saved.hidden = true;
      try {
        const choices = await storage("readonly", function (store) { return store.get(CHOICES); });
        results.remember(choices ? choices.choices : {});
      } catch (error) {
        results.remember({});
      }
      finish(await ask("restore", { saved: record.saved }));
    };
  }

  // --- following from the page: sign in, then the worker follows the selected people ------------
  // Bluesky: the official atproto OAuth client (bundled at build time) lives in this page, holds
  // the DPoP key and tokens in this browser's IndexedDB, and signs the requests the worker relays
  // to it. Mastodon: the worker registers the app and exchanges the code; the page keeps the
  // token. Sign-in happens in a pop-up window, so these results never leave the page. The queue
  // is kept in this browser after every step, so closing the page pauses and coming back resumes.
  const following = (function () {
    const section = $("[data-testid=follow-panel]");
    const errorBox = $("[data-testid=follow-error]");
    const planList = $("[data-testid=follow-plan]");
    const startButton = $("[data-testid=follow-start]");
    const pauseButton = $("[data-testid=follow-pause]");
    const resumeButton = $("[data-testid=follow-resume]");
    const cancelButton = $("[data-testid=follow-cancel]");
    const progressBox = $("[data-testid=follow-progress]");
    const progressText = $("[data-follow-text]");
    const progressBar = $("[data-follow-bar]");
    const noticeList = $("[data-testid=follow-notices]");
    const signInStatus = $("[data-signin-status]");
    const doneBox = $("[data-testid=follow-done]");
    const QUEUE = "follow";
    const MASTODON_SESSION = "mastodon-session";
    const MASTODON_APPS = "mastodon-apps";
    const OAUTH_DATABASE = "@atproto-oauth-client";
    const OAUTH_PREFIX = "@@atproto/oauth-client-browser";
    const SESSION_ENDED = ["TokenRefreshError", "TokenRevokedError", "TokenInvalidError", "AuthMethodUnsatisfiableError"];
    const MAX_ANSWER = 4 * 1024 * 1024;
    const SIGN_IN_WINDOW = "passerelle-signin";
    const states = new Map();  // network + account -> {state, reason}
    const bluesky = { module: null, client: null, session: null, handle: "" };
    let mastodon = null;  // {address, token, app}
    let running = false;
    let kept = null;  // the queue kept in this browser (JSON text)

    function accountKey(network, account) {
      return network + "\u0000" + String(account || "").replace(/^@/, "").toLowerCase();
    }

    function stateOf(match) {
      return states.get(accountKey(match.network, match.account)) || (match.did && states.get(accountKey(match.network, match.did)));
    }

    function say(box, key, params) {
      box.textContent = translate(key, params);
      box.hidden = false;
    }

    function showError(notice) {
      errorBox.textContent = translate(notice.message, notice.params);
      errorBox.hidden = false;
    }

    function clearError() { errorBox.hidden = true; }

    // Shown with an archive's summary (signing in is also how one becomes findable), results, a
    // kept list or a run.
    let archiveShown = false;
    function offer(hasResults) { section.hidden = !hasResults && !archiveShown && !kept && !running; }

    function archive(shown) {
      archiveShown = shown;
      offer(false);
    }

    function connected(network, account) {
      if (network === "bluesky") setTimeout(function () { findable.refresh(); }, 0);
      const box = $("[data-testid=" + network + "-connected]");
      const form = $("[data-connect=" + network + "]");
      box.hidden = !account;
      form.hidden = !!account;
      if (account) box.querySelector("[data-connected-text]").textContent = translate("connectedAs", { account: account });
    }

    function connections() {
      const found = {};
      if (bluesky.session) found.bluesky = { did: bluesky.session.did || bluesky.session.sub };
      if (mastodon) found.mastodon = { address: mastodon.address, token: mastodon.token, instance_urls: config.settings.mastodon_instance_urls };
      return found;
    }

    // --- Bluesky ------------------------------------------------------------------------------
    async function blueskyModule() {
      if (!bluesky.module) bluesky.module = await import(absolute(config.oauth.bundle));
      return bluesky.module;
    }

    // null when this site has no Bluesky client (built without an https site_url, not on loopback)
    async function blueskyClient() {
      if (!bluesky.client) bluesky.client = await (await blueskyModule()).loadClient(location, config.oauth, config.settings);
      return bluesky.client;
    }

    // What the person reads when signing in to Bluesky did not work (the bundle's error classes).
    function signInReason(error) {
      const module = bluesky.module || {};
      const text = String((error && error.message) || error).slice(0, 200);
      if (module.OAuthCallbackError && error instanceof module.OAuthCallbackError) {
        const code = error.params && error.params.get ? error.params.get("error") : "";
        if (code === "access_denied") return { message: "accessDenied", params: {} };
      }
      if (module.OAuthResolverError && error instanceof module.OAuthResolverError) {
        return { message: "unknownHandle", params: { handle: bluesky.handle } };
      }
      return { message: "signInFailed", params: { reason: text } };
    }

    // The sign-in window is opened here, at the click (so no pop-up blocker stops it), then sent
    // to the sign-in page of the person's own server.
    function signInWindow() { return window.open("about:blank", SIGN_IN_WINDOW, "width=600,height=700"); }

    // The answer of the sign-in window comes on a BroadcastChannel (signed-in.js). Whether the
    // person closed that window cannot be known: sign-in pages isolate themselves from their
    // opener (Cross-Origin-Opener-Policy), so the window looks closed as soon as it gets there.
    // So the page waits (ten minutes at most) and says how to start again; a new attempt replaces
    // the one still waiting.
    const SIGN_IN_WAIT = 10 * 60 * 1000;
    let waitingSignIn = null;

    function signInAnswer(type, state) {
      if (waitingSignIn) waitingSignIn.abort();
      const abort = new AbortController();
      waitingSignIn = abort;
      say(signInStatus, "signInWaiting");
      return new Promise(function (resolve, reject) {
        const channel = new BroadcastChannel(SIGN_IN_WINDOW);
        const timer = setTimeout(function () { abort.abort(); }, SIGN_IN_WAIT);
        function finish(value, error) {
          clearTimeout(timer);
          channel.close();
          if (waitingSignIn === abort) waitingSignIn = null;
          signInStatus.hidden = true;
          if (error) reject(error); else resolve(value);
        }
        abort.signal.addEventListener("abort", function () { finish(null, new Error("closed")); });
        channel.onmessage = function (event) {
          const data = event.data || {};
          if (data.type !== type || data.state !== state) return;
          channel.postMessage({ type: "signin-received", state: state });
          finish(data, null);
        };
      });
    }

    function randomState() {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      return Array.prototype.map.call(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    }

    async function connectBluesky(event) {
      event.preventDefault();
      clearError();
      const input = $("[data-testid=bluesky-handle]");
      const handle = input.value.trim().replace(/^@/, "");
      if (!handle) return input.focus();
      bluesky.handle = handle;
      const popup = signInWindow();
      if (!popup) return say(errorBox, "popupBlocked");
      try {
        const client = await blueskyClient();
        if (!client) {
          popup.close();
          return say(errorBox, "blueskyNotConfigured");
        }
        const state = randomState();
        const url = await client.authorize(handle, { scope: config.oauth.scope, state: state, display: "popup" });
        popup.location.href = url.href;
        const answer = await signInAnswer("bluesky-callback", state);
        if (answer.error) return say(errorBox, answer.error === "access_denied" ? "accessDenied" : "signInFailed", { reason: answer.error });
        bluesky.session = await client.restore(answer.sub, false);
        connected("bluesky", "@" + handle);
      } catch (error) {
        if (!popup.closed) popup.close();
        console.warn("Passerelle: Bluesky sign-in:", error);
        if (error && error.message === "closed") return;  // replaced by a new attempt, or too late
        showError(signInReason(error));
      }
    }

    async function restoreBluesky() {
      if (!window.indexedDB || !indexedDB.databases || !localStorage.getItem(OAUTH_PREFIX + "(sub)")) return;
      const databases = await indexedDB.databases();
      if (!databases.some(function (db) { return db.name === OAUTH_DATABASE; })) return;
      try {
        const client = await blueskyClient();
        const result = client && await client.init();
        if (result && result.session) {
          bluesky.session = result.session;
          connected("bluesky", bluesky.session.did || bluesky.session.sub);
        }
      } catch (error) {
        console.warn("Passerelle: the Bluesky session could not be restored:", error);
      }
    }

    // The worker's Bluesky requests, signed by the session; the answer goes back as JSON text. Only
    // the calls following and being findable need are signed (the session can do nothing else).
    const SIGNED_CALLS = /^\/xrpc\/com\.atproto\.(repo\.(listRecords|applyWrites|putRecord|deleteRecord)|identity\.resolveHandle|server\.getSession)(\?|$)/;

    async function sendSigned(message) {
      let answer;
      try {
        if (!SIGNED_CALLS.test(message.path) || ["GET", "POST"].indexOf(message.method) === -1) {
          throw new Error("not a call the follow panel makes: " + message.method + " " + message.path);
        }
        if (!bluesky.session) throw Object.assign(new Error("signed out"), { name: "TokenRevokedError" });
        const init = { method: message.method, headers: message.headers };
        if (message.body !== null) init.body = message.body;
        const response = await bluesky.session.fetchHandler(message.path, init);
        const body = await response.text();
        const headers = {};
        response.headers.forEach(function (value, name) { headers[name] = value; });
        answer = body.length > MAX_ANSWER ? { error: "too large" } : { status: response.status, headers: headers, body: body };
      } catch (error) {
        const ended = SESSION_ENDED.indexOf(error && error.name) !== -1;
        if (ended) {
          bluesky.session = null;
          connected("bluesky", "");
        }
        answer = { error: ended ? "session-ended" : "network" };
      }
      worker.postMessage({ type: "signed-answer", relay: message.relay, answer: JSON.stringify(answer) });
    }

    async function signOutBluesky(quietly) {
      const session = bluesky.session;
      bluesky.session = null;
      connected("bluesky", "");
      try {
        if (session && bluesky.client) await bluesky.client.revoke(session.sub);
      } catch (error) {
        // the server may already have ended it
      }
      if (!quietly) say(doneBox, "signedOut", { network: "Bluesky" });
    }

    async function forgetBluesky() {
      await signOutBluesky(true);
      if (bluesky.client) {
        await bluesky.client.dispose();
        bluesky.client = null;
      }
      Object.keys(localStorage).forEach(function (key) { if (key.indexOf(OAUTH_PREFIX) === 0) localStorage.removeItem(key); });
      if (window.indexedDB) await deleted(indexedDB.deleteDatabase(OAUTH_DATABASE));
    }

    function deleted(request) {
      return new Promise(function (resolve) {
        request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
      });
    }

    // --- Mastodon -----------------------------------------------------------------------------
    function callbackUrl() {
      const url = new URL(config.oauth.callback, document.baseURI);
      url.hash = "";
      url.search = "";
      return url.href;
    }

    async function connectMastodon(event) {
      event.preventDefault();
      clearError();
      const input = $("[data-testid=mastodon-address]");
      const address = input.value.trim();
      if (!address) return input.focus();
      const popup = signInWindow();
      if (!popup) return say(errorBox, "popupBlocked");
      try {
        const apps = (await read(MASTODON_APPS)) || {};
        const begun = await ask("mastodon-begin", {
          address: address, redirect_uri: callbackUrl(), website: new URL(".", callbackUrl()).href,
          instance_urls: config.settings.mastodon_instance_urls, apps: apps,
        });
        if (begun.error) {
          popup.close();
          return showError(begun.error);
        }
        apps[begun.app.base_url] = begun.app;
        await write(MASTODON_APPS, apps);
        popup.location.href = begun.authorize_url;
        const answer = await signInAnswer("mastodon-callback", begun.state);
        const query = new URLSearchParams();
        ["code", "state", "error"].forEach(function (name) { if (answer[name]) query.set(name, String(answer[name])); });
        const callback = query.toString();
        const finished = await ask("mastodon-finish", { app: begun.app, state: begun.state, verifier: begun.verifier, callback: callback });
        if (finished.error) return showError(finished.error);
        mastodon = { address: begun.address, token: finished.token, app: begun.app };
        await write(MASTODON_SESSION, mastodon);
        connected("mastodon", "@" + mastodon.address);
      } catch (error) {
        if (!popup.closed) popup.close();
        if (error && error.message === "closed") return;  // replaced by a new attempt, or too late
        showError({ message: "signInFailed", params: { reason: String(error && error.message) } });
      }
    }

    // Mastodon's /oauth/revoke has no CORS: the form is posted without reading the answer.
    async function signOutMastodon(quietly) {
      const session = mastodon;
      mastodon = null;
      connected("mastodon", "");
      await write(MASTODON_SESSION, null);
      if (session && session.app) {
        const form = new URLSearchParams({ client_id: session.app.client_id, client_secret: session.app.client_secret, token: session.token });
        try {
          await fetch(session.app.base_url + "/oauth/revoke", { method: "POST", mode: "no-cors", body: form, credentials: "omit" });
        } catch (error) {
          // unreachable: the token ends when the person revokes it in their server's settings
        }
      }
      if (!quietly) say(doneBox, "signedOut", { network: "Mastodon" });
    }

    // --- the queue and the run ------------------------------------------------------------------
    async function read(key) {
      try {
        return await storage("readonly", function (store) { return store.get(key); });
      } catch (error) {
        return null;
      }
    }

    async function write(key, value) {
      try {
        await storage("readwrite", function (store) { return value === null ? store.delete(key) : store.put(value, key); });
      } catch (error) {
        showStatus("storageFailed");
      }
    }

    function timeLeft(done, total, seconds) {
      const params = { done: done, total: total };
      if (seconds < 90) return translate("followProgress", params);
      if (seconds < 90 * 60) return translate("followMinutesLeft", Object.assign(params, { minutes: Math.round(seconds / 60) }));
      if (seconds < 36 * 3600) return translate("followHoursLeft", Object.assign(params, { hours: Math.round(seconds / 3600) }));
      return translate("followDaysLeft", Object.assign(params, { days: Math.ceil(seconds / 86400) }));
    }

    function showState(state) {
      states.clear();
      state.tasks.forEach(function (task) { states.set(accountKey(task.network, task.account), task); });
      results.showFollowStates();
      let done = 0;
      let total = 0;
      let seconds = 0;
      Object.keys(state.networks).forEach(function (network) {
        const figures = state.networks[network];
        total += figures.total;
        done += figures.total - figures.counts.queued;
        seconds = Math.max(seconds, figures.seconds_left);
      });
      progressText.textContent = timeLeft(done, total, seconds);
      progressBar.max = Math.max(total, 1);
      progressBar.value = done;
      progressBox.hidden = total === 0;
      kept = state.saved;
      write(QUEUE, { queue: state.saved, at: Date.now() });
    }

    function showNotice(notice) {
      noticeList.appendChild(Object.assign(document.createElement("li"), { textContent: translate(notice.message, notice.params) }));
    }

    function setRunning(on) {
      running = on;
      startButton.hidden = on;
      pauseButton.hidden = !on;
      resumeButton.hidden = true;
      cancelButton.hidden = !on;
    }

    async function start() {
      clearError();
      const found = connections();
      const networks = Object.keys(found);
      if (!networks.length) return say(errorBox, "connectFirst");
      const keys = results.selectedKeys().filter(function (key) { return networks.indexOf(key[1]) !== -1; });
      if (!keys.length && !kept) return say(errorBox, "nothingSelected");
      doneBox.hidden = true;
      noticeList.replaceChildren();
      const plan = await ask("follow-plan", { keys: keys, networks: networks, saved: kept || undefined });
      if (plan.error) return showError(plan.error);
      planList.replaceChildren.apply(planList, plan.plans.map(function (network) {
        return network.notices.map(function (notice) {
          return Object.assign(document.createElement("li"), { textContent: translate(notice.message, notice.params) });
        });
      }).flat().concat([Object.assign(document.createElement("li"), { textContent: translate("followCanLeave") })]));
      plan.notices.forEach(showNotice);
      showState(plan);
      await run(found);
    }

    async function run(found) {
      setRunning(true);
      const started = generation;
      try {
        const answer = await ask("follow-start", { connections: found });
        if (started !== generation) return;
        if (answer.crash) console.error("Passerelle: unexpected problem in Python:\n" + answer.crash);
        if (answer.error) return showError(answer.error);
        if (answer.tasks) showState(answer);
        doneBox.textContent = answer.notices.map(function (notice) { return translate(notice.message, notice.params); }).join(" ");
        doneBox.hidden = false;
        Object.keys(answer.stops).forEach(function (network) {
          if (answer.stops[network] !== "session-expired") return;
          if (network === "mastodon") signOutMastodon(true); else signOutBluesky(true);
        });
      } finally {
        setRunning(false);
      }
    }

    // Coming back: the session(s) and the queue kept in this browser; following goes on by itself
    // when every network with people still to follow is connected.
    async function comeBack() {
      const saved = await read(QUEUE);
      const session = await read(MASTODON_SESSION);
      if (session && session.token) {
        mastodon = session;
        connected("mastodon", "@" + session.address);
      }
      await restoreBluesky();
      if (!saved || !saved.queue) return;
      kept = saved.queue;
      const queue = JSON.parse(saved.queue);
      const waiting = Object.keys(queue.networks || {}).filter(function (network) {
        return (queue.networks[network].tasks || []).some(function (task) { return task.state === "queued" || task.state === "failed"; });
      });
      offer(false);
      if (!waiting.length) return;
      const found = connections();
      say(doneBox, "followKept", { count: waiting.reduce(function (sum, network) {
        return sum + queue.networks[network].tasks.filter(function (task) { return task.state === "queued" || task.state === "failed"; }).length;
      }, 0) });
      if (waiting.every(function (network) { return found[network]; })) {
        say(doneBox, "followResuming");
        await start();
      }
    }

    async function forget() {
      states.clear();
      kept = null;
      if (running) await ask("follow-cancel");
      await forgetBluesky();
      await signOutMastodon(true);
      await write(MASTODON_APPS, null);
      await write(QUEUE, null);
      planList.replaceChildren();
      noticeList.replaceChildren();
      progressBox.hidden = true;
      doneBox.hidden = true;
      offer(false);
    }

    $("[data-connect=bluesky]").addEventListener("submit", connectBluesky);
    $("[data-connect=mastodon]").addEventListener("submit", connectMastodon);
    $("[data-testid=bluesky-sign-out]").addEventListener("click", function () { signOutBluesky(false); });
    $("[data-testid=mastodon-sign-out]").addEventListener("click", function () { signOutMastodon(false); });
    startButton.addEventListener("click", start);
    pauseButton.addEventListener("click", async function () {
      await ask("follow-pause");
      pauseButton.hidden = true;
      resumeButton.hidden = false;
      say(doneBox, "followPaused");
    });
    resumeButton.addEventListener("click", async function () {
      await ask("follow-resume");
      resumeButton.hidden = true;
      pauseButton.hidden = false;
      doneBox.hidden = true;
    });
    cancelButton.addEventListener("click", function () { ask("follow-cancel"); });

    // The sample's people are fictional: the panel shows how following works and follows nobody.
    function demo(on) {
      $("[data-testid=follow-demo]").hidden = !on;
      section.querySelectorAll("form.connect input, form.connect button, [data-testid=follow-start]").forEach(function (control) {
        control.disabled = on;
      });
    }

    return { offer: offer, demo: demo, stateOf: stateOf, showState: showState, showNotice: showNotice, sendSigned: sendSigned,
      comeBack: comeBack, forget: forget, connections: connections, archive: archive, blueskySession: function () { return bluesky.session; } };
  })();


  // --- being findable: the opt-in claim in the person's own Bluesky repository (issue 8) ---------
  const findable = (function () {
    const section = $("[data-testid=findable]");
    const status = $("[data-testid=findable-status]");
    const publish = $("[data-testid=findable-publish]");
    const withdraw = $("[data-testid=findable-withdraw]");
    const mastodon = $("[data-testid=findable-mastodon]");
    const post = $("[data-testid=findable-mastodon-post]");
    const copy = $("[data-testid=findable-copy]");
    let archiveAccount = false;

    function show(answer) {
      if (answer.crash) console.error("Passerelle: unexpected problem in Python:\n" + answer.crash);
      if (answer.error) {
        status.textContent = translate(answer.error.message, answer.error.params);
        return;
      }
      withdraw.hidden = !answer.published;
      if (!answer.published) {
        status.textContent = translate(answer.withdrawn ? "findableWithdrawn" : "findableNot");
        return;
      }
      const date = new Date(answer.created_at);
      let text = translate("findablePublished", {
        handle: answer.x_handle || answer.x_id, id: answer.x_id,
        date: isNaN(date) ? answer.created_at : date.toLocaleDateString(config.language, { dateStyle: "long" }),
      });
      if (answer.mastodon) text += " " + translate("findableMastodon", { address: answer.mastodon });
      status.textContent = text;
    }

    async function askClaim(type) {
      const session = following.blueskySession();
      if (!session) return;
      publish.disabled = withdraw.disabled = true;
      try {
        const answer = await ask(type, {
          did: session.did || session.sub, collection: config.oauth.claim_collection, mastodon: mastodon.value.trim(),
        });
        if (type === "claim-withdraw" && !answer.error) answer.withdrawn = true;
        show(answer);
      } finally {
        publish.disabled = withdraw.disabled = false;
      }
    }

    // Shown when the archive names the person's X account; the record needs a Bluesky sign-in.
    function refresh(summary) {
      if (summary !== undefined) {
        archiveAccount = !!(summary && summary.account && summary.account.id);
        post.textContent = (summary && summary.claim_post) || "";
      }
      section.hidden = !archiveAccount;
      const signedIn = !!following.blueskySession();
      publish.disabled = !signedIn;
      if (!archiveAccount) return;
      if (signedIn) askClaim("claim-state");
      else {
        withdraw.hidden = true;
        status.textContent = translate("findableConnect");
      }
    }

    copy.addEventListener("click", async function () {
      try {
        await navigator.clipboard.writeText(post.textContent);
        status.textContent = translate("copied");
      } catch (error) {
        getSelection().selectAllChildren(post);  // the person copies it themself
      }
    });
    publish.addEventListener("click", function () { askClaim("claim-publish"); });
    withdraw.addEventListener("click", function () { askClaim("claim-withdraw"); });
    return { refresh: refresh };
  })();

  ui.keep.addEventListener("click", keep);
  $("[data-testid=forget-everything]").addEventListener("click", forgetEverything);
  $("[data-testid=forget-saved]").addEventListener("click", forgetEverything);
  offerSaved();
})();
