#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: installs only what is missing.
#   wasm32 target, wasm-bindgen-cli (the version Cargo.lock pins), worker-build,
#   npm packages (wrangler, esbuild, binaryen, swagger-ui-dist for the docs page, test clients
#   with playwright-core), curl, unzip, Debian's chromium (the browser test), a Python venv with requests and schemathesis.
# Nothing here downloads from anywhere but crates.io, the npm registry and Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"

lock_version() { # version of a package in Cargo.lock
  awk -v n="$1" '$0=="name = \""n"\"" {getline; gsub(/version = |"/,""); print; exit}' Cargo.lock
}

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo clippy --version >/dev/null 2>&1; then
  say "adding rust component clippy"
  rustup component add clippy
fi

if ! cargo fmt --version >/dev/null 2>&1; then
  say "adding rust component rustfmt"
  rustup component add rustfmt
fi

need_apt=()
command -v curl >/dev/null || need_apt+=(curl)
# the zips are checked with Info-ZIP's `unzip -t` (tests/e2e_sharing.rs, tests/browser/sharing.mjs)
command -v unzip >/dev/null || need_apt+=(unzip)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
# The browser test (tests/browser/upload.mjs) drives Debian's chromium with playwright-core:
# no browser is ever downloaded by playwright itself.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
# The packages of npm and PyPI download while the build tools compile.
packages() {
  # npm packages: reinstall when package-lock.json changed since the last install.
  stamp=node_modules/.edgeshare-lock
  if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
    say "installing npm packages"
    # npm ci refuses this lock (the registry here omits other platforms' optional workerd
    # builds from it); npm install honours the pinned versions all the same.
    npm install --no-audit --no-fund --loglevel=error
    cp package-lock.json "$stamp"
  fi

  # Python clients the tests run as their vendors document them (PyPI `requests`), and
  # Schemathesis, which fuzzes every route against /openapi.json.
  if ! .venv/bin/python -c 'import requests' 2>/dev/null; then
    say "creating .venv with requests"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check requests
  fi
  want_st=4.32.5
  if [ "$(.venv/bin/schemathesis --version 2>/dev/null | awk '{print $NF}')" != "$want_st" ]; then
    say "installing schemathesis $want_st into .venv"
    .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$want_st"
  fi
}
log=$(mktemp)
packages > "$log" 2>&1 &
packages_pid=$!

# The build tools are installed as debug builds: they each process one ~4 MB module per
# build, where a debug build costs about a second more, and compile in about half the time
# (measured on 2 cores: wasm-bindgen-cli 54 s instead of 111 s; README, "Benchmarks").
# The two share a target folder, so that the second builds only what the first did not.
export CARGO_TARGET_DIR="$PWD/target/tools"
want_bindgen=$(lock_version wasm-bindgen)
have_bindgen=$("$CARGO_BIN/wasm-bindgen" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_bindgen" != "$want_bindgen" ]; then
  say "installing wasm-bindgen-cli $want_bindgen (have: ${have_bindgen:-none})"
  cargo install wasm-bindgen-cli --version "=$want_bindgen" --debug --locked \
    || cargo install wasm-bindgen-cli --version "=$want_bindgen" --debug --force
fi

want_wb=$(lock_version worker)
have_wb=$("$CARGO_BIN/worker-build" --version 2>/dev/null | awk '{print $NF}' || true)
if [ "$have_wb" != "$want_wb" ]; then
  say "installing worker-build $want_wb (have: ${have_wb:-none})"
  cargo install worker-build --version "=$want_wb" --debug --locked \
    || cargo install worker-build --version "=$want_wb" --debug --force
fi
unset CARGO_TARGET_DIR

if ! wait "$packages_pid"; then
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
cat "$log" >&2
rm -f "$log"
say "ready"
