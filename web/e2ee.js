// End-to-end encryption of shared files (docs/e2ee.md is the specification): RFC 8188
// "aes128gcm" content coding (HKDF-SHA-256, AES-128-GCM, records of `rs` bytes), keyed by a
// random 16-byte secret that travels in the share link's fragment (`#k=…`, never sent to the
// service), and the file's real name, type and size encrypted apart ("m1." strings).
// WebCrypto only, no dependency: the upload page (web/e2ee-upload.js), the share page
// (web/share.js) and Node 22 (tests/browser/e2ee.test.mjs) use this same module.

/** The record size of every upload (bytes of ciphertext per record, the last one shorter). */
export const RECORD_SIZE = 65536;
/** salt (16) || rs (uint32 BE) || idlen (1, = 0): the header of an upload. */
export const HEADER_SIZE = 21;
export const SECRET_BYTES = 16;
export const SALT_BYTES = 16;
/** Per record: the delimiter byte and the 16-byte GCM tag. */
const OVERHEAD = 17;
/** The smallest record that can hold a byte of data (RFC 8188 §2.1: rs > 17). */
const MIN_RS = 18;
/** A reader's bound on a record (and so on what it buffers); uploads use RECORD_SIZE. */
export const MAX_RECORD_SIZE = 16 * 1024 * 1024;
/** The "m1." metadata string stays under 1000 characters: its JSON under this many bytes. */
const MAX_META_JSON = 700;
const META_PREFIX = "m1.";
const INFO_CEK = "Content-Encoding: aes128gcm\0";
const INFO_NONCE = "Content-Encoding: nonce\0";
const INFO_META = "Content-Encoding: edgeshare-meta\0";

const ALTERED = "The file was altered or is incomplete";

/** Every failure of this module: `code` is "altered" (a record does not verify, or the
 *  stream is cut short or runs on), "key" (the secret does not open the metadata), "format"
 *  (not something this module wrote) or "unsupported" (no WebCrypto here). */
export class E2eeError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "E2eeError";
    this.code = code;
  }
}

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) {
    throw new E2eeError("This browser cannot encrypt or decrypt here: WebCrypto needs a secure (https) page.", "unsupported");
  }
  return s;
}

const utf8 = (s) => new TextEncoder().encode(s);

export function randomBytes(n) {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  return b;
}

/** A new secret: the input keying material of one file (16 random bytes). */
export const newSecret = () => randomBytes(SECRET_BYTES);
/** A new salt for the header of one upload (16 random bytes). */
export const newSalt = () => randomBytes(SALT_BYTES);

// ---------------------------------------------------------------------------------------
// base64url without padding (RFC 4648 §5)

export function b64url(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of a base64url string (padding optional), or null if it is not one. */
export function fromB64url(s) {
  if (typeof s !== "string") return null;
  const t = s.replace(/=+$/, "");
  if (!/^[A-Za-z0-9_-]*$/.test(t) || t.length % 4 === 1) return null;
  let bin;
  try {
    bin = atob(t.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((t.length + 3) % 4));
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
  return out;
}

function asBytes(x, what, length) {
  const b = typeof x === "string" ? fromB64url(x) : x instanceof Uint8Array ? x : x instanceof ArrayBuffer ? new Uint8Array(x) : null;
  if (!b || (length !== undefined && b.length !== length)) {
    throw new E2eeError(`${what} must be ${length} bytes (a Uint8Array or base64url).`, "format");
  }
  return b;
}

// ---------------------------------------------------------------------------------------
// Sizes: the ciphertext's is a pure function of the plaintext's and rs.

function checkRs(rs) {
  if (!Number.isInteger(rs) || rs < MIN_RS || rs > 0xffffffff) throw new RangeError(`invalid record size ${rs}`);
}

/** Bytes of ciphertext (header included) for `n` bytes of plaintext: floor(n/(rs-17))+1
 *  records of 17 bytes of overhead each, and the 21-byte header. */
export function encryptedSize(n, rs = RECORD_SIZE) {
  checkRs(rs);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`invalid size ${n}`);
  return HEADER_SIZE + n + (Math.floor(n / (rs - OVERHEAD)) + 1) * OVERHEAD;
}

/** Bytes of plaintext in `cipherLen` bytes of ciphertext (header of 21 bytes, no keyid, no
 *  padding); a RangeError for a length no encryption can have. */
export function plainSize(cipherLen, rs = RECORD_SIZE) {
  checkRs(rs);
  const body = cipherLen - HEADER_SIZE;
  if (!Number.isSafeInteger(cipherLen) || body < OVERHEAD) throw new RangeError(`no ciphertext is ${cipherLen} bytes long`);
  const records = Math.ceil(body / rs);
  if (body - (records - 1) * rs < OVERHEAD) throw new RangeError(`no ciphertext is ${cipherLen} bytes long`);
  return body - records * OVERHEAD;
}

// ---------------------------------------------------------------------------------------
// Keys

async function hkdf(secret, salt, info, bytes) {
  const ikm = await subtle().importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const bits = await subtle().deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: utf8(info) }, ikm, bytes * 8);
  return new Uint8Array(bits);
}

/** CEK (16 bytes) and NONCE (12 bytes) of RFC 8188 §2.2–2.3, as bytes: for tests and for
 *  other implementations to compare with. */
export async function deriveRawKeys(secret, salt) {
  secret = asBytes(secret, "The secret", SECRET_BYTES);
  salt = asBytes(salt, "The salt", SALT_BYTES);
  const [cek, nonce] = await Promise.all([hkdf(secret, salt, INFO_CEK, 16), hkdf(secret, salt, INFO_NONCE, 12)]);
  return { cek, nonce };
}

async function deriveKeys(secret, salt) {
  const { cek, nonce } = await deriveRawKeys(secret, salt);
  const key = await subtle().importKey("raw", cek, "AES-GCM", false, ["encrypt", "decrypt"]);
  cek.fill(0);
  return { key, nonce };
}

/** NONCE XOR i, i as a 96-bit big-endian integer. */
function recordNonce(base, i) {
  const n = base.slice();
  let x = i;
  for (let b = 11; b >= 0 && x > 0; b -= 1) {
    n[b] ^= x % 256;
    x = Math.floor(x / 256);
  }
  return n;
}

function header(salt, rs) {
  const h = new Uint8Array(HEADER_SIZE);
  h.set(salt, 0);
  new DataView(h.buffer).setUint32(16, rs, false);
  h[20] = 0;
  return h;
}

async function encryptRecord(keys, i, data, last) {
  const p = new Uint8Array(data.length + 1);
  p.set(data, 0);
  p[data.length] = last ? 2 : 1;
  const c = await subtle().encrypt({ name: "AES-GCM", iv: recordNonce(keys.nonce, i), tagLength: 128 }, keys.key, p);
  return new Uint8Array(c);
}

/** A record's plaintext data and whether it says it is the last; E2eeError "altered" when
 *  its tag does not verify or its padding is not RFC 8188's. */
async function decryptRecord(keys, i, record) {
  let p;
  try {
    p = new Uint8Array(await subtle().decrypt({ name: "AES-GCM", iv: recordNonce(keys.nonce, i), tagLength: 128 }, keys.key, record));
  } catch (e) {
    if (e instanceof E2eeError) throw e;
    throw new E2eeError(`${ALTERED} (record ${i} does not verify).`, "altered");
  }
  let end = p.length - 1;
  while (end >= 0 && p[end] === 0) end -= 1; // RFC 8188 padding: zeros after the delimiter
  if (end < 0 || (p[end] !== 1 && p[end] !== 2)) throw new E2eeError(`${ALTERED} (record ${i} has no delimiter).`, "altered");
  return { data: p.subarray(0, end), last: p[end] === 2 };
}

// ---------------------------------------------------------------------------------------
// Encryption: a random-access view of a Blob's ciphertext

/**
 * The ciphertext of `blob` (a File or Blob) under `secret` and `salt`, readable at any
 * offset: `slice(start, end)` reads only the plaintext records that overlap [start, end),
 * encrypts them and returns exactly those ciphertext bytes (the header is bytes 0..20).
 * Deterministic: the same secret, salt and file give the same bytes, which is what lets an
 * upload resume from any offset. Memory: the slice asked for, plus one record kept.
 */
export class EncryptedSource {
  constructor(blob, secret, salt, rs = RECORD_SIZE) {
    checkRs(rs);
    this.blob = blob;
    this.secret = asBytes(secret, "The secret", SECRET_BYTES);
    this.salt = asBytes(salt, "The salt", SALT_BYTES);
    this.rs = rs;
    this.plainSize = blob.size;
    this.data = rs - OVERHEAD; // plaintext bytes per full record
    this.records = Math.floor(blob.size / this.data) + 1;
    this.size = encryptedSize(blob.size, rs);
    this.header = header(this.salt, rs);
    this._keys = null;
    this._last = null; // {i, bytes}: the last record encrypted
  }

  keys() {
    if (!this._keys) this._keys = deriveKeys(this.secret, this.salt);
    return this._keys;
  }

  /** The ciphertext of record i (0-based). */
  async record(i) {
    if (this._last && this._last.i === i) return this._last.bytes;
    const keys = await this.keys();
    const from = i * this.data;
    const to = Math.min(from + this.data, this.plainSize);
    const data = to > from ? new Uint8Array(await this.blob.slice(from, to).arrayBuffer()) : new Uint8Array(0);
    if (data.length !== to - from) throw new E2eeError("The file could not be read (it changed or went away).", "format");
    const bytes = await encryptRecord(keys, i, data, i === this.records - 1);
    this._last = { i, bytes };
    return bytes;
  }

  /** Ciphertext bytes [start, end) (end defaults to the size; both clamped to it). */
  async slice(start = 0, end = this.size) {
    start = Math.max(0, Math.min(Number(start) || 0, this.size));
    end = Math.max(start, Math.min(end === undefined || end === null ? this.size : Number(end), this.size));
    const out = new Uint8Array(end - start);
    if (start < HEADER_SIZE) out.set(this.header.subarray(start, Math.min(end, HEADER_SIZE)), 0);
    const bodyStart = Math.max(start, HEADER_SIZE) - HEADER_SIZE;
    const bodyEnd = end - HEADER_SIZE;
    for (let i = Math.floor(bodyStart / this.rs); i * this.rs < bodyEnd; i += 1) {
      const rec = await this.record(i);
      const recStart = i * this.rs;
      const from = Math.max(bodyStart, recStart);
      const to = Math.min(bodyEnd, recStart + rec.length);
      out.set(rec.subarray(from - recStart, to - recStart), from + HEADER_SIZE - start);
    }
    return out;
  }
}

/** The whole ciphertext of `data` (bytes or a Blob) at once: for small things and tests. */
export async function encrypt(data, secret, salt, rs = RECORD_SIZE) {
  const blob = data instanceof Blob ? data : new Blob([data]);
  const src = new EncryptedSource(blob, secret, salt, rs);
  return src.slice(0, src.size);
}

// ---------------------------------------------------------------------------------------
// Decryption as a stream

/** Bytes queued in arrival order, taken off the front without copying the rest. */
class ByteQueue {
  constructor() {
    this.chunks = [];
    this.head = 0; // chunks before it are used up
    this.length = 0;
  }

  push(chunk) {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
  }

  /** The first n bytes (n <= length), removed. */
  take(n) {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[this.head];
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.chunks[this.head++] = null;
      else this.chunks[this.head] = c.subarray(k);
    }
    if (this.head > 1024 || this.head === this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    this.length -= n;
    return out;
  }

  peek(i) {
    for (let j = this.head; j < this.chunks.length; j += 1) {
      const c = this.chunks[j];
      if (i < c.length) return c[i];
      i -= c.length;
    }
    return undefined;
  }
}

/**
 * A TransformStream from ciphertext (Uint8Array chunks, header first) to plaintext. Every
 * record's tag is verified before its data goes out; the stream errors with an E2eeError
 * (code "altered") on a record that does not verify, a last record (0x02) followed by more
 * bytes, or an end without a last record (truncation) — so whoever reads it must not keep
 * what came out before the error. Buffers at most one record beyond the chunk being read.
 */
export function decryptStream(secret) {
  secret = asBytes(secret, "The secret", SECRET_BYTES);
  const q = new ByteQueue();
  let rs = 0;
  let keys = null;
  let index = 0;
  let ended = false;

  async function drain(controller) {
    if (!keys) {
      if (q.length < HEADER_SIZE) return;
      const idlen = q.peek(20);
      if (q.length < HEADER_SIZE + idlen) return;
      const h = q.take(HEADER_SIZE + idlen); // a keyid is skipped: the secret is the key
      rs = new DataView(h.buffer).getUint32(16, false);
      if (rs < MIN_RS || rs > MAX_RECORD_SIZE) {
        throw new E2eeError(`This is not an encrypted file this page can open (record size ${rs}).`, "format");
      }
      keys = await deriveKeys(secret, h.subarray(0, 16));
    }
    while (q.length >= rs) {
      if (ended) break;
      const { data, last } = await decryptRecord(keys, index, q.take(rs));
      index += 1;
      if (data.length) controller.enqueue(data);
      if (last) ended = true;
    }
    if (ended && q.length > 0) throw new E2eeError(`${ALTERED} (bytes after its last record).`, "altered");
  }

  return new TransformStream({
    async transform(chunk, controller) {
      const bytes = ArrayBuffer.isView(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : new Uint8Array(chunk);
      q.push(bytes);
      await drain(controller);
    },
    async flush(controller) {
      await drain(controller);
      if (!keys) throw new E2eeError(`${ALTERED} (it ends inside its header).`, "altered");
      if (ended) return;
      if (q.length === 0) throw new E2eeError(`${ALTERED} (it ends without its last record).`, "altered");
      if (q.length < OVERHEAD) throw new E2eeError(`${ALTERED} (it ends inside record ${index}).`, "altered");
      const { data, last } = await decryptRecord(keys, index, q.take(q.length));
      if (!last) throw new E2eeError(`${ALTERED} (it ends without its last record).`, "altered");
      if (data.length) controller.enqueue(data);
    },
  });
}

/** The whole plaintext of `cipher` (bytes) at once: for small things and tests. */
export async function decrypt(cipher, secret) {
  const parts = [];
  const readable = new Blob([cipher]).stream().pipeThrough(decryptStream(secret));
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return new Uint8Array(await new Blob(parts).arrayBuffer());
}

// ---------------------------------------------------------------------------------------
// Metadata: the real name, type and size, encrypted under a key of their own

const utf8Length = (s) => utf8(s).length;

/** `name` shortened by code points, its extension kept, so that the JSON fits. */
function metaJson(name, type, size) {
  name = String(name ?? "");
  type = String(type ?? "");
  if (type.length > 200 || !/^[\x21-\x7e]+\/[\x20-\x7e]+$/.test(type)) type = type ? "application/octet-stream" : "";
  let json = JSON.stringify({ name, type, size });
  if (utf8Length(json) <= MAX_META_JSON) return json;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  let stem = Array.from(ext ? name.slice(0, dot) : name);
  for (;;) {
    const over = utf8Length(json) - MAX_META_JSON;
    if (over <= 0) return json;
    // a code point is at most 12 bytes of JSON (an escaped surrogate pair): always progress
    stem = stem.slice(0, Math.max(0, stem.length - Math.max(1, Math.ceil(over / 12))));
    json = JSON.stringify({ name: `${stem.join("")}…${ext}`, type, size });
  }
}

async function metaKey(secret, salt) {
  const raw = await hkdf(secret, salt, INFO_META, 16);
  const key = await subtle().importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  raw.fill(0);
  return key;
}

/** `{name, type, size}` encrypted under `secret`: "m1." + base64url(salt(16) || iv(12) ||
 *  AES-128-GCM(UTF-8 JSON)), under 1000 ASCII characters (an absurdly long name is cut). */
export async function encryptMeta(secret, { name, type, size }) {
  secret = asBytes(secret, "The secret", SECRET_BYTES);
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid size ${size}`);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await metaKey(secret, salt);
  const ct = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv, tagLength: 128 }, key, utf8(metaJson(name, type, size))));
  const all = new Uint8Array(28 + ct.length);
  all.set(salt, 0);
  all.set(iv, 16);
  all.set(ct, 28);
  return META_PREFIX + b64url(all);
}

/** The `{name, type, size}` of an "m1." string; E2eeError "key" when `secret` does not open
 *  it (or it was altered), "format" when it is not such a string. */
export async function decryptMeta(secret, string) {
  secret = asBytes(secret, "The secret", SECRET_BYTES);
  if (typeof string !== "string" || !string.startsWith(META_PREFIX)) {
    throw new E2eeError("The file's description is not in a format this page knows.", "format");
  }
  const all = fromB64url(string.slice(META_PREFIX.length));
  if (!all || all.length < 28 + 16) throw new E2eeError("The file's description is damaged.", "format");
  const key = await metaKey(secret, all.subarray(0, 16));
  let plain;
  try {
    plain = await subtle().decrypt({ name: "AES-GCM", iv: all.subarray(16, 28), tagLength: 128 }, key, all.subarray(28));
  } catch {
    throw new E2eeError("This link's key does not open this file (or its description was altered).", "key");
  }
  let m;
  try {
    m = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
  } catch {
    m = null;
  }
  if (!m || typeof m.name !== "string" || typeof m.type !== "string" || !Number.isSafeInteger(m.size) || m.size < 0) {
    throw new E2eeError("The file's description is not in a format this page knows.", "format");
  }
  return { name: m.name, type: m.type, size: m.size };
}

// ---------------------------------------------------------------------------------------
// The link's fragment: #k=<base64url(secret)>

export function secretToFragment(secret) {
  return `#k=${b64url(asBytes(secret, "The secret", SECRET_BYTES))}`;
}

/** The secret in a location.hash (`#k=…`, possibly among other `&`-separated parameters), or
 *  null when it is missing or not exactly 16 bytes in canonical base64url. */
export function secretFromFragment(hash) {
  if (typeof hash !== "string") return null;
  const h = hash.startsWith("#") ? hash.slice(1) : hash;
  for (const part of h.split("&")) {
    if (!part.startsWith("k=")) continue;
    const v = part.slice(2);
    if (!/^[A-Za-z0-9_-]{22}$/.test(v)) return null;
    const b = fromB64url(v);
    return b && b.length === SECRET_BYTES && b64url(b) === v ? b : null;
  }
  return null;
}
