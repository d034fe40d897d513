#!/usr/bin/env python3
"""What a small file's life costs on Cloudflare: edgeshare beside a raw worker, one run.

edgeshare runs under wrangler/workerd wrapped in bench/count/shim.mjs, which counts every
billable operation its worker and its Durable Objects make (R2 class A / class B, KV reads,
writes and lists, Durable Object requests and alarms). For N files of 1 KiB: an NGCP upload
with a TTL of a few seconds, one download, and the expiry done by the tenant's account alarm
(waited for). Per file, those counts; then what a million such files cost at Cloudflare's
published prices beside a raw worker's own life of a file (one R2 put, one get, one delete:
no index, no listing, no expiry of its own), and how many such files a day the Free plan's
daily limits allow. Needs `make build`.
"""
import argparse, base64, http.client, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import edgeshare_server, ops_of, require_build  # noqa: E402

AUTH = "Basic " + base64.b64encode(b"bench:bench").decode()
BOUNDARY = "edgesharecost"

# Published prices (USD), Workers Paid, beyond what the plan includes.
PRICE = {
    "request": 0.30 / 1e6,      # Workers requests
    "r2_a": 4.50 / 1e6,         # R2 class A
    "r2_b": 0.36 / 1e6,         # R2 class B
    "kv_read": 0.50 / 1e6,
    "kv_write": 5.00 / 1e6,     # writes and deletes
    "kv_list": 5.00 / 1e6,
    "do_request": 0.15 / 1e6,   # Durable Object requests (alarms are billed as requests)
}
# The Free plan's daily limits (R2's monthly free tier taken per day).
FREE_PER_DAY = {
    "request": 100_000,
    "kv_write": 1_000,
    "kv_list": 1_000,
    "kv_read": 100_000,
    "do_request": 100_000,
    "r2_a": 1_000_000 / 30,
    "r2_b": 10_000_000 / 30,
}


def form(data):
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def per_file(ops, n):
    return {k: v / n for k, v in ops.items() if not k.startswith("path:")}


def bill(counts):
    return sum(PRICE.get(k, 0) * v for k, v in counts.items()) * 1e6


def ceiling(counts):
    limits = [(FREE_PER_DAY[k] / v, k) for k, v in counts.items() if k in FREE_PER_DAY and v > 0]
    return min(limits) if limits else (float("inf"), "none")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--ttl", type=int, default=5)
    args = ap.parse_args()
    require_build()
    n = args.files
    srv = edgeshare_server(count_ops=True)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        ids = []

        def upload():
            for _ in range(n):
                body = form(os.urandom(1024))
                conn.request("POST", f"/uploads?ttl={args.ttl}", body=body, headers={
                    "Authorization": AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
                r = conn.getresponse()
                out = r.read()
                assert r.status == 200, (r.status, out[:200])
                ids.append(json.loads(out)["id"])

        def download():
            for i in ids:
                conn.request("GET", f"/uploads/{i}")
                r = conn.getresponse()
                r.read()
                assert r.status == 200, r.status

        def expire():
            # the account's alarm wakes at the first expiry and goes through what is due
            time.sleep(args.ttl + 15)

        up = per_file(ops_of(srv, upload), n)
        down = per_file(ops_of(srv, download), n)
        gone = per_file(ops_of(srv, expire), n)
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        for i in ids:  # outside the counted window: every file expired
            conn.request("GET", f"/uploads/{i}")
            r = conn.getresponse()
            r.read()
            assert r.status == 410, f"{i} answers {r.status}, not 410: not expired yet"
    finally:
        srv.stop()
    up["request"], down["request"] = 1, 1  # the shim counts what requests do, not requests
    life = {}
    for part in (up, down, gone):
        for k, v in part.items():
            life[k] = life.get(k, 0) + v
    raw = {"request": 2, "r2_a": 1, "r2_b": 1}

    keys = ["request", "r2_a", "r2_b", "kv_read", "kv_write", "kv_list", "do_request", "do_alarm"]
    names = {"request": "Worker requests", "r2_a": "R2 class A", "r2_b": "R2 class B", "kv_read": "KV reads",
             "kv_write": "KV writes + deletes", "kv_list": "KV lists", "do_request": "DO requests",
             "do_alarm": "DO alarms"}
    print(f"Life of a 1 KiB file (upload, one download, expiry), per file, {n} files, one run")
    print(f"{'operation':24}{'upload':>9}{'download':>10}{'expiry':>9}{'edgeshare':>11}{'raw worker':>12}")
    for k in keys:
        row = [up.get(k, 0), down.get(k, 0), gone.get(k, 0), life.get(k, 0), raw.get(k, 0)]
        print(f"{names[k]:24}" + "".join(f"{v:>{w}.2f}" for v, w in zip(row, (9, 10, 9, 11, 12))))
    billed = dict(life)
    billed["do_request"] = billed.get("do_request", 0) + billed.pop("do_alarm", 0)
    print()
    print(f"{'per million files (USD, Workers Paid prices)':48}{'edgeshare':>11}{'raw worker':>12}")
    print(f"{'':48}{bill(billed):>11.2f}{bill(raw):>12.2f}")
    files, by = ceiling(billed)
    raw_files, raw_by = ceiling(raw)
    print(f"{'Free plan ceiling, files a day (limited by)':48}{files:>11.0f}{raw_files:>12.0f}")
    print(f"{'':48}{by:>11}{raw_by:>12}")
    print("targets: KV writes + deletes <= 1 per file, DO requests <= 2, Free plan >= 1,000 files a day")


if __name__ == "__main__":
    main()
