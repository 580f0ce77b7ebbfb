#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install what is needed, build, and run every
# test through ctest. `--sanitize` builds and tests with AddressSanitizer and
# UndefinedBehaviorSanitizer instead, with clang in build-fuzz/, the build the libFuzzer
# targets of scripts/fuzz.sh use too (scripts/configure-asan.sh); it builds them as well.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if [ "${1:-}" = "--sanitize" ]; then
  build=build-fuzz
  source scripts/configure-asan.sh
  configure_asan_build -DBUILD_TESTING=ON
else
  build=build
  # -g1 (line tables and function names, enough for a backtrace) rather than -g: the
  # full debug information of the JSON templates is about a third of the compile time.
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGESIM_WERROR=ON \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
fi
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -j "$(nproc)"
