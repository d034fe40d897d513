// A page on another origin that uploads with Uppy (@uppy/core, @uppy/dashboard, @uppy/tus) as
// an integrator would: the Dashboard inline, tus to the service's /files/ with a Bearer token
// and addRequestId. Bundled by tests/browser/upload.mjs with esbuild; driven by Playwright,
// which picks a file in the Dashboard and presses its Upload button. The outcome lands in
// window.__uppy: {done, successful, failed, uploadURL, error, sha256 of the bytes read back}.
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import Tus from "@uppy/tus";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";

const params = new URLSearchParams(window.location.search);
const service = params.get("service");
const token = params.get("token");
const result = (window.__uppy = { done: false, events: [] });

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

const uppy = new Uppy({ autoProceed: false, debug: false })
  .use(Dashboard, { inline: true, target: "#uppy", proudlyDisplayPoweredByUppy: false, height: 360 })
  .use(Tus, {
    endpoint: `${service}/files/`,
    headers: { Authorization: `Bearer ${token}` },
    addRequestId: true,
    chunkSize: 2 * 1024 * 1024,
    retryDelays: [0, 1000, 3000],
  });

uppy.on("upload-error", (file, error) => result.events.push(`upload-error: ${error && error.message}`));
uppy.on("complete", async (r) => {
  result.successful = r.successful.length;
  result.failed = r.failed.map((f) => String(f.error));
  const file = r.successful[0];
  result.uploadURL = file ? file.uploadURL : null;
  if (file) {
    // the bytes back, as the integrator's page would read them: same token, from this origin
    try {
      const res = await fetch(file.uploadURL, { headers: { Authorization: `Bearer ${token}` } });
      result.status = res.status;
      result.sha256 = hex(await crypto.subtle.digest("SHA-256", await res.arrayBuffer()));
    } catch (e) {
      result.error = `reading back: ${e.message}`;
    }
  }
  result.done = true;
});
window.__uppyInstance = uppy;
