// Reads `body` into parts of exactly `size` bytes (the last one shorter), numbered from
// `first`, each uploaded as it fills; an empty body makes one empty part when `always`.
// Answers the parts, their total length as `.size`.
async function cutParts(body, upload, size, first, always) {
  const reader = body.getReader();
  const parts = [];
  let buf = new Uint8Array(size);
  let fill = 0;
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let off = 0;
    while (off < value.length) {
      const take = Math.min(size - fill, value.length - off);
      buf.set(value.subarray(off, off + take), fill);
      fill += take;
      off += take;
      total += take;
      if (fill === size) {
        parts.push(await upload.uploadPart(first + parts.length, buf));
        buf = new Uint8Array(size);
        fill = 0;
      }
    }
  }
  if (fill > 0 || (always && parts.length === 0)) parts.push(await upload.uploadPart(first + parts.length, buf.subarray(0, fill)));
  parts.size = total;
  return parts;
}

// The baseline: a plain JavaScript worker that streams a request body into R2 and back,
// with nothing in between. bench/throughput.py runs it beside edgeshare in the same workerd build.
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const key = url.pathname.slice(1) || "blob";
    if (url.pathname === "/healthz") return new Response("ok");
    if (request.method === "DELETE") {
      await env.BUCKET.delete(key);
      return new Response(null, { status: 204 });
    }
    if (url.pathname.startsWith("/mpu/")) {
      // one R2 multipart upload driven by the client, one request per part (as in the R2 docs)
      const action = url.searchParams.get("action");
      if (action === "create") {
        const upload = await env.BUCKET.createMultipartUpload(key);
        return Response.json({ uploadId: upload.uploadId });
      }
      const upload = env.BUCKET.resumeMultipartUpload(key, url.searchParams.get("uploadId"));
      if (action === "complete") {
        const object = await upload.complete(await request.json());
        return Response.json({ key, size: object.size });
      }
      if (action === "chunk") {
        // a piece of the file cut into parts of `part` bytes numbered from `first` (the
        // layout of edgeshare's direct Twake chunks): parts upload as they fill
        const parts = await cutParts(request.body, upload, Number(url.searchParams.get("part")),
          Number(url.searchParams.get("first")), false);
        return Response.json(parts);
      }
      const part = await upload.uploadPart(Number(url.searchParams.get("partNumber")), request.body);
      return Response.json(part);
    }
    if (request.method === "PUT" || request.method === "POST") {
      const partSize = Number(url.searchParams.get("part") || 0);
      if (!partSize) {
        // single streaming put (and, with ?kv=1, one KV write beside it: the layout of a
        // small edgeshare upload, the object and one record)
        const obj = await env.BUCKET.put(key, request.body);
        if (url.searchParams.get("kv")) await env.KV.put("rec:" + key, JSON.stringify({ key, size: obj.size }));
        return Response.json({ key, size: obj.size });
      }
      // R2 multipart upload with parts of exactly `partSize` bytes, read from the body stream
      const upload = await env.BUCKET.createMultipartUpload(key);
      const parts = await cutParts(request.body, upload, partSize, 1, true);
      const size = parts.size;
      await upload.complete(parts);
      return Response.json({ key, size });
    }
    if (url.searchParams.get("cache")) {
      // what a public download does: the location's cache first, R2 on a miss, then cache it
      const hit = await caches.default.match(request);
      if (hit) return hit;
      const obj = await env.BUCKET.get(key);
      if (!obj) return new Response("not found", { status: 404 });
      const resp = new Response(obj.body, {
        headers: { "content-length": String(obj.size), "cache-control": "public, max-age=3600" },
      });
      ctx.waitUntil(caches.default.put(request, resp.clone()));
      return resp;
    }
    const obj = await env.BUCKET.get(key);
    if (!obj) return new Response("not found", { status: 404 });
    return new Response(obj.body, { headers: { "content-length": String(obj.size) } });
  },
};
