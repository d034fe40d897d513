// The upload page's "Encrypt end to end (the key stays in the link)" in a real browser
// (Debian's chromium, playwright-core) against a running worker:
//   node tests/browser/e2ee-upload.mjs --base http://127.0.0.1:8787 --token TOKEN [--out DIR] [--chromium PATH]
// The checkbox reached and ticked with the keyboard, by its label; an encrypted upload: its
// link carries #k=…, the service holds encrypted.bin of encryptedSize bytes, which decrypts
// (in Node, web/e2ee.js) to the file (sha256); the secret kept as edgeshare.e2ee.<fileId>,
// no upload record left; "Your files" shows the real name, size and a lock, its links with
// the key; a 48 MiB encrypted upload reloaded half way, listed as unfinished under its real
// name with a lock, resumed (no new upload, the first PATCH past 0) with the box unticked and
// still encrypted, and decrypting to the file; a plain upload with no lock nor fragment;
// screenshots at 375 and 1280 px without horizontal scroll; no console error. Prints one JSON
// line {ok, failures, steps}; exits 1 on a failure.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import * as e2ee from "../../web/e2ee.js";

const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1]]] : [])));
const base = (args.base || process.env.EDGESHARE_BASE || "http://127.0.0.1:8787").replace(/\/+$/, "");
const token = args.token || process.env.EDGESHARE_TOKEN || "";
const out = path.resolve(args.out || "target/e2ee-browser");
fs.mkdirSync(out, { recursive: true });
const MiB = 1024 * 1024;
const failures = [];
const check = (c, m) => { if (!c) failures.push(m); return c; };
const steps = {};

function randomFile(name, bytes) {
  const p = path.join(out, name);
  fs.writeFileSync(p, crypto.randomBytes(bytes));
  return { path: p, name, size: bytes, sha: crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex") };
}

const browser = await chromium.launch({ executablePath: args.chromium || process.env.CHROMIUM || "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
const errors = [];
page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
await page.goto(base + "/");
await page.locator("#token").fill(token);
await page.locator("#sign-in-button").click();
await page.locator("#app").waitFor({ state: "visible" });

// the checkbox: keyboard usable (Tab to it, Space ticks it)
const box = page.locator("#e2ee-toggle");
check(!(await box.isChecked()), "ticked at first");
await page.locator("#upload-title").focus();
await page.keyboard.press("Tab");
const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
check(focused === "e2ee-toggle", `Tab from the title reaches ${focused}`);
await page.keyboard.press("Space");
check(await box.isChecked(), "Space did not tick it");
const label = await page.getByLabel("Encrypt end to end (the key stays in the link)").count();
check(label === 1, "no checkbox by its label");

// a small encrypted upload
const small = randomFile("Résumé final.txt", 3 * MiB + 123);
await page.locator("#file-input").setInputFiles(small.path);
const row = page.locator("li.upload", { hasText: small.name });
await row.locator(".e2ee-badge").waitFor({ state: "visible" });
await row.and(page.locator('[data-state="done"]')).waitFor({ timeout: 60000 });
await page.waitForFunction((n) => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === n && li.querySelector("input.link-url")), small.name, { timeout: 20000 });
const url = await row.locator("input.link-url").inputValue();
steps.small = { url };
check(/\/s\/[^#]+#k=[A-Za-z0-9_-]{22}$/.test(url), `link without key: ${url}`);
const fileId = await row.getAttribute("data-file-id");
const ls = await page.evaluate(() => Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith("edgeshare.")).map((k) => [k, localStorage.getItem(k)])));
steps.localStorage = ls;
check(ls[`edgeshare.e2ee.${fileId}`], "no secret kept for the file");
check(!Object.keys(ls).some((k) => k.startsWith("edgeshare.e2ee-upload.")), "an upload record left after done");
check(ls["edgeshare.e2ee-enabled"] === "1", "the choice not remembered");
// what the service holds: ciphertext of the right size, named encrypted.bin
const api = await fetch(`${base}/v1/files`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json());
const rec = api.files.find((f) => f.id === fileId);
steps.record = rec;
check(rec && rec.name === "encrypted.bin" && rec.size === e2ee.encryptedSize(small.size), `stored as ${JSON.stringify(rec)}`);
const shareUrl = url.split("#")[0];
const secret = e2ee.secretFromFragment(url.slice(url.indexOf("#")));
const cipher = new Uint8Array(await fetch(`${shareUrl}?download=1`).then((r) => r.arrayBuffer()));
const plain = await e2ee.decrypt(cipher, secret);
check(crypto.createHash("sha256").update(plain).digest("hex") === small.sha, "decrypted bytes differ");

// "Your files": real name, lock, links with the key
await page.locator("#refresh").click();
const fileRow = page.locator(`li.file[data-file-id="${fileId}"]`);
await fileRow.waitFor();
const shownName = await fileRow.locator(".name").textContent();
check(shownName === small.name, `Your files shows ${shownName}`);
check(await fileRow.locator(".e2ee-badge").isVisible(), "no lock in Your files");
check((await fileRow.locator(".meta").first().textContent()).includes("3.0 MiB"), "size not the real one");
await fileRow.getByRole("button", { name: "Links" }).click();
const listed = await fileRow.locator("input.link-url").first().inputValue();
check(listed === url, `listed link ${listed}`);

// resume after a reload: 48 MiB, slow upload
const big = randomFile("big video.mp4", 48 * MiB);
const cdp = await context.newCDPSession(page);
await cdp.send("Network.enable");
await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 12 * MiB });
await page.locator("#file-input").setInputFiles(big.path);
await page.waitForFunction((n) => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === n && li.querySelector("progress").value > 35), big.name, { timeout: 60000, polling: 50 });
const before = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("edgeshare.e2ee-upload.") || k.startsWith("tus::")));
steps.beforeReload = before;
await page.reload();
await page.locator("#app").waitFor({ state: "visible" });
const notice = await page.locator("#resumable").textContent();
steps.notice = notice.trim();
check(notice.includes(big.name), `the resumable list does not name ${big.name}: ${notice}`);
check(await page.locator("#resumable-list .e2ee-badge").count() === 1, "no lock in the resumable list");
await page.screenshot({ path: path.join(out, "resumable-desktop.png"), fullPage: true });
// untick: an unfinished encrypted upload still resumes encrypted
await page.locator("#e2ee-toggle").uncheck();
const patches = [];
let creations = 0;
page.on("request", (r) => {
  if (r.method() === "PATCH" && r.url().includes("/files/")) patches.push(Number(r.headers()["upload-offset"]));
  if (r.method() === "POST" && /\/files\/?$/.test(new URL(r.url()).pathname)) creations += 1;
});
await page.locator("#file-input").setInputFiles(big.path);
const bigRow = page.locator("li.upload", { hasText: big.name });
await bigRow.and(page.locator('[data-state="done"]')).waitFor({ timeout: 120000 });
await page.waitForFunction((n) => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === n && li.querySelector("input.link-url")), big.name, { timeout: 20000 });
const bigUrl = await bigRow.locator("input.link-url").inputValue();
steps.big = { bigUrl, firstPatch: patches[0], creations };
check(creations === 0, `a new upload after the reload (${creations})`);
check(patches[0] > 0, `first PATCH at ${patches[0]}`);
check(await bigRow.locator(".e2ee-badge").isVisible(), "the resumed upload shows no lock");
check(bigUrl.includes("#k="), "the resumed upload's link has no key");
const bigCipher = new Uint8Array(await fetch(`${bigUrl.split("#")[0]}?download=1`).then((r) => r.arrayBuffer()));
const bigPlain = await e2ee.decrypt(bigCipher, e2ee.secretFromFragment(bigUrl.slice(bigUrl.indexOf("#"))));
check(crypto.createHash("sha256").update(bigPlain).digest("hex") === big.sha, "the resumed upload does not decrypt to the file");
check(!(await page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith("edgeshare.e2ee-upload.")))), "upload record left");

// a plain upload with the box unticked: no lock, plain link
const plainFile = randomFile("plain.txt", 1000);
await page.locator("#file-input").setInputFiles(plainFile.path);
const prow = page.locator("li.upload", { hasText: "plain.txt" });
await page.waitForFunction(() => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === "plain.txt" && li.querySelector("input.link-url")), null, { timeout: 20000 });
check(!(await prow.locator(".e2ee-badge").isVisible()), "a plain upload shows a lock");
check(!(await prow.locator("input.link-url").inputValue()).includes("#"), "a plain upload's link has a fragment");

for (const [w, h, n] of [[375, 812, "phone"], [1280, 800, "desktop"]]) {
  await page.setViewportSize({ width: w, height: h });
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(out, `upload-${n}.png`), fullPage: true });
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  check(m.scroll <= m.width, `${n}: horizontal scroll ${JSON.stringify(m)}`);
}
const unexpected = errors.filter((e) => !/ERR_ABORTED|ERR_INTERNET|ERR_NETWORK|status of (401|404|410)/.test(e));
check(unexpected.length === 0, `console: ${unexpected.join(" | ")}`);
await browser.close();
console.log(JSON.stringify({ ok: failures.length === 0, failures, steps }));
process.exit(failures.length ? 1 : 0);
