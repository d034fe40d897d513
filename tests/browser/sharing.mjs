// File requests and links of many files in a real browser (Debian's chromium, playwright-core)
// against a running worker:
//   node tests/browser/sharing.mjs --base http://127.0.0.1:8787 --token TOKEN [--out DIR]
// A file request made through the API (two files, 12 MiB at most, a label); its page at
// /r/{token} in a fresh context (no sign-in): who asked and what is left; two files sent with
// the keyboard (the drop button opens the picker), one of them through a reload half way
// (resumed: fewer bytes sent after the reload than the file holds); the list of what this
// browser sent; the request then used up, and its page says so; the files are the tenant's,
// with the label. A request with a password: its page asks for it (phone width), refuses a
// wrong one, then takes a file. A link to both files: its page lists them, each downloaded (sha256), and
// "Download all (zip)" reached with Tab and pressed with Enter saves one zip that unzip -t
// and Python's zipfile accept with both files' bytes. Screenshots of both pages at 375x812 and
// 1280x800 without horizontal scroll; no console error. Prints one JSON line {ok, failures,
// steps}; exits 1 on a failure.
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1]]] : [])));
const base = (args.base || "http://127.0.0.1:8787").replace(/\/+$/, "");
const token = args.token || "";
const out = path.resolve(args.out || "target/e2e-sharing");
fs.mkdirSync(out, { recursive: true });
const MiB = 1024 * 1024;
const failures = [];
const steps = {};
const check = (c, m) => {
  if (!c) failures.push(m);
  return c;
};
const sha = (buf) => crypto.createHash("sha256").update(buf).digest("hex");
function randomFile(name, bytes) {
  const p = path.join(out, name);
  fs.writeFileSync(p, crypto.randomBytes(bytes));
  return { path: p, name, size: bytes, sha256: sha(fs.readFileSync(p)) };
}
async function api(method, p, body) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const browser = await chromium.launch({
  executablePath: args.chromium || process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const errors = [];
const watch = (pg, label) => {
  pg.on("console", (m) => m.type() === "error" && errors.push(`${label}: ${m.text()}`));
  pg.on("pageerror", (e) => errors.push(`${label}: ${e.message}`));
  return pg;
};
async function shots(pg, name) {
  for (const [w, h, label] of [[375, 812, "phone"], [1280, 800, "desktop"]]) {
    await pg.setViewportSize({ width: w, height: h });
    await pg.waitForTimeout(150);
    const m = await pg.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    check(m.scroll <= m.width, `${name} ${label}: horizontal scroll ${JSON.stringify(m)}`);
    await pg.screenshot({ path: path.join(out, `${name}-${label}.png`), fullPage: true });
  }
}

try {
  const small = randomFile("Scan 1.pdf", 200 * 1024);
  const big = randomFile("Scan 2 (large).bin", 10 * MiB);
  const made = await api("POST", "/v1/requests", { max_files: 2, max_bytes: 12 * MiB, label: "Scans for the audit" });
  check(made.status === 201, `request: ${made.status}`);
  const rtoken = made.body.token;
  steps.request = { url: made.body.url };

  // the uploader: no sign-in, only the link
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const pg = watch(await ctx.newPage(), "request");
  await pg.goto(made.body.url);
  await pg.locator("#request-title").filter({ hasText: "Scans for the audit" }).waitFor();
  const who = await pg.locator("#request-who").textContent();
  check(/asks you for files/.test(who), `who asked: ${who}`);
  const limits = await pg.locator("#request-limits").textContent();
  check(/2 of 2 files left/.test(limits) && /12\.0 MiB|12 MiB/.test(limits), `limits: ${limits}`);
  check(await pg.locator("#sign-in").isHidden(), "the sign-in is hidden");
  await shots(pg, "request");

  // the first file with the keyboard: Tab to the drop button, Enter opens the picker
  await pg.locator("#request-drop").focus();
  let chooser = pg.waitForEvent("filechooser");
  await pg.keyboard.press("Enter");
  await (await chooser).setFiles(small.path);
  await pg.locator("#request-uploads li[data-state=done]").first().waitFor({ timeout: 60000 });

  // the second, slowed down, through a reload half way, then resumed by choosing it again
  const cdp = await ctx.newCDPSession(pg);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * MiB });
  let sentBefore = 0;
  chooser = pg.waitForEvent("filechooser");
  await pg.locator("#request-drop").click();
  await (await chooser).setFiles(big.path);
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const v = await pg.locator("#request-uploads li progress").first().getAttribute("value");
    if (Number(v) >= 30) break;
    await pg.waitForTimeout(200);
  }
  await pg.reload();
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }).catch(() => {});
  const patches = [];
  pg.on("request", (r) => {
    if (r.method() === "PATCH") patches.push(Number(r.headers()["upload-offset"] || 0));
  });
  await pg.locator("#request-drop").waitFor({ state: "visible" });
  chooser = pg.waitForEvent("filechooser");
  await pg.locator("#request-drop").click();
  await (await chooser).setFiles(big.path);
  await pg.locator("#request-uploads li[data-state=done]").first().waitFor({ timeout: 90000 });
  sentBefore = patches.length ? Math.min(...patches) : 0;
  steps.resume = { firstOffsetAfterReload: sentBefore, size: big.size };
  check(sentBefore > 0, `the upload started over after the reload: ${JSON.stringify(patches)}`);
  const sentNames = await pg.locator("#request-sent li .name").allTextContents();
  check(sentNames.includes(small.name) && sentNames.includes(big.name), `sent list: ${sentNames}`);
  await pg.locator("#request-state").filter({ hasText: "all the files" }).waitFor({ timeout: 10000 });
  check(await pg.locator("#request-drop").isHidden(), "a used-up request still offers its picker");
  await shots(pg, "request-done");
  await ctx.close();

  // the tenant's files, with the label
  const files = (await api("GET", "/v1/files")).body.files;
  const arrived = files.filter((f) => f.label === "Scans for the audit");
  check(arrived.length === 2, `files with the label: ${JSON.stringify(files)}`);
  const ids = [small, big].map((f) => arrived.find((a) => a.name === f.name)?.id);
  check(ids.every(Boolean), `both arrived: ${JSON.stringify(arrived)}`);

  // a request with a password: its page asks for it, refuses a wrong one, then shows the request
  const guarded = await api("POST", "/v1/requests", { password: "letmein", label: "Private drop" });
  check(guarded.status === 201, `passworded request: ${guarded.status}`);
  const gctx = await browser.newContext({ viewport: { width: 375, height: 812 } });
  const gp = watch(await gctx.newPage(), "request-password");
  await gp.goto(guarded.body.url);
  await gp.locator("#request-password").waitFor({ state: "visible" });
  check(await gp.locator("#request-drop").isHidden(), "the picker shows before the password");
  await gp.locator("#request-password-input").fill("wrong");
  await gp.keyboard.press("Enter");
  await gp.locator("#request-password .error").filter({ hasText: "not right" }).waitFor();
  await gp.locator("#request-password-input").fill("letmein");
  await gp.keyboard.press("Enter");
  await gp.locator("#request-title").filter({ hasText: "Private drop" }).waitFor();
  await gp.locator("#request-drop").waitFor({ state: "visible" });
  chooser = gp.waitForEvent("filechooser");
  await gp.locator("#request-drop").click();
  await (await chooser).setFiles(small.path);
  await gp.locator("#request-uploads li[data-state=done]").first().waitFor({ timeout: 60000 });
  steps.password = "asked, wrong refused, right accepted, file sent";
  await gctx.close();
  // the 401 and 403 the page saw are its own answers, not errors of the page
  for (let i = errors.length - 1; i >= 0; i -= 1) {
    if (/request-password: Failed to load resource: the server responded with a status of 40[13]/.test(errors[i])) errors.splice(i, 1);
  }

  // a link to both
  const link = await api("POST", "/v1/links", { file_ids: ids });
  check(link.status === 201, `link: ${link.status}`);
  const sctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const sp = watch(await sctx.newPage(), "share");
  await sp.goto(link.body.url);
  const names = await sp.locator("ul.files li .name").allTextContents();
  check(JSON.stringify(names) === JSON.stringify([small.name, big.name]), `listed: ${names}`);
  await shots(sp, "share-many");
  // one file
  let dl = sp.waitForEvent("download");
  await sp.locator("ul.files li").nth(0).locator("a.btn").click();
  const one = await (await dl).path();
  check(sha(fs.readFileSync(one)) === small.sha256, "the single file's sha256");
  // all of them: Tab to the button, Enter
  const all = sp.getByRole("link", { name: "Download all (zip)" });
  await sp.locator("ul.files li").nth(1).locator("a.btn").focus();
  await sp.keyboard.press("Tab");
  check(await all.evaluate((e) => e === document.activeElement), "Tab reaches Download all");
  dl = sp.waitForEvent("download");
  await sp.keyboard.press("Enter");
  const download = await dl;
  const zipPath = path.join(out, "all.zip");
  await download.saveAs(zipPath);
  steps.zip = { name: download.suggestedFilename(), size: fs.statSync(zipPath).size };
  execFileSync("unzip", ["-tq", zipPath]);
  const listed = JSON.parse(
    execFileSync("python3", ["-c", "import zipfile,hashlib,json,sys\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps([[i.filename, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))", zipPath]).toString(),
  );
  check(JSON.stringify(listed) === JSON.stringify([[small.name, small.sha256], [big.name, big.sha256]]), `zip: ${JSON.stringify(listed)}`);
  await sctx.close();
} catch (e) {
  failures.push(`stopped: ${e && e.stack ? e.stack : e}`);
}
await browser.close();
check(errors.length === 0, `console errors: ${errors.join(" | ")}`);
steps.errors = errors;
console.log(JSON.stringify({ ok: failures.length === 0, failures, steps }));
process.exit(failures.length === 0 ? 0 : 1);
