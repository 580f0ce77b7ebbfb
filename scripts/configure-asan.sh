#!/usr/bin/env bash
# Configures build-fuzz/: clang 14 with AddressSanitizer, UndefinedBehaviorSanitizer and
# libFuzzer's coverage instrumentation (the Fuzz build type, -O1). One build serves both
# `scripts/test.sh --sanitize` (every test under the sanitizers) and `scripts/fuzz.sh` (the
# libFuzzer targets), so CI compiles the sanitized core once. Sourced by those scripts.
configure_asan_build() {
  local launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_COMPILER=clang++-14 \
        -DEDGESIM_FUZZ=ON -DEDGESIM_WERROR=ON "${launcher[@]}" "$@" >/dev/null
}
