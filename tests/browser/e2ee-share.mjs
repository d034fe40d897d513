// The share page's script (web/share.js, built into public/share.js by `node web/build.mjs`)
// in a real browser (Debian's chromium, playwright-core), against a stand-in for the share
// routes: pages shaped like src/dialect/share_page.rs's (one file, several, the password
// form), the JSON list and the ciphertext, under the page's Content-Security-Policy. It needs
// no worker: run `node web/build.mjs && node tests/browser/e2ee-share.mjs [--out DIR]
// [--chromium PATH]`. Checks: the real name and a "Download and decrypt" that saves the
// verified plaintext (sha256), through a Blob and through showSaveFilePicker (committed only
// when verified, aborted and removed otherwise); an altered file, one cut short and one whose
// download broke off save nothing; a wrong key, a missing or damaged fragment, a key pasted
// afterwards; a page of several files (rows upgraded in place, the zip kept for a mixed link);
// a password checked by the script (wrong, right, non-ASCII) and a password page with no
// encrypted file left to post natively; no horizontal scroll at 375 and 1280 px, no console
// error. Prints one JSON line {ok, failures, steps}; exits 1 on a failure.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import * as e2ee from "../../web/e2ee.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1]]] : [])));
const pub = path.resolve(here, "../../public");
const out = path.resolve(args.out || "target/e2ee-browser");
fs.mkdirSync(out, { recursive: true });
if (!fs.existsSync(path.join(pub, "share.js"))) throw new Error("public/share.js is missing: run `node web/build.mjs`");
const MiB = 1024 * 1024;
const failures = [];
const check = (c, m) => { if (!c) failures.push(m); return c; };
const steps = {};
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const sha = (b) => crypto.createHash("sha256").update(b).digest("hex");
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

// files
const secret = e2ee.newSecret();
async function encFile(name, type, size) {
  const plain = new Uint8Array(crypto.randomBytes(size));
  const cipher = await e2ee.encrypt(plain, secret, e2ee.newSalt());
  return { name: "encrypted.bin", type: "application/octet-stream", e2ee: await e2ee.encryptMeta(secret, { name, type, size }), bytes: cipher, plainSha: sha(plain), realName: name, realSize: size };
}
const A = await encFile("Holiday photos ‮gpj.exe", "image/jpeg", 20 * MiB + 7);
const C = await encFile("notes.md", "text/markdown", 0);
const B = { name: "readme.txt", type: "text/plain", e2ee: null, bytes: new TextEncoder().encode("hello"), realName: "readme.txt" };
const altered = { ...A, bytes: A.bytes.slice() };
altered.bytes[5000] ^= 1;
const cut = { ...A, bytes: A.bytes.slice(0, 21 + 65536 * 100) }; // whole records dropped
const wrongKeyFile = { ...C, e2ee: await e2ee.encryptMeta(e2ee.newSecret(), { name: "x", type: "", size: 0 }) };
const links = {
  single: { files: [A] },
  multi: { files: [A, B, C] },
  pw: { files: [A], password: "hunter2" },
  pwuni: { files: [C], password: "pässwörd✓" },
  pwplain: { files: [B], password: "hunter2" },
  altered: { files: [altered] },
  cut: { files: [cut] },
  broken: { files: [A], breakOff: true },
  wrongkey: { files: [wrongKeyFile] },
};
const downloads = {};

function page(token, link) {
  const files = link.files;
  const enc = files.some((f) => f.e2ee);
  const e2eeDiv = enc ? `<div id="e2ee" data-token="${token}" aria-live="polite"><p class="note">This file is end-to-end encrypted: it can only be opened with the whole link, including the part after #.</p></div>` : "";
  const qr = `<figure class="qr"><svg role="img" aria-label="QR code of this link" viewBox="0 0 10 10"><rect width="10" height="10" fill="#000"/></svg><figcaption>Scan to open this link on another device</figcaption></figure>`;
  let main;
  if (files.length === 1) {
    const f = files[0];
    const name = f.e2ee ? "An end-to-end encrypted file" : f.name;
    main = `<h1>${esc(name)}</h1><ul class="meta"><li>${f.bytes.length} bytes</li><li>Link expires in 24 hours, <time datetime="2030-01-01T00:00:00.000Z">1 Jan 2030, 00:00 UTC</time></li></ul>${e2eeDiv}${f.e2ee ? "" : `<p><a class="btn" href="/s/${token}?download=1" download="${esc(name)}">Download</a></p>`}${qr}`;
  } else {
    const rows = files.map((f, i) => `<li><span class="name">${esc(f.e2ee ? "(encrypted file)" : f.name)}</span> <span class="size">${f.bytes.length} bytes</span> <span class="type">${f.type}</span> <a class="btn" href="/s/${token}/files/${i}?download=1" download="x">Download</a></li>`).join("");
    main = `<h1>${files.length} files</h1><ul class="meta"><li>in all</li></ul>${e2eeDiv}<ul class="files" aria-label="Files">${rows}</ul><p><a class="btn" href="/s/${token}/zip?download=1" download="files.zip">Download all (zip)</a></p>${qr}`;
  }
  return html(main, true);
}
function html(main, script) {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>t · edgeshare</title><link rel="icon" href="/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/app.css">${script ? '<script src="/share.js" defer></script>' : ""}</head><body><main class="share">${main}</main></body></html>\n`;
}
const pwForm = (token, msg) => html(`<h1>This link is protected</h1>${msg ? `<p class="error" role="alert">${msg}</p>` : ""}<form method="post" action="/s/${token}" id="password-form"><label for="password">Password</label><input id="password" name="password" type="password" required autocomplete="off" autofocus><button class="btn" type="submit">Download</button></form>`, true);

function passwordOf(req, url, body) {
  if (body !== undefined) return new URLSearchParams(body).get("password");
  return req.headers["x-share-password"] ?? url.searchParams.get("password");
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  let body;
  if (req.method === "POST") { body = ""; for await (const c of req) body += c; }
  const send = (status, type, data, extra = {}) => { res.writeHead(status, { "Content-Type": type, "Content-Security-Policy": CSP, ...extra }); res.end(data); };
  const json = (status, obj, extra) => send(status, "application/json", JSON.stringify(obj), extra);
  if (["/share.js", "/app.css", "/favicon.svg"].includes(url.pathname)) {
    const type = url.pathname.endsWith(".js") ? "text/javascript" : url.pathname.endsWith(".css") ? "text/css" : "image/svg+xml";
    return send(200, type, fs.readFileSync(path.join(pub, url.pathname)));
  }
  const m = /^\/s\/([a-z]+)(?:\/files\/(\d+))?$/.exec(url.pathname);
  if (!m || !links[m[1]]) return json(404, { error: { code: "not_found", message: "link not found" } });
  const token = m[1];
  const link = links[token];
  const accept = req.headers.accept || "";
  const wantsPage = req.method === "GET" && !m[2] && accept.includes("text/html");
  const wantsJson = req.method === "GET" && !m[2] && !accept.includes("text/html") && accept.includes("application/json");
  if (link.password) {
    const pw = passwordOf(req, url, body);
    if (pw == null) return wantsPage ? send(401, "text/html", pwForm(token, "")) : json(401, { error: { code: "password_required", message: "password required" } });
    if (pw !== link.password) return wantsPage || req.method === "POST" ? send(403, "text/html", pwForm(token, "wrong password")) : json(403, { error: { code: "forbidden", message: "wrong password" } });
    if (req.method === "POST") return send(200, "text/html", html("<h1>posted natively</h1>", false));
  }
  if (wantsPage) return send(200, "text/html", page(token, link));
  if (wantsJson) {
    return json(200, { token, expires_at: "2030-01-01T00:00:00.000Z", files: link.files.map((f, i) => ({ index: i, name: f.name, size: f.bytes.length, content_type: f.type, e2ee: f.e2ee, url: `/s/${token}/files/${i}` })), zip_url: `/s/${token}/zip` });
  }
  const f = link.files[Number(m[2] || 0)];
  downloads[token] = (downloads[token] || 0) + 1;
  if (link.breakOff) {
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(f.bytes.length) });
    res.write(f.bytes.subarray(0, 3 * MiB));
    setTimeout(() => res.destroy(), 50);
    return;
  }
  res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(f.bytes.length) });
  res.end(f.bytes);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;
const frag = e2ee.secretToFragment(secret);

const browser = await chromium.launch({ executablePath: args.chromium || process.env.CHROMIUM || "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
// the Blob path (showSaveFilePicker is tried on its own below)
await context.addInitScript(() => { delete window.showSaveFilePicker; });
const errors = [];
async function open(p, label) {
  const pg = await context.newPage();
  pg.on("console", (msg) => msg.type() === "error" && errors.push(`${label}: ${msg.text()}`));
  pg.on("pageerror", (e) => errors.push(`${label}: pageerror ${e.message}`));
  await pg.goto(base + p);
  return pg;
}
async function downloadVia(pg, button) {
  const [dl] = await Promise.all([pg.waitForEvent("download", { timeout: 60000 }), button.click()]);
  const p = await dl.path();
  return { name: dl.suggestedFilename(), sha: sha(fs.readFileSync(p)), size: fs.statSync(p).size };
}
async function noScroll(pg, label) {
  const m = await pg.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  check(m.scroll <= m.width, `${label}: horizontal scroll ${JSON.stringify(m)}`);
}
async function shots(pg, name) {
  for (const [w, h, n] of [[375, 812, "phone"], [1280, 800, "desktop"]]) {
    await pg.setViewportSize({ width: w, height: h });
    await pg.waitForTimeout(100);
    await pg.screenshot({ path: path.join(out, `share-${name}-${n}.png`), fullPage: true });
    await noScroll(pg, `${name} ${n}`);
  }
}

// 1. single, with the key: real name, button, download verified
{
  const pg = await open(`/s/single${frag}`, "single");
  const button = pg.getByRole("button", { name: "Download and decrypt" });
  await button.waitFor();
  const h1 = await pg.locator("h1").textContent();
  steps.singleTitle = [h1, await pg.title()];
  check(h1 === "Holiday photos gpj.exe", `h1 ${h1}`);
  check(await pg.locator("figure.qr").isHidden(), "the QR still shows");
  check((await pg.locator("ul.meta li").first().textContent()) === "20.0 MiB", "size not the real one");
  await shots(pg, "single-before");
  const got = await downloadVia(pg, button);
  steps.single = got;
  check(got.sha === A.plainSha && got.size === A.realSize, `downloaded ${JSON.stringify(got)}`);
  check(got.name === "Holiday photos gpj.exe", `saved as ${got.name}`);
  const status = await pg.locator(".e2ee-status").textContent();
  check(/Decrypted and verified/.test(status), `status ${status}`);
  await shots(pg, "single-after");
  await pg.close();
}
// 2. no key / a damaged key
{
  const pg = await open(`/s/single`, "nokey");
  await pg.waitForFunction(() => document.querySelector("#e2ee .e2ee-missing"));
  const t = await pg.locator("#e2ee").textContent();
  check(/part after # is missing/.test(t), `no key: ${t}`);
  await shots(pg, "nokey");
  // the key pasted into the address bar of the open page: it opens
  await pg.evaluate((f) => { location.hash = f; }, frag);
  await pg.getByRole("button", { name: "Download and decrypt" }).waitFor();
  await pg.goto(`${base}/s/single?x#k=abc`);
  await pg.waitForFunction(() => document.querySelector("#e2ee .e2ee-missing"));
  check(/damaged or cut short/.test(await pg.locator("#e2ee").textContent()), "damaged key not said");
  await pg.close();
}
// 3. the wrong key
{
  const pg = await open(`/s/single${e2ee.secretToFragment(e2ee.newSecret())}`, "wrongkey");
  await pg.getByText("This link's key does not open this file.").waitFor();
  check(await pg.getByRole("button", { name: "Download and decrypt" }).count() === 0, "a button with a wrong key");
  await pg.goto(`${base}/s/wrongkey${frag}`);
  await pg.getByText("This link's key does not open this file.").waitFor();
  await pg.close();
}
// 4. altered, cut short, broken off: nothing saved
for (const [token, expect] of [["altered", "This file was altered or is incomplete; nothing was saved."], ["cut", "This file was altered or is incomplete; nothing was saved."], ["broken", "The download broke off"]]) {
  const pg = await open(`/s/${token}${frag}`, token);
  let saved = 0;
  pg.on("download", () => { saved += 1; });
  await pg.getByRole("button", { name: "Download and decrypt" }).click();
  await pg.waitForFunction(() => document.querySelector(".e2ee-status.error"), null, { timeout: 60000 });
  const t = await pg.locator(".e2ee-status").textContent();
  steps[token] = t;
  check(t.includes(expect), `${token}: ${t}`);
  await pg.waitForTimeout(500);
  check(saved === 0, `${token}: something was saved`);
  check(await pg.getByRole("button", { name: "Download and decrypt" }).isEnabled(), `${token}: button left disabled`);
  if (token === "altered") await shots(pg, "altered");
  await pg.close();
}
// 5. several files: rows upgraded in place
{
  const pg = await open(`/s/multi${frag}`, "multi");
  await pg.locator(".e2ee-row").first().waitFor();
  const names = await pg.locator("ul.files > li .name").allTextContents();
  steps.multiNames = names;
  check(names.join("|") === "Holiday photos gpj.exe|readme.txt|notes.md", `names ${names}`);
  check(await pg.locator('a[href="/s/multi/zip?download=1"]').isVisible(), "the zip hidden on a mixed link");
  check(await pg.locator('a[href="/s/multi/files/1?download=1"]').isVisible(), "the plain file's button gone");
  check(await pg.locator('a[href="/s/multi/files/0?download=1"]').count() === 0, "the ciphertext button kept");
  const got = await downloadVia(pg, pg.locator("ul.files > li").nth(2).getByRole("button", { name: "Download and decrypt" }));
  check(got.size === 0 && got.name === "notes.md", `empty file ${JSON.stringify(got)}`);
  await shots(pg, "multi");
  await pg.close();
}
// 6. a password: wrong, then right; the download sends it
{
  const pg = await open(`/s/pw${frag}`, "pw");
  await pg.locator("#password").fill("nope");
  await pg.locator("#password").press("Enter");
  await pg.getByText("Wrong password.").waitFor();
  check(pg.url().endsWith(`/s/pw${frag}`), `navigated to ${pg.url()}`);
  await shots(pg, "pw-wrong");
  await pg.locator("#password").fill("hunter2");
  await pg.getByRole("button", { name: "Download" }).click();
  const button = pg.getByRole("button", { name: "Download and decrypt" });
  await button.waitFor();
  check((await pg.locator("h1").textContent()) === "Holiday photos gpj.exe", "h1 after the password");
  check(await pg.evaluate(() => document.activeElement && document.activeElement.tagName) === "H1", "focus not on the title");
  const got = await downloadVia(pg, button);
  check(got.sha === A.plainSha, "password download differs");
  await shots(pg, "pw-open");
  await pg.close();
  const pg2 = await open(`/s/pwuni${frag}`, "pwuni");
  await pg2.locator("#password").fill("pässwörd✓");
  await pg2.locator("#password").press("Enter");
  await pg2.getByRole("button", { name: "Download and decrypt" }).waitFor();
  const got2 = await downloadVia(pg2, pg2.getByRole("button", { name: "Download and decrypt" }));
  check(got2.size === 0, "unicode password download");
  await pg2.close();
  // no encrypted file: the form posts as it would without the script
  const pg3 = await open(`/s/pwplain${frag}`, "pwplain");
  await pg3.locator("#password").fill("hunter2");
  await Promise.all([pg3.waitForURL(/\/s\/pwplain/, { waitUntil: "load" }), pg3.locator("#password").press("Enter")]);
  await pg3.getByText("posted natively").waitFor();
  await pg3.close();
}
// 7. showSaveFilePicker: streamed to the handle, committed only when verified
{
  const ctx2 = await browser.newContext();
  await ctx2.addInitScript(() => {
    window.__saved = [];
    window.showSaveFilePicker = async ({ suggestedName }) => ({
      async createWritable() {
        let bytes = 0;
        const rec = { suggestedName, bytes, closed: false, aborted: false };
        window.__saved.push(rec);
        return new WritableStream({ write(c) { rec.bytes += c.byteLength; }, close() { rec.closed = true; }, abort() { rec.aborted = true; } });
      },
      async remove() { window.__removed = (window.__removed || 0) + 1; },
    });
  });
  const pg = await ctx2.newPage();
  pg.on("pageerror", (e) => errors.push(`picker: ${e.message}`));
  await pg.goto(`${base}/s/single${frag}`);
  await pg.getByRole("button", { name: "Download and decrypt" }).click();
  await pg.waitForFunction(() => /Decrypted and verified/.test(document.querySelector(".e2ee-status").textContent), null, { timeout: 60000 });
  const saved = await pg.evaluate(() => window.__saved);
  check(saved.length === 1 && saved[0].closed && !saved[0].aborted && saved[0].bytes === A.realSize, `picker ${JSON.stringify(saved)}`);
  await pg.goto(`${base}/s/altered${frag}`);
  await pg.getByRole("button", { name: "Download and decrypt" }).click();
  await pg.waitForFunction(() => document.querySelector(".e2ee-status.error"), null, { timeout: 60000 });
  const bad = await pg.evaluate(() => [window.__saved, window.__removed]);
  check(bad[0].length === 1 && !bad[0][0].closed && bad[0][0].aborted && bad[1] === 1, `altered picker ${JSON.stringify(bad)}`);
  steps.picker = { saved, bad };
  await ctx2.close();
}
const unexpected = errors.filter((e) => !/status of 40[13]|ERR_CONTENT_LENGTH_MISMATCH|ERR_INCOMPLETE_CHUNKED|net::ERR/.test(e));
steps.errors = errors;
check(unexpected.length === 0, `console: ${unexpected.join(" | ")}`);
steps.downloads = downloads;
await browser.close();
server.close();
console.log(JSON.stringify({ ok: failures.length === 0, failures, steps }));
process.exit(failures.length ? 1 : 0);
