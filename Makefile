# Berth — the two commands that matter are `make demo` and `make test`.
# Both install what they need and can be run again at any time.

SHELL := /bin/bash
SWIFT ?= swift
MULTIARCH ?= $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
SWIFT_BUILD_FLAGS ?=
BERTH := .build/debug/berth

# Every Debian package the build, the tests, the benchmarks and the demo
# use, one per line in scripts/apt-packages.txt (merged as a union in git).
APT_PACKAGES := $(shell grep -v '^\#' scripts/apt-packages.txt)

.PHONY: all deps build build-tests release shim test demo bench clean

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
	@$(MAKE) --no-print-directory shim BIN="$$($(SWIFT) build --show-bin-path $(SWIFT_BUILD_FLAGS))"

build-tests: deps
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	@$(MAKE) --no-print-directory shim BIN="$$($(SWIFT) build --show-bin-path $(SWIFT_BUILD_FLAGS))"

# The release build the benchmarks use: static Swift stdlib (fewer shared
# libraries to load at every `berth` start), and the C shim.
# The release binary links libgit2, libarchive, libseccomp, libcap, SQLite
# and libstdc++ (the Swift runtime's C++ library) statically: .build/static-libs holds links to Debian's archives and
# comes first on the release link's search path ("Release linking" in
# Package.swift says why).
STATIC_LIBS = git2 archive seccomp cap sqlite3
release: deps
	@mkdir -p .build/static-libs
	@for l in $(STATIC_LIBS); do ln -sfn /usr/lib/$(MULTIARCH)/lib$$l.a .build/static-libs/lib$$l.a; done
	@ln -sfn "$$($(CC) -print-file-name=libstdc++.a)" .build/static-libs/libstdc++.a
	$(SWIFT) build -c release --product berth --static-swift-stdlib $(SWIFT_BUILD_FLAGS)
	@$(MAKE) --no-print-directory shim BIN="$$($(SWIFT) build -c release --show-bin-path)"

# berth-shim (the per-container monitor) is plain C, but SwiftPM links every
# executable with the Swift runtime: libswiftCore + libstdc++ cost ~3 ms per
# container start. The same sources built by cc start in under 1 ms; this
# replaces SwiftPM's copy next to `berth` (which finds its shim there).
# A plain `swift build` may relink SwiftPM's copy: that one works the same.
SHIM_SOURCES := $(wildcard Sources/CBerthLinux/*.c) Sources/berth-shim/main.c
shim:
	@test -n "$(BIN)" || { echo "make shim BIN=<swift build --show-bin-path>"; exit 2; }
	$(CC) -O2 -I Sources/CBerthLinux/include $(SHIM_SOURCES) -o "$(BIN)/berth-shim.tmp" && mv -f "$(BIN)/berth-shim.tmp" "$(BIN)/berth-shim"

test: build-tests
	bash scripts/test.sh

demo: build
	bash scripts/demo.sh

bench: build
	@for b in bench/*/run; do echo "== $$b"; bash $$b; done

clean:
	rm -rf .build
