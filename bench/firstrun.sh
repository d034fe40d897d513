#!/usr/bin/env bash
# A newcomer's first run, measured: a fresh clone of this repository's HEAD with nothing
# installed but the system (an empty CARGO_HOME, so crates.io's index, wasm-bindgen-cli and
# worker-build come anew; no node_modules, npm cache or .venv; the rust toolchain and Debian's
# packages stay), then, timed one after the other: the set-up (scripts/setup.sh), the wasm
# build (`make build`), the server's start (`make dev` until it answers), and the tests
# (`make test`, all of them, on top of the same set-up and build). `make dev`'s first run is
# set-up + build + start; `make test`'s is set-up + build + tests (what `make test` does on a
# fresh clone, phase by phase). Writes bench/firstrun.json for bench/summary.py.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d /tmp/edgeshare-firstrun-XXXXXX)
dev_pid=""
cleanup() { [ -n "$dev_pid" ] && kill -- "-$dev_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
git clone -q "$repo" "$work/src"
cd "$work/src"
# nothing installed: a fresh cargo home (the toolchain's proxies stay on PATH), npm cache and pip cache
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_HOME="$work/cargo" npm_config_cache="$work/npm" PIP_CACHE_DIR="$work/pip"
mkdir -p "$CARGO_HOME"
t() { # name command...: its seconds; its output in $work/log.name
  local name=$1 s=$SECONDS; shift
  "$@" > "$work/log.$name" 2>&1 || { tail -40 "$work/log.$name" >&2; exit 1; }
  echo $((SECONDS - s))
}
setup_s=$(t setup scripts/setup.sh)
echo "set-up: $setup_s s" >&2
build_s=$(t build make build)
echo "build: $build_s s" >&2
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
s=$SECONDS
# what `make dev` runs once built
scripts/dev-vars.sh
setsid scripts/wrangler dev --ip 127.0.0.1 --port "$port" --persist-to "$work/state" \
  --show-interactive-dev-session=false > "$work/log.dev" 2>&1 &
dev_pid=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
  sleep 0.5
  [ $((SECONDS - s)) -lt 300 ] || { tail -40 "$work/log.dev"; exit 1; }
done
serve_s=$((SECONDS - s))
kill -- "-$dev_pid"; wait "$dev_pid" 2>/dev/null || true; dev_pid=""
echo "server ready: $serve_s s" >&2
tests_s=$(t test make test)
echo "tests: $tests_s s" >&2
python3 - "$repo/bench/firstrun.json" <<PY
import json, os, sys, time
f = dict(setup_s=$setup_s, build_s=$build_s, serve_s=$serve_s, tests_s=$tests_s, cores=os.cpu_count(),
         commit="$(git rev-parse --short HEAD)", date=time.strftime("%Y-%m-%d"))
f["dev_s"] = f["setup_s"] + f["build_s"] + f["serve_s"]
f["test_s"] = f["setup_s"] + f["build_s"] + f["tests_s"]
json.dump(f, open(sys.argv[1], "w"), indent=1)
print(json.dumps(f))
PY
