# A thin driver: each target is one meson command (plus `deps`, which
# installs the Debian packages the build and the tests need).
BUILD ?= build
MESON ?= meson

.PHONY: all deps build test demo install bench soak asan tsan valgrind fuzz clean

all: build

deps:
	@tools/install-deps

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

build: deps $(BUILD)/build.ninja
	$(MESON) compile -C $(BUILD)

test: deps $(BUILD)/build.ninja
	$(MESON) test -C $(BUILD) --print-errorlogs

demo: deps $(BUILD)/build.ninja
	$(MESON) compile -C $(BUILD) demo

# Installs an optimised build (release + LTO: the smallest fast library) from
# its own folder; the development build stays debugoptimized.
install: deps
	$(MESON) setup $(BUILD)-release --buildtype=release -Db_lto=true --reconfigure 2>/dev/null || \
	$(MESON) setup $(BUILD)-release --buildtype=release -Db_lto=true
	$(MESON) install -C $(BUILD)-release

bench: deps $(BUILD)/build.ninja
	$(MESON) compile -C $(BUILD) bench
	$(MESON) compile -C $(BUILD) bench-xfer

soak: deps $(BUILD)/build.ninja
	$(MESON) test -C $(BUILD) --setup soak --suite soak --print-errorlogs

# Sanitizers and valgrind run the same suite in their own build folders.
asan: deps
	$(MESON) setup $(BUILD)-asan -Db_sanitize=address,undefined -Db_lundef=false --reconfigure 2>/dev/null || \
	$(MESON) setup $(BUILD)-asan -Db_sanitize=address,undefined -Db_lundef=false
	$(MESON) test -C $(BUILD)-asan --setup sanitize --print-errorlogs

# ThreadSanitizer over the suites that run threads (forwarders, resolver)
# and the unit tests: their own build folder, like asan.
tsan: deps
	$(MESON) setup $(BUILD)-tsan -Db_sanitize=thread -Db_lundef=false --reconfigure 2>/dev/null || \
	$(MESON) setup $(BUILD)-tsan -Db_sanitize=thread -Db_lundef=false
	$(MESON) test -C $(BUILD)-tsan --setup tsan --print-errorlogs unit proxy

valgrind: deps $(BUILD)/build.ninja
	$(MESON) test -C $(BUILD) --setup valgrind --print-errorlogs

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-release

# libFuzzer harnesses (clang); FUZZ_SECONDS per target, default 60.
fuzz: deps
	tests/fuzz/run-fuzz $(FUZZ_SECONDS)
