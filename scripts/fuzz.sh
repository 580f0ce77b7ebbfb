#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, docs/fuzzing.md) with clang in build-fuzz/ and runs
# each for a bounded time from its committed seeds:
#
#   scripts/fuzz.sh [--time SECONDS] [TARGET...]      (default: 30 s each, every target)
#
# A run fails on a crash, a sanitizer report (ASan, UBSan), a leak, a slow input (over 2 s,
# -timeout=2) or an allocation over 2 GiB (-malloc_limit_mb, -rss_limit_mb): the script then
# prints the libFuzzer log's end, the reproducer's path and its bytes (base64), keeps both
# under build-fuzz/fuzz-out/TARGET/, and exits 1 once every target has run. Replay a
# reproducer with build-fuzz/fuzz_TARGET FILE. New inputs go to build-fuzz/fuzz-out/
# TARGET/corpus, never into the committed seeds (fuzz/corpus/TARGET).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds="$2"; shift 2 ;;
    --time=*) seconds="${1#--time=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(config sweep trace npy npz npu_network tflite dram_trace dram_part fault_campaign input_csv hf_config npu_config
     sweep_results regress)
if [ ${#targets[@]} -eq 0 ]; then targets=("${all[@]}"); fi
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (targets: ${all[*]})" >&2; exit 2; }
done

bash scripts/setup.sh
start=$(date +%s)
source scripts/configure-asan.sh
configure_asan_build
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
built=$(date +%s)
echo "fuzz: built ${#targets[@]} targets in $((built - start)) s"

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
summary=()
for t in "${targets[@]}"; do
  out="build-fuzz/fuzz-out/$t"
  rm -rf "$out/crashes"
  mkdir -p "$out/corpus" "$out/crashes"
  log="$out/fuzz.log"
  opts=(-max_total_time="$seconds" -timeout=2 -rss_limit_mb=2048 -malloc_limit_mb=2048 -detect_leaks=1
        -print_final_stats=1 -artifact_prefix="$out/crashes/")
  if [ -f "fuzz/dict/$t.dict" ]; then opts+=(-dict="fuzz/dict/$t.dict"); fi
  echo "fuzz: $t for $seconds s"
  # The first folder receives new inputs; the committed seeds are only read. The outer
  # timeout catches a hang outside libFuzzer's own -timeout (loading, merging the seeds).
  status=0
  timeout $((seconds + 120)) "build-fuzz/fuzz_$t" "${opts[@]}" "$out/corpus" "fuzz/corpus/$t" >"$log" 2>&1 ||
    status=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  summary+=("$(printf '%-15s %s exec/s %s' "$t" "${execs:-?}" "${done_line:-(no DONE line)}")")
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $status); the end of $log:" >&2
    tail -n 60 "$log" >&2
    for f in "$out"/crashes/*; do
      [ -f "$f" ] || continue
      echo "fuzz: reproducer $f ($(stat -c %s "$f") bytes, base64):" >&2
      base64 "$f" >&2
      echo "fuzz: replay with build-fuzz/fuzz_$t $f" >&2
    done
  fi
done

echo "fuzz: summary (build $((built - start)) s, total $(($(date +%s) - start)) s)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: every target ran $seconds s without a finding"
