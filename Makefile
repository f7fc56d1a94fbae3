# Thin front over CMake. `make demo` and `make check` do all the set-up on a fresh
# Debian 12 machine (as root): they install the packages first.
BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
JOBS        ?= $(shell nproc)
FUZZ_SECONDS ?= 20
DEMO_DIR    ?= demo

PACKAGES = cmake ninja-build g++ clang libclang-rt-14-dev pkg-config python3 \
  libpcap-dev libsqlite3-dev nlohmann-json3-dev libcli11-dev libfmt-dev \
  libtomlplusplus-dev libgtest-dev zlib1g-dev libzstd-dev tshark tcpdump sqlite3 \
  rsyslog iproute2
# The peers bench/ compares with (never needed by the tests): `make bench-deps`.
BENCH_PACKAGES = softflowd nfdump argus-server time

.PHONY: all deps bench-deps build asan fuzz demo check test clean

all: build

# Installs only what is missing; apt-get update runs first whenever anything is.
bench-deps: PACKAGES += $(BENCH_PACKAGES)
bench-deps: deps
deps:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	  | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install packages" >&2; exit 1; fi; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	cmake -G Ninja -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	ninja -C $(BUILD) -j $(JOBS)

asan: deps
	cmake -G Ninja -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPAMTAP_SANITIZE=ON
	ninja -C $(ASAN_BUILD) -j $(JOBS)

fuzz: deps
	CXX=clang++ cmake -G Ninja -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSPAMTAP_FUZZ=ON -DSPAMTAP_SANITIZE=ON
	ninja -C $(FUZZ_BUILD) -j $(JOBS) $$(ninja -C $(FUZZ_BUILD) -t targets all \
	  | grep -o '^fuzz_[a-z_]*' | sort -u)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_BUILD)

demo: build
	@mkdir -p $(DEMO_DIR)
	$(BUILD)/spamtap synth --scenario demo -o $(DEMO_DIR)/office.pcap
	@rm -f $(DEMO_DIR)/demo.db $(DEMO_DIR)/demo.db-wal $(DEMO_DIR)/demo.db-shm
	$(BUILD)/spamtap analyze --db $(DEMO_DIR)/demo.db --json-out $(DEMO_DIR)/demo.jsonl \
	  $(DEMO_DIR)/office.pcap
	$(BUILD)/spamtap report suspects --db $(DEMO_DIR)/demo.db

# Every test: unit and corpus tests in the release build, again under ASan+UBSan,
# then the fuzzers for a bounded time.
check: build asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)
	$(MAKE) fuzz

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(DEMO_DIR)
