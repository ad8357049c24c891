# Entry points. `make demo` runs a local network; `make test` runs every test.
# Both install missing dependencies first (scripts/deps).
JOBS ?= 2
CMAKE_FLAGS ?=
BUILD := build
ASAN := build-asan

.PHONY: all deps build build-asan test test-unit test-sim test-cluster test-bench demo bench bench-routing format tidy clean

all: build

deps:
	@scripts/deps

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

$(ASAN)/Makefile:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DYZ_SANITIZE=ON $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

# Test binaries that exist in this tree (the simulator tests may be absent).
ASAN_TARGETS := yz_unit_tests $(if $(wildcard tests/sim/*.cpp),yz_sim_tests)

build-asan: deps $(ASAN)/Makefile
	cmake --build $(ASAN) -j$(JOBS) --target $(ASAN_TARGETS)

# Unit and simulator tests under ASan+UBSan; cluster tests on the optimised
# build; then the web package (WebAssembly core in Node.js and headless
# Chromium); then the yz vs OpenDHT bench (its arithmetic, and one small run).
test: build build-asan
	cd $(ASAN) && ctest --output-on-failure -j$(JOBS) -L 'unit|sim'
	cd $(BUILD) && ctest --output-on-failure -L cluster
	YZ_BIN_DIR=$(CURDIR)/$(BUILD) web/scripts/test-all.sh
	YZ_BIN_DIR=$(CURDIR)/$(BUILD) tests/bench/run.sh

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

test-sim: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L sim

test-cluster: build
	cd $(BUILD) && ctest --output-on-failure -L cluster

test-bench: build
	YZ_BIN_DIR=$(CURDIR)/$(BUILD) tests/bench/run.sh

# A local network plus the browser demo page (web/scripts/demo.sh): open the
# printed URL in two tabs and watch them link over WebRTC.
demo: build
	YZ_BIN_DIR=$(CURDIR)/$(BUILD) web/scripts/demo.sh

bench: build
	$(BUILD)/bench_lookup

# Overlay routing at 1,000 simulated nodes (bench/results/routing.md).
bench-routing: build
	$(BUILD)/bench_routing --nodes 1000 --pairs 1000

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

tidy: build
	clang-tidy -p $(BUILD) $$(git ls-files 'src/*.cpp')

clean:
	rm -rf $(BUILD) $(ASAN)

# yz vs OpenDHT side by side on loopback (issue 6): installs OpenDHT's Debian
# packages if missing, builds yz into build-bench/, writes bench/results/compare.*
# Extra options: make bench-compare ARGS="--sizes 15,100,500"
.PHONY: bench-compare
bench-compare:
	bench/compare/run $(ARGS)
