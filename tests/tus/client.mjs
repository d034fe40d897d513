// Drives the real tus-js-client against a running edgeshare, for tests/e2e_tus.rs.
// Usage: node client.mjs '<json>' with {endpoint, file, chunkSize (0 = one request),
//   auth, fingerprint, storage (FileUrlStorage path), resume (bool), abortAfter (bytes),
//   retry (bool), uploadUrl (resume this upload directly)}. Prints one JSON line:
//   {url, done, offset} or {error}.
import fs from "node:fs";
import * as tus from "tus-js-client";

const opts = JSON.parse(process.argv[2]);
const data = fs.readFileSync(opts.file);
const storage = new tus.FileUrlStorage(opts.storage);

function finish(result) {
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
}

let aborted = false;
const upload = new tus.Upload(data, {
  endpoint: opts.endpoint,
  chunkSize: opts.chunkSize > 0 ? opts.chunkSize : Infinity,
  headers: { Authorization: opts.auth },
  metadata: { filename: opts.name || "file.bin", filetype: "application/octet-stream" },
  uploadSize: data.length,
  fingerprint: async () => opts.fingerprint,
  urlStorage: storage,
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: false,
  retryDelays: opts.retry ? [200, 500, 1000, 2000, 2000, 2000] : [],
  uploadUrl: opts.uploadUrl || null,
  onProgress(sent) {
    if (opts.abortAfter && sent >= opts.abortAfter && !aborted) {
      aborted = true;
      upload.abort(false).then(() => finish({ url: upload.url, done: false, offset: sent }));
    }
  },
  onError(err) {
    finish({ error: String(err), url: upload.url });
  },
  onSuccess() {
    finish({ url: upload.url, done: true, offset: data.length });
  },
});

if (opts.resume) {
  const previous = await upload.findPreviousUploads();
  if (previous.length === 0) finish({ error: "no previous upload to resume" });
  upload.resumeFromPreviousUpload(previous[0]);
}
upload.start();
