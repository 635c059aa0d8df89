# actr — the front door.  Two commands for a newcomer (see README.md):
#   make demo   build and run the demo
#   make test   build and run the whole suite (gcc build + clang ASan/UBSan
#               build, fuzz-corpus replay), ending with "N passed, N failed"
# Both install missing Debian 12 packages first (make deps).

SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
MESON_TEST_ARGS ?= --print-errorlogs

# Every Debian package the project needs to build, test, fuzz and benchmark.
DEB_PACKAGES := gcc make meson ninja-build pkg-config python3 e2fsprogs \
	libglib2.0-dev libsqlite3-dev sqlite3 libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev \
	clang libclang-rt-14-dev libssl-dev libsoup-3.0-dev coturn \
	libnice-dev libusrsctp-dev libsrtp2-dev python3-aiortc chromium tshark

.PHONY: all deps build demo test test-run asan fuzz bench format format-check clean help

all: build

help:
	@echo "make demo          build and run the demo (actrd + two nodes, calls, kill -9, retry)"
	@echo "make test          build and run the whole suite, normal and ASan/UBSan builds"
	@echo "make bench         run the benchmarks (bench/), printing ratios against baselines"
	@echo "make fuzz          run each libFuzzer target for FUZZ_SECONDS (default 60) with clang"
	@echo "make deps          install missing Debian packages (apt-get, needs root)"
	@echo "make format-check  check formatting with clang-format"

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

# The sanitizer build uses clang, so `make test` covers both compilers (gcc in
# $(BUILD)); clang's UBSan also catches cases gcc's misses.
$(ASAN_BUILD)/build.ninja:
	CC=clang meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined \
	  -Db_lundef=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

demo: build
	tools/demo $(BUILD)

# Runs every suite in both builds without stopping at the first failure;
# fails if anything failed.  `make test` adds the one-line summary.  Old test
# logs are removed first, so a build that fails cannot report an old success
# (tools/test-summary counts a missing log as a failure).
test-run: deps $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja
	@rc=0; \
	rm -f $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json; \
	ninja -C $(BUILD) || rc=1; \
	ninja -C $(ASAN_BUILD) || rc=1; \
	meson test -C $(BUILD) $(MESON_TEST_ARGS) || rc=1; \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  meson test -C $(ASAN_BUILD) $(MESON_TEST_ARGS) --timeout-multiplier 3 || rc=1; \
	exit $$rc

test:
	@rc=0; $(MAKE) --no-print-directory test-run || rc=1; \
	tools/test-summary $(BUILD) $(ASAN_BUILD); exit $$rc

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized -Dfuzzing=true \
	  -Db_sanitize=address,undefined -Db_lundef=false

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	@for t in $(FUZZ_BUILD)/tests/fuzz/fuzz-*; do \
	  case $$t in *-replay|*.p) continue;; esac; [ -f $$t ] && [ -x $$t ] || continue; \
	  name=$${t##*/fuzz-}; echo "== fuzzing $$name for $(FUZZ_SECONDS)s"; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(FUZZ_BUILD)/corpus/$$name tests/fuzz/corpus/$$name || exit 1; \
	done

bench: build
	$(BUILD)/bench/bench-store
	$(BUILD)/bench/bench-actrd
	$(BUILD)/bench/bench-rpc
	$(BUILD)/bench/bench-webrtc

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
