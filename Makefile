# strata — every command a user or CI needs. `make help` lists them.
SHELL := /bin/bash
VENV := .venv
SECANTUS := secantusdb==0.7.0b3
SWIFT_BUILD_FLAGS ?=

.PHONY: help deps venv build test server server-stop clean

help:
	@echo "make deps         install libmongoc/libbson (apt) if missing"
	@echo "make venv         create .venv with $(SECANTUS) (the embedded server)"
	@echo "make build        build strata (debug)"
	@echo "make server       start the embedded server (data in .data/default)"
	@echo "make server-stop  stop it"
	@echo "make test         run the whole test suite against a server it starts and stops"

deps:
	@if ! pkg-config --exists libmongoc-1.0 2>/dev/null; then \
	  echo "installing libmongoc-dev libbson-dev pkg-config (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libmongoc-dev libbson-dev pkg-config python3-venv >/dev/null; \
	fi

venv: $(VENV)/bin/secantusd-py

$(VENV)/bin/secantusd-py:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q $(SECANTUS)

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

server: deps venv
	@scripts/server.sh start default

server-stop:
	@scripts/server.sh stop default

test: deps venv
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	@uri=$$(scripts/server.sh start test --memory) || exit 1; \
	  trap 'scripts/server.sh stop test' EXIT; \
	  STRATA_TEST_URI="$$uri" swift test --skip-build $(SWIFT_BUILD_FLAGS)

clean:
	rm -rf .build .server
