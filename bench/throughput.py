#!/usr/bin/env python3
"""Upload/download throughput and workerd memory: edgeshare's NGCP upload vs a raw JavaScript worker.

Starts both workers with the same wrangler/workerd (`scripts/wrangler dev`, each on a free
127.0.0.1 port with a fresh state folder), sends the same file to each with curl, and prints
MiB/s and the peak RSS growth of the worker's workerd processes during the upload, side by
side. Needs `make build` first (`make bench` does it).

  edgeshare: POST /uploads (multipart form, as NGCP clients send it), GET /uploads/{id}
  raw put:   PUT /blob (env.BUCKET.put(key, request.body)), GET /blob (obj.body): the baseline
  raw 5 MiB multipart: the same worker cutting the body into 5 MiB R2 parts, i.e. the object
             layout edgeshare writes; shown because the local R2 emulator (miniflare) streams
             multipart objects through a JavaScript TransformStream, far slower than single puts.
"""
import argparse, json, os, subprocess, sys

from common import (MIB, RssPeak, report, both_servers, curl, edgeshare_server, median, ops_of, paired_ratio, print_bundle,
                    print_ops, random_file, remove_random_file, require_build)


def measure(server, upload_args, download_url_of):
    """Runs one upload while sampling RSS; returns (size, upload s, download s, rss growth MiB)."""
    with RssPeak(server) as rss:
        code, up_secs, _, body = curl(upload_args)
    if code != 200:
        sys.exit(f"{server.name}: upload answered {code}: {body[:200]!r}")
    url = download_url_of(body)
    code, down_secs, size, _ = curl(["-o", "/dev/null", url])
    if code != 200:
        sys.exit(f"{server.name}: download answered {code}")
    return size, up_secs, down_secs, rss.growth_mib


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=256, help="file size in MiB (default 256)")
    ap.add_argument("--runs", type=int, default=3, help="runs per worker; the median is printed")
    args = ap.parse_args()
    require_build()
    path = random_file(args.mib)
    size = args.mib * MIB
    edge, raw = both_servers()
    results = {"edgeshare": [], "raw": [], "raw_mp": []}
    upload = lambda server: ["-X", "POST", "--form", f"file=@{path}", "--user", "bench:bench", f"{server.base}/uploads"]
    try:
        for i in range(args.runs):
            # alternate, so that neither worker always runs on a warmer machine
            results["raw"].append(measure(
                raw, ["-X", "PUT", "--data-binary", f"@{path}", f"{raw.base}/blob{i}"],
                lambda body, i=i: f"{raw.base}/blob{i}"))
            results["raw_mp"].append(measure(
                raw, ["-X", "PUT", "--data-binary", f"@{path}", f"{raw.base}/mp{i}?part={5 * MIB}"],
                lambda body, i=i: f"{raw.base}/mp{i}"))
            results["edgeshare"].append(measure(
                edge, upload(edge), lambda body: f"{edge.base}/uploads/{json.loads(body)['id']}"))
        edge.stop()
        counted = edgeshare_server(count_ops=True)
        try:
            ops = ops_of(counted, lambda: curl(upload(counted)))
        finally:
            counted.stop()
    finally:
        edge.stop()
        raw.stop()
        remove_random_file(path)

    for name, runs in results.items():
        print(name, "runs (bytes, up s, down s, rss MiB):", [(round(a,2) if isinstance(a,float) else a) for r in runs for a in r[1:]], file=sys.stderr)

    rows = {}
    for name, runs in results.items():
        for s, up, down, _ in runs:
            assert s == size, f"{name} returned {s} bytes, sent {size}"
        rows[name] = (size / MIB / median([r[1] for r in runs]), size / MIB / median([r[2] for r in runs]),
                      median([r[3] for r in runs]))
    e, r, m = rows["edgeshare"], rows["raw"], rows["raw_mp"]
    E, R, M = results["edgeshare"], results["raw"], results["raw_mp"]
    # speed ratios per back-to-back pair of runs (seconds of theirs / seconds of ours)
    up_r, down_r = paired_ratio([x[1] for x in R], [x[1] for x in E]), paired_ratio([x[2] for x in R], [x[2] for x in E])
    up_m, down_m = paired_ratio([x[1] for x in M], [x[1] for x in E]), paired_ratio([x[2] for x in M], [x[2] for x in E])
    print(f"{args.mib} MiB file, median of {args.runs} runs (ratios: median of per-run ratios), same wrangler/workerd, local R2")
    print(f"{'':24}{'edgeshare':>11}{'raw put':>10}{'ratio':>7}{'raw 5MiB mp':>13}{'ratio':>7}")
    print(f"{'upload MiB/s':24}{e[0]:11.1f}{r[0]:10.1f}{up_r:7.2f}{m[0]:13.1f}{up_m:7.2f}")
    print(f"{'download MiB/s':24}{e[1]:11.1f}{r[1]:10.1f}{down_r:7.2f}{m[1]:13.1f}{down_m:7.2f}")
    print(f"{'upload RSS growth MiB':24}{e[2]:11.1f}{r[2]:10.1f}{e[2] - r[2]:+7.1f}{m[2]:13.1f}{e[2] - m[2]:+7.1f}")
    ok = up_r >= 0.9 and down_r >= 0.9 and e[2] - r[2] <= 32
    print("target vs raw put (>= 0.9x both ways, RSS growth within 32 MiB):", "met" if ok else "NOT met")
    ok_mp = up_m >= 0.9 and down_m >= 0.9 and e[2] - m[2] <= 32
    print("same target vs raw 5 MiB multipart (same object layout):", "met" if ok_mp else "NOT met")
    report(f"{args.mib} MiB NGCP upload", e[0], "raw JS worker, 5 MiB multipart parts", m[0], up_m, "keep (1.23)", "MiB/s")
    report(f"{args.mib} MiB NGCP download", e[1], "raw JS worker, get of the 5 MiB multipart object", m[1], down_m, "keep (0.98)", "MiB/s")
    print_ops([("NGCP POST /uploads", ops, {"r2_a": -(-size // (5 * MIB)) + 2, "kv_write": 1, "do_request": 0})])
    print_bundle()

if __name__ == "__main__":
    main()
