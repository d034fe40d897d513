// The share page's script (/share.js on /s/{token}, built by web/build.mjs): opens the
// end-to-end encrypted files of a link (docs/e2ee.md) with the key in the link's fragment
// (`#k=…`, which the browser never sends). The page is the service's HTML and works without
// this script for files that are not encrypted; this script relies on:
//   <div id="e2ee" data-token="{token}">…</div>  in <main>, when the link has an encrypted
//       file (its fallback sentence is kept, and completed when the key is missing)
//   <form id="password-form"> with <input name="password">  on a password page: the
//       password is checked here (X-Share-Password) instead of posted. With a key in the
//       fragment, the link's encrypted files open on this page; without one, a link of one
//       encrypted file says the key is missing (posted, the form would save its ciphertext,
//       encrypted.bin, and count a download); any other link is posted as without this script
//   <ul class="files"><li [data-index="{i}"]> <span class="name|size|type"> and a button
//       (a.btn or form)</li>  on a page of several files: an encrypted file's row gets its
//       real name and a "Download and decrypt" button in place of its ciphertext button
//   GET /s/{token} (Accept: application/json) and GET {file.url}: the link's files (with
//       their "e2ee" strings) and a file's ciphertext.
// Nothing is saved unless every record verified: a file altered or cut short is refused.
import { E2eeError, decryptMeta, decryptStream, secretFromFragment } from "./e2ee.js";

const NOTE = "This file is end-to-end encrypted: it can only be opened with the whole link, including the part after #.";
const MISSING = "The part after # is missing from the link you opened: ask whoever sent it for the whole link.";
const DAMAGED = "The part after # of the link you opened is damaged or cut short: ask whoever sent it for the whole link.";
const OPENED = "End-to-end encrypted: decrypted in this browser with the key in the link, which the service never sees.";
const WRONG_KEY = "This link's key does not open this file.";
const ALTERED = "This file was altered or is incomplete; nothing was saved.";
const BROKE_OFF = "The download broke off before the end, so the file is incomplete; nothing was saved. Try again.";
/** Decrypted bytes are gathered into Blobs of about this size (the browser may keep them on
 *  disk) when the file cannot be streamed to one. */
const BLOB_PART = 16 * 1024 * 1024;

const main = document.querySelector("main") || document.body;
const box0 = document.getElementById("e2ee");
const form = document.getElementById("password-form");
const secret = secretFromFragment(location.hash);
const token = (box0 && box0.dataset.token) || tokenFromPath();

// ---------------------------------------------------------------------------------------
// Helpers

function tokenFromPath() {
  const m = /^\/s\/([^/]+)\/?$/.exec(location.pathname);
  return m ? decodeURIComponent(m[1]) : "";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "hidden") node.hidden = Boolean(v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** `12 bytes`, `1.5 MiB`: as the service writes sizes on this page. */
function humanSize(n) {
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} byte${n === 1 ? "" : "s"}`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** A name as shown: without control characters and invisible formatting (a right-to-left
 *  override would make `photo<RLO>gnp.exe` read as `photoexe.png`). */
function visibleName(name) {
  const n = String(name || "").replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, "");
  return n.trim() || "file";
}

/** A name to save under: visible, and without the characters file systems refuse. */
function saveName(name) {
  const n = visibleName(name).replace(/[\\/:*?"<>|]/g, "_").replace(/^\.+/, "_");
  return n.slice(0, 240) || "file";
}

function safeType(type) {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(type || "") ? type : "application/octet-stream";
}

/** The password as a header when it can be one (printable ASCII), else as `?password=`
 *  (UTF-8, percent-encoded), which the service takes too. */
function withPassword(url, password) {
  const headers = {};
  if (!password) return { url, headers };
  if (/^[\x20-\x7e]*$/.test(password)) {
    headers["X-Share-Password"] = password;
    return { url, headers };
  }
  return { url: `${url}${url.includes("?") ? "&" : "?"}password=${encodeURIComponent(password)}`, headers };
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** An error answer in plain words. */
async function httpError(res) {
  let message = "";
  try {
    const data = await res.json();
    message = (data && data.error && data.error.message) || "";
  } catch {
    message = "";
  }
  const said = message ? `${message.charAt(0).toUpperCase()}${message.slice(1)}${/[.!?]$/.test(message) ? "" : "."}` : "";
  switch (res.status) {
    case 401:
      return new HttpError(401, "This link needs its password.");
    case 403:
      return new HttpError(403, "Wrong password.");
    case 404:
      return new HttpError(404, said || "This link does not exist.");
    case 410:
      return new HttpError(410, `${said || "This link can no longer be used."} Ask whoever sent it for a new link.`);
    case 429: {
      const wait = Number(res.headers.get("Retry-After"));
      return new HttpError(429, `Too many attempts: try again ${wait > 0 ? `in ${wait} second${wait === 1 ? "" : "s"}` : "later"}.`);
    }
    default:
      return new HttpError(res.status, `The service answered ${res.status}${said ? `: ${said}` : "."}`);
  }
}

async function request(path, password) {
  const { url, headers } = withPassword(path, password);
  let res;
  try {
    res = await fetch(url, { headers, credentials: "same-origin", cache: "no-store", referrerPolicy: "no-referrer" });
  } catch {
    throw new HttpError(0, "The service cannot be reached: check your connection.");
  }
  if (!res.ok) throw await httpError(res);
  return res;
}

/** The link's files: GET /s/{token} as JSON. */
async function getList(password) {
  const { url, headers } = withPassword(`/s/${encodeURIComponent(token)}`, password);
  let res;
  try {
    res = await fetch(url, {
      headers: { ...headers, Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new HttpError(0, "The service cannot be reached: check your connection.");
  }
  if (!res.ok) throw await httpError(res);
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!data || !Array.isArray(data.files)) throw new HttpError(res.status, "The service's answer about this link was not understood.");
  return data;
}

// ---------------------------------------------------------------------------------------
// Downloading one encrypted file

/** Saves a verified Blob through a temporary <a download>. */
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Reads a stream to its end into a Blob, in parts (never one big buffer). */
async function collect(readable, type) {
  const reader = readable.getReader();
  const blobs = [];
  let parts = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    bytes += value.byteLength;
    if (bytes >= BLOB_PART) {
      blobs.push(new Blob(parts));
      parts = [];
      bytes = 0;
    }
  }
  blobs.push(new Blob(parts));
  return new Blob(blobs, { type });
}

/** "Download and decrypt" for one file: its button, progress and status. */
function decryptControl(file, meta, password) {
  const name = visibleName(meta.name);
  const button = el("button", { type: "button", class: "btn e2ee-download" }, "Download and decrypt");
  const progress = el("progress", { class: "e2ee-progress", max: 100, value: 0, hidden: true, "aria-label": `Download of ${name}` });
  const count = el("span", { class: "e2ee-count", hidden: true });
  const status = el("p", { class: "e2ee-status", role: "status", "aria-live": "polite" });
  const node = el("div", { class: "e2ee-control", "data-index": file.index }, button, progress, count, status);
  const say = (text, error) => {
    status.textContent = text;
    status.classList.toggle("error", Boolean(error));
  };
  button.addEventListener("click", () => {
    download(file, meta, password, { button, progress, count, say }).catch((e) => {
      say(`Nothing was saved: ${e && e.message ? e.message : e}`, true);
      button.disabled = false;
    });
  });
  return node;
}

async function download(file, meta, password, { button, progress, count, say }) {
  const name = saveName(meta.name);
  button.disabled = true;
  // the picker first, while the click still counts as the user's gesture
  let handle = null;
  let writable = null;
  if (typeof window.showSaveFilePicker === "function") {
    try {
      handle = await window.showSaveFilePicker({ suggestedName: name });
    } catch (e) {
      if (e && e.name === "AbortError") {
        say("Not downloaded: no place to save it was chosen.");
        button.disabled = false;
        return;
      }
      handle = null; // refused (a name the system will not take…): the browser's download
    }
  }
  if (handle) {
    try {
      writable = await handle.createWritable();
    } catch {
      handle = null;
    }
  }
  const discard = async () => {
    if (writable) await writable.abort().catch(() => {});
    // the picker made an empty file: take it away again where the browser can
    if (handle && typeof handle.remove === "function") await handle.remove().catch(() => {});
  };

  say("Downloading and decrypting…");
  progress.value = 0;
  progress.hidden = false;
  count.hidden = false;
  count.textContent = "";
  let res;
  try {
    res = await request(file.url, password);
  } catch (e) {
    await discard();
    progress.hidden = true;
    count.hidden = true;
    say(`${e.message} Nothing was saved.`, true);
    button.disabled = false;
    return;
  }
  const total = Number(res.headers.get("Content-Length")) || 0;
  let got = 0;
  let painted = 0;
  const paint = (force) => {
    const now = performance.now();
    if (!force && now - painted < 150) return;
    painted = now;
    if (total > 0) {
      progress.value = Math.min(100, Math.floor((got / total) * 100));
      count.textContent = `${progress.value} % · ${humanSize(got)} of ${humanSize(total)}`;
    } else {
      progress.removeAttribute("value");
      count.textContent = humanSize(got);
    }
  };
  const counted = new TransformStream({
    transform(chunk, c) {
      got += chunk.byteLength;
      paint(false);
      c.enqueue(chunk);
    },
  });
  // the plaintext must be exactly the size its description says
  let out = 0;
  const sized = new TransformStream({
    transform(chunk, c) {
      out += chunk.byteLength;
      if (out > meta.size) throw new E2eeError("The file was altered or is incomplete (longer than it says).", "altered");
      c.enqueue(chunk);
    },
    flush() {
      if (out !== meta.size) throw new E2eeError("The file was altered or is incomplete (shorter than it says).", "altered");
    },
  });
  try {
    if (!res.body) throw new E2eeError("The file was altered or is incomplete (no bytes came).", "altered");
    const plain = res.body.pipeThrough(counted).pipeThrough(decryptStream(secret)).pipeThrough(sized);
    if (writable) {
      await plain.pipeTo(writable); // closed (committed) only after the last record verified
      writable = null;
    } else {
      const blob = await collect(plain, safeType(meta.type));
      saveBlob(blob, name);
    }
  } catch (e) {
    await discard();
    progress.hidden = true;
    count.hidden = true;
    button.disabled = false;
    if (e instanceof E2eeError && e.code === "altered") say(ALTERED, true);
    else if (e instanceof E2eeError) say(`${e.message} Nothing was saved.`, true);
    else if (e instanceof TypeError) say(BROKE_OFF, true);
    else say(`Nothing was saved: ${e && e.message ? e.message : e}`, true);
    return;
  }
  paint(true);
  progress.value = 100;
  say(`Decrypted and verified: saved as ${name}.`);
  button.disabled = false;
}

// ---------------------------------------------------------------------------------------
// The page

/** The decrypted description of each encrypted file (or why it failed), by index. */
async function describe(files) {
  const out = new Map();
  for (const f of files) {
    if (!f || !f.e2ee) continue;
    try {
      out.set(f.index, { meta: await decryptMeta(secret, f.e2ee) });
    } catch (e) {
      // a key that does not open it, or a description this page cannot read
      out.set(f.index, { error: e instanceof E2eeError && e.code !== "key" ? e.message : WRONG_KEY });
    }
  }
  return out;
}

function errorLine(text) {
  return el("p", { class: "error", role: "alert" }, text);
}

/** The row of file `f` on the service's page of several files, if found. */
function serverRow(f, files) {
  const list = main.querySelector("ul.files");
  if (!list) return null;
  const byIndex = list.querySelector(`:scope > li[data-index="${Number(f.index)}"]`);
  if (byIndex) return byIndex;
  const rows = list.querySelectorAll(":scope > li");
  const k = files.indexOf(f);
  return rows.length === files.length && k >= 0 ? rows[k] : null;
}

/** Hides what serves ciphertext to no purpose: the QR code (of the link without its key)
 *  and, when every file is encrypted, the zip of them all. */
function hideCiphertextLinks(data, allEncrypted) {
  for (const fig of main.querySelectorAll("figure.qr")) fig.hidden = true;
  if (!allEncrypted || !data.zip_url) return;
  const zip = new URL(data.zip_url, location.href).pathname;
  for (const node of main.querySelectorAll("a[href], form[action]")) {
    const target = node.getAttribute("href") || node.getAttribute("action");
    if (new URL(target, location.href).pathname !== zip) continue;
    const p = node.closest("p");
    (p && main.contains(p) ? p : node).hidden = true;
  }
}

function setTitle(h1, text) {
  if (h1) h1.textContent = text;
  document.title = `${text} · edgeshare`;
}

/** The native download of a file that is not encrypted on a page this script made (after a
 *  password): a form posting the password, as the service's own page does. */
function plainButton(f, password) {
  return el(
    "form",
    { method: "post", action: f.url, class: "inline" },
    el("input", { type: "hidden", name: "password", value: password || "" }),
    el("button", { class: "btn", type: "submit" }, "Download"),
  );
}

function expiryLine(data) {
  const d = new Date(data.expires_at || "");
  if (Number.isNaN(d.getTime())) return null;
  const when = d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  return el("li", {}, "Link expires ", el("time", { datetime: data.expires_at }, when));
}

/**
 * Shows the link's encrypted files, decrypted: on the service's page (`fresh` false) in its
 * own places; after a password typed here (`fresh` true) as a page of its own.
 */
async function show(data, password, fresh) {
  const files = data.files.filter((f) => f && typeof f === "object");
  const described = await describe(files);
  const encrypted = files.filter((f) => f.e2ee);
  let box = box0;
  if (!box) {
    box = el("div", { id: "e2ee", "data-token": token });
    main.append(box);
  }
  box.removeAttribute("aria-live"); // each file has its own status
  box.classList.add("e2ee-open");
  const h1 = main.querySelector("h1");
  const single = files.length === 1;
  const allEncrypted = encrypted.length === files.length;

  if (fresh) {
    // the password page becomes the link's page
    for (const node of [...main.children]) if (node !== h1 && node !== box) node.remove();
    const meta = el("ul", { class: "meta" });
    if (single) {
      const d = described.get(files[0].index);
      meta.append(el("li", {}, humanSize(d && d.meta ? d.meta.size : files[0].size)));
    } else {
      meta.append(el("li", {}, `${files.length} files`));
    }
    const exp = expiryLine(data);
    if (exp) meta.append(exp);
    if (h1) h1.after(meta);
    else main.prepend(meta);
  }

  // "decrypted in this browser" only when the key opened something: with a wrong key, the
  // note says what the file needs (the whole link) and the error line why it does not open
  const opened = [...described.values()].some((d) => d.meta);
  const note = el("p", { class: "note" }, opened ? OPENED : NOTE);
  if (single) {
    const f = files[0];
    const d = described.get(f.index);
    if (d && d.meta) {
      setTitle(h1, visibleName(d.meta.name));
      if (!fresh) {
        const size = main.querySelector("ul.meta > li");
        if (size) size.textContent = humanSize(d.meta.size);
      }
      const type = d.meta.type ? el("p", { class: "meta e2ee-type" }, d.meta.type) : null;
      box.replaceChildren(...[note, type, decryptControl(f, d.meta, password)].filter(Boolean));
    } else {
      box.replaceChildren(note, errorLine((d && d.error) || WRONG_KEY));
    }
  } else {
    if (fresh) setTitle(h1, `${files.length} files`);
    const extra = el("ul", { class: "files e2ee-files", "aria-label": fresh ? "Files" : "Encrypted files" });
    for (const f of files) {
      const d = described.get(f.index);
      if (!f.e2ee) {
        if (fresh) {
          extra.append(
            el("li", {}, el("span", { class: "name" }, visibleName(f.name)), " ", el("span", { class: "size" }, humanSize(f.size)), " ", plainButton(f, password)),
          );
        }
        continue;
      }
      const row = fresh ? null : serverRow(f, files);
      const name = d && d.meta ? visibleName(d.meta.name) : "(encrypted file)";
      const action = d && d.meta ? decryptControl(f, d.meta, password) : errorLine((d && d.error) || WRONG_KEY);
      if (row) {
        const set = (sel, text) => {
          const n = row.querySelector(sel);
          if (n) n.textContent = text;
        };
        set(".name", name);
        if (d && d.meta) {
          set(".size", humanSize(d.meta.size));
          set(".type", d.meta.type || "");
        }
        for (const b of row.querySelectorAll(":scope > a.btn, :scope > form, :scope > .btn")) b.remove();
        row.classList.add("e2ee-row");
        row.append(action);
      } else {
        extra.append(
          el(
            "li",
            { class: "e2ee-row", "data-index": f.index },
            el("span", { class: "name" }, name),
            " ",
            el("span", { class: "size" }, humanSize(d && d.meta ? d.meta.size : f.size)),
            d && d.meta && d.meta.type ? [" ", el("span", { class: "type" }, d.meta.type)] : null,
            action,
          ),
        );
      }
    }
    box.replaceChildren(...[note, extra.childElementCount ? extra : null].filter(Boolean));
  }
  if (encrypted.length) hideCiphertextLinks(data, allEncrypted);
  if (fresh && h1) {
    h1.tabIndex = -1;
    h1.focus();
  }
}

function missingKey(box) {
  const text = /(^#|&)k=/.test(location.hash) ? DAMAGED : MISSING;
  const note = box.querySelector("p") || el("p", { class: "note" });
  note.textContent = `${NOTE} ${text}`;
  note.classList.add("e2ee-missing");
  box.replaceChildren(note);
  // the QR code is of the link without its key: it would not open the file either
  for (const fig of main.querySelectorAll("figure.qr")) fig.hidden = true;
}

/** The password page of a link of one encrypted file, the right password typed but no key
 *  in the link: the page of the link as the service shows it, saying the key is missing
 *  (and offering nothing to download: its ciphertext would be of no use). */
function missingKeyPage(data, file) {
  const h1 = main.querySelector("h1");
  const box = el("div", { id: "e2ee", "data-token": token });
  for (const node of [...main.children]) if (node !== h1) node.remove();
  setTitle(h1, "An end-to-end encrypted file");
  const meta = el("ul", { class: "meta" }, el("li", {}, humanSize(file.size)));
  const exp = expiryLine(data);
  if (exp) meta.append(exp);
  if (h1) h1.after(meta, box);
  else main.prepend(meta, box);
  missingKey(box);
  if (h1) {
    h1.tabIndex = -1;
    h1.focus();
  }
}

async function openPage() {
  const status = el("p", { class: "e2ee-status", role: "status" }, "Opening the encrypted file…");
  box0.append(status);
  let data;
  try {
    data = await getList(null);
  } catch (e) {
    status.remove();
    box0.append(errorLine(e.message));
    return;
  }
  status.remove();
  await show(data, null, false);
}

function interceptPassword() {
  const input = form.elements.namedItem("password");
  const submit = form.querySelector('button[type="submit"], button:not([type]), input[type="submit"]');
  if (!input || !submit) return;
  const error = el("p", { class: "error", role: "alert", hidden: true });
  submit.before(error);
  const showError = (text) => {
    error.textContent = text;
    error.hidden = !text;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = input.value;
    if (!password) {
      showError("Type the password.");
      input.focus();
      return;
    }
    // the service's own message (of a password tried before) gives way to ours
    for (const p of main.querySelectorAll("p.error")) if (p !== error) p.hidden = true;
    showError("");
    submit.disabled = true;
    let data;
    try {
      data = await getList(password);
    } catch (e) {
      submit.disabled = false;
      showError(e.message);
      input.focus();
      input.select();
      return;
    }
    const files = data.files.filter((f) => f && typeof f === "object");
    if (!secret && files.length === 1 && files[0].e2ee) {
      input.value = "";
      missingKeyPage(data, files[0]);
      return;
    }
    if (!secret || !files.some((f) => f.e2ee)) {
      // nothing encrypted, or no key for a link of several files: the form does what it does
      // without this script (the service's page of the files, which says what a key opens)
      submit.disabled = false;
      form.submit();
      return;
    }
    input.value = "";
    await show(data, password, true);
  });
}

function start() {
  // a key pasted after the page opened (the same page, another fragment): open it again
  window.addEventListener("hashchange", () => {
    const now = secretFromFragment(location.hash);
    const same = now && secret && now.every((b, i) => b === secret[i]);
    if ((box0 || form) && !same && (now || secret)) location.reload();
  });
  if (form) interceptPassword();
  else if (box0 && !secret) missingKey(box0);
  else if (box0) openPage().catch((e) => box0.append(errorLine(`This page could not open the file: ${e.message}`)));
}

start();
