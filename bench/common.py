"""Shared by the benchmarks: servers under `scripts/wrangler dev`, RSS sampling, curl."""
import hashlib, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request

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
        self.extra_dirs = []
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
                tail = open(self.log.name).read()[-3000:]
                self.stop()
                sys.exit(f"{name}: wrangler dev did not start:\n{tail}")
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
        """Stops the server (its process group, by PID) and deletes its state folder: a run
        leaves gigabytes of local R2 data otherwise."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except Exception:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.log.close()
        for d in [self.dir] + [d for d in self.extra_dirs if d]:
            shutil.rmtree(d, ignore_errors=True)


def curl(args):
    out = subprocess.run(["curl", "-s", "-S", "-H", "Expect:", "-w", "\n%{http_code} %{time_total} %{size_download}"] + args,
                         capture_output=True, check=True)
    body, _, tail = out.stdout.rpartition(b"\n")
    code, secs, size = tail.decode().split()
    return int(code), float(secs), int(size), body


class RssPeak:
    """Samples a server's workerd RSS every 20 ms while in a `with` block."""

    def __init__(self, server):
        self.server = server

    def __enter__(self):
        self.base = self.server.rss()
        self.peak = self.base
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        return self

    def _run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, self.server.rss())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.growth_mib = (self.peak - self.base) / MIB


def remove_random_file(path):
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def random_file(mib):
    work = tempfile.mkdtemp(prefix="edgeshare-bench-")
    path = os.path.join(work, "file.bin")
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(MIB))
    return path


def edgeshare_server(credential=b"bench:bench", build=os.path.join(ROOT, "build"), count_ops=False, extra_vars=""):
    """edgeshare from `build` (a worker-build output folder; default: this checkout's). With
    `count_ops`, wrapped in bench/count/shim.mjs, which counts its billable operations.
    `BENCH_EXTRA_VARS` (dev-vars lines) adds settings to every edgeshare server."""
    cred_hash = hashlib.sha256(credential).hexdigest()
    # more settings for every run, from the environment (`EDGESHARE_ACCESS_LOG="off"`)
    extra_vars += os.environ.get("BENCH_EXTRA_VARS", "") + "\n"
    main = os.path.join(build, "index.js")
    shim_dir = None
    if count_ops:
        shim_dir = tempfile.mkdtemp(prefix="edgeshare-bench-shim-")
        main = os.path.join(shim_dir, "shim.mjs")
        with open(os.path.join(ROOT, "bench/count/shim.mjs")) as f, open(main, "w") as out:
            out.write(f.read().replace('"BUILD/index.js"', json.dumps(os.path.join(build, "index.js"))))
    toml = open(os.path.join(ROOT, "wrangler.toml")).read().replace('main = "build/index.js"', f'main = "{main}"')
    # the static assets are the repository's (the server runs from a folder of its own)
    toml = toml.replace('directory = "./public"', f'directory = {json.dumps(os.path.join(ROOT, "public"))}')
    server = Server("edgeshare-counted" if count_ops else "edgeshare", ROOT, toml,
                    f'EDGESHARE_CREDENTIALS="bench:basic:{cred_hash}"\n' + extra_vars)
    server.extra_dirs.append(shim_dir)
    return server


def ops_of(server, fn):
    """The billable operations `fn` makes `server` (an `edgeshare_server(count_ops=True)`) do:
    {"r2_a", "r2_b", "kv_read", "kv_write", "do_request", ...}."""
    take = lambda: json.loads(urllib.request.urlopen(server.base + "/__ops", timeout=30).read())
    take()
    fn()
    return take()


def print_ops(rows):
    """Prints counted operations beside the minimum of each layout.
    rows: [(label, counted ops dict, {"r2_a": min, "kv_write": min, "do_request": min})]"""
    print(f"{'billable operations per upload':34}{'R2 class A':>12}{'KV writes':>11}{'DO requests':>13}{'KV reads':>10}{'R2 class B':>12}")
    for label, ops, least in rows:
        line = f"{label:34}"
        for k in ("r2_a", "kv_write", "do_request"):
            line += f"{ops.get(k, 0):>{12 if k == 'r2_a' else 11 if k == 'kv_write' else 13}}"
        line += f"{ops.get('kv_read', 0):>10}{ops.get('r2_b', 0):>12}"
        print(line)
        print(f"{'  minimum for the layout':34}{least['r2_a']:>12}{least['kv_write']:>11}{least['do_request']:>13}{'':>10}{'':>12}")


def bundle_sizes(build=os.path.join(ROOT, "build")):
    """(raw, gzip) bytes of the worker's wasm."""
    import gzip
    data = open(os.path.join(build, "index_bg.wasm"), "rb").read()
    return len(data), len(gzip.compress(data, 9))


def print_bundle(build=os.path.join(ROOT, "build")):
    raw, gz = bundle_sizes(build)
    print(f"wasm bundle: {raw} bytes ({raw / 1024:.0f} KiB), {gz} bytes gzip ({gz / 1024:.0f} KiB)")


def raw_server():
    raw_toml = open(os.path.join(ROOT, "bench/raw/wrangler.toml")).read().replace(
        'main = "worker.js"', f'main = "{os.path.join(ROOT, "bench/raw/worker.js")}"')
    return Server("raw", ROOT, raw_toml)


def paired_ratio(ours, theirs):
    """Median over runs of ours[i] / theirs[i]. Each pair ran back to back, so the machine's
    drift over a session (here raw speeds move by a third between runs) cancels out."""
    return median([a / b for a, b in zip(ours, theirs)])


def both_servers():
    """edgeshare and the raw worker; neither is left running if the other fails to start."""
    edge = edgeshare_server()
    try:
        return edge, raw_server()
    except BaseException:
        edge.stop()
        raise


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def require_build():
    if not os.path.exists(os.path.join(ROOT, "build/index.js")):
        sys.exit("build/index.js is missing: run `make build` (or `make bench`)")


def report(figure, ours, baseline, theirs, ratio, goal, unit="", why=""):
    """One row of `make bench`'s closing table (bench/summary.py): appended as a JSON line to
    the file `BENCH_ROWS` names, when it names one. `figure` is the issue's row, `baseline`
    names the raw worker variant the ratio is against."""
    path = os.environ.get("BENCH_ROWS")
    if not path:
        return
    with open(path, "a") as f:
        f.write(json.dumps({"figure": figure, "ours": ours, "baseline": baseline, "theirs": theirs, "ratio": ratio,
                            "goal": goal, "unit": unit, "why": why}) + "\n")

