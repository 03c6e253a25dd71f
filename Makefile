# strata — every command a user or CI needs. `make help` lists them.
SHELL := /bin/bash
VENV := .venv
SECANTUS := secantusdb==0.7.0b3
# e.g. make build SWIFT_BUILD_FLAGS="-c release"
SWIFT_BUILD_FLAGS ?=
export SWIFT_BUILD_FLAGS
# Extra arguments for `swift test`, e.g. make test TEST_ARGS="--filter HistogramTests"
TEST_ARGS ?=
# `make bench BENCH=events` or `BENCH=memory` runs one half of the benchmark
BENCH ?=
# Where `make docs` writes the Strata library's DocC archive
DOCS_ARCHIVE := .build/docs/Strata.doccarchive

.PHONY: help deps venv build test docs server server-stop demo bench clean

help:
	@echo "make deps         install libmongoc/libbson, libpcre2, pkg-config, python3-venv (apt) where missing"
	@echo "make venv         create .venv with $(SECANTUS) (the embedded server)"
	@echo "make build        build the library and the strata binary (debug; SWIFT_BUILD_FLAGS=\"-c release\")"
	@echo "make server       start the embedded server (data in .data/default); strata finds it"
	@echo "make server-stop  stop it"
	@echo "make demo         generate the datasets, load them into strata_demo, print their histograms"
	@echo "make test         the whole test suite against a throwaway server it starts and stops"
	@echo "make docs         the Strata library's DocC catalog into $(DOCS_ARCHIVE); fails on any DocC warning"
	@echo "make bench        strata bench at 200k events and the memory mode: bench/events-200k.*, bench/memory.* (BENCH=events|memory for one)"
	@echo "make clean        remove .build and server state (not .data, not .venv)"

deps:
	@scripts/deps.sh

venv: $(VENV)/bin/secantusd-py

$(VENV)/bin/secantusd-py: | deps
	@echo "venv: creating $(VENV) with $(SECANTUS)"
	@python3 -m venv $(VENV) || { echo "venv: 'python3 -m venv' failed: install python3-venv ('make deps' does, as root or with sudo)" >&2; exit 1; }
	@$(VENV)/bin/pip install -q $(SECANTUS)

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

server: deps venv
	@scripts/server.sh start default

server-stop:
	@scripts/server.sh stop default

demo: deps venv build
	@scripts/demo.sh

test: deps venv
	@scripts/test.sh $(TEST_ARGS)

# swift-docc-plugin (a command plugin; no network: the package comes from the local copies).
# --warnings-as-errors goes through to docc: any DocC warning fails the target.
docs: deps
	@mkdir -p $(dir $(DOCS_ARCHIVE))
	@rm -rf $(DOCS_ARCHIVE)
	swift package --disable-sandbox generate-documentation --target Strata --warnings-as-errors \
		--output-path $(DOCS_ARCHIVE)
	@echo "docs: $(DOCS_ARCHIVE) (serve it: python3 -m http.server -d $(DOCS_ARCHIVE) 8000, then /documentation/strata)"

bench: deps venv
	@scripts/bench.sh $(BENCH)

clean:
	@for d in .server/*/; do [ -d "$$d" ] && scripts/server.sh stop "$$(basename "$$d")"; done; true
	rm -rf .build .server
