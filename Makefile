# Entry points. `make demo` runs a local network; `make test` runs every test.
# Both install missing dependencies first (scripts/deps).
JOBS ?= 2
CMAKE_FLAGS ?=
BUILD := build
ASAN := build-asan

.PHONY: all deps build build-asan test test-unit test-sim test-cluster demo bench format tidy clean

all: build

deps:
	@scripts/deps

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

$(ASAN)/Makefile:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DYZ_SANITIZE=ON $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

build-asan: deps $(ASAN)/Makefile
	cmake --build $(ASAN) -j$(JOBS) --target yz_unit_tests yz_sim_tests

# Unit and simulator tests under ASan+UBSan; cluster tests on the optimised build.
test: build build-asan
	cd $(ASAN) && ctest --output-on-failure -j$(JOBS) -L 'unit|sim'
	cd $(BUILD) && ctest --output-on-failure -L cluster

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

test-sim: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L sim

test-cluster: build
	cd $(BUILD) && ctest --output-on-failure -L cluster

demo: build
	$(BUILD)/yz cluster up --demo

bench: build
	$(BUILD)/bench_lookup

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

tidy: build
	clang-tidy -p $(BUILD) $$(git ls-files 'src/*.cpp')

clean:
	rm -rf $(BUILD) $(ASAN)
