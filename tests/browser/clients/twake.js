// A page on another origin that uploads as Twake's web client does (twake/frontend:
// features/files/services/file-upload-service.ts, api/file-upload-api-client.ts and
// global/framework/requests-api-service.ts), with resumable.js (Twake vendors a copy of
// 23/resumable.js, the npm package `resumablejs`):
//   1. the file object: fetch POST {api}/internal/services/files/v1/companies/{cid}/files
//      ?filename={name, raw}&type={type}&total_size={size}, body '{}' (so text/plain),
//      Accept: application/json, Authorization: Bearer <JWT>, credentials same-origin;
//   2. its chunks: new Resumable({target: .../files/{id}, headers, chunkSize (Twake's
//      50,000,000; smaller here), testChunks: false, simultaneousUploads: 5,
//      maxChunkRetries: 2, query: {thumbnail_sync: 1}}), addFile, then upload on fileAdded;
//   3. fileSuccess: JSON.parse(message).resource; the bytes read back from its download URL
//      (Twake's client fetches it with its Authorization header).
// The outcome lands in window.__twake.
import Resumable from "resumablejs";

const params = new URLSearchParams(window.location.search);
const api = params.get("api"); // Globals.api_root_url: the service, another origin
const jwt = params.get("jwt");
const companyId = params.get("company");
const chunkSize = Number(params.get("chunk")) || 50000000;
const result = (window.__twake = { done: false, requests: [] });
const prefixUrl = "/internal/services/files/v1";
const authorization = () => `Bearer ${jwt}`;

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

function getRoute({ fileId, download } = {}) {
  return `${prefixUrl}/companies/${companyId}/files${fileId !== undefined ? `/${fileId}${download ? "/download" : ""}` : ""}`;
}

/** Requests.request as Twake's client makes it (after JWTStorage.authenticateCall). */
async function request(type, route, data) {
  const response = await fetch(new URL(route, api).toString(), {
    credentials: "same-origin",
    method: type,
    headers: {
      Accept: "application/json",
      ...(data ? { "Content-Type": "application/json" } : {}),
      Authorization: authorization(),
    },
    body: type === "post" ? data || "{}" : undefined,
  });
  result.requests.push(`${type} ${route.split("?")[0]} ${response.status}`);
  return response;
}

async function upload(file) {
  // FileUploadAPIClient.upload: the name and type raw in the query, as Twake writes it
  const route = `${getRoute()}?filename=${file.name}&type=${file.type}&total_size=${file.size}`;
  const created = await request("post", route, JSON.stringify(undefined));
  const resource = JSON.parse(await created.text()).resource;
  if (!resource) throw new Error("A server error occured");
  result.created = resource;
  const resumable = new Resumable({
    target: new URL(getRoute({ fileId: resource.id }), api).toString(),
    headers: { Authorization: authorization() },
    chunkSize,
    testChunks: false,
    simultaneousUploads: 5,
    maxChunkRetries: 2,
    query: { thumbnail_sync: 1 },
  });
  resumable.addFile(file);
  resumable.on("fileAdded", () => resumable.upload());
  result.chunks = 0;
  resumable.on("chunkingComplete", (f) => {
    result.chunks = f.chunks.length;
  });
  await new Promise((resolve, reject) => {
    resumable.on("fileSuccess", (_f, message) => {
      try {
        result.resource = JSON.parse(message).resource;
        resolve();
      } catch (e) {
        reject(e);
      }
    });
    resumable.on("fileError", (_f, message) => reject(new Error(`fileError: ${message}`)));
  });
  // FileUploadAPIClient.download: Api.get with the blob, Authorization included
  const res = await fetch(new URL(getRoute({ fileId: resource.id, download: true }), api).toString(), {
    credentials: "same-origin",
    method: "get",
    headers: { Accept: "application/json", Authorization: authorization() },
  });
  result.downloadStatus = res.status;
  result.sha256 = hex(await crypto.subtle.digest("SHA-256", await res.arrayBuffer()));
}

document.getElementById("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  upload(file)
    .catch((e) => {
      result.error = String(e && e.message ? e.message : e);
    })
    .finally(() => {
      result.done = true;
    });
});
