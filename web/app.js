// The upload page at `/`: sign in with a tenant credential (kept in sessionStorage only),
// upload files with tus (resumable: pause/resume, retries, and resume after a page reload
// by choosing the same file again), make a share link per file, list the tenant's files and
// their links. Built into public/app.js by web/build.mjs (esbuild bundles tus-js-client).
import * as tus from "tus-js-client";

const AUTH_KEY = "edgeshare.auth";
const MiB = 1024 * 1024;
const MAX_ACTIVE = 3; // uploads at once; the others wait their turn

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------
// Small helpers

/** Creates an element: el("button", {class: "btn", onclick}, "text", child, ...). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function formatBytes(n) {
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  return `${h} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A <time> for an ISO 8601 string (or "never" for null). */
function timeEl(iso) {
  if (!iso) return document.createTextNode("never");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return document.createTextNode(String(iso));
  return el("time", { datetime: iso, title: d.toISOString() }, d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }));
}

function announce(text) {
  const s = $("status");
  s.textContent = "";
  // A fresh text node is read out even when the text repeats.
  setTimeout(() => { s.textContent = text; }, 50);
}

function showError(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

// ---------------------------------------------------------------------------------------
// Credentials: an Authorization header value, in sessionStorage only.

let auth = null; // {header, label}

function basicHeader(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Reads an error body: `{"error": {"code", "message"}}`, else another shape, else the status. */
async function errorOf(res) {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // the status will do
  }
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  const e = data && typeof data === "object" ? data.error : null;
  const message =
    (e && typeof e === "object" && e.message) ||
    (data && typeof data === "object" && typeof data.message === "string" && data.message) ||
    (typeof e === "string" && e) ||
    `${res.status} ${res.statusText || "error"}`;
  return new ApiError(res.status, message, e && e.code);
}

/**
 * A JSON API call with the credentials. `credentials: "omit"`: the Authorization header is
 * ours, so a 401 never opens the browser's own login dialog.
 */
async function api(method, path, body, header = auth && auth.header) {
  const headers = { Accept: "application/json" };
  if (header) headers.Authorization = header;
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached: check your connection.");
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && auth && header === auth.header) {
      signOut("Your credentials were refused: sign in again.");
    }
    throw err;
  }
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

function saveAuth(a) {
  auth = a;
  try {
    if (a) sessionStorage.setItem(AUTH_KEY, JSON.stringify(a));
    else sessionStorage.removeItem(AUTH_KEY);
  } catch {
    // storage disabled: the credential lasts as long as the page
  }
}

function loadAuth() {
  try {
    const a = JSON.parse(sessionStorage.getItem(AUTH_KEY) || "null");
    if (a && typeof a.header === "string") return a;
  } catch {
    // ignore a malformed entry
  }
  return null;
}

function showSignedIn(signedIn) {
  $("sign-in").hidden = signedIn;
  $("app").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  $("who").hidden = !signedIn;
  $("who").textContent = signedIn ? auth.label : "";
}

function signOut(message) {
  queue.length = 0;
  for (const item of items) item.pause(true);
  items.clear();
  active = 0;
  $("uploads").replaceChildren();
  $("files").replaceChildren();
  saveAuth(null);
  showSignedIn(false);
  showError($("sign-in-error"), message || "");
  $("password").value = "";
  $("token").value = "";
  const kind = new FormData($("sign-in-form")).get("kind");
  (kind === "basic" ? $("user") : $("token")).focus();
}

function signInKindChanged() {
  const basic = new FormData($("sign-in-form")).get("kind") === "basic";
  $("token-fields").hidden = basic;
  $("basic-fields").hidden = !basic;
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData($("sign-in-form"));
  const errorNode = $("sign-in-error");
  let candidate;
  if (form.get("kind") === "basic") {
    const user = String(form.get("user") || "").trim();
    const password = String(form.get("password") || "");
    if (!user || !password) return showError(errorNode, "Enter the user name and the password.");
    candidate = { header: basicHeader(user, password), label: `Signed in as ${user}` };
  } else {
    const token = String(form.get("token") || "").trim();
    if (!token) return showError(errorNode, "Enter the token.");
    candidate = { header: `Bearer ${token}`, label: "Signed in with a token" };
  }
  const button = $("sign-in-button");
  button.disabled = true;
  showError(errorNode, "");
  try {
    await api("GET", "/v1/files", undefined, candidate.header);
  } catch (e) {
    showError(errorNode, e.status === 401 ? "Wrong credentials." : `Cannot sign in: ${e.message}`);
    return;
  } finally {
    button.disabled = false;
  }
  saveAuth(candidate);
  $("password").value = "";
  $("token").value = "";
  enterApp();
  $("upload-title").focus();
  announce("Signed in");
}

function enterApp() {
  showSignedIn(true);
  loadFiles(true);
  showResumable();
}

// ---------------------------------------------------------------------------------------
// Share links

function shareOptions() {
  const body = { expires_in: Number($("expires").value) || 86400 };
  const max = $("max-downloads").value.trim();
  if (max) {
    const n = Number(max);
    if (!Number.isInteger(n) || n < 1) throw new ApiError(0, "Max downloads must be a whole number of at least 1.");
    body.max_downloads = n;
  }
  const password = $("link-password").value;
  if (password) body.password = password;
  return body;
}

async function createLink(fileId) {
  const options = shareOptions();
  const link = await api("POST", `/v1/files/${encodeURIComponent(fileId)}/links`, options);
  return { ...link, has_password: link.has_password ?? Boolean(options.password) };
}

async function copyText(input, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(input.value);
    ok = true;
  } catch {
    input.focus();
    input.select();
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
  }
  button.textContent = ok ? "Copied" : "Press Ctrl+C";
  announce(ok ? "Link copied" : "Copy failed: the link is selected, copy it by hand");
  clearTimeout(button.copyTimer);
  button.copyTimer = setTimeout(() => { button.textContent = "Copy"; }, 2000);
}

/** One share link: its URL with a Copy button, expiry, downloads; a Revoke button if asked. */
function linkView(link, name, onRevoke) {
  const input = el("input", { class: "link-url", type: "text", readOnly: true, value: link.url, "aria-label": `Share link for ${name}` });
  input.addEventListener("focus", () => input.select());
  const copy = el("button", { type: "button", class: "btn copy", onclick: () => copyText(input, copy) }, "Copy");
  const max = link.max_downloads;
  const downloads = link.downloads ?? 0;
  const meta = el(
    "p",
    { class: "meta" },
    el("span", {}, "Expires ", timeEl(link.expires_at)),
    el("span", {}, max ? `${downloads} of ${max} downloads` : `${downloads} download${downloads === 1 ? "" : "s"}`),
    link.has_password ? el("span", {}, "password protected") : null,
  );
  const node = el("div", { class: "link" }, el("div", { class: "link-row" }, input, copy), meta);
  if (onRevoke) {
    const errorNode = el("p", { class: "error", role: "alert", hidden: true });
    const revoke = el("button", { type: "button", class: "btn btn-danger btn-small" }, "Revoke");
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      try {
        await api("DELETE", `/v1/links/${encodeURIComponent(link.token)}`);
        announce("Link revoked");
        onRevoke();
      } catch (e) {
        showError(errorNode, e.message);
        revoke.disabled = false;
      }
    });
    meta.append(revoke);
    node.append(errorNode);
  }
  return node;
}

// ---------------------------------------------------------------------------------------
// Uploads

const items = new Set();
const queue = [];
let active = 0;

function endpoint() {
  return new URL("/files/", window.location.href).href;
}

function pump() {
  while (active < MAX_ACTIVE && queue.length > 0) {
    const item = queue.shift();
    active += 1;
    item.running = true;
    item.begin();
  }
}

class UploadItem {
  constructor(file) {
    this.file = file;
    this.state = "queued";
    this.upload = null;
    this.running = false;
    this.samples = [];
    this.lastPaint = 0;
    this.offsetAtStart = 0;
    const name = file.name || "file";
    this.progress = el("progress", { max: 100, value: 0, "aria-label": `Upload of ${name}` });
    this.stats = el("span", { class: "stats" }, "Waiting");
    this.button = el("button", { type: "button", class: "btn btn-small", onclick: () => this.toggle() }, "Pause");
    this.error = el("p", { class: "error", role: "alert", hidden: true });
    this.result = el("div", { class: "result", hidden: true });
    this.node = el(
      "li",
      { class: "upload", "data-state": "queued" },
      el("div", { class: "row" }, el("span", { class: "name", title: name }, name), el("span", { class: "size" }, formatBytes(file.size))),
      this.progress,
      el("div", { class: "row" }, this.stats, this.button),
      this.error,
      this.result,
    );
  }

  setState(state) {
    this.state = state;
    this.node.dataset.state = state;
  }

  async begin() {
    this.setState("uploading");
    this.button.textContent = "Pause";
    this.button.hidden = false;
    showError(this.error, "");
    this.samples = [];
    this.stats.textContent = "Starting…";
    const file = this.file;
    this.upload = new tus.Upload(file, {
      endpoint: endpoint(),
      headers: { Authorization: auth.header },
      metadata: { filename: file.name || "file", filetype: file.type || "application/octet-stream" },
      chunkSize: 8 * MiB,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => this.onProgress(sent, total),
      onSuccess: () => this.onSuccess(),
      onError: (err) => this.onError(err),
    });
    try {
      const previous = await this.upload.findPreviousUploads();
      if (previous.length > 0) {
        previous.sort((a, b) => String(b.creationTime || "").localeCompare(String(a.creationTime || "")));
        this.upload.resumeFromPreviousUpload(previous[0]);
        this.stats.textContent = "Resuming…";
      }
    } catch {
      // no storage: a fresh upload
    }
    if (this.state !== "uploading") return; // paused meanwhile
    this.upload.start();
    showResumable();
  }

  onProgress(sent, total) {
    const now = performance.now();
    if (this.samples.length === 0) this.offsetAtStart = sent;
    this.samples.push([now, sent]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 5000) this.samples.shift();
    const pct = total > 0 ? Math.floor((sent / total) * 100) : 100;
    this.progress.value = pct;
    if (now - this.lastPaint < 250 && sent < total) return;
    this.lastPaint = now;
    const [t0, b0] = this.samples[0];
    const seconds = (now - t0) / 1000;
    const speed = seconds > 0.2 ? (sent - b0) / seconds : 0;
    const parts = [`${pct} %`, `${formatBytes(sent)} of ${formatBytes(total)}`];
    if (speed > 0) {
      parts.push(`${formatBytes(speed)}/s`);
      parts.push(`${formatDuration((total - sent) / speed)} left`);
    }
    this.stats.textContent = parts.join(" · ");
  }

  finishSlot() {
    if (this.running) {
      this.running = false;
      active = Math.max(0, active - 1);
      pump();
    }
  }

  async onSuccess() {
    this.finishSlot();
    this.setState("done");
    this.progress.value = 100;
    this.button.hidden = true;
    this.stats.textContent = `100 % · ${formatBytes(this.file.size)} · done`;
    const url = this.upload.url || "";
    const id = decodeURIComponent(url.split("?")[0].split("/").filter(Boolean).pop() || "");
    this.fileId = id;
    this.node.dataset.fileId = id;
    announce(`${this.file.name} uploaded`);
    showResumable();
    await this.makeLink();
    loadFiles(true);
  }

  async makeLink() {
    this.result.hidden = false;
    this.result.replaceChildren(el("p", { class: "meta" }, "Creating a share link…"));
    try {
      const link = await createLink(this.fileId);
      this.result.replaceChildren(linkView(link, this.file.name));
    } catch (e) {
      const again = el("button", { type: "button", class: "btn btn-small", onclick: () => this.makeLink() }, "Try again");
      this.result.replaceChildren(el("p", { class: "error", role: "alert" }, `No share link: ${e.message} `, again));
    }
  }

  onError(err) {
    this.finishSlot();
    this.setState("error");
    const res = err && err.originalResponse;
    let message = err && err.message ? err.message : String(err);
    if (res) {
      const status = res.getStatus();
      const body = (res.getBody && res.getBody()) || "";
      message = status === 401 ? "Your credentials were refused." : `The server answered ${status}${body ? `: ${String(body).slice(0, 200)}` : ""}`;
    } else if (!navigator.onLine) {
      message = "The network is down: the upload resumes by itself when it is back.";
    } else {
      message = "The upload was interrupted (network error).";
    }
    showError(this.error, message);
    this.button.textContent = "Resume";
    this.stats.textContent = `${this.progress.value} % · stopped`;
  }

  toggle() {
    if (this.state === "uploading" || this.state === "queued") this.pause();
    else if (this.state === "paused" || this.state === "error") this.resume();
  }

  pause(silent) {
    if (this.state === "queued") {
      const i = queue.indexOf(this);
      if (i >= 0) queue.splice(i, 1);
    }
    if (this.upload) this.upload.abort(false).catch(() => {});
    this.finishSlot();
    this.setState("paused");
    this.button.textContent = "Resume";
    this.stats.textContent = `${this.progress.value} % · paused`;
    if (!silent) announce(`${this.file.name} paused`);
  }

  resume() {
    showError(this.error, "");
    this.setState("queued");
    this.button.textContent = "Pause";
    this.stats.textContent = "Waiting";
    queue.push(this);
    pump();
  }
}

function addFiles(fileList) {
  const files = Array.from(fileList || []);
  if (!auth || files.length === 0) return;
  for (const file of files) {
    const item = new UploadItem(file);
    items.add(item);
    $("uploads").prepend(item.node);
    queue.push(item);
  }
  announce(`${files.length} file${files.length === 1 ? "" : "s"} added`);
  pump();
}

// Back online: stopped uploads start again by themselves.
window.addEventListener("online", () => {
  for (const item of items) if (item.state === "error") item.resume();
});

/** Uploads this browser can resume (tus fingerprints in localStorage), not running now. */
async function showResumable() {
  const box = $("resumable");
  const list = $("resumable-list");
  let entries = [];
  try {
    entries = await tus.defaultOptions.urlStorage.findAllUploads();
  } catch {
    entries = [];
  }
  const running = new Set();
  for (const item of items) {
    if (item.upload && item.upload._urlStorageKey) running.add(item.upload._urlStorageKey);
  }
  const seen = new Set();
  const rows = [];
  for (const e of entries) {
    if (!e || !e.uploadUrl || running.has(e.urlStorageKey)) continue;
    const name = (e.metadata && e.metadata.filename) || "file";
    const key = `${name}/${e.size}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const forget = el("button", { type: "button", class: "btn btn-quiet btn-small" }, "Forget");
    forget.addEventListener("click", async () => {
      for (const x of entries) {
        if (((x.metadata && x.metadata.filename) || "file") === name && x.size === e.size) {
          await tus.defaultOptions.urlStorage.removeUpload(x.urlStorageKey);
        }
      }
      showResumable();
    });
    rows.push(el("li", {}, el("span", { class: "name" }, name), ` (${formatBytes(e.size)}) `, forget));
  }
  list.replaceChildren(...rows);
  box.hidden = rows.length === 0;
}

// ---------------------------------------------------------------------------------------
// The tenant's files

let cursor = null;
let loading = false;
let reloadAgain = false; // a reload asked for while one was running

async function loadFiles(reset) {
  if (!auth) return;
  if (loading) {
    if (reset) reloadAgain = true;
    return;
  }
  loading = true;
  const errorNode = $("files-error");
  try {
    const query = !reset && cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const data = await api("GET", `/v1/files${query}`);
    const list = $("files");
    if (reset) list.replaceChildren();
    for (const f of (data && data.files) || []) list.append(fileView(f));
    cursor = (data && data.cursor) || null;
    $("more").hidden = !cursor;
    $("files-empty").hidden = list.children.length > 0;
    showError(errorNode, "");
  } catch (e) {
    if (auth) showError(errorNode, `Cannot list the files: ${e.message}`);
  } finally {
    loading = false;
    if (reloadAgain) {
      reloadAgain = false;
      loadFiles(true);
    }
  }
}

function fileView(f) {
  const name = f.name || f.id;
  const panelId = `links-${f.id}`;
  const errorNode = el("p", { class: "error", role: "alert", hidden: true });
  const linkList = el("ul", { class: "link-list" });
  const panel = el("div", { class: "links", id: panelId, hidden: true }, linkList);
  const toggle = el("button", { type: "button", class: "btn btn-small", "aria-expanded": "false", "aria-controls": panelId }, "Links");
  const newLink = el("button", { type: "button", class: "btn btn-small" }, "New link");
  const del = el("button", { type: "button", class: "btn btn-small btn-danger" }, "Delete");
  const node = el(
    "li",
    { class: "file", "data-file-id": f.id },
    el("div", { class: "row" }, el("span", { class: "name", title: name }, name), f.dialect ? el("span", { class: "badge" }, f.dialect) : null),
    el("p", { class: "meta" }, formatBytes(f.size), " · uploaded ", timeEl(f.created_at), " · expires ", timeEl(f.expires_at)),
    el("div", { class: "actions" }, toggle, newLink, del),
    errorNode,
    panel,
  );

  async function showLinks() {
    try {
      const data = await api("GET", `/v1/files/${encodeURIComponent(f.id)}/links`);
      const links = (data && data.links) || [];
      linkList.replaceChildren(
        ...(links.length
          ? links.map((l) => el("li", {}, linkView(l, name, showLinks)))
          : [el("li", { class: "hint" }, "No links: make one with New link.")]),
      );
      panel.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
      toggle.textContent = "Hide links";
      showError(errorNode, "");
    } catch (e) {
      showError(errorNode, e.message);
    }
  }

  toggle.addEventListener("click", () => {
    if (panel.hidden) showLinks();
    else {
      panel.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      toggle.textContent = "Links";
    }
  });
  newLink.addEventListener("click", async () => {
    newLink.disabled = true;
    try {
      await createLink(f.id);
      announce("Link created");
      await showLinks();
    } catch (e) {
      showError(errorNode, e.message);
    } finally {
      newLink.disabled = false;
    }
  });
  del.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${name}? Its share links stop working.`)) return;
    del.disabled = true;
    try {
      await api("DELETE", `/v1/files/${encodeURIComponent(f.id)}`);
      announce(`${name} deleted`);
      node.remove();
      $("files-empty").hidden = $("files").children.length > 0;
    } catch (e) {
      showError(errorNode, e.message);
      del.disabled = false;
    }
  });
  return node;
}

// ---------------------------------------------------------------------------------------
// Wiring

function init() {
  $("sign-in-form").addEventListener("submit", signIn);
  for (const r of document.querySelectorAll('input[name="kind"]')) r.addEventListener("change", signInKindChanged);
  $("sign-out").addEventListener("click", () => signOut(""));
  $("refresh").addEventListener("click", () => loadFiles(true));
  $("more").addEventListener("click", () => loadFiles(false));

  const input = $("file-input");
  const drop = $("drop");
  drop.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });

  // Files dropped anywhere on the page are uploaded (and never opened by the browser).
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
  window.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    if (auth) drop.classList.add("over");
  });
  window.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) drop.classList.remove("over");
  });
  window.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = auth ? "copy" : "none";
  });
  window.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    drop.classList.remove("over");
    addFiles(e.dataTransfer.files);
  });

  auth = loadAuth();
  if (auth) enterApp();
  else showSignedIn(false);
  signInKindChanged();
}

init();
