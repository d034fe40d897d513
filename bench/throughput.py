#!/usr/bin/env python3
"""Upload/download throughput and workerd memory: edgeshare vs a raw JavaScript worker.

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
import argparse, hashlib, json, os, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, config_dir, config_text, dev_vars=""):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"edgeshare-bench-{name}-")
        with open(os.path.join(self.dir, "wrangler.toml"), "w") as f:
            f.write(config_text)
        with open(os.path.join(self.dir, ".dev.vars"), "w") as f:
            f.write(dev_vars)
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "wrangler.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, "scripts/wrangler"), "dev", "--config", "wrangler.toml", "--ip", "127.0.0.1",
             "--port", str(self.port), "--inspector-port", str(free_port()),
             "--persist-to", os.path.join(self.dir, "state"), "--show-interactive-dev-session=false"],
            cwd=self.dir, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
            env={**os.environ, "WRANGLER_SEND_METRICS": "false", "CI": "true"}, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(self.base + "/healthz", timeout=5).status == 200:
                    break
            except Exception:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                sys.exit(f"{name}: wrangler dev did not start; see {self.log.name}")
            time.sleep(0.2)

    def workerd_pids(self):
        """workerd processes of this server's process group."""
        pids = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                if os.getpgid(int(p)) != self.proc.pid:
                    continue
                with open(f"/proc/{p}/comm") as f:
                    if f.read().strip() == "workerd":
                        pids.append(int(p))
            except (ProcessLookupError, FileNotFoundError, PermissionError):
                pass
        return pids

    def rss(self):
        total = 0
        for pid in self.workerd_pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
            except FileNotFoundError:
                pass
        return total

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except Exception:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def curl(args):
    out = subprocess.run(["curl", "-s", "-S", "-H", "Expect:", "-w", "\n%{http_code} %{time_total} %{size_download}"] + args,
                         capture_output=True, check=True)
    body, _, tail = out.stdout.rpartition(b"\n")
    code, secs, size = tail.decode().split()
    return int(code), float(secs), int(size), body


def measure(server, upload_args, download_url_of):
    """Runs one upload while sampling RSS; returns (upload MiB/s, download MiB/s, rss growth MiB)."""
    base = server.rss()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], server.rss())
            time.sleep(0.02)

    t = threading.Thread(target=sample)
    t.start()
    code, up_secs, _, body = curl(upload_args)
    done.set()
    t.join()
    if code != 200:
        sys.exit(f"{server.name}: upload answered {code}: {body[:200]!r}")
    url = download_url_of(body)
    code, down_secs, size, _ = curl(["-o", "/dev/null", url])
    if code != 200:
        sys.exit(f"{server.name}: download answered {code}")
    return size, up_secs, down_secs, (peak[0] - base) / MIB


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=256, help="file size in MiB (default 256)")
    ap.add_argument("--runs", type=int, default=3, help="runs per worker; the median is printed")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(ROOT, "build/index.js")):
        sys.exit("build/index.js is missing: run `make build` (or `make bench`)")

    work = tempfile.mkdtemp(prefix="edgeshare-bench-")
    path = os.path.join(work, "file.bin")
    with open(path, "wb") as f:
        for _ in range(args.mib):
            f.write(os.urandom(MIB))
    size = args.mib * MIB

    cred_hash = hashlib.sha256(b"bench:bench").hexdigest()
    toml = open(os.path.join(ROOT, "wrangler.toml")).read().replace(
        'main = "build/index.js"', f'main = "{os.path.join(ROOT, "build/index.js")}"')
    raw_toml = open(os.path.join(ROOT, "bench/raw/wrangler.toml")).read().replace(
        'main = "worker.js"', f'main = "{os.path.join(ROOT, "bench/raw/worker.js")}"')
    edge = Server("edgeshare", ROOT, toml, f'EDGESHARE_CREDENTIALS="bench:basic:{cred_hash}"\n')
    raw = Server("raw", ROOT, raw_toml)
    results = {"edgeshare": [], "raw": [], "raw_mp": []}
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
                edge, ["-X", "POST", "--form", f"file=@{path}", "--user", "bench:bench", f"{edge.base}/uploads"],
                lambda body: f"{edge.base}/uploads/{json.loads(body)['id']}"))
    finally:
        edge.stop()
        raw.stop()
        os.remove(path)

    for name, runs in results.items():
        print(name, "runs (bytes, up s, down s, rss MiB):", [(round(a,2) if isinstance(a,float) else a) for r in runs for a in r[1:]], file=sys.stderr)

    def med(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2]

    rows = {}
    for name, runs in results.items():
        for s, up, down, _ in runs:
            assert s == size, f"{name} returned {s} bytes, sent {size}"
        rows[name] = (size / MIB / med([r[1] for r in runs]), size / MIB / med([r[2] for r in runs]),
                      med([r[3] for r in runs]))
    e, r, m = rows["edgeshare"], rows["raw"], rows["raw_mp"]
    print(f"{args.mib} MiB file, median of {args.runs} runs, same wrangler/workerd, local R2")
    print(f"{'':24}{'edgeshare':>11}{'raw put':>10}{'ratio':>7}{'raw 5MiB mp':>13}{'ratio':>7}")
    print(f"{'upload MiB/s':24}{e[0]:11.1f}{r[0]:10.1f}{e[0] / r[0]:7.2f}{m[0]:13.1f}{e[0] / m[0]:7.2f}")
    print(f"{'download MiB/s':24}{e[1]:11.1f}{r[1]:10.1f}{e[1] / r[1]:7.2f}{m[1]:13.1f}{e[1] / m[1]:7.2f}")
    print(f"{'upload RSS growth MiB':24}{e[2]:11.1f}{r[2]:10.1f}{e[2] - r[2]:+7.1f}{m[2]:13.1f}{e[2] - m[2]:+7.1f}")
    ok = e[0] >= 0.9 * r[0] and e[1] >= 0.9 * r[1] and e[2] - r[2] <= 32
    print("target vs raw put (>= 0.9x both ways, RSS growth within 32 MiB):", "met" if ok else "NOT met")
    ok_mp = e[0] >= 0.9 * m[0] and e[1] >= 0.9 * m[1] and e[2] - m[2] <= 32
    print("same target vs raw 5 MiB multipart (same object layout):", "met" if ok_mp else "NOT met")


if __name__ == "__main__":
    main()
