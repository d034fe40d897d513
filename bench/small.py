#!/usr/bin/env python3
"""Small files at the platform's floor: edgeshare vs a raw JavaScript worker, one run.

Both workers run under the same wrangler/workerd, local R2 and KV. With 8 connections:
  - upload 1 KiB and 100 KiB files: NGCP `POST /uploads` (multipart form, as curl sends it)
    and tus creation-with-upload (`POST /files/` with the whole file), beside the raw
    worker's `env.BUCKET.put(key, request.body)`;
  - download each file once (uncached: NGCP `GET /uploads/{id}`, tus `GET /files/{id}`),
    beside the raw worker's `env.BUCKET.get(key)`;
  - download one NGCP file again and again (a cached repeat, from the Workers Cache API).
The raw worker also runs the same layouts as edgeshare (a put with one KV write; a get that
fills the Workers cache, and the cached repeat), printed under each row.
Prints requests per second side by side, then the billable operations per upload and per
download (R2 class A / class B, KV reads / writes, Durable Object requests), counted by
bench/count/shim.mjs around the built worker, on the request path and in all; and the workerd
memory growth over 2,000 small uploads and downloads of each worker. Needs `make build`.
"""
import argparse, base64, http.client, json, os, sys, threading, time, uuid

from common import (edgeshare_server, median, ops_of, paired_ratio, print_bundle, raw_server, report, require_build)

AUTH = "Basic " + base64.b64encode(b"bench:bench").decode()
BOUNDARY = "edgesharebench"


def form(data):
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def ngcp_upload(c, data):
    body = form(data)
    c.request("POST", "/uploads", body=body, headers={
        "Authorization": AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(body))})
    r = c.getresponse()
    out = r.read()
    assert r.status == 200, (r.status, out[:200])
    return "/uploads/" + json.loads(out)["id"]


def tus_upload(c, data):
    c.request("POST", "/files/", body=data, headers={
        "Authorization": AUTH, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Content-Type": "application/offset+octet-stream", "Content-Length": str(len(data))})
    r = c.getresponse()
    r.read()
    assert r.status == 201, r.status
    return "/" + r.getheader("Location").split("/", 3)[3]


def raw_upload(c, data, kv=False):
    key = "/" + uuid.uuid4().hex
    c.request("PUT", key + ("?kv=1" if kv else ""), body=data, headers={"Content-Length": str(len(data))})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    return key


def download(auth):
    def get(c, path):
        c.request("GET", path, headers={"Authorization": AUTH} if auth else {})
        r = c.getresponse()
        r.read()
        assert r.status == 200, (r.status, path)
    return get


def run(server, n, job, items=None, conns=8):
    """`job(conn, item)` for n items over `conns` connections; (req/s, results in order)."""
    items = list(items) if items is not None else [None] * n
    out = [None] * len(items)
    lock, nxt = threading.Lock(), [0]

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(items):
                return
            out[i] = job(c, items[i])
    threads = [threading.Thread(target=worker) for _ in range(conns)]
    t = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return len(items) / (time.monotonic() - t), out


def measure(edge, raw, size, n):
    data = os.urandom(size)
    up = lambda server, fn: run(server, n, lambda c, _: fn(c, data))
    rates = {}
    rates["raw put"], raw_keys = up(raw, raw_upload)
    rates["raw put+kv"], _ = up(raw, lambda c, d: raw_upload(c, d, kv=True))
    rates["ngcp up"], ngcp_paths = up(edge, ngcp_upload)
    rates["tus up"], tus_paths = up(edge, tus_upload)
    rates["raw get"], _ = run(raw, n, download(False), raw_keys)
    rates["raw get+cache"], _ = run(raw, n, download(False), [k + "?cache=1" for k in raw_keys])
    rates["ngcp get"], _ = run(edge, n, download(False), ngcp_paths)
    rates["tus get"], _ = run(edge, n, download(True), tus_paths)
    rates["raw get again"], _ = run(raw, n, download(False), [raw_keys[0]] * n)
    rates["raw cached again"], _ = run(raw, n, download(False), [raw_keys[0] + "?cache=1"] * n)
    rates["ngcp get cached"], _ = run(edge, n, download(False), [ngcp_paths[0]] * n)
    return rates


def counted_ops(n=20):
    """Billable operations per upload and per download, one request at a time."""
    counted = edgeshare_server(count_ops=True)
    try:
        per = lambda ops: {k: v / n for k, v in ops.items()}
        data = os.urandom(1024)
        c = http.client.HTTPConnection("127.0.0.1", counted.port, timeout=60)
        rows = {}
        paths = {}
        for label, fn in (("NGCP upload", ngcp_upload), ("tus upload", tus_upload)):
            got = []

            def uploads():
                for _ in range(n):
                    got.append(fn(c, data))
                    time.sleep(0.2)  # its writes after the answer, before the next request
            ops = ops_of(counted, uploads)
            rows[label], paths[label] = per(ops), got
        ops = ops_of(counted, lambda: [download(False)(c, p) for p in paths["NGCP upload"]])
        rows["NGCP download"] = per(ops)
        ops = ops_of(counted, lambda: [download(True)(c, p) for p in paths["tus upload"]])
        rows["tus download"] = per(ops)
        ops = ops_of(counted, lambda: [download(False)(c, paths["NGCP upload"][0]) for _ in range(n)])
        rows["NGCP download, cached"] = per(ops)
        return rows
    finally:
        counted.stop()


def rss_growth(n):
    """workerd RSS growth over n 1 KiB uploads and n downloads of each, each worker variant on a
    fresh server of its own: edgeshare's NGCP files (public downloads, which fill the Workers
    cache) and with the cache off (tus files, whose downloads are private: never cached), the
    raw worker with and without a cache fill. Separates what is ours from the local emulation
    of the Cache API."""
    data = os.urandom(1024)
    variants = (
        ("edgeshare", edgeshare_server, ngcp_upload, "", False),
        ("edgeshare, cache off", edgeshare_server, tus_upload, "", True),
        ("raw, cache fill", raw_server, raw_upload, "?cache=1", False),
        ("raw, no cache", raw_server, raw_upload, "", False),
    )
    out = {}
    for name, start, upload, suffix, auth in variants:
        server = start()
        try:
            run(server, 50, lambda c, _: upload(c, data))  # warm: the wasm compiled, the heaps grown
            before = server.rss()
            _, paths = run(server, n, lambda c, _: upload(c, data))
            run(server, n, download(auth), [p + suffix for p in paths])
            out[name] = (server.rss() - before) / (1 << 20)
        finally:
            server.stop()
    return out


# why the upload row falls short, as measured (README, "Benchmarks")
WHY_UPLOAD = ("a raw bare put is one R2 call; an NGCP upload also parses its form and makes two calls to its "
              "tenant's account (room reserved before the first byte, the file published before the answer)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400, help="requests per measurement")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rss-n", type=int, default=2000)
    args = ap.parse_args()
    require_build()
    edge = edgeshare_server()
    try:
        raw = raw_server()
    except BaseException:
        edge.stop()
        raise
    try:
        # warm both (compile the wasm, grow the heaps) before anything is measured
        measure(edge, raw, 1024, 50)
        results = {size: [measure(edge, raw, size, args.n) for _ in range(args.runs)] for size in (1024, 100 * 1024)}
    finally:
        edge.stop()
        raw.stop()
    rss = rss_growth(args.rss_n)
    ops = counted_ops()

    print(f"small files, {args.n} requests per measurement at 8 connections, median of {args.runs} runs "
          "(ratios: median of per-run ratios), same wrangler/workerd, local R2 and KV")
    print(f"{'req/s':36}{'edgeshare':>11}{'raw worker':>12}{'ratio':>8}{'target':>9}")
    rows = [("NGCP POST /uploads", "ngcp up", "raw put", 0.8), ("  vs raw put + 1 KV write", "ngcp up", "raw put+kv", None),
            ("tus creation-with-upload", "tus up", "raw put", 0.5),
            ("NGCP GET /uploads/{id}", "ngcp get", "raw get", 0.9),
            ("  vs raw get that fills the cache", "ngcp get", "raw get+cache", None),
            ("tus GET /files/{id} (private)", "tus get", "raw get", None),
            ("NGCP GET, cached repeat", "ngcp get cached", "raw get again", 1.0),
            ("  vs raw cached repeat", "ngcp get cached", "raw cached again", None)]
    for size, runs in results.items():
        for label, e, r, target in rows:
            ours, theirs = median([x[e] for x in runs]), median([x[r] for x in runs])
            ratio = paired_ratio([x[e] for x in runs], [x[r] for x in runs])
            tgt = f">={target}" if target else ""
            mark = "" if not target else (" met" if ratio >= target else " NOT met")
            print(f"{label + f', {size // 1024} KiB':36}{ours:11.0f}{theirs:12.0f}{ratio:8.2f}{tgt:>9}{mark}")
    print()
    print(f"{'billable operations per request':42}{'R2 A':>6}{'R2 B':>6}{'KV read':>9}{'KV write':>10}{'DO req':>8}")
    for label, o in ops.items():
        for scope, prefix in (("before the answer", "path:"), ("in all", "")):
            line = f"{(label if prefix else ''):24}{scope:>18}"
            for k, w in (("r2_a", 6), ("r2_b", 6), ("kv_read", 9), ("kv_write", 10), ("do_request", 8)):
                line += f"{o.get(prefix + k, 0):{w}.1f}"
            print(line)
    print("targets: an NGCP upload: its R2 put and at most 2 calls to its tenant's account (reserve, publish), no KV write; a download 1")
    print()
    print(f"workerd RSS growth over {args.rss_n} 1 KiB uploads and downloads, each on a fresh server:")
    for name, mib in rss.items():
        print(f"  {name:24}{mib:8.0f} MiB")
    ours, cold = rss["edgeshare"] - rss["raw, cache fill"], rss["edgeshare, cache off"] - rss["raw, no cache"]
    print(f"  edgeshare over the raw worker doing the same (cache fill): {ours:+.0f} MiB; both without the cache: "
          f"{cold:+.0f} MiB (target: within 64 MiB)")
    k1 = {label: (median([x[e] for x in results[1024]]), median([x[r] for x in results[1024]]),
                  paired_ratio([x[e] for x in results[1024]], [x[r] for x in results[1024]]))
          for label, e, r, _ in rows}
    report("1 KiB NGCP form upload, 8 connections", *k1["NGCP POST /uploads"][:1], "raw JS worker, bare put",
           *k1["NGCP POST /uploads"][1:], ">= 0.8", "req/s", WHY_UPLOAD)
    report("1 KiB NGCP download, first fetch (R2 read, cache filled)", k1["NGCP GET /uploads/{id}"][0],
           "raw JS worker, bare get", *k1["NGCP GET /uploads/{id}"][1:], ">= 0.9", "req/s",
           f"vs a raw worker that also fills the cache: {k1['  vs raw get that fills the cache'][2]:.2f}x")
    report("1 KiB NGCP download, cached repeat", k1["NGCP GET, cached repeat"][0], "raw JS worker, bare get",
           *k1["NGCP GET, cached repeat"][1:], ">= 1.0", "req/s",
           f"vs a raw worker answering from the cache too: {k1['  vs raw cached repeat'][2]:.2f}x")
    report(f"workerd RSS over {args.rss_n} small uploads + downloads", rss["edgeshare"], "raw JS worker, same work with a cache fill",
           rss["raw, cache fill"], None, "<= raw + 64 MiB", "MiB",
           f"over the raw worker: {ours:+.0f} MiB with the cache, {cold:+.0f} MiB both without it")
    print_bundle()


if __name__ == "__main__":
    main()
