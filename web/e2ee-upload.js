// The upload page's end-to-end encryption (docs/e2ee.md): the "Encrypt end to end" checkbox,
// the tus options of an encrypted upload (its ciphertext read through EncryptedSource, its
// real name, type and size in the `e2ee` metadata as an "m1." string, a fingerprint of its
// own so that resuming finds it) and the secrets this browser keeps:
//   edgeshare.e2ee-enabled              "1" / "0": the checkbox, remembered
//   edgeshare.e2ee-upload.<fingerprint> an unfinished upload's {k, salt, rs, meta, name, type,
//                                       size, url, created}, until it is done (then removed)
//   edgeshare.e2ee.<fileId>             a finished file's {k, name, type, size, created}: its
//                                       links are shown with #k=… in this browser
// web/app.js calls it from a few places (search it for `e2ee.`).
import * as tus from "tus-js-client";
import { EncryptedSource, RECORD_SIZE, b64url, encryptMeta, fromB64url, newSalt, newSecret, secretToFragment } from "./e2ee.js";

const PREF_KEY = "edgeshare.e2ee-enabled";
const UPLOAD_PREFIX = "edgeshare.e2ee-upload.";
const FILE_PREFIX = "edgeshare.e2ee.";
/** Prefixed to tus-js-client's fingerprint: the encrypted upload of a file is not its plain one. */
export const FINGERPRINT_PREFIX = "e2ee-";
/** What the service is told of an encrypted file: nothing. */
export const STORED_NAME = "encrypted.bin";
export const STORED_TYPE = "application/octet-stream";
/** A record of an upload that never got a URL is dropped after this long. */
const STALE_MS = 3600 * 1000;

// ---------------------------------------------------------------------------------------
// localStorage, tolerant of a browser that refuses it

function readJson(key) {
  try {
    const v = JSON.parse(localStorage.getItem(key) || "null");
    return v && typeof v === "object" ? v : null;
  } catch {
    return null;
  }
}

function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

function remove(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    // nothing kept, nothing to remove
  }
}

const isKey = (s, bytes) => typeof s === "string" && (fromB64url(s) || { length: -1 }).length === bytes;

/** An unfinished upload's record, if whole. */
function uploadRecord(fingerprint) {
  const r = readJson(UPLOAD_PREFIX + fingerprint);
  return r && isKey(r.k, 16) && isKey(r.salt, 16) && Number.isInteger(r.rs) && typeof r.meta === "string" ? r : null;
}

/** A finished file's secret and real name, if this browser has them. */
export function fileKey(fileId) {
  if (!fileId) return null;
  const r = readJson(FILE_PREFIX + fileId);
  return r && isKey(r.k, 16) ? r : null;
}

/** Forgets a file's secret (the file was deleted). */
export function forget(fileId) {
  if (fileId) remove(FILE_PREFIX + fileId);
}

// ---------------------------------------------------------------------------------------
// Small DOM helpers

const SVG = "http://www.w3.org/2000/svg";

function lockIcon() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "e2ee-lock");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5zm-3 8V7a3 3 0 0 1 6 0v3H9z");
  svg.append(path);
  return svg;
}

/** The lock marker: `<span class="badge e2ee-badge">` with an icon and "Encrypted". */
export function badge(hidden = false) {
  const span = document.createElement("span");
  span.className = "badge e2ee-badge";
  span.title = "End-to-end encrypted: the service cannot read it";
  const text = document.createElement("span");
  text.className = "e2ee-badge-text"; // visually hidden at phone width: the lock alone
  text.textContent = "Encrypted";
  span.append(lockIcon(), text);
  span.hidden = hidden;
  return span;
}

// ---------------------------------------------------------------------------------------
// The checkbox (#e2ee-toggle in web/index.html), remembered in this browser

function toggle() {
  return typeof document === "undefined" ? null : document.getElementById("e2ee-toggle");
}

/** Can this page encrypt (WebCrypto is there only on https pages and localhost)? */
export function supported() {
  return Boolean(globalThis.crypto && globalThis.crypto.subtle && typeof Blob === "function");
}

/** Is the checkbox ticked (new uploads are then encrypted)? */
export function wanted() {
  const box = toggle();
  return Boolean(box && box.checked && !box.disabled);
}

(function setUpToggle() {
  const box = toggle();
  if (!box) return;
  if (!supported()) {
    box.checked = false;
    box.disabled = true;
    const hint = document.getElementById("e2ee-hint");
    if (hint) hint.textContent = "This browser cannot encrypt on this page: it needs an https address.";
    return;
  }
  try {
    box.checked = localStorage.getItem(PREF_KEY) === "1";
  } catch {
    box.checked = false;
  }
  box.addEventListener("change", () => {
    try {
      localStorage.setItem(PREF_KEY, box.checked ? "1" : "0");
    } catch {
      // remembered for this page only
    }
  });
})();

// ---------------------------------------------------------------------------------------
// One upload

/** tus-js-client's source (FileReader.openFile's answer) over an EncryptedSource: `slice`
 *  answers a Blob (tus reads its `size`), `done` once the end is reached. */
class TusSource {
  constructor(source) {
    this.source = source;
    this.size = source.size;
  }

  async slice(start, end) {
    const bytes = await this.source.slice(start, end);
    return { value: new Blob([bytes]), done: Math.min(end, this.size) >= this.size };
  }

  close() {}
}

/**
 * The encryption of one upload row. `on`: encrypted (the checkbox at the time the file was
 * added, or an unfinished encrypted upload of the same file found when it starts). `badge`:
 * the row's lock marker, shown once it is on.
 */
class E2eeUpload {
  constructor(file, on) {
    this.file = file;
    this.on = on;
    this.fingerprint = null;
    this.rec = null;
    this.badge = badge(!on);
  }

  save() {
    if (this.rec && this.fingerprint) writeJson(UPLOAD_PREFIX + this.fingerprint, this.rec);
  }

  /**
   * Makes `options` (tus.Upload's, before it is made) those of an encrypted upload, when it
   * is to be one: resumes the unfinished encrypted upload of this file (its secret and salt
   * kept) if tus still knows it, even with the checkbox unticked (never the other way: a
   * plain unfinished upload is not resumed once encryption is asked for); else a new secret
   * and salt. Answers whether it is encrypted; throws if encryption is wanted and cannot be.
   */
  async apply(options) {
    if (!this.on && !supported()) return false;
    const storage = tus.defaultOptions.urlStorage;
    const fingerprint = FINGERPRINT_PREFIX + (await tus.defaultOptions.fingerprint(this.file, options));
    const entries = await storage.findUploadsByFingerprint(fingerprint).catch(() => []);
    const live = (r) => Boolean(r && r.url && entries.some((e) => e && e.uploadUrl === r.url));
    let rec = uploadRecord(fingerprint);
    if (!live(rec)) {
      if (this.rec && this.fingerprint === fingerprint) {
        rec = this.rec; // this row's own upload, not yet stored or gone: the same bytes again
      } else if (!this.on) {
        return false;
      } else {
        if (!supported()) throw new Error("This browser cannot encrypt on this page: it needs an https address.");
        const secret = newSecret();
        const file = this.file;
        const meta = { name: file.name || "file", type: file.type || "", size: file.size };
        rec = {
          k: b64url(secret),
          salt: b64url(newSalt()),
          rs: RECORD_SIZE,
          meta: await encryptMeta(secret, meta),
          ...meta,
          url: null,
          created: Date.now(),
        };
      }
    }
    this.on = true;
    this.badge.hidden = false;
    this.fingerprint = fingerprint;
    this.rec = rec;
    this.save();
    const secret = fromB64url(rec.k);
    const salt = fromB64url(rec.salt);
    const self = this;
    Object.assign(options, {
      metadata: { filename: STORED_NAME, filetype: STORED_TYPE, e2ee: rec.meta },
      fingerprint: () => Promise.resolve(fingerprint),
      fileReader: { openFile: (input) => Promise.resolve(new TusSource(new EncryptedSource(input, secret, salt, rec.rs))) },
      // tus's own storage, but only this record's upload is resumed (it was encrypted with
      // this secret), its URL is noted in the record, and the entry tus keeps says the
      // real name (for the page's list of unfinished uploads; the service never sees it)
      urlStorage: {
        findAllUploads: () => storage.findAllUploads(),
        async findUploadsByFingerprint(fp) {
          const found = await storage.findUploadsByFingerprint(fp);
          return found.filter((e) => e && self.rec && e.uploadUrl && e.uploadUrl === self.rec.url);
        },
        removeUpload: (key) => storage.removeUpload(key),
        addUpload(fp, upload) {
          if (self.rec) {
            self.rec.url = upload.uploadUrl || null;
            self.save();
          }
          const metadata = { ...upload.metadata, filename: rec.name };
          delete metadata.e2ee;
          return storage.addUpload(fp, { ...upload, metadata, e2ee: true });
        },
      },
    });
    return true;
  }

  /** The upload is done and is file `fileId`: its secret is kept for its links. */
  done(fileId) {
    if (!this.on || !this.rec || !fileId) return;
    const { k, name, type, size } = this.rec;
    writeJson(FILE_PREFIX + fileId, { k, name, type, size, created: Date.now() });
    const stored = uploadRecord(this.fingerprint);
    if (stored && stored.k === k) remove(UPLOAD_PREFIX + this.fingerprint);
  }
}

/** The encryption of a file just added: on if the checkbox is ticked. */
export function forFile(file) {
  return new E2eeUpload(file, wanted());
}

// ---------------------------------------------------------------------------------------
// Links and the lists of files

/** A link's URL as this page shows and copies it: with `#k=…` when this browser has the
 *  secret of its file (`link.file_id`). */
export function shareUrl(link) {
  const url = link && link.url;
  if (!url || url.includes("#")) return url;
  const key = fileKey(link.file_id);
  return key ? url + secretToFragment(fromB64url(key.k)) : url;
}

/** A file of GET /v1/files as the page lists it: its real name, size and type when this
 *  browser has its secret (the service only knows "encrypted.bin"). */
export function withLocalName(f) {
  const key = f && fileKey(f.id);
  if (!key) return f;
  return {
    ...f,
    name: typeof key.name === "string" && key.name ? key.name : f.name,
    size: Number.isSafeInteger(key.size) ? key.size : f.size,
    content_type: typeof key.type === "string" && key.type ? key.type : f.content_type,
    e2ee_local: true,
  };
}

/** Is this listed file encrypted (the service says so with `e2ee`, or this browser has its
 *  secret)? */
export function isEncrypted(f) {
  return Boolean(f && (f.e2ee_local || f.e2ee));
}

/** The lock marker of a listed file, or null. */
export function fileBadge(f) {
  return isEncrypted(f) ? badge() : null;
}

/** What a listed encrypted file's links are: with the key, or without it. */
export function fileNote(f) {
  if (!isEncrypted(f)) return null;
  const p = document.createElement("p");
  p.className = "hint small e2ee-note";
  p.textContent = f.e2ee_local
    ? "End-to-end encrypted: its links below carry the key after #, which only this browser keeps. Anyone with the whole link can open the file."
    : "End-to-end encrypted: its key is only in the browser that uploaded it, so its links here lack the part after # that opens it.";
  return p;
}

/** The lock marker of an unfinished upload listed from tus's storage, or null. */
export function resumableBadge(entry) {
  return entry && entry.e2ee ? badge() : null;
}

/** Drops the records of unfinished uploads that tus no longer knows (done, cancelled, or
 *  gone from the service), given tus's entries. */
export function tidy(entries) {
  const urls = new Set((entries || []).map((e) => e && e.uploadUrl).filter(Boolean));
  const dead = [];
  try {
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(UPLOAD_PREFIX)) continue;
      const r = readJson(key);
      const stale = !r || (r.url ? !urls.has(r.url) : !(Date.now() - Number(r.created) < STALE_MS));
      if (stale) dead.push(key);
    }
  } catch {
    return;
  }
  for (const key of dead) remove(key);
}
