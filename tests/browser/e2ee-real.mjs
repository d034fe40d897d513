// The acceptance test of end-to-end encrypted shares, in a real browser (Debian's chromium,
// playwright-core) against a running worker (wrangler dev, or a deployment):
//   node tests/browser/e2ee-real.mjs --base http://127.0.0.1:8787 --token TOKEN [--out DIR] [--chromium PATH]
// The uploader signs in on the upload page with the token, ticks "Encrypt end to end" with the
// keyboard and uploads three files (1 KiB, 50 MB, and 60 MB reloaded half way then resumed by
// choosing it again: fewer bytes sent after the reload than the file), each getting its share
// link from the page (ending in #k=…). Then, each in a fresh browser context (no storage):
// the whole link shows the real name, and "Download and decrypt" (Tab and Enter for one)
// saves the file (sha256 of the download); the service holds only ciphertext (GET
// /s/{token}/files/0 is not the plaintext, does not contain the name; GET /s/{token} as JSON
// says encrypted.bin, application/octet-stream, and an e2ee string without the name; nor do
// the service's page and /v1/files); a ciphertext with one byte flipped (page.route) saves
// nothing and says the file was altered; the link without its fragment says the key is
// missing and offers no download; a wrong key says it does not open the file. Screenshots of
// an encrypted file's share page at 375x812 and 1280x800, no horizontal scroll, no console
// error on any page. Each download counts toward its link's limit (links default to none).
// A fourth file (300 KiB) behind a link that also has a password (PATCH /v1/links/{token}):
// the whole link shows the password form, a wrong one is refused inline (no navigation, the
// fragment kept, nothing saved), the right one shows the real name and "Download and
// decrypt" saves the file; the link without its fragment, after the right password, says
// the key is missing and saves nothing (not even the ciphertext): one download in all.
// Prints one JSON line {ok, failures, steps}; exits 1 on a failure.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import * as e2ee from "../../web/e2ee.js";

const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1]]] : [])));
const base = (args.base || process.env.EDGESHARE_BASE || "http://127.0.0.1:8787").replace(/\/+$/, "");
const token = args.token || process.env.EDGESHARE_TOKEN || "";
const out = path.resolve(args.out || "target/e2ee-real");
fs.mkdirSync(out, { recursive: true });
const MiB = 1024 * 1024;
const MB = 1000 * 1000;
const failures = [];
const check = (c, m) => {
  if (!c) failures.push(m);
  return c;
};
const steps = { timings: {} };
const t0 = Date.now();
let mark = t0;
const lap = (name) => {
  const now = Date.now();
  steps.timings[name] = `${((now - mark) / 1000).toFixed(1)} s`;
  mark = now;
};
const sha = (b) => crypto.createHash("sha256").update(b).digest("hex");
const shaFile = (p) => sha(fs.readFileSync(p));

function randomFile(name, bytes) {
  const p = path.join(out, name);
  fs.writeFileSync(p, crypto.randomBytes(bytes));
  return { path: p, name, size: bytes, sha: shaFile(p) };
}

// Names a service that saw them could not miss (non-ASCII included).
const files = [
  randomFile("Geheime Notiz über Käse.txt", 1024),
  randomFile("Bilanz 2026 vertraulich.pdf", 50 * MB),
  randomFile("Urlaubsvideo Mallorca.mp4", 60 * MB),
];
const [small, fifty, sixty] = files;
// behind a password too: not in `files` (its JSON, page and bytes need the password)
const guarded = randomFile("Mietvertrag Wohnung 3. OG – unterschrieben.pdf", 300 * 1024);
const PASSWORD = "open sesame";
lap("files");

const browser = await chromium.launch({
  executablePath: args.chromium || process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const errors = [];
function watch(pg, label) {
  pg.on("console", (m) => m.type() === "error" && errors.push(`${label}: ${m.text()}`));
  pg.on("pageerror", (e) => errors.push(`${label}: pageerror ${e.message}`));
  return pg;
}
/** A recipient: a fresh context (no storage, no cookies), one page. The Blob path of the
 *  share page (headless chromium has showSaveFilePicker, but nobody to answer its dialog). */
async function recipient(label, viewport = { width: 1280, height: 800 }) {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true });
  await ctx.addInitScript(() => {
    delete window.showSaveFilePicker;
  });
  const pg = watch(await ctx.newPage(), label);
  return { ctx, pg };
}
async function noScroll(pg, label) {
  const m = await pg.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  check(m.scroll <= m.width, `${label}: horizontal scroll ${JSON.stringify(m)}`);
  return m;
}
const tokenOf = (url) => decodeURIComponent(new URL(url).pathname.split("/")[2] || "");

// ---------------------------------------------------------------------------------------
// 1. The uploader: sign in, tick the box with the keyboard, three encrypted uploads

try {
  const upCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const up = watch(await upCtx.newPage(), "upload");
  await up.goto(base + "/");
  await up.locator("#token").fill(token);
  await up.locator("#sign-in-button").click();
  await up.locator("#app").waitFor({ state: "visible" });
  const box = up.locator("#e2ee-toggle");
  check(!(await box.isChecked()), "the box was ticked in a fresh browser");
  await up.locator("#upload-title").focus();
  await up.keyboard.press("Tab");
  const focusedBox = await up.evaluate(() => document.activeElement && document.activeElement.id);
  check(focusedBox === "e2ee-toggle", `Tab from the title reaches ${focusedBox}, not the box`);
  await up.keyboard.press("Space");
  check(await box.isChecked(), "Space did not tick the box");
  lap("signIn");

  const rowOf = (name) => up.locator("li.upload", { hasText: name });
  async function linkOf(f, timeout) {
    await rowOf(f.name).and(up.locator('[data-state="done"]')).waitFor({ timeout });
    await up.waitForFunction(
      (n) => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === n && li.querySelector("input.link-url")),
      f.name,
      { timeout: 30000 },
    );
    const row = rowOf(f.name);
    f.url = await row.locator("input.link-url").inputValue();
    f.fileId = await row.getAttribute("data-file-id");
    f.lock = await row.locator(".e2ee-badge").isVisible();
    check(f.lock, `${f.name}: its upload row shows no lock`);
    check(/\/s\/[^/#?]+#k=[A-Za-z0-9_-]{22}$/.test(f.url), `${f.name}: the link does not end in #k=…: ${f.url}`);
    f.token = tokenOf(f.url);
    f.bare = f.url.split("#")[0];
    return f.url;
  }

  for (const f of [small, fifty]) {
    await up.locator("#file-input").setInputFiles(f.path);
    await linkOf(f, 120000);
    lap(`upload ${f.size}`);
  }

  // 60 MB: slowed down, reloaded half way, resumed by choosing the same file again
  const cdp = await upCtx.newCDPSession(up);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 16 * MiB });
  await up.locator("#file-input").setInputFiles(sixty.path);
  await up.waitForFunction(
    (n) => [...document.querySelectorAll("li.upload")].some((li) => li.querySelector(".name").textContent === n && li.querySelector("progress").value >= 45),
    sixty.name,
    { timeout: 120000, polling: 50 },
  );
  const beforeReload = await up.evaluate((n) => {
    const li = [...document.querySelectorAll("li.upload")].find((x) => x.querySelector(".name").textContent === n);
    return li.querySelector("progress").value;
  }, sixty.name);
  await up.reload();
  await up.locator("#app").waitFor({ state: "visible" });
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const notice = (await up.locator("#resumable").textContent()).trim().replace(/\s+/g, " ");
  check(notice.includes(sixty.name), `after the reload the unfinished upload is not listed by its name: ${notice}`);
  const after = { patches: [], bodyBytes: 0, creations: 0 };
  up.on("request", (r) => {
    const p = new URL(r.url()).pathname;
    if (r.method() === "PATCH" && p.includes("/files/")) after.patches.push(Number(r.headers()["upload-offset"]));
    if (r.method() === "POST" && /\/files\/?$/.test(p)) after.creations += 1;
  });
  // the bytes of each PATCH, as sent (its Content-Length: playwright does not measure a Blob body)
  const measured = [];
  up.on("request", (r) => {
    if (r.method() !== "PATCH") return;
    measured.push(r.allHeaders().then((h) => {
      after.bodyBytes += Number(h["content-length"]) || 0;
    }).catch(() => {}));
  });
  await up.locator("#file-input").setInputFiles(sixty.path);
  await linkOf(sixty, 120000);
  await Promise.all(measured);
  const encSixty = e2ee.encryptedSize(sixty.size);
  steps.resume = { progressAtReload: beforeReload, firstPatchOffset: after.patches[0], patches: after.patches.length, bytesAfterReload: after.bodyBytes, fileSize: sixty.size, encryptedSize: encSixty, creations: after.creations, notice };
  check(after.creations === 0, `a new upload after the reload (${after.creations} creations)`);
  check(after.patches[0] > 0, `the first PATCH after the reload is at ${after.patches[0]}`);
  check(after.bodyBytes > 0 && after.bodyBytes < sixty.size, `bytes sent after the reload: ${after.bodyBytes} (file ${sixty.size})`);
  check(after.bodyBytes === encSixty - after.patches[0], `bytes sent after the reload ${after.bodyBytes}, not the rest from the first offset ${encSixty - after.patches[0]}`);
  check(encSixty - after.patches[0] < sixty.size, "resumed from the start");
  lap("upload 60 MB with a reload");

  // a fourth file, its link then given a password through the API
  await up.locator("#file-input").setInputFiles(guarded.path);
  await linkOf(guarded, 60000);
  {
    const res = await fetch(`${base}/v1/links/${encodeURIComponent(guarded.token)}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ password: PASSWORD }),
    });
    const body = await res.json().catch(() => ({}));
    check(res.status === 200 && body.has_password === true, `password on the link: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    const locked = await fetch(`${base}/s/${encodeURIComponent(guarded.token)}`, { headers: { Accept: "application/json" } });
    check(locked.status === 401, `the passworded link's JSON without the password: ${locked.status}`);
  }
  lap("upload 300 KiB, password");

  // the uploader's own view: each file under its real name with a lock, links with the key
  await up.locator("#refresh").click();
  for (const f of files) {
    const fileRow = up.locator(`li.file[data-file-id="${f.fileId}"]`);
    await fileRow.waitFor({ timeout: 20000 });
    const shown = await fileRow.locator(".name").textContent();
    check(shown === f.name, `Your files shows ${shown} for ${f.name}`);
  }
  steps.links = Object.fromEntries(files.map((f) => [f.name, f.url]));

  // ---------------------------------------------------------------------------------------
  // 3. What the service holds: ciphertext, named encrypted.bin, an e2ee string without the name

  const contains = (hay, needle) => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
  const nameForms = (n) => [n, encodeURIComponent(n), Buffer.from(n).toString("base64"), Buffer.from(n).toString("base64url")];
  steps.stored = {};
  for (const f of files) {
    const listRes = await fetch(`${base}/s/${encodeURIComponent(f.token)}`, { headers: { Accept: "application/json" } });
    const listText = await listRes.text();
    let list = null;
    try {
      list = JSON.parse(listText);
    } catch {
      list = null;
    }
    check(listRes.status === 200 && list && Array.isArray(list.files) && list.files.length === 1, `${f.name}: GET /s/{token} as JSON: ${listRes.status} ${listText.slice(0, 200)}`);
    const entry = (list && list.files && list.files[0]) || {};
    check(entry.name === "encrypted.bin", `${f.name}: listed as ${entry.name}`);
    check(entry.content_type === "application/octet-stream", `${f.name}: content_type ${entry.content_type}`);
    check(typeof entry.e2ee === "string" && entry.e2ee.startsWith("m1."), `${f.name}: e2ee ${JSON.stringify(entry.e2ee)}`);
    check(entry.size === e2ee.encryptedSize(f.size), `${f.name}: listed size ${entry.size}, not the ciphertext's ${e2ee.encryptedSize(f.size)}`);
    check(!nameForms(f.name).some((n) => listText.includes(n)), `${f.name}: the link's JSON contains the name`);
    check(!(typeof entry.e2ee === "string" && nameForms(f.name).some((n) => entry.e2ee.includes(n))), `${f.name}: the e2ee string contains the name`);
    const fileUrl = `${base}/s/${encodeURIComponent(f.token)}/files/0`;
    check(!entry.url || new URL(entry.url, base).pathname === new URL(fileUrl).pathname, `${f.name}: the file's url is ${entry.url}`);
    const res = await fetch(fileUrl);
    const cipher = Buffer.from(await res.arrayBuffer());
    const plain = fs.readFileSync(f.path);
    f.cipher = cipher;
    check(res.status === 200, `${f.name}: GET /s/{token}/files/0 answered ${res.status}`);
    check(cipher.length === e2ee.encryptedSize(f.size), `${f.name}: the stored bytes are ${cipher.length}, not the ciphertext's ${e2ee.encryptedSize(f.size)}`);
    check(sha(cipher) !== f.sha && !cipher.equals(plain), `${f.name}: the service holds the plaintext`);
    check(!contains(cipher, plain.subarray(0, 64)) && !contains(cipher, plain.subarray(plain.length - 64)), `${f.name}: the plaintext appears in what the service holds`);
    check(!nameForms(f.name).some((n) => contains(cipher, n)), `${f.name}: what the service holds contains the name`);
    // the service's own page of the link (as served, before any script) and its listing
    const html = await fetch(f.bare, { headers: { Accept: "text/html" } }).then((r) => r.text());
    check(!nameForms(f.name).some((n) => html.includes(n)), `${f.name}: the service's share page contains the name`);
    check(html.includes('src="/share.js"'), `${f.name}: the share page does not load /share.js`);
    // and it decrypts to the file, in Node, with the secret of the link
    const secret = e2ee.secretFromFragment(f.url.slice(f.url.indexOf("#")));
    if (f.size <= 1024 * 1024) check(sha(await e2ee.decrypt(new Uint8Array(cipher), secret)) === f.sha, `${f.name}: the ciphertext does not decrypt to the file`);
    steps.stored[f.name] = { name: entry.name, content_type: entry.content_type, size: entry.size, e2ee: typeof entry.e2ee === "string" ? `${entry.e2ee.slice(0, 24)}… (${entry.e2ee.length})` : entry.e2ee };
  }
  const listing = await fetch(`${base}/v1/files`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.text());
  for (const f of files) {
    check(!nameForms(f.name).some((n) => listing.includes(n)), `${f.name}: /v1/files contains the name`);
  }
  lap("service holds ciphertext");

  // ---------------------------------------------------------------------------------------
  // 2. The recipients: a fresh context each, the whole link, the real name, the download

  steps.downloads = {};
  for (const f of files) {
    const label = `recipient ${f.name}`;
    const { ctx, pg } = await recipient(label);
    await pg.goto(f.url);
    const button = pg.getByRole("button", { name: "Download and decrypt" });
    await button.waitFor({ timeout: 20000 });
    const h1 = (await pg.locator("h1").textContent()).trim();
    check(h1 === f.name, `${f.name}: the page shows ${h1}`);
    check((await pg.title()).startsWith(f.name), `${f.name}: the title is ${await pg.title()}`);
    check(await pg.locator("figure.qr").isHidden(), `${f.name}: the QR code of the bare link still shows`);
    if (f === fifty) {
      // 6. screenshots of an encrypted file's share page
      for (const [w, h, n] of [[375, 812, "phone"], [1280, 800, "desktop"]]) {
        await pg.setViewportSize({ width: w, height: h });
        await pg.waitForTimeout(150);
        await pg.screenshot({ path: path.join(out, `share-e2ee-${n}.png`), fullPage: true });
        steps[`scroll ${n}`] = await noScroll(pg, `share page ${n}`);
      }
    }
    const dlPromise = pg.waitForEvent("download", { timeout: 120000 });
    if (f === small) {
      // keyboard: Tab from the top of the page reaches the button, Enter starts it
      await pg.evaluate(() => document.activeElement && document.activeElement.blur());
      let tabs = 0;
      let on = false;
      while (tabs < 30 && !on) {
        await pg.keyboard.press("Tab");
        tabs += 1;
        on = await pg.evaluate(() => Boolean(document.activeElement && document.activeElement.matches("button.e2ee-download")));
      }
      steps.tabsToButton = tabs;
      check(on, "the Download and decrypt button is not reached with Tab");
      await pg.keyboard.press("Enter");
    } else {
      await button.click();
    }
    const dl = await dlPromise.catch((e) => {
      check(false, `${f.name}: no download (${e.message.split("\n")[0]})`);
      return null;
    });
    if (dl) {
      const p = await dl.path();
      const got = { name: dl.suggestedFilename(), size: fs.statSync(p).size, sha: shaFile(p) };
      steps.downloads[f.name] = { ...got, sha: got.sha.slice(0, 16) };
      check(got.sha === f.sha && got.size === f.size, `${f.name}: downloaded ${JSON.stringify(got)}, expected ${f.size} bytes ${f.sha}`);
      check(got.name === f.name, `${f.name}: saved as ${got.name}`);
    }
    const status = await pg.locator(".e2ee-status").textContent().catch(() => "");
    check(/Decrypted and verified/.test(status), `${f.name}: status ${status}`);
    await ctx.close();
    lap(`download ${f.size}`);
  }

  // ---------------------------------------------------------------------------------------
  // 4. One ciphertext byte flipped in the middle: refused, nothing saved

  {
    const f = fifty;
    const { ctx, pg } = await recipient("altered");
    const filePath = `/s/${encodeURIComponent(f.token)}/files/0`;
    let served = null;
    await pg.route((u) => u.pathname === filePath, async (route) => {
      const res = await fetch(base + filePath, { headers: { Accept: route.request().headers().accept || "*/*" } });
      const body = Buffer.from(await res.arrayBuffer());
      const at = Math.floor(body.length / 2);
      body[at] ^= 0x01;
      served = { status: res.status, bytes: body.length, flippedAt: at };
      await route.fulfill({ status: res.status, headers: { "content-type": "application/octet-stream", "content-length": String(body.length) }, body });
    });
    let saved = 0;
    pg.on("download", () => {
      saved += 1;
    });
    await pg.goto(f.url);
    await pg.getByRole("button", { name: "Download and decrypt" }).click();
    await pg.waitForFunction(() => document.querySelector(".e2ee-status.error"), null, { timeout: 120000 });
    const text = (await pg.locator(".e2ee-status").textContent()).trim();
    await pg.waitForTimeout(1000);
    steps.altered = { served, said: text, downloads: saved };
    check(served && served.status === 200, `altered: the ciphertext was not served through the route: ${JSON.stringify(served)}`);
    check(/altered/.test(text) && /nothing was saved/i.test(text), `altered: the page says ${text}`);
    check(saved === 0, `altered: ${saved} download(s) saved`);
    check(await pg.getByRole("button", { name: "Download and decrypt" }).isEnabled(), "altered: the button is left disabled");
    await pg.screenshot({ path: path.join(out, "share-e2ee-altered.png"), fullPage: true });
    await ctx.close();
    lap("altered");
  }

  // ---------------------------------------------------------------------------------------
  // 5. The link without its fragment, and with another key

  {
    const f = sixty;
    const { ctx, pg } = await recipient("no key");
    await pg.goto(f.bare);
    await pg.locator("#e2ee .e2ee-missing").waitFor({ timeout: 20000 });
    const text = (await pg.locator("#e2ee").textContent()).trim();
    steps.noKey = text;
    check(/part after # is missing/.test(text), `no key: the page says ${text}`);
    await pg.waitForTimeout(300);
    check((await pg.getByRole("button", { name: "Download and decrypt" }).count()) === 0, "no key: a Download and decrypt button");
    const offered = await pg.evaluate(() => [...document.querySelectorAll("main a[href], main form[action], main button")].filter((n) => n.offsetParent !== null).map((n) => n.outerHTML.slice(0, 120)));
    check(offered.length === 0, `no key: the page offers ${offered.join(" | ")}`);
    check(!(await pg.locator("h1").textContent()).includes(f.name), "no key: the page shows the name");
    await noScroll(pg, "no key");
    await pg.screenshot({ path: path.join(out, "share-e2ee-nokey.png"), fullPage: true });
    await ctx.close();
  }
  {
    const f = small;
    const { ctx, pg } = await recipient("wrong key");
    await pg.goto(f.bare + e2ee.secretToFragment(e2ee.newSecret()));
    await pg.getByText("This link's key does not open this file.").waitFor({ timeout: 20000 });
    steps.wrongKey = (await pg.locator("#e2ee").textContent()).trim();
    check(!/decrypted/i.test(steps.wrongKey), `wrong key: the page claims the file was decrypted: ${steps.wrongKey}`);
    check((await pg.getByRole("button", { name: "Download and decrypt" }).count()) === 0, "wrong key: a Download and decrypt button");
    check(!(await pg.locator("h1").textContent()).includes(f.name), "wrong key: the page shows the name");
    await noScroll(pg, "wrong key");
    await ctx.close();
  }
  lap("no key, wrong key");

  // ---------------------------------------------------------------------------------------
  // 7. A link with a password on top of its key

  {
    const f = guarded;
    const seen = { downloads: 0, navigations: 0 };
    const { ctx, pg } = await recipient("password");
    pg.on("download", () => {
      seen.downloads += 1;
    });
    await pg.goto(f.url);
    const form = pg.locator("#password-form");
    await form.waitFor({ timeout: 20000 });
    check((await pg.locator("h1").textContent()).trim() === "This link is protected", "password: the form's title");
    pg.on("framenavigated", (fr) => {
      if (fr === pg.mainFrame()) seen.navigations += 1;
    });
    // a wrong password: said in the form, the page (and its fragment) stays
    await pg.locator("#password").fill("open sesam");
    await form.getByRole("button").click();
    const inline = form.locator("p.error[role=alert]");
    await inline.filter({ hasText: /\S/ }).waitFor({ timeout: 20000 });
    const wrongSaid = (await inline.textContent()).trim();
    await pg.waitForTimeout(300);
    check(/wrong password/i.test(wrongSaid), `password: a wrong one says ${wrongSaid}`);
    check(pg.url() === f.url, `password: after a wrong one the page is at ${pg.url()}`);
    check(seen.navigations === 0 && seen.downloads === 0, `password: a wrong one navigated or saved ${JSON.stringify(seen)}`);
    check(await form.isVisible(), "password: the form is gone after a wrong password");
    // the right one: the real name, and the file decrypted
    await pg.locator("#password").fill(PASSWORD);
    await form.getByRole("button").click();
    const button = pg.getByRole("button", { name: "Download and decrypt" });
    await button.waitFor({ timeout: 20000 });
    const h1 = (await pg.locator("h1").textContent()).trim();
    check(h1 === f.name, `password: the page shows ${h1}`);
    check((await pg.title()).startsWith(f.name), `password: the title is ${await pg.title()}`);
    check(pg.url() === f.url && seen.navigations === 0, `password: the right one navigated (${seen.navigations}) to ${pg.url()}`);
    const dlPromise = pg.waitForEvent("download", { timeout: 60000 });
    await button.click();
    const dl = await dlPromise.catch((e) => {
      check(false, `password: no download (${e.message.split("\n")[0]})`);
      return null;
    });
    let got = null;
    if (dl) {
      const p = await dl.path();
      got = { name: dl.suggestedFilename(), size: fs.statSync(p).size, sha: shaFile(p) };
      check(got.sha === f.sha && got.size === f.size, `password: downloaded ${JSON.stringify(got)}, expected ${f.size} bytes ${f.sha}`);
      check(got.name === f.name, `password: saved as ${got.name}`);
    }
    const status = await pg.locator(".e2ee-status").textContent().catch(() => "");
    check(/Decrypted and verified/.test(status), `password: status ${status}`);
    await noScroll(pg, "password");
    await pg.screenshot({ path: path.join(out, "share-e2ee-password.png"), fullPage: true });
    await ctx.close();
    steps.password = { wrong: wrongSaid, shown: h1, download: got && { ...got, sha: got.sha.slice(0, 16) }, downloads: seen.downloads, navigations: seen.navigations };
  }
  {
    // the same link without its fragment: the right password, then "the key is missing"
    const f = guarded;
    const seen = { downloads: 0, navigations: 0 };
    const { ctx, pg } = await recipient("password no key");
    pg.on("download", () => {
      seen.downloads += 1;
    });
    await pg.goto(f.bare);
    const form = pg.locator("#password-form");
    await form.waitFor({ timeout: 20000 });
    pg.on("framenavigated", (fr) => {
      if (fr === pg.mainFrame()) seen.navigations += 1;
    });
    await pg.locator("#password").fill(PASSWORD);
    await form.getByRole("button").click();
    await pg.locator("#e2ee .e2ee-missing").waitFor({ timeout: 20000 });
    const text = (await pg.locator("#e2ee").textContent()).trim();
    await pg.waitForTimeout(500);
    check(/part after # is missing/.test(text), `password no key: the page says ${text}`);
    check(seen.downloads === 0, `password no key: ${seen.downloads} download(s) saved`);
    check((await pg.getByRole("button", { name: "Download and decrypt" }).count()) === 0, "password no key: a Download and decrypt button");
    const offered = await pg.evaluate(() => [...document.querySelectorAll("main a[href], main form[action], main button")].filter((n) => n.offsetParent !== null).map((n) => n.outerHTML.slice(0, 120)));
    check(offered.length === 0, `password no key: the page offers ${offered.join(" | ")}`);
    const h1 = (await pg.locator("h1").textContent()).trim();
    check(!h1.includes(f.name), "password no key: the page shows the name");
    await noScroll(pg, "password no key");
    await pg.screenshot({ path: path.join(out, "share-e2ee-password-nokey.png"), fullPage: true });
    steps.passwordNoKey = { said: text, title: h1, url: pg.url(), downloads: seen.downloads, navigations: seen.navigations };
    await ctx.close();
  }
  {
    // what the link counted: the one decrypted download (not a ciphertext one without the key)
    const res = await fetch(`${base}/v1/links/${encodeURIComponent(guarded.token)}`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: "{}",
    });
    const link = await res.json().catch(() => ({}));
    steps.password.linkDownloads = link.downloads;
    check(res.status === 200 && link.downloads === 1, `password: the link counted ${res.status} ${link.downloads} download(s), not 1`);
  }
  // the 401 of the password page and the 403 of the wrong password are the service's answers,
  // not errors of the page
  steps.password.expectedConsole = errors.filter((e) => /^password( no key)?: Failed to load resource: the server responded with a status of 40[13]/.test(e));
  for (let i = errors.length - 1; i >= 0; i -= 1) {
    if (/^password( no key)?: Failed to load resource: the server responded with a status of 40[13]/.test(errors[i])) errors.splice(i, 1);
  }
  lap("password");

} catch (e) {
  // a step that could not go on (a timeout, an element never shown): the rest is not run
  check(false, `stopped: ${String((e && e.message) || e).split("\n")[0]}`);
}

// ---------------------------------------------------------------------------------------
// 6. No console error on any page

steps.errors = errors;
check(errors.length === 0, `console: ${errors.join(" | ")}`);
await browser.close();
steps.timings.total = `${((Date.now() - t0) / 1000).toFixed(1)} s`;
for (const f of [...files, guarded]) fs.rmSync(f.path, { force: true });
console.log(JSON.stringify({ ok: failures.length === 0, failures, steps }));
process.exit(failures.length ? 1 : 0);
