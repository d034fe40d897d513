#!/usr/bin/env python3
"""Twake chunked upload throughput: a 64 MiB file in 13 chunks (resumable.js's cut: 12 of
floor(size / 13) bytes, the rest to the last), sent 1 at a time and 5 in parallel, beside
edgeshare's tus upload in 8 MiB PATCHes and the raw JavaScript worker's 8 MiB-part multipart
upload of the same file, in the same run (same wrangler/workerd, local R2). The Twake time runs
from the init to the last chunk's answer, which includes assembling the staged chunks into one
object. Prints MiB/s, median of --runs. Needs `make build`.
"""
import argparse, base64, hashlib, hmac, json, os, sys, threading, time

from common import MIB, both_servers, edgeshare_server, median, paired_ratio, random_file, remove_random_file, require_build
from tus import conn, raw_multipart, send, timed, tus_upload

SECRET = "bench-jwt-secret-0123456789abcdef"
PREFIX = "/internal/services/files/v1/companies/0f8e0b5e-1a2b-4c3d-8e9f-001122334455/files"


def jwt():
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"type": "access", "sub": "bench", "exp": int(time.time()) + 3600}).encode())
    sig = b64(hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"Bearer {head}.{body}.{sig}"


def twake_upload(server, path, chunks, parallel):
    size = os.path.getsize(path)
    auth = {"Authorization": jwt()}
    status, _, body = send(conn(server), "POST", f"{PREFIX}?filename=b.bin&total_size={size}", headers=auth, length=0)
    assert status == 200, body[:300]
    fid = json.loads(body)["resource"]["id"]
    c = size // chunks
    todo = list(range(1, chunks + 1))
    lock, errors = threading.Lock(), []

    def worker():
        cx = conn(server)
        with open(path, "rb") as f:
            while True:
                with lock:
                    if not todo:
                        return
                    k = todo.pop(0)
                offset = (k - 1) * c
                n = size - offset if k == chunks else c
                f.seek(offset)
                data = f.read(n)
                pre = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="b.bin"\r\n'
                       b"Content-Type: application/octet-stream\r\n\r\n")
                body = pre + data + b"\r\n--B--\r\n"
                q = f"chunk_number={k}&total_chunks={chunks}&total_size={size}&filename=b.bin"
                hdrs = {**auth, "Content-Type": "multipart/form-data; boundary=B"}
                status, _, answer = send(cx, "POST", f"{PREFIX}/{fid}?{q}", body=body, headers=hdrs, length=len(body))
                if status != 200:
                    errors.append((k, status, answer[:200]))

    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return size, lambda: send(conn(server), "DELETE", f"{PREFIX}/{fid}", headers=auth)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--chunks", type=int, default=13)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    require_build()
    path = random_file(args.mib)
    edge, raw = both_servers()
    edge.stop()
    edge = edgeshare_server(extra_vars=f'EDGESHARE_JWT_SECRETS="bench:{SECRET}"\n')
    res = {k: [] for k in ("twake_1", "twake_5", "tus_8", "raw_8")}
    try:
        twake_upload(edge, path, args.chunks, 5)[1]()
        tus_upload(edge, path, 8 * MIB)[1]()
        raw_multipart(raw, path, 8 * MIB, "warm")[1]()
        for i in range(args.runs):
            res["raw_8"].append(timed(raw, lambda: raw_multipart(raw, path, 8 * MIB, f"mp{i}")))
            res["tus_8"].append(timed(edge, lambda: tus_upload(edge, path, 8 * MIB)))
            res["twake_1"].append(timed(edge, lambda: twake_upload(edge, path, args.chunks, 1)))
            res["twake_5"].append(timed(edge, lambda: twake_upload(edge, path, args.chunks, 5)))
    finally:
        edge.stop()
        raw.stop()
        remove_random_file(path)
    for k, runs in res.items():
        print(k, "runs (MiB/s, RSS MiB):", [(round(a, 1), round(b, 1)) for a, b in runs], file=sys.stderr)
    m = {k: median([r[0] for r in v]) for k, v in res.items()}
    rss = {k: median([r[1] for r in v]) for k, v in res.items()}
    ratio = lambda e: paired_ratio([x[0] for x in res[e]], [x[0] for x in res["raw_8"]])
    print(f"{args.mib} MiB file, median of {args.runs} runs, same wrangler/workerd, local R2; ratio to the raw worker's 8 MiB parts")
    print(f"{'':44}{'MiB/s':>8}{'ratio':>8}{'RSS MiB':>9}")
    for label, k in ((f"Twake, {args.chunks} chunks, 1 at a time", "twake_1"), (f"Twake, {args.chunks} chunks, 5 in parallel", "twake_5"),
                     ("edgeshare tus, 8 MiB PATCHes", "tus_8"), ("raw JS worker, 8 MiB multipart parts", "raw_8")):
        print(f"{label:44}{m[k]:8.1f}{ratio(k):8.2f}{rss[k]:9.1f}")
    print("5 in parallel vs 1 at a time:", f"{m['twake_5'] / m['twake_1']:.2f}x")


if __name__ == "__main__":
    main()
