#!/usr/bin/env bash
# Runs the end-to-end test binaries (tests/e2e_*.rs) several at a time: each test starts its
# own wrangler/workerd on a free port with a fresh state folder, and most of their time is
# spent waiting (on a server's start, an alarm, a webhook's backoff), so binaries run in
# E2E_LANES lanes (default 3), each with --test-threads=2, the longest first. Each binary's
# output is printed whole once it ends; the run fails if any binary fails.
#   scripts/e2e.sh [cargo test flags, e.g. --release]
set -euo pipefail
cd "$(dirname "$0")/.."
lanes="${E2E_LANES:-3}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# build every binary first (one cargo at a time), then list them
cargo test "$@" --features e2e --test 'e2e_*' --no-run
cargo test "$@" --features e2e --test 'e2e_*' --no-run --message-format=json 2>/dev/null \
  | python3 -c '
import json, sys
# the longest first (seconds measured on 2 cores), so that no long one starts last
weight = {"e2e_browser": 138, "e2e_openapi": 109, "e2e_tus": 46, "e2e_hardening": 28, "e2e_webhooks": 26,
          "e2e_ngcp": 18, "e2e_store": 18, "e2e_twake": 16, "e2e_admin": 14}
bins = []
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"].startswith("e2e_"):
        bins.append((weight.get(m["target"]["name"], 30), m["target"]["name"], m["executable"]))
for _, name, exe in sorted(bins, reverse=True):
    print(name, exe)
' > "$out/bins"

# no binary found would pass vacuously
[ "$(wc -l < "$out/bins")" -ge 10 ] || { echo "[e2e] found only: $(cat "$out/bins")" >&2; exit 1; }

run_one() { # name executable
  local start=$SECONDS
  if "$2" --test-threads=2 > "$out/$1.log" 2>&1; then
    echo "[e2e] $1 passed in $((SECONDS - start)) s" >> "$out/$1.log"
  else
    echo "[e2e] $1 FAILED after $((SECONDS - start)) s" >> "$out/$1.log"
    touch "$out/$1.failed"
  fi
  cat "$out/$1.log"
}
export -f run_one
export out
start=$SECONDS
xargs -P "$lanes" -L 1 bash -c 'run_one "$0" "$1"' < "$out/bins"
echo "[e2e] $(wc -l < "$out/bins") binaries in $((SECONDS - start)) s, $lanes at a time"
if ls "$out"/*.failed >/dev/null 2>&1; then
  echo "[e2e] failed: $(cd "$out" && ls *.failed | sed 's/\.failed$//' | tr '\n' ' ')"
  exit 1
fi
