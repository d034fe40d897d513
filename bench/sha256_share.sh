#!/usr/bin/env bash
# How much of edgeshare's tus upload time is the whole-file SHA-256?
#
# Builds a variant of this checkout whose resumable SHA-256 skips the compression of whole
# blocks (a copy of the source with that one call removed, built into target/sha256-off; the
# checkout itself is not touched), then runs bench/tus.py with the variant as an extra column:
# edgeshare as it is, the raw JavaScript worker, and edgeshare without hashing, side by side.
# The variant computes wrong digests: it exists only to be measured.
#
#   bench/sha256_share.sh [--runs N] [other bench/tus.py options]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
make -C "$root" build

work="$(mktemp -d /tmp/edgeshare-sha256-off.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/Cargo.toml" "$root/Cargo.lock" "$root/src" "$root/tests" "$work/"

line='sha2::compress256(&mut self.h, blocks(&data[..full]));'
file="$work/src/engine/upload/sha256.rs"
if [ "$(grep -cF "$line" "$file")" != 1 ]; then
  echo "sha256_share.sh: the block compression call in src/engine/upload/sha256.rs changed; update this script" >&2
  exit 1
fi
grep -vF "$line" "$file" >"$file.new" && mv "$file.new" "$file"

(
  cd "$work"
  export PATH="$HOME/.cargo/bin:$PATH"
  export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
  export ESBUILD_BIN="$root/node_modules/.bin/esbuild"
  export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
  export CARGO_TARGET_DIR="$root/target/sha256-off"
  worker-build --release >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
)

python3 "$root/bench/tus.py" --variant-build "$work/build" --variant-label "sha256 off" "$@"
