// The upload page in its file-request mode, at /r/{token}: no sign-in. It says who asked,
// what is allowed and what is left (GET /r/{token}, JSON), asks for the request's password
// if it has one, and uploads with tus to /r/{token}/files/ (resumable: a network drop is
// retried, and an upload interrupted by a reload resumes when the same file is chosen again).
// It lists only what this browser sent through this request (localStorage), never anything
// else of the tenant's.
import * as tus from "tus-js-client";
import { el, formatBytes } from "./dom.js";

const MiB = 1024 * 1024;
const RETRY_DELAYS = [0, 1000, 2000, 4000, 8000, ...Array(180).fill(10000)];
const $ = (id) => document.getElementById(id);

/** The request's token if the page is at /r/{token}. */
export function requestToken(pathname = window.location.pathname) {
  const m = /^\/r\/([A-Za-z0-9_-]{32})\/?$/.exec(pathname);
  return m ? m[1] : null;
}

const WHEN = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };

export function startRequest(token) {
  const main = $("main");
  for (const id of ["sign-in", "app"]) if ($(id)) $(id).hidden = true;
  const sentKey = `edgeshare.request.${token}`;
  const base = `/r/${token}`;
  let password = sessionStorage.getItem(`${sentKey}.password`) || "";
  let info = null;

  const title = el("h1", { id: "request-title", tabindex: "-1" }, "Send files");
  const who = el("p", { class: "hint", id: "request-who" });
  const limits = el("ul", { class: "meta", id: "request-limits" });
  const state = el("p", { class: "error", id: "request-state", role: "alert", hidden: true });
  const pwForm = el("form", { id: "request-password", hidden: true, novalidate: true });
  const pwInput = el("input", { id: "request-password-input", type: "password", autocomplete: "off", required: true });
  const pwError = el("p", { class: "error", role: "alert", hidden: true });
  pwForm.append(
    el("label", { for: "request-password-input" }, "This request asks for a password"),
    pwInput,
    pwError,
    el("button", { type: "submit", class: "btn btn-primary" }, "Continue"),
  );
  const input = el("input", { id: "request-file-input", class: "visually-hidden", type: "file", multiple: true, tabindex: "-1", "aria-hidden": "true" });
  const drop = el(
    "button",
    { type: "button", id: "request-drop", class: "drop", "aria-describedby": "request-drop-hint", hidden: true },
    el("span", { class: "drop-title" }, "Choose files to send"),
    el("span", { class: "drop-hint", id: "request-drop-hint" }, "Uploads resume after a network drop, or after a reload when you choose the same file again."),
  );
  const uploads = el("ul", { class: "uploads", id: "request-uploads", "aria-label": "Uploads" });
  const sentTitle = el("h2", { id: "request-sent-title" }, "Sent from this browser");
  const sent = el("ul", { class: "files", id: "request-sent", "aria-labelledby": "request-sent-title" });
  const status = $("status");
  const card = el("section", { class: "card", id: "request", "aria-labelledby": "request-title" }, title, who, limits, state, pwForm, input, drop, uploads);
  const sentCard = el("section", { class: "card", id: "request-sent-card", "aria-labelledby": "request-sent-title" }, sentTitle, sent);
  main.append(card, sentCard);

  const announce = (text) => {
    if (status) status.textContent = text;
  };
  const sentList = () => {
    try {
      return JSON.parse(localStorage.getItem(sentKey) || "[]");
    } catch {
      return [];
    }
  };
  const renderSent = () => {
    const list = sentList();
    sent.replaceChildren(
      ...(list.length === 0
        ? [el("li", { class: "hint" }, "Nothing yet.")]
        : list.map((f) => el("li", { class: "file" }, el("div", { class: "row" }, el("span", { class: "name", title: f.name }, f.name), el("span", { class: "size" }, formatBytes(f.size))), el("div", { class: "meta" }, `Sent ${new Date(f.at).toLocaleString(undefined, WHEN)}`)))),
    );
  };

  const headers = () => (password ? { "X-Request-Password": password } : {});
  const fingerprintOf = (f) => ["edgeshare-request", token, f.name, f.type, f.size, f.lastModified].join("/");
  /** Fingerprints of this browser's unfinished uploads through this request (tus's storage):
   *  they hold their place, so they may go on even once the request has no place left. */
  async function unfinished() {
    const entries = await tus.defaultOptions.urlStorage.findAllUploads().catch(() => []);
    const prefix = `tus::edgeshare-request/${token}/`;
    return entries.filter((e) => String(e.urlStorageKey || "").startsWith(prefix));
  }

  async function refresh() {
    let res;
    try {
      res = await fetch(base, { headers: { Accept: "application/json", ...headers() }, cache: "no-store" });
    } catch {
      state.textContent = "The service cannot be reached. Try again in a moment.";
      state.hidden = false;
      return;
    }
    const body = await res.json().catch(() => ({}));
    if (res.status === 401 || res.status === 403) {
      pwForm.hidden = false;
      drop.hidden = true;
      pwError.hidden = res.status === 401;
      pwError.textContent = res.status === 403 ? "That password is not right." : "";
      if (res.status === 401) pwInput.focus();
      return;
    }
    if (!res.ok) {
      const message = (body.error && body.error.message) || `Error ${res.status}`;
      title.textContent = "This request is closed";
      state.textContent = message.charAt(0).toUpperCase() + message.slice(1) + ". Ask whoever sent it for a new link.";
      state.hidden = false;
      drop.hidden = true;
      pwForm.hidden = true;
      return;
    }
    info = body;
    pwForm.hidden = true;
    title.textContent = info.label ? info.label : "Send files";
    who.textContent = `${info.tenant} asks you for files. They will see what you send; you will see only what you sent from this browser.`;
    const until = new Date(info.expires_at).toLocaleString(undefined, WHEN);
    limits.replaceChildren(
      el("li", {}, `${info.files_left} of ${info.max_files} file${info.max_files === 1 ? "" : "s"} left`),
      info.bytes_left === null ? null : el("li", {}, `${formatBytes(info.bytes_left)} left of ${formatBytes(info.max_bytes)}`),
      el("li", {}, "Open until ", el("time", { datetime: info.expires_at }, until)),
    );
    const open = info.state === "open";
    const pending = await unfinished();
    drop.hidden = !open && pending.length === 0;
    state.hidden = open;
    if (!open) {
      state.textContent =
        pending.length > 0
          ? "This request takes no new files. To finish an upload that was interrupted, choose the same file again."
          : "This request has all the files it asked for.";
    }
  }

  async function add(files) {
    const pending = new Set((await unfinished()).map((e) => String(e.urlStorageKey).split("::")[1]));
    for (const file of files) {
      if (!info) break;
      if (info.state !== "open" && !pending.has(fingerprintOf(file))) {
        announce(`${file.name}: this request takes no new files`);
        continue;
      }
      if (info.state === "open" && info.bytes_left !== null && file.size > info.bytes_left && !pending.has(fingerprintOf(file))) {
        announce(`${file.name} is larger than what this request has left`);
        uploads.prepend(el("li", { class: "upload", "data-state": "error" }, el("div", { class: "row" }, el("span", { class: "name" }, file.name)), el("p", { class: "error" }, `Too large: ${formatBytes(info.bytes_left)} left.`)));
        continue;
      }
      send(file);
    }
  }

  function send(file) {
    const bar = el("progress", { max: "100", value: "0", "aria-label": `${file.name} progress` });
    const stats = el("span", { class: "stats" }, "Starting…");
    const pause = el("button", { type: "button", class: "btn btn-small" }, "Pause");
    const row = el("li", { class: "upload", "data-state": "uploading" }, el("div", { class: "row" }, el("span", { class: "name", title: file.name }, file.name), el("span", { class: "size" }, formatBytes(file.size))), bar, el("div", { class: "row" }, stats, pause));
    uploads.prepend(row);
    const upload = new tus.Upload(file, {
      endpoint: new URL(`${base}/files/`, window.location.href).href,
      headers: headers(),
      metadata: { filename: file.name || "file", filetype: file.type || "application/octet-stream" },
      chunkSize: 8 * MiB,
      retryDelays: RETRY_DELAYS,
      onShouldRetry: (err) => {
        const s = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
        const again = s === 0 || s >= 500 || [408, 409, 423, 429].includes(s);
        if (again) {
          row.dataset.state = "waiting";
          stats.textContent = navigator.onLine === false ? "Waiting for the network…" : "Waiting for the service…";
        }
        return again;
      },
      fingerprint: (f) => Promise.resolve(fingerprintOf(f)),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: (done, total) => {
        row.dataset.state = "uploading";
        bar.value = total ? Math.floor((done / total) * 100) : 0;
        stats.textContent = `${formatBytes(done)} of ${formatBytes(total)}`;
      },
      onSuccess: () => {
        row.dataset.state = "done";
        bar.value = 100;
        stats.textContent = "Sent";
        pause.remove();
        const list = sentList();
        list.unshift({ name: file.name, size: file.size, at: new Date().toISOString() });
        localStorage.setItem(sentKey, JSON.stringify(list.slice(0, 200)));
        renderSent();
        announce(`${file.name} sent`);
        refresh();
      },
      onError: (err) => {
        row.dataset.state = "error";
        const s = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
        const text = err && err.originalResponse ? err.originalResponse.getBody() : "";
        stats.textContent = s === 410 ? "This request takes no more files." : s === 413 ? "Too large for what this request has left." : `Failed${text ? `: ${String(text).trim()}` : ""}`;
        pause.remove();
        announce(`${file.name}: ${stats.textContent}`);
        refresh();
      },
    });
    let paused = false;
    pause.addEventListener("click", () => {
      paused = !paused;
      if (paused) {
        upload.abort();
        pause.textContent = "Resume";
        row.dataset.state = "paused";
        stats.textContent = "Paused";
      } else {
        pause.textContent = "Pause";
        upload.start();
      }
    });
    upload
      .findPreviousUploads()
      .then((previous) => {
        if (previous.length > 0) {
          upload.resumeFromPreviousUpload(previous[0]);
          stats.textContent = "Resuming…";
        }
      })
      .catch(() => {})
      .finally(() => upload.start());
  }

  pwForm.addEventListener("submit", (e) => {
    e.preventDefault();
    password = pwInput.value;
    sessionStorage.setItem(`${sentKey}.password`, password);
    refresh();
  });
  drop.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    // a copy: clearing the input empties its live list
    add(Array.from(input.files));
    input.value = "";
  });
  window.addEventListener("dragover", (e) => {
    e.preventDefault();
  });
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer) add(Array.from(e.dataTransfer.files));
  });
  document.title = "Send files · edgeshare";
  renderSent();
  refresh();
}
