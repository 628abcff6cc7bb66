# esprit front door. `make` builds, `make test` runs every tier, `make demo`
# runs the demo, `make bench` the benchmarks, `make fuzz` the fuzzers.
# test/demo/bench first install missing Debian packages (scripts/deps.sh).
JOBS      ?= $(shell nproc)
BUILD     ?= build/release
TBUILD    ?= build/asan
FBUILD    ?= build/fuzz
FUZZ_SECS ?= 10

.PHONY: all deps test test-unit test-netns test-interop fuzz fuzz-run demo bench clean format

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

deps:
	bash scripts/deps.sh

deps-peers:
	bash scripts/deps.sh --peers

$(TBUILD)/CMakeCache.txt:
	cmake -S . -B $(TBUILD) -DCMAKE_BUILD_TYPE=Debug -DESPRIT_SANITIZE=ON >/dev/null

test-build: deps $(TBUILD)/CMakeCache.txt
	cmake --build $(TBUILD) -j$(JOBS)

# Every tier: unit + exchange + fuzz corpus replay (ASan+UBSan), namespaces,
# interop, then each libFuzzer harness for $(FUZZ_SECS) seconds.
test: deps-peers test-build
	cd $(TBUILD) && ctest --output-on-failure -j$(JOBS) -L 'unit|exchange|fuzz'
	cd $(TBUILD) && ctest --output-on-failure -j2 -L 'netns|interop'
	$(MAKE) fuzz-run

test-unit: test-build
	cd $(TBUILD) && ctest --output-on-failure -j$(JOBS) -L 'unit|exchange|fuzz'

test-netns: test-build
	cd $(TBUILD) && ctest --output-on-failure -j2 -L netns

test-interop: deps-peers test-build
	cd $(TBUILD) && ctest --output-on-failure -L interop

fuzz: deps
	cmake -S . -B $(FBUILD) -DCMAKE_C_COMPILER=clang -DESPRIT_FUZZ=ON \
	  -DESPRIT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DESPRIT_FUZZ_SECS=$(FUZZ_SECS) >/dev/null
	cmake --build $(FBUILD) -j$(JOBS) --target fuzzers

fuzz-run: fuzz
	cd $(FBUILD) && ctest --output-on-failure -j$(JOBS) -L fuzz

demo: deps all
	bash scripts/demo.sh $(BUILD)

bench: deps-peers all
	bash bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]')

clean:
	rm -rf build
