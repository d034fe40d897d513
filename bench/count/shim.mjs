// Counts the billable operations of the worker it wraps, for the benchmarks: every call the
// worker (and its Durable Objects: Upload and Ledger, a tenant's account among them) make on
// R2, KV and the Durable Object namespaces, and every alarm an object serves. GET /__ops answers the counts since
// the last GET and resets them; `path:<kind>` counts only what requests did before their answer
// (measured with one request at a time). The worker itself is unchanged: this module imports its
// build (BUILD is replaced by bench/common.py) and hands it wrapped bindings.
import Inner, { Upload as InnerUpload, Ledger as InnerLedger } from "BUILD/index.js";
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

const ops = (globalThis.__edgeshareOps ??= {});
const count = (k) => (ops[k] = (ops[k] || 0) + 1);

// R2 pricing: class A (writes, lists, multipart), class B (reads, heads), free (deletes, aborts)
const R2 = { put: "r2_a", createMultipartUpload: "r2_a", uploadPart: "r2_a", complete: "r2_a", list: "r2_a",
  get: "r2_b", head: "r2_b", delete: "r2_free", abort: "r2_free" };
const KV = { get: "kv_read", getWithMetadata: "kv_read", list: "kv_list", put: "kv_write", delete: "kv_write" };

// A proxy that counts the methods of `table` and calls them on the real object (bindings check
// their `this`); objects returned by `wrapResults` methods are wrapped the same way. Everything
// else (the constructor, whose name worker-rs checks) is the real object's.
function counted(target, table, wrapResults = {}) {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (typeof v !== "function" || !(Object.hasOwn(table, prop) || Object.hasOwn(wrapResults, prop))) return v;
      return function (...args) {
        if (Object.hasOwn(table, prop)) count(table[prop]);
        const out = v.apply(t, args);
        const wrap = Object.hasOwn(wrapResults, prop) && wrapResults[prop];
        if (!wrap) return out;
        return out instanceof Promise ? out.then(wrap) : wrap(out);
      };
    },
  });
}

const multipart = (u) => counted(u, R2);
const stub = (s) => counted(s, { fetch: "do_request" });

function wrapEnv(env) {
  return new Proxy(env, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (prop === "FILES") return counted(v, R2, { createMultipartUpload: multipart, resumeMultipartUpload: multipart });
      if (prop === "RECORDS") return counted(v, KV);
      if (prop === "UPLOADS" || prop === "LEDGERS") return counted(v, {}, { get: stub, getByName: stub });
      return v;
    },
  });
}

export class Upload extends DurableObject {
  constructor(state, env) {
    super(state, env);
    this.inner = new InnerUpload(state, wrapEnv(env));
  }
  fetch(req) {
    return this.inner.fetch(req);
  }
  alarm() {
    count("do_alarm");
    return this.inner.alarm();
  }
}

// a tenant's account expires its files from its alarm, on R2 and KV
export class Ledger extends DurableObject {
  constructor(state, env) {
    super(state, env);
    this.inner = new InnerLedger(state, wrapEnv(env));
  }
  fetch(req) {
    return this.inner.fetch(req);
  }
  alarm() {
    count("do_alarm");
    return this.inner.alarm();
  }
}

export default class extends WorkerEntrypoint {
  async fetch(req) {
    if (new URL(req.url).pathname === "/__ops") {
      const out = { ...ops };
      for (const k of Object.keys(ops)) delete ops[k];
      return Response.json(out);
    }
    // what the request does before its answer, apart from what it leaves for after (waitUntil)
    const before = { ...ops };
    const resp = await new Inner(this.ctx, wrapEnv(this.env)).fetch(req);
    for (const [k, v] of Object.entries(ops)) {
      if (!k.startsWith("path:")) ops["path:" + k] = (ops["path:" + k] || 0) + v - (before[k] || 0);
    }
    return resp;
  }
}
