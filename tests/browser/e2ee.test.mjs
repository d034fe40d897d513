// Unit tests of web/e2ee.js (the end-to-end encryption format, docs/e2ee.md) in Node 22:
//   node tests/browser/e2ee.test.mjs
// RFC 8188's own examples (§3.1 both ways, §3.2 decrypted: a keyid and padding), an
// independent encoder on node:crypto compared byte for byte, round trips at the record
// boundaries with random slices of EncryptedSource and random chunking of decryptStream,
// determinism, and every refusal: a flipped byte, truncation (a record dropped, a cut inside
// one, inside the header), bytes after the last record, a last record too early, records
// swapped, a wrong secret; the metadata string (round trip, wrong key, altered, long names)
// and the fragment. Prints one JSON line {ok, passed, failed, failures}; exits 1 on a failure.
import assert from "node:assert/strict";
import nodeCrypto from "node:crypto";
import {
  E2eeError,
  EncryptedSource,
  HEADER_SIZE,
  RECORD_SIZE,
  b64url,
  decrypt,
  decryptMeta,
  decryptStream,
  deriveRawKeys,
  encrypt,
  encryptMeta,
  encryptedSize,
  fromB64url,
  newSalt,
  newSecret,
  plainSize,
  secretFromFragment,
  secretToFragment,
} from "../../web/e2ee.js";

const results = { passed: 0, failed: 0, failures: [] };

async function test(name, fn) {
  try {
    await fn();
    results.passed += 1;
  } catch (e) {
    results.failed += 1;
    results.failures.push(`${name}: ${e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e}`);
  }
}

const u8 = (s) => new TextEncoder().encode(s);
const rand = (n) => new Uint8Array(nodeCrypto.randomBytes(n));
const randInt = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1)); // [lo, hi]

/** An independent aes128gcm encoder on node:crypto (RFC 8188 read again, not web/e2ee.js),
 *  with a `delimiters` override to make streams the real encoder never would. */
function referenceEncrypt(plain, secret, salt, rs, { delimiters } = {}) {
  const cek = Buffer.from(nodeCrypto.hkdfSync("sha256", secret, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(nodeCrypto.hkdfSync("sha256", secret, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const per = rs - 17;
  const n = Math.floor(plain.length / per) + 1;
  const head = Buffer.alloc(21);
  Buffer.from(salt).copy(head, 0);
  head.writeUInt32BE(rs, 16);
  const out = [head];
  for (let i = 0; i < n; i += 1) {
    const iv = Buffer.from(nonce);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ i) >>> 0, 8); // i < 2^32 here
    const c = nodeCrypto.createCipheriv("aes-128-gcm", cek, iv);
    const d = delimiters ? delimiters(i, n) : i === n - 1 ? 2 : 1;
    out.push(c.update(plain.subarray(i * per, (i + 1) * per)), c.update(Buffer.from([d])), c.final(), c.getAuthTag());
  }
  return new Uint8Array(Buffer.concat(out));
}

/** Feeds `cipher` to decryptStream in random chunks; resolves to the plaintext. */
async function streamDecrypt(cipher, secret, maxChunk = 100_000) {
  const chunks = [];
  for (let at = 0; at < cipher.length; ) {
    const k = Math.min(cipher.length - at, randInt(1, maxChunk));
    chunks.push(cipher.slice(at, at + k));
    at += k;
  }
  const readable = new ReadableStream({
    pull(c) {
      if (chunks.length) c.enqueue(chunks.shift());
      else c.close();
    },
  });
  const parts = [];
  await readable.pipeThrough(decryptStream(secret)).pipeTo(new WritableStream({ write: (p) => parts.push(p) }));
  return new Uint8Array(Buffer.concat(parts));
}

async function refusedAsAltered(promise, what) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof E2eeError, `${what}: ${e}`);
    assert.equal(e.code, "altered", `${what}: ${e.code} ${e.message}`);
    assert.match(e.message, /altered or is incomplete/);
    return true;
  }, what);
}

// ---------------------------------------------------------------------------------------

await test("RFC 8188 §3.1: keys, decryption and encryption", async () => {
  const salt = fromB64url("I1BsxtFttlv3u_Oo94xnmw");
  const ikm = fromB64url("yqdlZ-tYemfogSmv7Ws5PQ");
  const cipher = fromB64url("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg");
  assert.equal(cipher.length, 53);
  const prk = nodeCrypto.createHmac("sha256", salt).update(ikm).digest();
  assert.equal(b64url(new Uint8Array(prk)), "zyeH5phsIsgUyd4oiSEIy35x-gIi4aM7y0hCF8mwn9g");
  const { cek, nonce } = await deriveRawKeys(ikm, salt);
  assert.equal(b64url(cek), "_wniytB-ofscZDh4tbSjHw");
  assert.equal(b64url(nonce), "Bcs8gkIRKLI8GeI8");
  assert.equal(new TextDecoder().decode(await decrypt(cipher, ikm)), "I am the walrus");
  assert.equal(new TextDecoder().decode(await streamDecrypt(cipher, ikm, 3)), "I am the walrus");
  const mine = await encrypt(u8("I am the walrus"), ikm, salt, 4096);
  assert.deepEqual(mine, cipher);
  assert.equal(encryptedSize(15, 4096), 53);
  assert.equal(plainSize(53, 4096), 15);
});

await test("RFC 8188 §3.2: two records, a keyid and padding decrypt", async () => {
  const ikm = fromB64url("BO3ZVPxUlnLORbVGMpbT1Q");
  const cipher = fromB64url(
    "uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA",
  );
  assert.equal(new TextDecoder().decode(await decrypt(cipher, ikm)), "I am the walrus");
  assert.equal(new TextDecoder().decode(await streamDecrypt(cipher, ikm, 5)), "I am the walrus");
});

await test("docs/e2ee.md's examples", async () => {
  const secret = Uint8Array.from({ length: 16 }, (_, i) => i);
  const salt = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
  assert.equal(secretToFragment(secret), "#k=AAECAwQFBgcICQoLDA0ODw");
  const { cek, nonce } = await deriveRawKeys(secret, salt);
  assert.equal(Buffer.from(cek).toString("hex"), "18cc1dbdfa0bcca42a4d4762346896ba");
  assert.equal(Buffer.from(nonce).toString("hex"), "78a8c6d54b387acb5de51277");
  const hello = "101112131415161718191a1b1c1d1e1f0001000000bd6d43ec4440853170235389f62172f80272ddfda856";
  assert.equal(Buffer.from(await encrypt(u8("hello"), secret, salt)).toString("hex"), hello);
  assert.equal(Buffer.from(referenceEncrypt(u8("hello"), secret, salt, 65536)).toString("hex"), hello);
  const two =
    "EBESExQVFhcYGRobHB0eHwAAAEAArXBX-FM6arB76UHcv952Gy54Q13uJhv58arCf8VE8go2rkMOgpX0cs6_ZClZ5rBJRPEQYmDoA-hMbWSpf1lyS5nAVC0efWiFfV1ijHEAmHaYWFLBMbz7DAuBt08i5g";
  assert.equal(b64url(await encrypt(u8("x".repeat(60)), secret, salt, 64)), two);
  assert.equal(new TextDecoder().decode(await decrypt(fromB64url(two), secret)), "x".repeat(60));
  const meta =
    "m1.EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKwYO8kjkvcqB2qWdlUfSsw-kS5LM-5QAMLUIiqRaOUe0P8SXFGnN9yq8hFcpk_ZrX3ylpIBTOYmgIUd0hM3lK7U2";
  assert.deepEqual(await decryptMeta(secret, meta), { name: "hello.txt", type: "text/plain", size: 5 });
  const metaKey = nodeCrypto.hkdfSync("sha256", secret, fromB64url(meta.slice(3)).subarray(0, 16), Buffer.from("Content-Encoding: edgeshare-meta\0"), 16);
  assert.equal(Buffer.from(metaKey).toString("hex"), "43149ca344cdfc15bb771f8e0d6922a8");
});

await test("sizes: encryptedSize and plainSize", () => {
  const rs = RECORD_SIZE;
  assert.equal(encryptedSize(0), HEADER_SIZE + 17);
  assert.equal(encryptedSize(rs - 17), HEADER_SIZE + rs + 17, "a full record, then an empty last one");
  assert.equal(encryptedSize(rs - 18), HEADER_SIZE + rs - 1);
  for (const n of [0, 1, 2, 17, rs - 18, rs - 17, rs - 16, 3 * (rs - 17), 1048581, 2 ** 40 + 3]) {
    assert.equal(plainSize(encryptedSize(n)), n, `n=${n}`);
    assert.equal(plainSize(encryptedSize(n, 64), 64), n, `n=${n} rs=64`);
  }
  assert.throws(() => plainSize(HEADER_SIZE + 16), RangeError);
  assert.throws(() => plainSize(HEADER_SIZE + rs + 5), RangeError, "a last record shorter than a tag");
  assert.throws(() => encryptedSize(-1), RangeError);
  assert.throws(() => encryptedSize(1, 17), RangeError);
});

const rs = RECORD_SIZE;
const SIZES = [0, 1, rs - 18, rs - 17, rs - 16, 3 * (rs - 17), 1024 * 1024 + 5];
for (const n of SIZES) {
  await test(`round trip of ${n} bytes, random slices, random chunks`, async () => {
    const plain = rand(n);
    const secret = newSecret();
    const salt = newSalt();
    const src = new EncryptedSource(new Blob([plain]), secret, salt);
    assert.equal(src.size, encryptedSize(n));
    const whole = await src.slice(0, src.size);
    assert.equal(whole.length, src.size);
    assert.deepEqual(whole, referenceEncrypt(plain, secret, salt, rs), "the independent encoder agrees");
    // every record but the last is exactly rs bytes: the last is what is left
    assert.ok(src.size - HEADER_SIZE - (src.records - 1) * rs < rs);
    // random slices of a fresh view equal the whole encryption
    const fresh = new EncryptedSource(new Blob([plain]), secret, salt);
    for (let t = 0; t < 25; t += 1) {
      const a = randInt(0, src.size);
      const b = randInt(a, Math.min(src.size, a + randInt(0, 3 * rs)));
      assert.deepEqual(await fresh.slice(a, b), whole.subarray(a, b), `slice ${a}..${b}`);
    }
    // tus-like sequential chunks of an odd size, past the end clamped
    const parts = [];
    for (let at = 0; at < src.size; at += 1_000_003) parts.push(await fresh.slice(at, at + 1_000_003));
    assert.deepEqual(new Uint8Array(Buffer.concat(parts)), whole);
    assert.equal((await fresh.slice(src.size, src.size + 10)).length, 0);
    assert.deepEqual(await streamDecrypt(whole, secret), plain);
    if (n < 200_000) assert.deepEqual(await streamDecrypt(whole, secret, 7), plain, "chunks of 1 to 7 bytes");
  });
}

await test("small records (rs 18 and 40): many records, boundaries", async () => {
  for (const r of [18, 40]) {
    for (const n of [0, 1, r - 17, r - 16, 5 * (r - 17), 1000]) {
      const plain = rand(n);
      const secret = newSecret();
      const salt = newSalt();
      const c = await encrypt(plain, secret, salt, r);
      assert.equal(c.length, encryptedSize(n, r));
      assert.deepEqual(c, referenceEncrypt(plain, secret, salt, r));
      assert.deepEqual(await streamDecrypt(c, secret, 9), plain, `rs=${r} n=${n}`);
    }
  }
});

await test("determinism: same secret, salt and file give the same bytes", async () => {
  const plain = rand(3 * rs + 11);
  const secret = newSecret();
  const salt = newSalt();
  const a = await encrypt(plain, secret, salt);
  const b = await encrypt(new Blob([plain]), b64url(secret), b64url(salt));
  assert.deepEqual(a, b);
  const other = await encrypt(plain, secret, newSalt());
  assert.notDeepEqual(a.subarray(HEADER_SIZE, HEADER_SIZE + 64), other.subarray(HEADER_SIZE, HEADER_SIZE + 64), "a new salt, new bytes");
});

await test("a flipped byte anywhere is refused", async () => {
  const plain = rand(2 * rs + 100);
  const secret = newSecret();
  const c = await encrypt(plain, secret, newSalt());
  // salt, in the first record, the first record's tag, the last record, the last byte
  for (const at of [3, HEADER_SIZE + 10, HEADER_SIZE + rs - 1, HEADER_SIZE + 2 * rs + 5, c.length - 1]) {
    const bad = c.slice();
    bad[at] ^= 0x01;
    await refusedAsAltered(streamDecrypt(bad, secret), `byte ${at}`);
  }
  // the record size in the header: another framing, records that do not verify
  const bad = c.slice();
  bad[18] ^= 0x01;
  await assert.rejects(streamDecrypt(bad, secret), E2eeError);
  const huge = c.slice();
  huge[16] = 0x7f;
  await assert.rejects(streamDecrypt(huge, secret), (e) => e.code === "format", "a record size past the bound");
});

await test("truncation is refused: a record dropped, a cut inside one, inside the header", async () => {
  const plain = rand(3 * (rs - 17) + 500); // 4 records, the last 517 bytes
  const secret = newSecret();
  const c = await encrypt(plain, secret, newSalt());
  assert.equal(c.length, HEADER_SIZE + 3 * rs + 517);
  await refusedAsAltered(streamDecrypt(c.subarray(0, HEADER_SIZE + 3 * rs), secret), "the last record dropped");
  await refusedAsAltered(streamDecrypt(c.subarray(0, HEADER_SIZE + rs), secret), "three records dropped");
  await refusedAsAltered(streamDecrypt(c.subarray(0, c.length - 1), secret), "the last byte cut");
  await refusedAsAltered(streamDecrypt(c.subarray(0, HEADER_SIZE + rs + 1000), secret), "a cut inside a record");
  await refusedAsAltered(streamDecrypt(c.subarray(0, HEADER_SIZE + 5), secret), "a cut inside the first record's tag");
  await refusedAsAltered(streamDecrypt(c.subarray(0, 10), secret), "a cut inside the header");
  await refusedAsAltered(streamDecrypt(new Uint8Array(0), secret), "nothing at all");
  await refusedAsAltered(streamDecrypt(c.subarray(0, HEADER_SIZE), secret), "the header alone");
  // an empty file: its single record dropped
  const empty = await encrypt(new Uint8Array(0), secret, newSalt());
  await refusedAsAltered(streamDecrypt(empty.subarray(0, HEADER_SIZE), secret), "an empty file's record dropped");
});

await test("bytes after the last record, a last record too early, records swapped: refused", async () => {
  const secret = newSecret();
  const salt = newSalt();
  const plain = rand(2 * (rs - 17) + 10);
  const c = await encrypt(plain, secret, salt);
  const extra = new Uint8Array(c.length + 1);
  extra.set(c);
  await refusedAsAltered(streamDecrypt(extra, secret), "a byte after the last record");
  const twice = new Uint8Array(Buffer.concat([c, c.subarray(HEADER_SIZE)]));
  await refusedAsAltered(streamDecrypt(twice, secret), "its records again after the last one");
  // a full-size record marked last (0x02) with records after it
  const early = referenceEncrypt(plain, secret, salt, rs, { delimiters: (i) => (i === 0 ? 2 : i === 2 ? 2 : 1) });
  await refusedAsAltered(streamDecrypt(early, secret), "0x02 before the end");
  // a full-size record marked last and nothing after it: a valid end (RFC 8188 allows it)
  const exact = rand(rs - 17);
  const fullLast = referenceEncrypt(exact, secret, salt, rs, { delimiters: () => 2 }).subarray(0, HEADER_SIZE + rs);
  assert.deepEqual(await streamDecrypt(fullLast, secret), exact);
  // no record ends it: every one says 0x01
  const noEnd = referenceEncrypt(plain, secret, salt, rs, { delimiters: () => 1 });
  await refusedAsAltered(streamDecrypt(noEnd, secret), "no 0x02 record");
  // the first two records swapped (each verifies only at its own index)
  const swapped = c.slice();
  swapped.set(c.subarray(HEADER_SIZE + rs, HEADER_SIZE + 2 * rs), HEADER_SIZE);
  swapped.set(c.subarray(HEADER_SIZE, HEADER_SIZE + rs), HEADER_SIZE + rs);
  await refusedAsAltered(streamDecrypt(swapped, secret), "records swapped");
});

await test("a wrong secret is refused", async () => {
  const c = await encrypt(rand(1000), newSecret(), newSalt());
  await refusedAsAltered(streamDecrypt(c, newSecret()), "another secret");
  assert.throws(() => decryptStream(new Uint8Array(15)), E2eeError, "a secret of 15 bytes");
});

await test("metadata: round trip, wrong key, altered, long and odd names", async () => {
  const secret = newSecret();
  const meta = { name: "Résumé — final (2).pdf", type: "application/pdf", size: 123456789 };
  const s = await encryptMeta(secret, meta);
  assert.match(s, /^m1\.[A-Za-z0-9_-]+$/);
  assert.ok(s.length < 1000);
  assert.deepEqual(await decryptMeta(secret, s), meta);
  assert.notEqual(await encryptMeta(secret, meta), s, "a fresh salt and IV each time");
  await assert.rejects(decryptMeta(newSecret(), s), (e) => e instanceof E2eeError && e.code === "key" && /does not open/.test(e.message));
  const i = 40;
  const altered = s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  await assert.rejects(decryptMeta(secret, altered), (e) => e.code === "key");
  await assert.rejects(decryptMeta(secret, s.slice(0, 30)), (e) => e.code === "format" || e.code === "key");
  await assert.rejects(decryptMeta(secret, "m2." + s.slice(3)), (e) => e.code === "format");
  await assert.rejects(decryptMeta(secret, "m1.!!!"), (e) => e.code === "format");
  await assert.rejects(decryptMeta(secret, null), (e) => e.code === "format");
  for (const name of ["x".repeat(5000) + ".tar.gz", "😀".repeat(3000), "\u0001".repeat(2000) + ".txt", "é".repeat(800)]) {
    const long = await encryptMeta(secret, { name, type: "text/plain", size: 1 });
    assert.ok(long.length < 1000, `${long.length} characters`);
    const back = await decryptMeta(secret, long);
    assert.ok(back.name.length > 50 && back.name.length < name.length, `${back.name.length}`);
    if (name.endsWith(".tar.gz")) assert.ok(back.name.endsWith("….gz"), back.name);
    assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(back.name), "no surrogate cut in half");
  }
  const odd = await decryptMeta(secret, await encryptMeta(secret, { name: "a", type: "x".repeat(500), size: 0 }));
  assert.equal(odd.type, "application/octet-stream", "an absurd type is not kept");
  assert.equal((await decryptMeta(secret, await encryptMeta(secret, { name: "", type: "", size: 0 }))).type, "");
});

await test("fragment: #k=<base64url(secret)>", () => {
  const secret = newSecret();
  const f = secretToFragment(secret);
  assert.match(f, /^#k=[A-Za-z0-9_-]{22}$/);
  assert.deepEqual(secretFromFragment(f), secret);
  assert.deepEqual(secretFromFragment(f.slice(1)), secret);
  assert.deepEqual(secretFromFragment(`#x=1&${f.slice(1)}&y=2`), secret);
  const v = f.slice(3);
  for (const bad of ["", "#", "#k=", `#k=${v.slice(0, 21)}`, `#k=${v}A`, `#k=${v.slice(0, 21)}+`, `#k=${v.slice(0, 21)}=`, "#key=" + v, null, undefined, 42]) {
    assert.equal(secretFromFragment(bad), null, String(bad));
  }
  // 22 characters carry 132 bits: only the canonical one (low 4 bits zero) is a secret
  const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const at = last.indexOf(v[21]);
  const noncanonical = v.slice(0, 21) + last[(at & ~15) | ((at + 1) & 15)];
  assert.equal(secretFromFragment(`#k=${noncanonical}`), null);
});

const summary = { ok: results.failed === 0, ...results };
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
