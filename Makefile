# Berth — the two commands that matter are `make demo` and `make test`.
# Both install what they need and can be run again at any time.

SHELL := /bin/bash
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
BERTH := .build/debug/berth

# Every Debian package the build, the tests, the benchmarks and the demo
# use, one per line in scripts/apt-packages.txt (merged as a union in git).
APT_PACKAGES := $(shell grep -v '^\#' scripts/apt-packages.txt)

.PHONY: all deps build build-tests test demo bench clean

all: build

deps: .build/.deps-installed

.build/.deps-installed: Makefile scripts/apt-packages.txt
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p .build && touch $@

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

build-tests: deps
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)

test: build-tests
	bash scripts/test.sh

demo: build
	bash scripts/demo.sh

bench: build
	@for b in bench/*/run; do echo "== $$b"; bash $$b; done

clean:
	rm -rf .build
