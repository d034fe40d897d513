// The upload page at `/`: sign in with a tenant credential (kept in sessionStorage only),
// upload files with tus (resumable: pause/resume/cancel, retries with backoff while the
// service cannot be reached, and resume after a page reload by choosing the same file again),
// a share link per file with its own options (expiry, download limit, password), changeable
// afterwards; the tenant's files (filter, sort, pages) and their links with their state.
// Built into public/app.js by web/build.mjs (esbuild bundles tus-js-client).
import * as tus from "tus-js-client";
import { el, formatBytes } from "./dom.js";
import { requestToken, startRequest } from "./request.js";
import * as e2ee from "./e2ee-upload.js";

const AUTH_KEY = "edgeshare.auth";
const MiB = 1024 * 1024;
const MAX_ACTIVE = 3; // uploads at once; the others wait their turn
/** No progress for this long: the row says it is waiting for the service. */
const STALL_MS = 4000;
/** Still no progress this long after that, and no retry pending: the request is given up and
 *  the upload started again from the service's offset (a request to an unreachable host can
 *  hang for minutes). */
const HUNG_MS = 30000;
/** Retries while the service cannot be reached: quick at first, then every 10 s, for about
 *  half an hour (the count starts again whenever bytes go through). */
const RETRY_DELAYS = [0, 1000, 2000, 4000, 8000, ...Array(180).fill(10000)];
/** Files shown per page of "Your files". */
const PAGE_SIZE = 20;
/** A new link's expiry unless chosen otherwise (seconds). */
const DEFAULT_EXPIRY = 86400;
const EXPIRY_CHOICES = [
  [3600, "1 hour"],
  [86400, "24 hours"],
  [604800, "7 days"],
  [2592000, "30 days"],
];

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------
// Small helpers

function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  return `${h} h ${Math.floor((s % 3600) / 60)} min`;
}

const LOCAL_TIME = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };

/** A <time> for an ISO 8601 string (or "never" for null): local time with its zone, and the
 *  UTC time in its tooltip. */
function timeEl(iso) {
  if (!iso) return document.createTextNode("never");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return document.createTextNode(String(iso));
  const utc = `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return el("time", { datetime: iso, title: utc }, d.toLocaleString(undefined, LOCAL_TIME));
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
  // the user name is never broken across lines (the header wraps at phone width)
  const [, lead, name] = (signedIn && /^(Signed in as )(.+)$/.exec(auth.label)) || [];
  if (name) $("who").replaceChildren(lead, el("span", { class: "who-name" }, name));
  else $("who").textContent = signedIn ? auth.label : "";
}

function signOut(message) {
  queue.length = 0;
  for (const item of items) item.pause(true);
  items.clear();
  active = 0;
  $("uploads").replaceChildren();
  files = [];
  cursor = null;
  page = 0;
  fileNodes.clear();
  $("files").replaceChildren();
  $("files-filter").value = "";
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
// Share links: each made with its own options (a new link's are 24 hours, no download limit,
// no password), shown on the link with its state, and changeable (PATCH /v1/links/{token}).

const STATE_LABELS = { active: "Active", used_up: "Used up", expired: "Expired", revoked: "Revoked" };

function stateOf(link) {
  if (link.state) return link.state;
  // a service without the state field: what can be told from the link itself
  if (link.revoked) return "revoked";
  if (link.expires_at && Date.parse(link.expires_at) <= Date.now()) return "expired";
  if (link.max_downloads && (link.downloads ?? 0) >= link.max_downloads) return "used_up";
  return "active";
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

let formCount = 0;

/**
 * The options of a link, as a small form: expiry, download limit, password. `link` is the
 * link being changed (null: a new one). Calls `onSubmit(body)` with the fields to send (only
 * what changed, for a link being changed) and `onCancel()`; the password field is emptied
 * whatever happens.
 */
function linkForm(link, { submitLabel, onSubmit, onCancel }) {
  formCount += 1;
  const id = (name) => `link-${name}-${formCount}`;
  const editing = Boolean(link);
  const expires = el(
    "select",
    { id: id("expires"), name: "expires" },
    editing ? el("option", { value: "" }, "Unchanged") : null,
    EXPIRY_CHOICES.map(([secs, label]) => el("option", { value: String(secs), selected: !editing && secs === DEFAULT_EXPIRY }, `${label} from now`)),
  );
  const max = el("input", {
    id: id("max"),
    name: "max-downloads",
    type: "number",
    min: "1",
    step: "1",
    inputmode: "numeric",
    placeholder: "no limit",
    value: editing && link.max_downloads ? String(link.max_downloads) : "",
  });
  const protect = el("input", { id: id("protect"), name: "protect", type: "checkbox", checked: editing && link.has_password });
  const password = el("input", {
    id: id("password"),
    name: "link-password",
    type: "password",
    autocomplete: "new-password",
    placeholder: editing && link.has_password ? "unchanged" : "",
    "aria-describedby": id("password-hint"),
  });
  const passwordBox = el(
    "div",
    { class: "option", hidden: !(editing && link.has_password) },
    el("label", { for: id("password") }, editing && link.has_password ? "New password " : "Password ", el("span", { class: "opt" }, editing && link.has_password ? "(empty: keep it)" : "")),
    password,
    el("span", { id: id("password-hint"), class: "hint small" }, "Whoever opens the link must type it."),
  );
  protect.addEventListener("change", () => {
    passwordBox.hidden = !protect.checked;
    if (protect.checked) password.focus();
  });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", class: "btn btn-primary btn-small" }, submitLabel);
  const cancel = el("button", { type: "button", class: "btn btn-small" }, "Cancel");
  const form = el(
    "form",
    { class: "link-form", novalidate: true },
    el(
      "fieldset",
      { class: "options" },
      el("legend", {}, editing ? "Change this link" : "New share link"),
      el("div", { class: "option" }, el("label", { for: id("expires") }, "Expires"), expires),
      el("div", { class: "option" }, el("label", { for: id("max") }, "Max downloads ", el("span", { class: "opt" }, "(optional)")), max),
      el("div", { class: "option option-check" }, el("label", { for: id("protect") }, protect, " Password protected")),
      passwordBox,
    ),
    error,
    el("div", { class: "actions" }, submit, cancel),
  );
  const clearPassword = () => { password.value = ""; };
  cancel.addEventListener("click", () => {
    clearPassword();
    onCancel();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(error, "");
    const body = {};
    if (expires.value) body.expires_in = Number(expires.value);
    const rawMax = max.value.trim();
    if (rawMax) {
      const n = Number(rawMax);
      if (!Number.isInteger(n) || n < 1) {
        showError(error, "Max downloads must be a whole number of at least 1, or empty for no limit.");
        max.focus();
        return;
      }
      if (!editing || n !== link.max_downloads) body.max_downloads = n;
    } else if (editing && link.max_downloads) {
      body.max_downloads = null;
    }
    if (protect.checked && password.value) body.password = password.value;
    else if (protect.checked && !(editing && link.has_password)) {
      showError(error, "Type the password, or untick Password protected.");
      password.focus();
      return;
    } else if (!protect.checked && editing && link.has_password) body.password = null;
    clearPassword();
    submit.disabled = true;
    try {
      await onSubmit(body);
    } catch (e) {
      showError(error, e.message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/**
 * One share link: its URL with a Copy button, its state, expiry, downloads and whether it has
 * a password; Change (its options) and Revoke (asked first). `onRevoked()` is called after a
 * revoke.
 */
function linkView(link, name, { onRevoked } = {}) {
  const node = el("div", { class: "link" });
  const paint = (l) => {
    link = l;
    const state = stateOf(l);
    node.dataset.state = state;
    node.dataset.token = l.token || "";
    const input = el("input", { class: "link-url", type: "text", readOnly: true, value: e2ee.shareUrl(l), "aria-label": `Share link for ${name}` });
    input.addEventListener("focus", () => input.select());
    const copy = el("button", { type: "button", class: "btn copy", onclick: () => copyText(input, copy) }, "Copy");
    const max = l.max_downloads;
    const downloads = l.downloads ?? 0;
    const errorNode = el("p", { class: "error", role: "alert", hidden: true });
    const meta = el(
      "p",
      { class: "meta" },
      el("span", { class: "state", "data-state": state }, STATE_LABELS[state] || state),
      el("span", { class: "expiry" }, state === "expired" ? "Expired " : "Expires ", timeEl(l.expires_at)),
      el("span", { class: "downloads" }, max ? `${downloads} of ${max} downloads` : `${downloads} download${downloads === 1 ? "" : "s"}, no limit`),
      el("span", { class: "password" }, l.has_password ? "Password: yes" : "Password: no"),
    );
    const children = [el("div", { class: "link-row" }, input, copy), meta];
    if (l.token && state !== "revoked") {
      const change = el("button", { type: "button", class: "btn btn-small", "aria-expanded": "false" }, "Change");
      const revoke = el("button", { type: "button", class: "btn btn-danger btn-small" }, "Revoke");
      const formBox = el("div", { class: "link-edit", hidden: true });
      change.addEventListener("click", () => {
        if (!formBox.hidden) {
          formBox.hidden = true;
          formBox.replaceChildren();
          change.setAttribute("aria-expanded", "false");
          return;
        }
        const form = linkForm(link, {
          submitLabel: "Save",
          onSubmit: async (body) => {
            if (Object.keys(body).length === 0) {
              paint(link);
              return;
            }
            const changed = await api("PATCH", `/v1/links/${encodeURIComponent(link.token)}`, body);
            announce("Link changed");
            paint({ ...link, ...changed });
            node.querySelector("button.change")?.focus();
          },
          onCancel: () => {
            formBox.hidden = true;
            formBox.replaceChildren();
            change.setAttribute("aria-expanded", "false");
            change.focus();
          },
        });
        formBox.replaceChildren(form);
        formBox.hidden = false;
        change.setAttribute("aria-expanded", "true");
        form.querySelector("select, input").focus();
      });
      change.classList.add("change");
      revoke.addEventListener("click", async () => {
        if (!window.confirm(`Revoke this link to ${name}? It stops working at once, for everyone who has it.`)) return;
        revoke.disabled = true;
        try {
          await api("DELETE", `/v1/links/${encodeURIComponent(link.token)}`);
          announce("Link revoked");
          paint({ ...link, state: "revoked", revoked: true });
          if (onRevoked) onRevoked();
        } catch (e) {
          showError(errorNode, e.message);
          revoke.disabled = false;
        }
      });
      meta.append(el("span", { class: "link-actions" }, change, revoke));
      children.push(formBox);
    }
    children.push(errorNode);
    node.replaceChildren(...children);
  };
  paint(link);
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

/** Should tus retry after this error? Network errors (no answer at all) always, and the
 *  answers that say "not now": 5xx, 408, 409 (offset moved), 423, 429. */
function retryable(err) {
  const status = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
  return status === 0 || status >= 500 || [408, 409, 423, 429].includes(status);
}

/** Forgets the stored fingerprints (tus URL storage) of an upload URL. */
async function forgetUploadUrl(url) {
  if (!url) return;
  const storage = tus.defaultOptions.urlStorage;
  const entries = await storage.findAllUploads().catch(() => []);
  for (const e of entries) {
    if (e && e.uploadUrl === url) await storage.removeUpload(e.urlStorageKey).catch(() => {});
  }
}

/** Deletes an unfinished upload on the service (tus termination); one that is gone already
 *  counts as deleted. Then forgets its fingerprint. */
async function terminateUpload(url) {
  try {
    await tus.Upload.terminate(url, { headers: { Authorization: auth.header }, retryDelays: [0, 1000, 3000], onShouldRetry: retryable });
  } catch (e) {
    const status = e && e.originalResponse ? e.originalResponse.getStatus() : 0;
    if (status !== 404 && status !== 410) throw e;
  }
  await forgetUploadUrl(url);
}

function tusErrorMessage(err) {
  const res = err && err.originalResponse;
  if (res) {
    const status = res.getStatus();
    const body = (res.getBody && res.getBody()) || "";
    return status === 401 ? "Your credentials were refused." : `The service answered ${status}${body ? `: ${String(body).trim().slice(0, 200)}` : ""}`;
  }
  return err && err.message ? err.message : String(err);
}

class UploadItem {
  constructor(file) {
    this.file = file;
    this.state = "queued";
    this.upload = null;
    this.running = false;
    this.samples = [];
    this.lastPaint = 0;
    this.lastSent = -1;
    this.lastProgressAt = 0;
    this.retryAt = 0;
    this.sent = 0;
    this.total = file.size;
    this.e2ee = e2ee.forFile(file); // end-to-end encrypted, or not (web/e2ee-upload.js)
    const name = file.name || "file";
    this.progress = el("progress", { max: 100, value: 0, "aria-label": `Upload of ${name}` });
    this.stats = el("span", { class: "stats" }, "Waiting");
    this.button = el("button", { type: "button", class: "btn btn-small", onclick: () => this.toggle() }, "Pause");
    this.cancelButton = el("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => this.cancel() }, "Cancel");
    this.note = el("p", { class: "waiting", role: "status", hidden: true });
    this.error = el("p", { class: "error", role: "alert", hidden: true });
    this.result = el("div", { class: "result", hidden: true });
    this.node = el(
      "li",
      { class: "upload", "data-state": "queued" },
      el("div", { class: "row" }, el("span", { class: "name", title: name }, name), this.e2ee.badge, el("span", { class: "size" }, formatBytes(file.size))),
      this.progress,
      el("div", { class: "row" }, this.stats, el("span", { class: "buttons" }, this.button, this.cancelButton)),
      this.note,
      this.error,
      this.result,
    );
  }

  setState(state) {
    this.state = state;
    this.node.dataset.state = state;
  }

  /** Where it stands, without speed or time left: `42 % · 8.0 MiB of 20 MiB`. */
  position() {
    return `${this.progress.value} % · ${formatBytes(this.sent)} of ${formatBytes(this.total)}`;
  }

  async begin() {
    this.setState("uploading");
    this.button.textContent = "Pause";
    this.button.hidden = false;
    showError(this.error, "");
    this.note.hidden = true;
    this.samples = [];
    this.lastProgressAt = performance.now();
    this.stats.textContent = "Starting…";
    const file = this.file;
    const options = {
      endpoint: endpoint(),
      headers: { Authorization: auth.header },
      metadata: { filename: file.name || "file", filetype: file.type || "application/octet-stream" },
      chunkSize: 8 * MiB,
      retryDelays: RETRY_DELAYS,
      onShouldRetry: (err, attempt) => {
        const again = retryable(err);
        if (again) {
          this.retryAt = performance.now() + (RETRY_DELAYS[attempt] || 0);
          this.waiting();
        }
        return again;
      },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => this.onProgress(sent, total),
      onSuccess: () => this.onSuccess(),
      onError: (err) => this.onError(err),
    };
    try {
      await this.e2ee.apply(options); // encrypted: its fingerprint, metadata and reader
    } catch (e) {
      this.onError(e);
      showError(this.error, `${e.message} Resume to try again, or cancel it.`);
      return;
    }
    this.upload = new tus.Upload(file, options);
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
    if (this.state !== "uploading") return; // paused or cancelled meanwhile
    this.upload.start();
    showResumable();
  }

  /** No progress: says so at once, without the speed and time left of before (the upload
   *  retries by itself and goes on when the service answers again). */
  waiting() {
    if (this.state !== "uploading" && this.state !== "waiting") return;
    const offline = typeof navigator !== "undefined" && navigator.onLine === false;
    if (this.state !== "waiting") announce(`${this.file.name}: waiting for the ${offline ? "network" : "service"}`);
    this.setState("waiting");
    this.samples = [];
    this.stats.textContent = `${this.position()} · waiting for the ${offline ? "network" : "service"}…`;
    this.note.textContent = offline
      ? "You are offline: the upload goes on by itself when the network is back."
      : "The service does not answer: the upload is retried by itself and goes on when it answers again.";
    this.note.hidden = false;
  }

  /** Called every second while it runs: a stall is shown after STALL_MS without progress, and
   *  a request hung for HUNG_MS more is given up and the upload started again. */
  watch(now) {
    if (this.state !== "uploading" && this.state !== "waiting") return;
    const idle = now - this.lastProgressAt;
    if (this.state === "uploading" && idle > STALL_MS) this.waiting();
    // the last sign of life: progress, or the retry last made (it may still be ahead)
    const since = Math.max(this.lastProgressAt, this.retryAt);
    if (now - since > STALL_MS + HUNG_MS) {
      this.retryAt = now;
      this.restart();
    }
  }

  /** Starts the upload again now, from the service's offset (tus asks it with a HEAD). */
  restart() {
    const up = this.upload;
    if (!up) return;
    up.abort(false).then(() => {
      if (this.upload === up && (this.state === "uploading" || this.state === "waiting")) up.start();
    }).catch(() => {});
  }

  onProgress(sent, total) {
    const now = performance.now();
    this.total = total;
    this.sent = sent;
    // bytes going out again, not the offset a retry starts from (lower than what was sent)
    const moved = sent > this.lastSent;
    this.lastSent = sent;
    if (moved) {
      this.lastProgressAt = now;
      if (this.state === "waiting") {
        this.setState("uploading");
        this.note.hidden = true;
        this.samples = [];
        this.lastPaint = 0;
        announce(`${this.file.name}: uploading again`);
      }
    }
    if (this.state !== "uploading") return;
    if (this.samples.length === 0 || sent < this.samples[this.samples.length - 1][1]) this.samples = [];
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
    this.note.hidden = true;
    this.progress.value = 100;
    this.button.hidden = true;
    this.cancelButton.hidden = true;
    this.stats.textContent = `100 % · ${formatBytes(this.file.size)} · done`;
    const url = this.upload.url || "";
    const id = decodeURIComponent(url.split("?")[0].split("/").filter(Boolean).pop() || "");
    this.fileId = id;
    this.node.dataset.fileId = id;
    this.e2ee.done(id);
    announce(`${this.file.name} uploaded`);
    showResumable();
    await this.makeLink();
    loadFiles(true);
  }

  async makeLink() {
    this.result.hidden = false;
    this.result.replaceChildren(el("p", { class: "meta" }, "Creating a share link…"));
    try {
      const link = await api("POST", `/v1/files/${encodeURIComponent(this.fileId)}/links`, { expires_in: DEFAULT_EXPIRY });
      this.result.replaceChildren(linkView(link, this.file.name));
    } catch (e) {
      const again = el("button", { type: "button", class: "btn btn-small", onclick: () => this.makeLink() }, "Try again");
      this.result.replaceChildren(el("p", { class: "error", role: "alert" }, `No share link: ${e.message} `, again));
    }
  }

  /** tus gave up (an answer that is no use retrying, or half an hour of retries). */
  onError(err) {
    this.finishSlot();
    this.setState("error");
    this.note.hidden = true;
    const message = err && err.originalResponse ? tusErrorMessage(err) : "The upload stopped: the service could not be reached for a long time.";
    showError(this.error, `${message} Resume to try again, or cancel it.`);
    this.button.textContent = "Resume";
    this.stats.textContent = `${this.progress.value} % · stopped`;
  }

  toggle() {
    if (this.state === "uploading" || this.state === "waiting" || this.state === "queued") this.pause();
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
    this.note.hidden = true;
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

  /** Cancel: stops it, deletes what the service holds of it (tus DELETE) and forgets its
   *  fingerprint, then removes its row. */
  async cancel() {
    if (this.state === "done" || this.state === "cancelling") return;
    if (!window.confirm(`Cancel the upload of ${this.file.name}? What was sent is deleted.`)) return;
    const before = this.state;
    const i = queue.indexOf(this);
    if (i >= 0) queue.splice(i, 1);
    this.setState("cancelling");
    this.note.hidden = true;
    showError(this.error, "");
    this.button.disabled = true;
    this.cancelButton.disabled = true;
    this.stats.textContent = "Cancelling…";
    const up = this.upload;
    try {
      if (up) {
        await up.abort(false).catch(() => {});
        this.finishSlot();
        if (up.url) await terminateUpload(up.url);
      }
      this.finishSlot();
      items.delete(this);
      this.node.remove();
      announce(`${this.file.name}: upload cancelled`);
      showResumable();
    } catch (e) {
      this.finishSlot();
      this.setState(before === "queued" || before === "uploading" || before === "waiting" ? "paused" : before);
      this.button.textContent = "Resume";
      this.button.disabled = false;
      this.cancelButton.disabled = false;
      this.stats.textContent = `${this.progress.value} % · not cancelled`;
      showError(this.error, `Could not cancel: ${tusErrorMessage(e)}`);
    }
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

// Stalls are looked for every second.
setInterval(() => {
  const now = performance.now();
  for (const item of items) item.watch(now);
}, 1000);

// Back online: waiting uploads try again now rather than at their next retry, and those
// that had stopped start again by themselves.
window.addEventListener("online", () => {
  for (const item of items) {
    if (item.state === "waiting") item.restart();
    else if (item.state === "error") item.resume();
  }
});
window.addEventListener("offline", () => {
  for (const item of items) if (item.state === "uploading") item.waiting();
});

/** Uploads this browser can resume (tus fingerprints in localStorage), not running now:
 *  pick the same file to resume one, or cancel it (deleted on the service, forgotten here). */
async function showResumable() {
  const box = $("resumable");
  const list = $("resumable-list");
  let entries = [];
  try {
    entries = await tus.defaultOptions.urlStorage.findAllUploads();
  } catch {
    entries = [];
  }
  e2ee.tidy(entries);
  const running = new Set();
  for (const item of items) {
    if (item.upload && item.upload.url) running.add(item.upload.url);
    if (item.upload && item.upload._urlStorageKey) running.add(item.upload._urlStorageKey);
  }
  const seen = new Set();
  const rows = [];
  for (const e of entries) {
    if (!e || !e.uploadUrl || running.has(e.urlStorageKey) || running.has(e.uploadUrl)) continue;
    const name = (e.metadata && e.metadata.filename) || "file";
    const key = `${name}/${e.size}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const same = entries.filter((x) => x && x.uploadUrl && ((x.metadata && x.metadata.filename) || "file") === name && x.size === e.size);
    const error = el("span", { class: "error inline", role: "alert", hidden: true });
    const cancel = el("button", { type: "button", class: "btn btn-quiet btn-small" }, "Cancel");
    cancel.addEventListener("click", async () => {
      if (!window.confirm(`Cancel the unfinished upload of ${name}? What was sent is deleted.`)) return;
      cancel.disabled = true;
      showError(error, "");
      try {
        for (const x of same) await terminateUpload(x.uploadUrl);
        announce(`${name}: upload cancelled`);
        showResumable();
      } catch (err) {
        showError(error, `Could not cancel: ${tusErrorMessage(err)}`);
        cancel.disabled = false;
      }
    });
    rows.push(el("li", { "data-upload-url": e.uploadUrl }, el("span", { class: "name" }, name), e2ee.resumableBadge(e), ` (${formatBytes(e.size)}) `, cancel, error));
  }
  list.replaceChildren(...rows);
  box.hidden = rows.length === 0;
}

// ---------------------------------------------------------------------------------------
// The tenant's files: loaded a server page at a time (GET /v1/files and its `cursor`),
// filtered by name, sorted, and shown PAGE_SIZE at a time.

let files = []; // every file loaded so far, in the service's order
let cursor = null; // the service's next page, if any
let page = 0;
let loading = false;
let reloadAgain = false; // a reload asked for while one was running
const fileNodes = new Map(); // id -> its row, kept across renderings (open panels stay open)

const SORTS = {
  newest: (a, b) => String(b.created_at || "").localeCompare(String(a.created_at || "")),
  name: (a, b) => (a.name || a.id).localeCompare(b.name || b.id, undefined, { sensitivity: "base", numeric: true }),
  size: (a, b) => (b.size || 0) - (a.size || 0),
};

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
    const got = ((data && data.files) || []).map(e2ee.withLocalName);
    if (reset) {
      files = [];
      const keep = new Set(got.map((f) => f.id));
      for (const id of [...fileNodes.keys()]) if (!keep.has(id)) fileNodes.delete(id);
    }
    const known = new Set(files.map((f) => f.id));
    for (const f of got) if (!known.has(f.id)) files.push(f);
    cursor = (data && data.cursor) || null;
    showError(errorNode, "");
  } catch (e) {
    if (auth) showError(errorNode, `Cannot list the files: ${e.message}`);
  } finally {
    loading = false;
    renderFiles();
    if (reloadAgain) {
      reloadAgain = false;
      loadFiles(true);
    }
  }
}

/** The loaded files that match the filter, in the chosen order. */
function shownFiles() {
  const q = $("files-filter").value.trim().toLowerCase();
  const sort = SORTS[$("files-sort").value] || SORTS.newest;
  const list = q ? files.filter((f) => String(f.name || f.id).toLowerCase().includes(q)) : files.slice();
  return list.sort(sort);
}

function renderFiles() {
  const list = shownFiles();
  const pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
  page = Math.min(Math.max(0, page), pages - 1);
  const slice = list.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  $("files").replaceChildren(
    ...slice.map((f) => {
      let node = fileNodes.get(f.id);
      if (!node) {
        node = fileView(f);
        fileNodes.set(f.id, node);
      }
      return node;
    }),
  );
  const filtered = $("files-filter").value.trim() !== "";
  $("files-empty").hidden = files.length > 0 || Boolean(cursor);
  $("files-none").hidden = !(filtered && list.length === 0);
  const from = list.length ? page * PAGE_SIZE + 1 : 0;
  const to = page * PAGE_SIZE + slice.length;
  const of = `${list.length}${cursor ? "+" : ""}`;
  $("files-count").textContent = list.length || cursor ? `${from}–${to} of ${of} file${list.length === 1 && !cursor ? "" : "s"}${filtered ? " matching" : ""}` : "";
  $("files-prev").disabled = page === 0;
  $("files-next").disabled = page >= pages - 1 && !cursor;
  $("pager").hidden = pages <= 1 && !cursor;
}

async function nextPage() {
  const pages = Math.max(1, Math.ceil(shownFiles().length / PAGE_SIZE));
  if (page >= pages - 1 && cursor) {
    // the last page loaded: the service's next one first
    await loadFiles(false);
    if (Math.ceil(shownFiles().length / PAGE_SIZE) <= pages) return renderFiles();
  }
  page += 1;
  renderFiles();
  $("files-title").scrollIntoView({ block: "nearest" });
}

function previousPage() {
  page -= 1;
  renderFiles();
}

function fileView(f) {
  const name = f.name || f.id;
  const panelId = `links-${f.id}`;
  const errorNode = el("p", { class: "error", role: "alert", hidden: true });
  const linkList = el("ul", { class: "link-list" });
  const formBox = el("div", { class: "link-new", hidden: true });
  const panel = el("div", { class: "links", id: panelId, hidden: true }, linkList);
  const toggle = el("button", { type: "button", class: "btn btn-small", "aria-expanded": "false", "aria-controls": panelId }, "Links");
  const newLink = el("button", { type: "button", class: "btn btn-small", "aria-expanded": "false" }, "New link");
  const del = el("button", { type: "button", class: "btn btn-small btn-danger" }, "Delete");
  const node = el(
    "li",
    { class: "file", "data-file-id": f.id },
    el("div", { class: "row" }, el("span", { class: "name", title: name }, name), e2ee.fileBadge(f), f.dialect ? el("span", { class: "badge" }, f.dialect) : null),
    el("p", { class: "meta" }, formatBytes(f.size), " · uploaded ", timeEl(f.created_at), " · expires ", timeEl(f.expires_at)),
    e2ee.fileNote(f),
    el("div", { class: "actions" }, toggle, newLink, del),
    formBox,
    errorNode,
    panel,
  );

  async function showLinks() {
    try {
      const data = await api("GET", `/v1/files/${encodeURIComponent(f.id)}/links`);
      const links = (data && data.links) || [];
      linkList.replaceChildren(
        ...(links.length
          ? links.map((l) => el("li", {}, linkView(l, name)))
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

  function closeForm() {
    formBox.hidden = true;
    formBox.replaceChildren();
    newLink.setAttribute("aria-expanded", "false");
  }

  toggle.addEventListener("click", () => {
    if (panel.hidden) showLinks();
    else {
      panel.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      toggle.textContent = "Links";
    }
  });
  newLink.addEventListener("click", () => {
    if (!formBox.hidden) {
      closeForm();
      return;
    }
    const form = linkForm(null, {
      submitLabel: "Create link",
      onSubmit: async (body) => {
        await api("POST", `/v1/files/${encodeURIComponent(f.id)}/links`, body);
        announce("Link created");
        closeForm();
        await showLinks();
        newLink.focus();
      },
      onCancel: () => {
        closeForm();
        newLink.focus();
      },
    });
    formBox.replaceChildren(form);
    formBox.hidden = false;
    newLink.setAttribute("aria-expanded", "true");
    form.querySelector("select").focus();
  });
  del.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${name}? Its share links stop working.`)) return;
    del.disabled = true;
    try {
      await api("DELETE", `/v1/files/${encodeURIComponent(f.id)}`);
      announce(`${name} deleted`);
      e2ee.forget(f.id);
      files = files.filter((x) => x.id !== f.id);
      fileNodes.delete(f.id);
      renderFiles();
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
  // /r/{token}: a file request's page, no sign-in
  const request = requestToken();
  if (request) {
    startRequest(request);
    return;
  }
  $("sign-in-form").addEventListener("submit", signIn);
  for (const r of document.querySelectorAll('input[name="kind"]')) r.addEventListener("change", signInKindChanged);
  $("sign-out").addEventListener("click", () => signOut(""));
  $("refresh").addEventListener("click", () => loadFiles(true));
  $("files-prev").addEventListener("click", previousPage);
  $("files-next").addEventListener("click", nextPage);
  $("files-filter").addEventListener("input", () => {
    page = 0;
    renderFiles();
  });
  $("files-sort").addEventListener("change", () => {
    page = 0;
    renderFiles();
  });

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
