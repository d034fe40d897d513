// The upload page (/), the share page (/s/{token}) and the API docs (/docs) in a real browser:
// Debian's chromium driven by playwright-core (no browser is downloaded), for
// tests/e2e_browser.rs. Usage:
//   node tests/browser/upload.mjs --base http://127.0.0.1:8787 --out target/e2e-browser \
//     --token TOKEN [--user USER --password PASSWORD] [--chromium /usr/bin/chromium]
// (or EDGESHARE_BASE, BROWSER_OUT, EDGESHARE_TOKEN, EDGESHARE_USER, EDGESHARE_PASSWORD, CHROMIUM).
// It signs in (a wrong token first: refused), uploads a 20 MiB random file with the keyboard
// (the drop zone opens the picker) through a network drop, copies its share link, downloads it
// in a new browser context and compares sha256; uploads 64 MiB, reloads the page half way,
// checks the sign-in survives, picks the same file again and checks it resumes (bytes sent
// after the reload < the file size); lists the files and their links; screenshots each page at
// phone (375x812) and desktop (1280x800) widths into the output folder, with no console error
// and no horizontal scroll. Prints one JSON line {ok, failures, ...}; exits 1 on a failure.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const MiB = 1024 * 1024;
const args = parseArgs(process.argv.slice(2));
const base = (args.base || process.env.EDGESHARE_BASE || "http://127.0.0.1:8787").replace(/\/+$/, "");
const out = path.resolve(args.out || process.env.BROWSER_OUT || "target/e2e-browser");
const token = args.token || process.env.EDGESHARE_TOKEN || "";
const user = args.user || process.env.EDGESHARE_USER || "";
const password = args.password || process.env.EDGESHARE_PASSWORD || "";
const executablePath = args.chromium || process.env.CHROMIUM || "/usr/bin/chromium";
const smallMiB = Number(args["small-mib"] || 20);
const bigMiB = Number(args["big-mib"] || 64);
const TIMEOUT = Number(args.timeout || 120_000);

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
  const error = item.locator(".result .error");
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

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
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
  await network(cdp, { offline: true });
  // The scenario, not a wait for something: the network stays down for a while, as a real
  // drop does, so that the client's requests fail and it has to retry once it is back.
  await page.waitForTimeout(2500);
  await network(cdp, { upload: -1 });
  const sawProgress = [];
  const seen = setInterval(() => progressOf(page, small.name).then((v) => sawProgress.push(v)).catch(() => {}), 200);
  const first = await waitUploaded(page, small.name).finally(() => clearInterval(seen));
  result.steps.networkDrop = { at: dropAt, failedRequests: failedPatches.length, errors: failedPatches.slice(0, 3) };
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

  // Revoke the first link from the list: the share page stops working.
  page.once("dialog", (d) => d.accept());
  const row2 = fileRow(page, first.fileId);
  await row2.getByRole("button", { name: "Links" }).click();
  const linkRow = row2.locator(".links .link").filter({ has: page.locator(`input[value="${first.url}"]`) });
  await linkRow.getByRole("button", { name: "Revoke" }).click();
  await linkRow.waitFor({ state: "detached", timeout: 15_000 });
  const after = await fetch(first.url, { headers: { Accept: "*/*" } });
  result.steps.revoke = { statusAfter: after.status };
  check(after.status === 410, `a revoked link answers ${after.status}, not 410`);

  await shot(page, "flow-desktop");
  // Network errors while offline (and aborted requests at the reload) are expected here.
  const unexpected = errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED|ERR_ABORTED|ERR_CONNECTION/.test(e));
  result.consoleErrors.flow = unexpected;
  check(unexpected.length === 0, `console errors during the uploads: ${unexpected.join(" | ")}`);
  await context.close();
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
