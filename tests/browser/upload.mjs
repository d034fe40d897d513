// The upload page (/), the share page (/s/{token}) and the API docs (/docs) in a real browser:
// Debian's chromium driven by playwright-core (no browser is downloaded), for
// tests/e2e_browser.rs. Usage:
//   node tests/browser/upload.mjs --base http://127.0.0.1:8787 --out target/e2e-browser \
//     --token TOKEN [--user USER --password PASSWORD] [--jwt-secret SECRET] [--chromium /usr/bin/chromium]
// (or EDGESHARE_BASE, BROWSER_OUT, EDGESHARE_TOKEN, EDGESHARE_USER, EDGESHARE_PASSWORD,
// EDGESHARE_JWT_SECRET, CHROMIUM).
// It signs in (a wrong token first: refused), uploads a 20 MiB random file with the keyboard
// (the drop zone opens the picker) through a network drop (the row waits, not an error),
// copies its share link, changes the link's options (limit, password), downloads it in a new
// browser context and compares sha256; uploads 64 MiB, reloads the page half way, checks the
// sign-in survives, picks the same file again and checks it resumes (bytes sent after the
// reload < the file size); an upload through a service outage while the browser is online
// (refused connections for 22 s, then requests left hanging: the row says it waits, at once,
// gives up a hung request, and goes on by itself); Cancel of a running upload and of
// an unfinished one listed after a reload (tus DELETE, fingerprint gone); link states, a new
// link's own options, revoke and delete confirmed; the files list filtered, sorted, paged and
// paged on by the service's cursor; local times with their zone; screenshots of each page at
// phone (375x812) and desktop (1280x800) widths into the output folder, with no console error,
// no horizontal scroll and "Signed in as" in view. Then two vendor clients on a second origin
// (a static server on another 127.0.0.1 port): Uppy (core, dashboard, tus with addRequestId)
// and Twake's web client's uploader (resumable.js), each checked back by sha256.
// Prints one JSON line {ok, failures, ...}; exits 1 on a failure.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const MiB = 1024 * 1024;
const args = parseArgs(process.argv.slice(2));
const base = (args.base || process.env.EDGESHARE_BASE || "http://127.0.0.1:8787").replace(/\/+$/, "");
const out = path.resolve(args.out || process.env.BROWSER_OUT || "target/e2e-browser");
const token = args.token || process.env.EDGESHARE_TOKEN || "";
const user = args.user || process.env.EDGESHARE_USER || "";
const password = args.password || process.env.EDGESHARE_PASSWORD || "";
const jwtSecret = args["jwt-secret"] || process.env.EDGESHARE_JWT_SECRET || "";
const executablePath = args.chromium || process.env.CHROMIUM || "/usr/bin/chromium";
const smallMiB = Number(args["small-mib"] || 20);
const bigMiB = Number(args["big-mib"] || 64);
const TIMEOUT = Number(args.timeout || 120_000);
/** The time zone of the main browser context: the page shows local times with their zone. */
const TIME_ZONE = "Asia/Kathmandu"; // UTC+5:45, which no default could pass for
const here = path.dirname(fileURLToPath(import.meta.url));
const authHeader = token ? `Bearer ${token}` : `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

const result = { ok: false, base, out, failures: [], steps: {}, screenshots: [], consoleErrors: {}, overflow: {} };
const failures = result.failures;

function parseArgs(list) {
  const o = {};
  for (let i = 0; i < list.length; i += 1) {
    const a = list[i];
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) o[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < list.length && !list[i + 1].startsWith("--")) o[a.slice(2)] = list[++i];
    else o[a.slice(2)] = "true";
  }
  return o;
}

function check(cond, message) {
  if (!cond) failures.push(message);
  return Boolean(cond);
}

function sha256File(p) {
  return crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
}

function randomFile(name, bytes) {
  const p = path.join(out, name);
  const fd = fs.openSync(p, "w");
  for (let left = bytes; left > 0; left -= Math.min(left, MiB)) fs.writeSync(fd, crypto.randomBytes(Math.min(left, MiB)));
  fs.closeSync(fd);
  return { path: p, name, size: bytes, sha256: sha256File(p) };
}

/** A tus upload from Node in one request (creation with upload); its id. */
async function tusCreate(name, bytes) {
  const res = await fetch(`${base}/files/`, {
    method: "POST",
    headers: {
      Authorization: authHeader,
      "Tus-Resumable": "1.0.0",
      "Upload-Length": String(bytes.length),
      "Upload-Metadata": `filename ${Buffer.from(name).toString("base64")}`,
      "Content-Type": "application/offset+octet-stream",
    },
    body: bytes,
  });
  if (res.status !== 201) throw new Error(`tus creation of ${name}: ${res.status} ${await res.text()}`);
  return decodeURIComponent(res.headers.get("location").split("/").pop());
}

/** A JSON call to the service from Node, with the credentials. */
async function apiCall(method, p, body) {
  const headers = { Authorization: authHeader, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${base}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** A share link's answer to a client without a browser (no page): its status. A download
 *  (counted), of its first bytes only. */
async function shareStatus(url, extra = {}) {
  const res = await fetch(url, { headers: { Accept: "*/*", Range: "bytes=0-15", ...extra } });
  await res.arrayBuffer();
  return res.status;
}

/** The <time> elements of `locator`: local time with its zone (TIME_ZONE's is GMT+5:45), the
 *  UTC time in the tooltip. */
async function checkLocalTimes(page, locator, what) {
  const times = await locator.evaluateAll((els) => els.map((e) => ({ text: e.textContent, iso: e.getAttribute("datetime"), title: e.title })));
  result.steps.localTimes = result.steps.localTimes || {};
  result.steps.localTimes[what] = times;
  check(times.length > 0, `${what}: no time shown`);
  for (const t of times) {
    const want = new Date(t.iso).toLocaleString("en-US", {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      timeZoneName: "short",
      timeZone: TIME_ZONE,
    });
    check(/GMT\+5:45/.test(t.text) && t.text === want, `${what}: ${JSON.stringify(t.text)} is not the local time with its zone (${want})`);
    check(/UTC$/.test(t.title), `${what}: the tooltip ${JSON.stringify(t.title)} is not the UTC time`);
  }
}

/** The <title> of a share link's page as a browser gets it. */
async function shareTitle(url) {
  const res = await fetch(url, { headers: { Accept: "text/html" } });
  const html = await res.text();
  const m = /<title>([^<]*)<\/title>/.exec(html);
  return { status: res.status, title: m ? m[1] : null, html };
}

/** Records each data-state an upload row takes, from now on, in window.__states[name]. */
async function recordStates(page, name) {
  await page.evaluate((n) => {
    window.__states = window.__states || {};
    const list = (window.__states[n] = []);
    const find = () => [...document.querySelectorAll("li.upload")].find((li) => li.querySelector(".name").textContent === n);
    const start = () => {
      const li = find();
      if (!li) return setTimeout(start, 20);
      list.push(li.dataset.state);
      new MutationObserver(() => list.push(li.dataset.state)).observe(li, { attributes: true, attributeFilter: ["data-state"] });
    };
    start();
  }, name);
}

/** Waits until the upload of `name` has passed `pct` %. */
async function waitProgress(page, name, pct) {
  await page.waitForFunction(
    ([n, p]) => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === n && li.querySelector("progress").value > p),
    [name, pct],
    { timeout: TIMEOUT, polling: 50 },
  );
}

/** The tus fingerprints this page's origin keeps (their upload URLs). */
async function storedUploadUrls(page) {
  return page.evaluate(() => {
    const urls = [];
    for (let i = 0; i < localStorage.length; i += 1) {
      const k = localStorage.key(i);
      if (!k.startsWith("tus::")) continue;
      try {
        urls.push(JSON.parse(localStorage.getItem(k)).uploadUrl);
      } catch {
        // not ours
      }
    }
    return urls;
  });
}

/** Collects console errors and page errors of a page under a label. */
function watch(page, label) {
  const list = (result.consoleErrors[label] = result.consoleErrors[label] || []);
  page.on("console", (m) => {
    if (m.type() === "error") list.push(`console: ${m.text()} (${m.location().url || ""})`);
  });
  page.on("pageerror", (e) => list.push(`pageerror: ${e.message}`));
  return list;
}

async function shot(page, name) {
  const file = path.join(out, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  result.screenshots.push(file);
}

async function noHorizontalScroll(page, label) {
  const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  result.overflow[label] = m;
  check(m.scroll <= m.width, `${label}: horizontal scroll (${m.scroll} px wide in a ${m.width} px window)`);
}

async function signInToken(page, value) {
  await page.locator('input[name="kind"][value="token"]').check();
  await page.locator("#token").fill(value);
  await page.locator("#sign-in-button").click();
}

async function signInBasic(page, u, p) {
  await page.locator('input[name="kind"][value="basic"]').check();
  await page.locator("#user").fill(u);
  await page.locator("#password").fill(p);
  await page.locator("#sign-in-button").click();
}

async function signIn(page) {
  if (token) await signInToken(page, token);
  else await signInBasic(page, user, password);
  await page.locator("#app").waitFor({ state: "visible", timeout: 15_000 });
}

const uploadItem = (page, name) => page.locator("li.upload").filter({ has: page.locator(".name", { hasText: name }) });

/** The files list's entry of a file id. */
const fileRow = (page, id) => page.locator(`#files li.file[data-file-id="${id}"]`);

async function progressOf(page, name) {
  return uploadItem(page, name).locator("progress").evaluate((p) => p.value);
}

/** Waits until the upload of `name` is done and its share link is shown; returns the link. */
async function waitUploaded(page, name) {
  const item = uploadItem(page, name);
  await item.and(page.locator('[data-state="done"]')).waitFor({ timeout: TIMEOUT });
  const input = item.locator(".link-url");
  const error = item.locator(".result > p.error");
  await Promise.race([input.waitFor({ timeout: 30_000 }), error.waitFor({ timeout: 30_000 })]).catch(() => {});
  if (await error.count()) throw new Error(`no share link for ${name}: ${await error.textContent()}`);
  return { item, url: await input.inputValue(), fileId: await item.getAttribute("data-file-id") };
}

/** Throttles the page's network (DevTools emulation), or takes it offline. */
async function network(cdp, { offline = false, upload = -1 } = {}) {
  await cdp.send("Network.emulateNetworkConditions", {
    offline,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: upload,
  });
}

/** Downloads a share link in a fresh context (no credentials): the share page's button, or the
 *  URL itself when it answers with the bytes. Returns {sha256, via, status}. */
async function downloadShared(browser, url, label) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = watch(page, `${label} (share page, download)`);
  try {
    let response = null;
    let directDownload = null;
    const downloadEvent = page.waitForEvent("download", { timeout: 15_000 }).catch(() => null);
    try {
      response = await page.goto(url, { waitUntil: "load" });
    } catch (e) {
      // Navigating straight to an attachment starts a download instead of a page.
      if (!/download is starting/i.test(String(e.message))) throw e;
      directDownload = await downloadEvent;
    }
    const status = response ? response.status() : 200;
    const type = response ? (await response.headerValue("content-type")) || "" : "";
    if (directDownload) {
      const file = path.join(out, `${label}-download.bin`);
      await directDownload.saveAs(file);
      return { sha256: sha256File(file), via: "navigation download", status };
    }
    if (!type.includes("text/html")) {
      const body = await response.body();
      return { sha256: crypto.createHash("sha256").update(body).digest("hex"), via: "navigation", status };
    }
    check(status === 200, `${label}: the share page answered ${status}`);
    const button = page.locator(".share a.btn, .share button.btn, a[download], a.btn").filter({ hasText: /download/i }).first();
    if (await button.count()) {
      const [download] = await Promise.all([page.waitForEvent("download", { timeout: TIMEOUT }), button.click()]);
      const file = path.join(out, `${label}-download.bin`);
      await download.saveAs(file);
      return { sha256: sha256File(file), via: "share page button", status, errors: errors.length };
    }
    // No button found: the bytes straight from the URL, as a non-browser client gets them.
    const res = await fetch(url, { headers: { Accept: "*/*" } });
    const buf = Buffer.from(await res.arrayBuffer());
    return { sha256: crypto.createHash("sha256").update(buf).digest("hex"), via: "node fetch Accept */*", status: res.status };
  } finally {
    await context.close();
  }
}

async function main() {
  fs.mkdirSync(out, { recursive: true });
  check(token || (user && password), "no credentials: pass --token or --user and --password");
  if (failures.length) return;
  const small = randomFile(`small-${smallMiB}MiB.bin`, smallMiB * MiB);
  const big = randomFile(`big-${bigMiB}MiB.bin`, bigMiB * MiB);

  const browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  result.browser = browser.version();
  try {
    await flows(browser, small, big);
    await screenshots(browser);
    await crossOrigin(browser);
  } finally {
    await browser.close();
  }
}

async function flows(browser, small, big) {
  // Wrong credentials are refused with a message (own context: its 401 is expected).
  {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await signInToken(page, "not-a-valid-token-0000");
    const err = page.locator("#sign-in-error");
    await err.waitFor({ state: "visible", timeout: 15_000 });
    result.steps.wrongCredentials = (await err.textContent()).trim();
    check(/wrong credentials/i.test(result.steps.wrongCredentials), `a wrong token: ${result.steps.wrongCredentials}`);
    check(await page.locator("#app").isHidden(), "a wrong token signed in");
    await context.close();
  }

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: TIME_ZONE, locale: "en-US" });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = await context.newPage();
  const errors = watch(page, "flow");
  // Listening from the start: Playwright intercepts the file picker from then on (waiting for
  // the event only when the key is pressed races with that and can miss the picker).
  const choosers = [];
  page.on("filechooser", (c) => choosers.push(c));
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");

  await page.goto(`${base}/`);
  await signIn(page);
  result.steps.signedIn = true;
  check(
    await page.evaluate(() => sessionStorage.getItem("edgeshare.auth") !== null && localStorage.getItem("edgeshare.auth") === null),
    "the credential is not in sessionStorage only",
  );

  // --- 20 MiB, picked with the keyboard, through a network drop -------------------------
  await network(cdp, { upload: 8 * MiB }); // slow enough to drop the network half way
  await page.locator("#drop").focus();
  await page.keyboard.press("Enter");
  for (let i = 0; i < 100 && choosers.length === 0; i += 1) await page.waitForTimeout(100);
  const chooser = choosers.shift();
  if (!chooser) throw new Error("Enter on the drop zone did not open the file picker");
  check(chooser.isMultiple(), "the file picker does not take several files");
  await chooser.setFiles(small.path);
  result.steps.keyboardPicker = true;
  const failedPatches = [];
  page.on("requestfailed", (r) => {
    if (r.method() === "PATCH") failedPatches.push(r.failure() && r.failure().errorText);
  });
  await page.waitForFunction(
    (name) => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === name && li.querySelector("progress").value > 30),
    small.name,
    { timeout: TIMEOUT, polling: 50 },
  );
  const dropAt = await progressOf(page, small.name);
  await recordStates(page, small.name);
  await network(cdp, { offline: true });
  // Offline: the row says it waits for the network, as a notice, not an error.
  // (read in the page at the moment the row waits: while offline, the client's retries flip
  // it back to uploading for an instant, which a reading from outside may land on)
  const rowNow = ([name, waitingOnly]) => {
    const li = [...document.querySelectorAll("li.upload")].find((el) => el.querySelector(".name").textContent === name);
    if (!li || (waitingOnly && li.dataset.state !== "waiting")) return false;
    const shown = (el) => !!el && el.checkVisibility();
    const notice = li.querySelector(".waiting");
    return { state: li.dataset.state, stats: li.querySelector(".stats").textContent.trim(),
             notice: shown(notice) ? notice.textContent.trim() : null, errorShown: shown(li.querySelector(".error")) };
  };
  const offline = await page
    .waitForFunction(rowNow, [small.name, true], { timeout: 10_000, polling: 50 })
    .then((h) => h.jsonValue())
    .catch(() => page.evaluate(rowNow, [small.name, false]));
  // The scenario, not a wait for something: the network stays down for a while, as a real
  // drop does, so that the client's requests fail and it has to retry once it is back.
  await page.waitForTimeout(2500);
  await network(cdp, { upload: -1 });
  const sawProgress = [];
  const seen = setInterval(() => progressOf(page, small.name).then((v) => sawProgress.push(v)).catch(() => {}), 200);
  const first = await waitUploaded(page, small.name).finally(() => clearInterval(seen));
  const dropStates = await page.evaluate((n) => window.__states[n], small.name);
  result.steps.networkDrop = { at: dropAt, failedRequests: failedPatches.length, errors: failedPatches.slice(0, 3), offline, states: dropStates };
  check(offline.state === "waiting", `offline, the row is ${offline.state}, not waiting`);
  check(!offline.errorShown && offline.notice && /offline|network/i.test(offline.notice), `offline, the row shows ${JSON.stringify(offline)}: an error rather than a notice`);
  check(!/\/s|left/.test(offline.stats), `offline, the row still shows a speed or a time left: ${offline.stats}`);
  check(!dropStates.includes("error"), `the network drop made the row an error on the way: ${dropStates}`);
  const stats = await first.item.locator(".stats").textContent();
  check(/100 %/.test(stats), `the 20 MiB upload does not show 100 %: ${stats}`);
  check((await first.item.locator("progress").evaluate((p) => p.value)) === 100, "the progress bar is not at 100");
  result.steps.small = { url: first.url, fileId: first.fileId, stats };

  // Copy: the clipboard has the link (or the fallback selected it).
  await first.item.locator("button.copy").click();
  await first.item.locator("button.copy", { hasText: /copied|ctrl/i }).waitFor({ timeout: 5000 });
  const copied = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `clipboard error: ${e.message}`);
  result.steps.small.clipboard = copied;
  check(copied === first.url, `the clipboard has ${JSON.stringify(copied)}, not the link ${first.url}`);
  check(/^https?:\/\/[^/]+\/s\/[^/?#]+/.test(first.url), `the share link is not a /s/{token} URL: ${first.url}`);
  const expiry = await first.item.locator(".result .meta").textContent();
  result.steps.small.linkMeta = expiry.trim();
  check(/expires/i.test(expiry), `no expiry next to the link: ${expiry}`);
  // The link's own options are shown on it: its state, expiry (local time with the zone),
  // download limit and password; no options above the drop zone apply to later uploads.
  check(/active/i.test(expiry) && /no limit/i.test(expiry) && /password: no/i.test(expiry), `the new link does not show its options: ${expiry}`);
  check((await page.locator("#link-password, #max-downloads, #expires").count()) === 0, "share options above the drop zone still apply to every upload");
  await checkLocalTimes(page, first.item.locator(".result .expiry time"), "the new link's expiry");

  // The link in a new browser context (no credentials): same bytes.
  const got = await downloadShared(browser, first.url, "small");
  result.steps.small.download = got;
  check(got.sha256 === small.sha256, `the shared file's sha256 ${got.sha256} is not the upload's ${small.sha256} (via ${got.via})`);

  // The files list shows it, with its link.
  const row = fileRow(page, first.fileId);
  await row.waitFor({ timeout: 15_000 });
  check((await row.locator(".name").textContent()) === small.name, `the files list names ${first.fileId} otherwise`);
  await row.getByRole("button", { name: "Links" }).click();
  await row.locator(".links .link-url").first().waitFor({ timeout: 15_000 });
  const listed = await row.locator(".links .link-url").evaluateAll((els) => els.map((e) => e.value));
  result.steps.filesList = { links: listed.length };
  check(listed.includes(first.url), `the files list does not show the link ${first.url}: ${listed}`);

  // --- 64 MiB, a page reload half way, the same file again: it resumes ------------------
  await network(cdp, { upload: 16 * MiB });
  let phase = "before";
  const patches = { before: [], after: [] };
  const creations = { before: 0, after: 0 };
  const isTus = (r) => new URL(r.url()).pathname.startsWith("/files/");
  page.on("request", (r) => {
    if (r.method() === "POST" && new URL(r.url()).pathname === "/files/") creations[phase] += 1;
  });
  page.on("requestfinished", async (r) => {
    if (r.method() !== "PATCH" || !isTus(r)) return;
    const p = phase;
    try {
      const headers = await r.allHeaders();
      const res = await r.response();
      const reqOffset = Number(headers["upload-offset"]);
      const resOffset = Number(res && (await res.headerValue("upload-offset")));
      patches[p].push({ reqOffset, resOffset, body: Number(headers["content-length"] || 0) });
    } catch {
      // page gone
    }
  });
  await page.locator("#file-input").setInputFiles(big.path);
  // Pause: nothing moves; Resume: it goes on from where it was.
  const bigItem = uploadItem(page, big.name);
  await page.waitForFunction(
    (name) => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === name && li.querySelector("progress").value > 10),
    big.name,
    { timeout: TIMEOUT, polling: 50 },
  );
  await bigItem.getByRole("button", { name: "Pause" }).click();
  await bigItem.and(page.locator('[data-state="paused"]')).waitFor({ timeout: 5000 });
  const pausedAt = await progressOf(page, big.name);
  // The scenario, not a wait for something: nothing may move while paused, watched for 1.5 s.
  await page.waitForTimeout(1500);
  const stillAt = await progressOf(page, big.name);
  await bigItem.getByRole("button", { name: "Resume" }).click();
  await bigItem.and(page.locator('[data-state="uploading"]')).waitFor({ timeout: 5000 });
  result.steps.pause = { pausedAt, after1500ms: stillAt };
  check(stillAt === pausedAt, `the paused upload moved from ${pausedAt} % to ${stillAt} %`);
  await page.waitForFunction(
    (name) => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === name && li.querySelector("progress").value > 40),
    big.name,
    { timeout: TIMEOUT, polling: 50 },
  );
  const reloadAt = await progressOf(page, big.name);
  phase = "after";
  await page.reload();
  const firstAfter = [];
  page.on("request", (r) => {
    if (r.method() === "PATCH" && isTus(r) && firstAfter.length === 0) firstAfter.push(Number(r.headers()["upload-offset"]));
  });
  await page.locator("#app").waitFor({ state: "visible", timeout: 15_000 });
  const stillSignedIn = await page.locator("#sign-in").isHidden();
  check(stillSignedIn, "the sign-in did not survive the reload");
  const notice = (await page.locator("#resumable").isVisible()) ? (await page.locator("#resumable").textContent()).trim() : null;
  await page.locator("#file-input").setInputFiles(big.path);
  const second = await waitUploaded(page, big.name);
  await network(cdp, { upload: -1 });
  const sentAfter = patches.after.reduce((n, p) => n + (p.resOffset - p.reqOffset), 0);
  const bodyAfter = patches.after.reduce((n, p) => n + (p.body || 0), 0);
  result.steps.resume = {
    reloadAtPercent: reloadAt,
    stillSignedIn,
    resumableNotice: notice,
    creationsBefore: creations.before,
    creationsAfter: creations.after,
    firstPatchOffsetAfterReload: firstAfter[0],
    patchesAfter: patches.after.length,
    bytesSentAfterReload: sentAfter,
    requestBodyBytesAfterReload: bodyAfter,
    size: big.size,
    url: second.url,
  };
  check(reloadAt < 100, `the 64 MiB upload was done before the reload (${reloadAt} %)`);
  check(creations.after === 0, `the upload started over after the reload (${creations.after} new uploads)`);
  check(firstAfter[0] > 0, `the first PATCH after the reload is at offset ${firstAfter[0]}`);
  check(sentAfter > 0 && sentAfter < big.size, `bytes sent after the reload: ${sentAfter} (file: ${big.size})`);
  check(bodyAfter < big.size, `request bodies after the reload: ${bodyAfter} bytes (file: ${big.size})`);
  const got2 = await downloadShared(browser, second.url, "big");
  result.steps.resume.download = got2;
  check(got2.sha256 === big.sha256, `the resumed file's sha256 ${got2.sha256} is not the upload's ${big.sha256}`);

  // Revoke the first link from the list, which asks first: dismissed, nothing happens;
  // accepted, the link says it is revoked and the share page stops working.
  const row2 = fileRow(page, first.fileId);
  const linksButton = row2.getByRole("button", { name: /^(Links|Hide links)$/ });
  if ((await linksButton.textContent()).trim() === "Links") await linksButton.click();
  const linkRow = row2.locator(".links .link").filter({ has: page.locator(`input[value="${first.url}"]`) });
  await linkRow.waitFor({ timeout: 15_000 });
  const asked = [];
  page.once("dialog", (d) => {
    asked.push(d.message());
    d.dismiss();
  });
  await linkRow.getByRole("button", { name: "Revoke" }).click();
  for (let i = 0; i < 50 && asked.length === 0; i += 1) await page.waitForTimeout(50);
  const afterDismiss = (await fetch(first.url, { method: "HEAD" })).status; // not a download
  page.once("dialog", (d) => {
    asked.push(d.message());
    d.accept();
  });
  await linkRow.getByRole("button", { name: "Revoke" }).click();
  await linkRow.and(page.locator('[data-state="revoked"]')).waitFor({ timeout: 15_000 }).catch(() => {});
  const shown = ((await linkRow.locator(".state").textContent().catch(() => "")) || "").trim();
  const after = await fetch(first.url, { headers: { Accept: "*/*" } });
  const page410 = await shareTitle(first.url);
  const unknown = await shareTitle(`${base}/s/${"A".repeat(32)}`);
  result.steps.revoke = { statusAfter: after.status, asked, afterDismiss, shown, pageTitle: page410.title, unknownTitle: unknown.title };
  check(asked.length === 2 && /revoke/i.test(asked[0]), `revoking did not ask first: ${JSON.stringify(asked)}`);
  check(afterDismiss !== 410, `a dismissed revoke revoked the link (${afterDismiss})`);
  check(shown === "Revoked", `a revoked link shows "${shown}", not Revoked`);
  check(after.status === 410, `a revoked link answers ${after.status}, not 410`);
  // share-page titles are titles, not raw server messages
  check(page410.title === "This link has been revoked · edgeshare", `a revoked link's page is titled ${JSON.stringify(page410.title)}`);
  check(unknown.status === 404 && unknown.title === "Link not found · edgeshare", `an unknown link's page is titled ${JSON.stringify(unknown.title)} (${unknown.status})`);

  await stallFlow(page);
  await cancelFlows(page);
  await linkFlows(page, choosers);
  await filesFlows(page);

  await shot(page, "flow-desktop");
  // Network errors while offline (and aborted requests at the reload) are expected here.
  // So are the 401 of a password check, the 405 of a service without PATCH (reported as a
  // failure where it matters) and the 404/410 of a cancelled upload looked for.
  const unexpected = errors.filter(
    (e) => !/ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED|ERR_ABORTED|ERR_CONNECTION|ERR_FAILED|status of (401|404|405|410)/.test(e),
  );
  result.consoleErrors.flow = unexpected;
  check(unexpected.length === 0, `console errors during the uploads: ${unexpected.join(" | ")}`);
  await context.close();
}

/** Picks a file in the page with its file input (the drop zone's picker). */
async function pick(page, file) {
  await page.locator("#file-input").setInputFiles(file);
}

/** A file of `bytes` random bytes, as Playwright hands one to an <input type=file>. */
function memoryFile(name, bytes, mimeType = "application/octet-stream") {
  const buffer = crypto.randomBytes(bytes);
  return { name, mimeType, buffer, sha256: crypto.createHash("sha256").update(buffer).digest("hex") };
}

// --- 12: the service unreachable while the browser is online --------------------------
async function stallFlow(page) {
  const cdp = await page.context().newCDPSession(page);
  await network(cdp, { upload: 4 * MiB });
  const file = memoryFile("stall-32MiB.bin", 32 * MiB);
  await pick(page, file);
  await recordStates(page, file.name);
  await waitProgress(page, file.name, 10);
  const item = uploadItem(page, file.name);
  // The service stops answering (connection refused), the browser still says it is online.
  let refused = 0;
  const cut = (route) => {
    refused += 1;
    return route.abort("connectionrefused");
  };
  await page.route("**/files/**", cut);
  const cutAt = Date.now();
  await item.and(page.locator('[data-state="waiting"]')).waitFor({ timeout: 30_000 }).catch(() => {});
  const shownAfter = Date.now() - cutAt;
  const during = {
    online: await page.evaluate(() => navigator.onLine),
    stats: (await item.locator(".stats").textContent()).trim(),
    notice: (await item.locator(".waiting").isVisible()) ? (await item.locator(".waiting").textContent()).trim() : null,
    errorShown: await item.locator(".error").isVisible(),
  };
  // The scenario, not a wait for something: the outage lasts longer than the ~20 s after which
  // the page used to give up and wait for a click.
  await page.waitForTimeout(22_000);
  const stillWaiting = await item.getAttribute("data-state");
  const statsLate = (await item.locator(".stats").textContent()).trim();
  await page.unroute("**/files/**", cut);
  const backAt = Date.now();
  // Nobody clicks: it goes on by itself.
  await item.and(page.locator('[data-state="uploading"]')).waitFor({ timeout: 30_000 }).catch(() => {});
  const movedAfter = Date.now() - backAt;
  // Then the service hangs instead (a host that drops packets): requests never answered. The
  // row waits, and the hung request is given up and the upload started again by itself.
  const hung = [];
  const hang = (route) => {
    hung.push({ route, at: Date.now(), method: route.request().method() });
  };
  await page.route("**/files/**", hang);
  const hangAt = Date.now();
  await item.and(page.locator('[data-state="waiting"]')).waitFor({ timeout: 30_000 }).catch(() => {});
  const hangShownAfter = Date.now() - hangAt;
  for (let i = 0; i < 600 && hung.length < 2; i += 1) await page.waitForTimeout(100);
  const restartedAfter = hung.length >= 2 ? hung[1].at - hangAt : null;
  const hangStats = (await item.locator(".stats").textContent()).trim();
  await page.unroute("**/files/**", hang);
  // what is still held goes through now, as a link that comes back would carry it
  for (const h of hung) h.route.continue().catch(() => {});
  await item.and(page.locator('[data-state="done"]')).waitFor({ timeout: TIMEOUT }).catch(() => {});
  await network(cdp, { upload: -1 });
  await cdp.detach();
  const states = await page.evaluate((n) => window.__states[n], file.name);
  const doneAfter = Date.now() - backAt;
  const final = await item.getAttribute("data-state");
  result.steps.stall = {
    shownAfterMs: shownAfter,
    during,
    refused,
    stillWaiting,
    statsLate,
    movedAfterMs: movedAfter,
    hang: { shownAfterMs: hangShownAfter, restartedAfterMs: restartedAfter, requests: hung.map((h) => h.method), stats: hangStats },
    states,
    final,
    doneAfterMs: doneAfter,
  };
  check(hangShownAfter < 8000 && /waiting for the service/i.test(hangStats), `a hung service was shown after ${hangShownAfter} ms: ${hangStats}`);
  check(restartedAfter !== null && restartedAfter < 45_000, `a hung request was not given up and the upload started again (${restartedAfter} ms, ${hung.length} requests)`);
  check(during.online, "the browser said it was offline: the outage was not the service's");
  check(shownAfter < 8000, `the stall was shown after ${shownAfter} ms`);
  check(/waiting for the service/i.test(during.stats) && !/\/s|left/.test(during.stats), `stalled, the row shows ${JSON.stringify(during.stats)}`);
  check(during.notice && !during.errorShown, `stalled, the row shows an error rather than a notice: ${JSON.stringify(during)}`);
  check(stillWaiting === "waiting" && !/\/s|left/.test(statsLate), `after 22 s without the service the row is ${stillWaiting}: ${statsLate}`);
  check(final === "done" && !states.includes("error") && !states.includes("paused"), `the upload did not go on by itself: ${final}, ${states}`);
  if (final === "done") {
    const link = await item.locator(".link-url").inputValue().catch(() => "");
    const got = link ? await downloadSharedBytes(link) : null;
    result.steps.stall.sha256Matches = got === file.sha256;
    check(got === file.sha256, `the file uploaded through the outage has sha256 ${got}, not ${file.sha256}`);
  }
}

/** The whole file behind a share link, from Node: its sha256. */
async function downloadSharedBytes(url) {
  const res = await fetch(url, { headers: { Accept: "*/*" } });
  return crypto.createHash("sha256").update(Buffer.from(await res.arrayBuffer())).digest("hex");
}

// --- 11: cancel a running upload, and an unfinished one listed after a reload ---------
async function cancelFlows(page) {
  const cdp = await page.context().newCDPSession(page);
  await network(cdp, { upload: 2 * MiB });
  const created = [];
  const deletes = [];
  const onResponse = async (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith("/files/")) return;
    if (r.request().method() === "POST" && r.status() === 201) created.push(new URL(await r.headerValue("location"), base).href);
    if (r.request().method() === "DELETE") deletes.push({ url: r.url(), status: r.status() });
  };
  page.on("response", onResponse);

  // A running upload: Cancel asks, then the row goes, the service forgets it, so does the browser.
  const running = memoryFile("cancel-running-12MiB.bin", 12 * MiB);
  await pick(page, running);
  await waitProgress(page, running.name, 5);
  const url1 = created[created.length - 1];
  const asked = [];
  page.once("dialog", (d) => {
    asked.push(d.message());
    d.accept();
  });
  await uploadItem(page, running.name).getByRole("button", { name: "Cancel" }).click();
  await uploadItem(page, running.name).waitFor({ state: "detached", timeout: 30_000 }).catch(() => {});
  const rowGone = (await uploadItem(page, running.name).count()) === 0;
  const head1 = await fetch(url1, { method: "HEAD", headers: { Authorization: authHeader, "Tus-Resumable": "1.0.0" } });
  const stored1 = await storedUploadUrls(page);
  result.steps.cancel = { running: { url: url1, asked, rowGone, deletes: deletes.slice(), headAfter: head1.status, fingerprintKept: stored1.includes(url1) } };
  check(asked.length === 1 && /cancel/i.test(asked[0]), `Cancel did not ask first: ${asked}`);
  check(rowGone, "the cancelled upload's row is still there");
  check(deletes.some((d) => d.url === url1 && d.status === 204), `no tus DELETE of ${url1}: ${JSON.stringify(deletes)}`);
  check(head1.status === 404 || head1.status === 410, `the cancelled upload answers HEAD ${head1.status}`);
  check(!stored1.includes(url1), "the cancelled upload's fingerprint is still stored");

  // An unfinished upload, paused and the page reloaded: listed, and cancelled from the list.
  const paused = memoryFile("cancel-listed-12MiB.bin", 12 * MiB);
  await pick(page, paused);
  await waitProgress(page, paused.name, 5);
  await uploadItem(page, paused.name).getByRole("button", { name: "Pause" }).click();
  await uploadItem(page, paused.name).and(page.locator('[data-state="paused"]')).waitFor({ timeout: 5000 });
  const url2 = created[created.length - 1];
  await page.reload();
  await page.locator("#app").waitFor({ state: "visible", timeout: 15_000 });
  const entry = page.locator(`#resumable-list li[data-upload-url="${url2}"]`);
  await entry.waitFor({ timeout: 10_000 }).catch(() => {});
  const listed = (await entry.count()) > 0;
  if (listed) {
    page.once("dialog", (d) => d.accept());
    await entry.getByRole("button", { name: "Cancel" }).click();
    await entry.waitFor({ state: "detached", timeout: 30_000 }).catch(() => {});
  }
  const head2 = await fetch(url2, { method: "HEAD", headers: { Authorization: authHeader, "Tus-Resumable": "1.0.0" } });
  const stored2 = await storedUploadUrls(page);
  result.steps.cancel.listed = {
    url: url2,
    listed,
    entryGone: (await entry.count()) === 0,
    headAfter: head2.status,
    fingerprintKept: stored2.includes(url2),
    noticeHidden: await page.locator("#resumable").isHidden(),
  };
  check(listed, "the paused upload is not listed under Unfinished uploads after a reload");
  check(result.steps.cancel.listed.entryGone, "the cancelled unfinished upload is still listed");
  check(head2.status === 404 || head2.status === 410, `the cancelled unfinished upload answers HEAD ${head2.status}`);
  check(!stored2.includes(url2), "the cancelled unfinished upload's fingerprint is still stored");
  page.off("response", onResponse);
  await network(cdp, { upload: -1 });
  await cdp.detach();
}

// --- 13 and 14: a link's own options, changed; its state; a new link's own options ----
async function linkFlows(page) {
  const file = memoryFile("links-64KiB.bin", 64 * 1024);
  await pick(page, file);
  const done = await waitUploaded(page, file.name);
  const link = done.item.locator(".result .link");
  const steps = (result.steps.links = { url: done.url });
  // Change: a limit of 1 and a password; the password field is emptied once sent.
  const patches = [];
  const onPatch = (r) => {
    if (r.request().method() === "PATCH") patches.push(r.status());
  };
  page.on("response", onPatch);
  await link.getByRole("button", { name: "Change" }).click();
  const form = link.locator("form.link-form");
  await form.waitFor({ timeout: 5000 });
  await form.getByLabel("Max downloads").fill("1");
  await form.getByLabel("Password protected").check();
  await form.locator('input[type="password"]').fill("e2e-link-secret");
  await form.getByRole("button", { name: "Save" }).click();
  await link.locator(".password", { hasText: "Password: yes" }).waitFor({ timeout: 15_000 }).catch(() => {});
  steps.changed = {
    patches: patches.slice(),
    meta: (await link.locator(".meta").textContent()).trim(),
    error: (await link.locator("p.error:visible").count()) ? (await link.locator("p.error:visible").first().textContent()).trim() : null,
    passwordLeft: await page.locator('input[type="password"]').evaluateAll((els) => els.map((e) => e.value).filter(Boolean)),
  };
  check(patches.includes(200), `changing the link: PATCH answered ${JSON.stringify(patches)} (${steps.changed.error})`);
  check(/0 of 1 downloads/.test(steps.changed.meta) && /Password: yes/.test(steps.changed.meta), `the changed link shows ${steps.changed.meta}`);
  check(steps.changed.passwordLeft.length === 0, "a password is left typed in the page after use");
  // What it serves now: the password asked, one download, then used up.
  steps.changed.serves = [
    await shareStatus(done.url),
    await shareStatus(done.url, { "X-Share-Password": "e2e-link-secret" }),
    await shareStatus(done.url, { "X-Share-Password": "e2e-link-secret" }),
  ];
  check(JSON.stringify(steps.changed.serves) === "[401,206,410]", `the changed link answers ${steps.changed.serves}, not 401, 206, 410`);
  // Its owner sees it used up, in the files list.
  const row = fileRow(page, done.fileId);
  await row.waitFor({ timeout: 15_000 });
  await row.getByRole("button", { name: "Links" }).click();
  const listed = row.locator(".links .link").first();
  await listed.waitFor({ timeout: 15_000 });
  steps.usedUp = { state: await listed.getAttribute("data-state"), label: (await listed.locator(".state").textContent()).trim() };
  check(steps.usedUp.state === "used_up" && steps.usedUp.label === "Used up", `a used-up link shows ${JSON.stringify(steps.usedUp)}`);
  // An expired one too (a link of 1 s, made from Node).
  const brief = await apiCall("POST", `/v1/files/${encodeURIComponent(done.fileId)}/links`, { expires_in: 1 });
  await new Promise((r) => setTimeout(r, 1500)); // the scenario: the link's second runs out
  await row.getByRole("button", { name: "Hide links" }).click();
  await row.getByRole("button", { name: "Links" }).click();
  const expired = row.locator(`.links .link[data-token="${brief.json && brief.json.token}"]`);
  await expired.waitFor({ timeout: 15_000 }).catch(() => {});
  steps.expired = (await expired.count())
    ? { state: await expired.getAttribute("data-state"), meta: (await expired.locator(".meta").textContent()).trim() }
    : null;
  check(steps.expired && steps.expired.state === "expired" && /Expired/.test(steps.expired.meta), `an expired link shows ${JSON.stringify(steps.expired)}`);
  // New link: its own options, which do not stick to the next one; the password emptied.
  await row.getByRole("button", { name: "New link" }).click();
  const newForm = row.locator(".link-new form");
  await newForm.waitFor({ timeout: 5000 });
  const defaults = {
    expires: await newForm.getByLabel("Expires").inputValue(),
    max: await newForm.getByLabel("Max downloads").inputValue(),
    protect: await newForm.getByLabel("Password protected").isChecked(),
  };
  await newForm.getByLabel("Expires").selectOption("3600");
  await newForm.getByLabel("Max downloads").fill("2");
  await newForm.getByLabel("Password protected").check();
  await newForm.locator('input[type="password"]').fill("another-secret");
  const before = await row.locator(".links .link").count();
  await newForm.getByRole("button", { name: "Create link" }).click();
  await row.locator(".links .link").nth(before).waitFor({ timeout: 15_000 }).catch(() => {});
  const made = row.locator(".links .link").nth(before);
  steps.newLink = {
    defaults,
    meta: (await made.count()) ? (await made.locator(".meta").textContent()).trim() : null,
    formClosed: await row.locator(".link-new").isHidden(),
    passwordLeft: await page.locator('input[type="password"]').evaluateAll((els) => els.map((e) => e.value).filter(Boolean)),
  };
  await row.getByRole("button", { name: "New link" }).click();
  const again = row.locator(".link-new form");
  await again.waitFor({ timeout: 5000 });
  steps.newLink.next = {
    expires: await again.getByLabel("Expires").inputValue(),
    max: await again.getByLabel("Max downloads").inputValue(),
    protect: await again.getByLabel("Password protected").isChecked(),
    password: await again.locator('input[type="password"]').inputValue(),
  };
  await again.getByRole("button", { name: "Cancel" }).click();
  check(JSON.stringify(defaults) === JSON.stringify({ expires: "86400", max: "", protect: false }), `a new link's form starts at ${JSON.stringify(defaults)}`);
  check(steps.newLink.meta && /0 of 2 downloads/.test(steps.newLink.meta) && /Password: yes/.test(steps.newLink.meta), `the new link shows ${steps.newLink.meta}`);
  check(steps.newLink.formClosed && steps.newLink.passwordLeft.length === 0, `after New link the form or its password stays: ${JSON.stringify(steps.newLink)}`);
  const n = steps.newLink.next;
  check(n.expires === "86400" && n.max === "" && !n.protect && n.password === "", `the next new link starts with the last one's options: ${JSON.stringify(n)}`);
  await checkLocalTimes(page, row.locator(".meta time"), "the files list");
  page.off("response", onPatch);
}

// --- 14: "Your files": filter, sort, pages, and the service's cursor --------------------
async function filesFlows(page) {
  const steps = (result.steps.files = {});
  // 23 files from Node: sortme-01 .. sortme-23, made in that order, the largest sortme-13.
  for (let i = 1; i <= 23; i += 1) {
    const size = (((i * 7) % 23) + 1) * 1000;
    await tusCreate(`sortme-${String(i).padStart(2, "0")}.bin`, crypto.randomBytes(size));
  }
  await page.locator("#refresh").click();
  await page.locator("#files-filter").fill("sortme-");
  await page.locator('#files li.file .name:text-is("sortme-23.bin")').waitFor({ timeout: 15_000 }).catch(() => {});
  const names = () => page.locator("#files li.file .name").allTextContents();
  const firstPage = await names();
  steps.filtered = { count: (await page.locator("#files-count").textContent()).trim(), shown: firstPage.length, first: firstPage[0] };
  check(firstPage.length === 20 && firstPage.every((n) => n.startsWith("sortme-")), `filtered, page 1 shows ${firstPage.length}: ${firstPage.slice(0, 3)}`);
  check(/^1–20 of 23 files matching$/.test(steps.filtered.count), `the pager says ${steps.filtered.count}`);
  check(firstPage[0] === "sortme-23.bin", `newest first, the first is ${firstPage[0]}`);
  await page.locator("#files-next").click();
  const second = await names();
  steps.filtered.page2 = second;
  check(second.length === 3, `page 2 shows ${second.length} files`);
  await page.locator("#files-prev").click();
  await page.locator("#files-sort").selectOption("name");
  steps.byName = (await names()).slice(0, 2);
  await page.locator("#files-sort").selectOption("size");
  steps.bySize = (await names()).slice(0, 2);
  check(steps.byName[0] === "sortme-01.bin" && steps.byName[1] === "sortme-02.bin", `by name: ${steps.byName}`);
  check(steps.bySize[0] === "sortme-13.bin", `largest first: ${steps.bySize}`);
  await page.locator("#files-filter").fill("sortme-07");
  steps.one = await names();
  check(steps.one.length === 1 && steps.one[0] === "sortme-07.bin", `filtering by sortme-07 shows ${steps.one}`);
  await page.locator("#files-filter").fill("no-such-file-anywhere");
  steps.none = await page.locator("#files-none").isVisible();
  check(steps.none, "a filter matching nothing says so");
  await page.locator("#files-filter").fill("");
  await page.locator("#files-sort").selectOption("newest");

  // The service's cursor: its listing cut in two (a page of 5, then the rest), as a tenant
  // with more files than one KV page sees it. The page asks for the next with ?cursor=.
  const real = await apiCall("GET", "/v1/files");
  const all = (real.json && real.json.files) || [];
  const asked = [];
  const split = async (route) => {
    const u = new URL(route.request().url());
    if (u.pathname !== "/v1/files") return route.fallback();
    asked.push(u.search);
    const c = u.searchParams.get("cursor");
    const body = c === "e2e-cursor" ? { files: all.slice(5), cursor: null } : { files: all.slice(0, 5), cursor: "e2e-cursor" };
    return route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(body) });
  };
  await page.route("**/v1/files*", split);
  await page.locator("#refresh").click();
  await page.locator("#files-count", { hasText: "of 5+" }).waitFor({ timeout: 10_000 }).catch(() => {});
  const countBefore = (await page.locator("#files-count").textContent()).trim();
  await page.locator("#files-next").click();
  await page.locator("#files-count", { hasText: `of ${all.length} files` }).waitFor({ timeout: 10_000 }).catch(() => {});
  const countAfter = (await page.locator("#files-count").textContent()).trim();
  await page.unroute("**/v1/files*", split);
  steps.cursor = { asked, countBefore, countAfter, total: all.length };
  check(asked.includes("?cursor=e2e-cursor"), `the next page was not asked with the cursor: ${asked}`);
  check(/^1–5 of 5\+ files$/.test(countBefore), `with more on the service the pager says ${countBefore}`);
  check(new RegExp(`of ${all.length} files$`).test(countAfter), `after the next page the pager says ${countAfter} (${all.length} files)`);
  await page.locator("#refresh").click();

  // Delete asks first, as revoke does.
  const victim = fileRow(page, (all.find((f) => f.name === "sortme-01.bin") || {}).id);
  await page.locator("#files-filter").fill("sortme-01");
  await victim.waitFor({ timeout: 10_000 });
  const asked2 = [];
  page.once("dialog", (d) => {
    asked2.push(d.message());
    d.dismiss();
  });
  await victim.getByRole("button", { name: "Delete" }).click();
  for (let i = 0; i < 50 && asked2.length === 0; i += 1) await page.waitForTimeout(50);
  const kept = (await victim.count()) === 1;
  page.once("dialog", (d) => {
    asked2.push(d.message());
    d.accept();
  });
  await victim.getByRole("button", { name: "Delete" }).click();
  await victim.waitFor({ state: "detached", timeout: 15_000 }).catch(() => {});
  steps.delete = { asked: asked2, keptOnDismiss: kept, gone: (await victim.count()) === 0 };
  check(asked2.length === 2 && kept && steps.delete.gone, `delete: ${JSON.stringify(steps.delete)}`);
  await page.locator("#files-filter").fill("");
}

// --- Vendor clients on another origin: Uppy, and Twake's web client's uploader ----------

/** Builds the client pages (tests/browser/clients) with esbuild and serves them from a
 *  second origin: a static server on another 127.0.0.1 port. */
async function serveClients() {
  const src = path.join(here, "clients");
  const dir = path.join(out, "clients");
  fs.mkdirSync(dir, { recursive: true });
  await build({
    entryPoints: [path.join(src, "uppy.js"), path.join(src, "twake.js")],
    outdir: dir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2020"],
    logLevel: "error",
  });
  for (const f of ["uppy.html", "twake.html"]) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css" };
  const server = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url, "http://x").pathname) || "index.html";
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** An HS256 JWT as Twake's backend issues an access token: sub, type "access", iat, nbf, exp. */
function twakeJwt(secret, userId) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: "HS256", typ: "JWT" });
  const body = b64({ sub: userId, type: "access", email: "e2e@example.com", iat: now - 60, nbf: now - 60, exp: now + 3600 });
  const sig = crypto.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** Console errors that name CORS: why a cross-origin client failed, if it did. */
function corsErrors(list) {
  return list.filter((e) => /CORS|Access-Control|preflight/i.test(e)).map((e) => e.slice(0, 300));
}

async function crossOrigin(browser) {
  const clients = await serveClients();
  result.steps.crossOrigin = { origin: clients.origin, service: base };
  try {
    await uppyFlow(browser, clients.origin);
    await twakeFlow(browser, clients.origin);
  } finally {
    await clients.close();
  }
}

async function uppyFlow(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  const tusRequests = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname.startsWith("/files/") && ["POST", "PATCH"].includes(r.method())) {
      tusRequests.push({ method: r.method(), requestId: r.headers()["x-request-id"] || null });
    }
  });
  const steps = (result.steps.uppy = {});
  try {
    const file = memoryFile("uppy-cross-origin-5MiB.bin", 5 * MiB + 12345);
    await page.goto(`${origin}/uppy.html?service=${encodeURIComponent(base)}&token=${encodeURIComponent(token)}`);
    await page.locator(".uppy-Dashboard").waitFor({ timeout: 15_000 });
    await page.locator("input.uppy-Dashboard-input:not([webkitdirectory])").first().setInputFiles(file);
    await page.locator(".uppy-StatusBar-actionBtn--upload").click({ timeout: 15_000 });
    await page.waitForFunction(() => window.__uppy && window.__uppy.done, null, { timeout: TIMEOUT }).catch(() => {});
    const r = await page.evaluate(() => window.__uppy);
    Object.assign(steps, r, { tusRequests: tusRequests.slice(0, 6), cors: corsErrors(errors), errors: errors.slice(0, 5) });
    await page.screenshot({ path: path.join(out, "uppy-cross-origin.png") });
    check(r.done && r.successful === 1, `Uppy from another origin: ${r.successful} uploaded, failed: ${JSON.stringify(r.failed)}; CORS: ${steps.cors.join(" | ")}`);
    check(tusRequests.length > 0 && tusRequests.every((t) => t.requestId), `Uppy's tus requests lack X-Request-ID: ${JSON.stringify(tusRequests)}`);
    check(r.status === 200 && r.sha256 === file.sha256, `Uppy's file read back from another origin: ${r.status}, sha256 ${r.sha256} (want ${file.sha256}) ${r.error || ""}`);
  } catch (e) {
    failures.push(`Uppy from another origin: ${e.message.split("\n")[0]}; CORS: ${corsErrors(errors).join(" | ")}`);
    steps.exception = e.message.split("\n")[0];
  } finally {
    await context.close();
  }
}

async function twakeFlow(browser, origin) {
  const steps = (result.steps.twake = {});
  if (!check(jwtSecret, "no --jwt-secret: Twake's uploader cannot be run")) return;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  const init = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (r.method() === "POST" && /\/companies\/[^/]+\/files$/.test(u.pathname)) {
      init.push({ query: u.search, contentType: r.headers()["content-type"], body: r.postData() });
    }
  });
  try {
    const company = crypto.randomUUID();
    const jwt = twakeJwt(jwtSecret, crypto.randomUUID());
    // five chunks of 1 MiB and the rest (resumable.js's cut), five in flight at once
    const file = memoryFile("twake cross-origin (e2e).bin", 5 * MiB + 54321);
    const q = new URLSearchParams({ api: base, jwt, company, chunk: String(MiB) });
    await page.goto(`${origin}/twake.html?${q}`);
    await page.locator("#file").setInputFiles(file);
    await page.waitForFunction(() => window.__twake && window.__twake.done, null, { timeout: TIMEOUT }).catch(() => {});
    const r = await page.evaluate(() => window.__twake);
    Object.assign(steps, {
      error: r.error || null,
      chunks: r.chunks,
      requests: (r.requests || []).slice(0, 4),
      resource: r.resource ? { id: r.resource.id, size: r.resource.upload_data && r.resource.upload_data.size, chunks: r.resource.upload_data && r.resource.upload_data.chunks, name: r.resource.metadata && r.resource.metadata.name } : null,
      downloadStatus: r.downloadStatus,
      sha256: r.sha256,
      init: init.slice(0, 1),
      cors: corsErrors(errors),
    });
    check(init.length > 0 && init[0].body === "{}" && /^text\/plain/.test(init[0].contentType || ""), `Twake's init POST is not '{}' as text/plain: ${JSON.stringify(init[0])}`);
    check(!r.error && r.resource, `Twake's uploader from another origin: ${r.error}; CORS: ${steps.cors.join(" | ")}`);
    check(r.chunks === 5 && steps.resource && steps.resource.chunks === 5 && steps.resource.size === file.buffer.length, `Twake's upload: ${r.chunks} chunks sent, the file says ${JSON.stringify(steps.resource)}`);
    check(r.downloadStatus === 200 && r.sha256 === file.sha256, `Twake's file read back from another origin: ${r.downloadStatus}, sha256 ${r.sha256} (want ${file.sha256})`);
  } catch (e) {
    failures.push(`Twake's uploader from another origin: ${e.message.split("\n")[0]}; CORS: ${corsErrors(errors).join(" | ")}`);
    steps.exception = e.message.split("\n")[0];
  } finally {
    await context.close();
  }
}

async function screenshots(browser) {
  const sizes = { phone: { width: 375, height: 812 }, desktop: { width: 1280, height: 800 } };
  for (const [label, viewport] of Object.entries(sizes)) {
    const mobile = label === "phone";
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1, isMobile: mobile, hasTouch: mobile });
    const page = await context.newPage();

    // Upload page: sign in (user and password when given), one small file dropped on the page.
    const upErrors = watch(page, `upload ${label}`);
    await page.goto(`${base}/`);
    await page.locator("#sign-in").waitFor({ state: "visible" });
    await noHorizontalScroll(page, `sign-in ${label}`);
    await shot(page, `signin-${label}`);
    if (user && password) {
      await signInBasic(page, user, password);
      await page.locator("#app").waitFor({ state: "visible", timeout: 15_000 });
    } else await signIn(page);
    // who is signed in stays in view, at phone width too
    const who = await page.locator("#who").evaluate((e) => {
      const r = e.getBoundingClientRect();
      return { text: e.textContent, visible: r.width > 0 && r.height > 0 && getComputedStyle(e).display !== "none", left: r.left, right: r.right };
    });
    result.steps[`who ${label}`] = who;
    check(who.visible && who.left >= 0 && who.right <= viewport.width && /signed in/i.test(who.text), `"Signed in as" at ${label} width: ${JSON.stringify(who)}`);
    const name = `dropped-${label}.txt`;
    await page.evaluate((n) => {
      const dt = new DataTransfer();
      dt.items.add(new File([`dropped on the ${n} page\n`.repeat(2000)], n, { type: "text/plain" }));
      for (const type of ["dragenter", "dragover", "drop"]) {
        document.getElementById("drop").dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }
    }, name);
    const done = await waitUploaded(page, name);
    const row = fileRow(page, done.fileId);
    await row.waitFor({ timeout: 15_000 });
    await row.getByRole("button", { name: "Links" }).click();
    await row.locator(".links .link-url").first().waitFor({ timeout: 15_000 });
    await page.locator("#drop").focus(); // a visible focus ring in the picture
    await noHorizontalScroll(page, `upload ${label}`);
    await shot(page, `upload-${label}`);
    check(upErrors.length === 0, `upload page at ${label} width: ${upErrors.join(" | ")}`);

    // Share page, in a context without credentials.
    const shareContext = await browser.newContext({ viewport, deviceScaleFactor: 1, isMobile: mobile, hasTouch: mobile });
    const share = await shareContext.newPage();
    const shareErrors = watch(share, `share ${label}`);
    const res = await share.goto(done.url);
    check(res && res.status() === 200, `share page at ${label} width answered ${res && res.status()}`);
    // its expiry: in words that need no zone, and the UTC time in a <time datetime>
    const expiry = await share.locator(".meta li", { hasText: "expires" }).first().evaluate((li) => ({
      text: li.textContent,
      datetime: li.querySelector("time") && li.querySelector("time").getAttribute("datetime"),
    })).catch(() => null);
    result.steps[`share expiry ${label}`] = expiry;
    check(expiry && /expires in \d+ (hours|minutes|days)/.test(expiry.text) && /UTC/.test(expiry.text) && expiry.datetime, `the share page's expiry: ${JSON.stringify(expiry)}`);
    await noHorizontalScroll(share, `share ${label}`);
    await shot(share, `share-${label}`);
    check(shareErrors.length === 0, `share page at ${label} width: ${shareErrors.join(" | ")}`);
    await shareContext.close();

    // API docs, opened on a tag (deep link).
    const docs = await context.newPage();
    const docErrors = watch(docs, `docs ${label}`);
    await docs.goto(`${base}/docs#/OpenTera`);
    await docs.locator(".swagger-ui .opblock-tag, .swagger-ui .errors-wrapper").first().waitFor({ timeout: 30_000 });
    const tags = await docs.locator(".swagger-ui .opblock-tag").count();
    const openTag = await docs.locator('.swagger-ui .opblock-tag[data-is-open="true"]').evaluateAll((els) => els.map((e) => e.dataset.tag));
    result.steps[`docs ${label}`] = { tags, open: openTag };
    check(tags > 0, `docs at ${label} width: no API tags rendered (is /openapi.json served?)`);
    check(openTag.length === 1 && openTag[0] === "OpenTera", `docs at ${label} width: /docs#/OpenTera opened ${JSON.stringify(openTag)}`);
    // One operation opened too: its rendering must not break the page's CSP either.
    const op = docs.locator(".swagger-ui .opblock-tag-section.is-open .opblock-summary").first();
    if (await op.count()) {
      await op.click();
      await docs.locator(".swagger-ui .opblock.is-open .opblock-body").first().waitFor({ timeout: 10_000 });
    }
    await noHorizontalScroll(docs, `docs ${label}`);
    await shot(docs, `docs-${label}`);
    check(docErrors.length === 0, `docs page at ${label} width: ${docErrors.join(" | ")}`);
    await context.close();
  }
}

main()
  .catch((e) => failures.push(`exception: ${e && e.stack ? e.stack.split("\n").slice(0, 4).join(" ") : e}`))
  .finally(() => {
    result.ok = failures.length === 0;
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(result.ok ? 0 : 1);
  });
