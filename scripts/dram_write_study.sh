#!/usr/bin/env bash
# The DRAMsim3 comparison of docs/dram.md ("Writes"): DDR4-3200 with two ranks (DRAMsim3's
# DDR4_8Gb_x8_3200 organisation), address mapping row-channel-rank-bank-bankgroup-column,
# open page, 1,000,000 64-byte requests from `edgesim dram gen`, under four controller
# settings: edgesim's defaults, DRAMsim3's drain policy (writes wait until the write queue
# is full, then drain to empty), a deeper read window (DRAMsim3 holds a 32-entry
# transaction queue in front of 8-entry per-bank command queues), and both.
# Usage: scripts/dram_write_study.sh [EDGESIM] [SEED]   (default build/edgesim, seed 1)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/edgesim}
seed=${2:-1}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 - "$dir/ddr4-2r.json" <<'PY'
import json, sys
j = json.load(open("configs/dram/ddr4-3200.json"))
j["organisation"]["ranks"] = 2
j["description"] = "ddr4-3200 with two ranks (DRAMsim3 DDR4_8Gb_x8_3200 organisation)"
json.dump(j, open(sys.argv[1], "w"))
PY
declare -A traces=([random]="random 0" [sequential]="sequential 0" [random-30w]="random 0.3" [sequential-30w]="sequential 0.3")
for name in random sequential random-30w sequential-30w; do
  read -r pattern wf <<<"${traces[$name]}"
  "$bin" dram gen --pattern "$pattern" --count 1000000 --size 64 --write-fraction "$wf" --seed "$seed" \
    --binary -o "$dir/$name.bin" 2>/dev/null
done
common=(--part "$dir/ddr4-2r.json" --set device.dram.address_mapping=row-channel-rank-bank-bankgroup-column
        --set device.dram.refresh=all-bank --format json)
declare -A settings=(
  [default]=""
  [drain-when-full]="--set device.dram.write_high=32 --set device.dram.write_low=0"
  [read-window-64]="--set device.dram.read_queue=64"
  [both]="--set device.dram.write_high=32 --set device.dram.write_low=0 --set device.dram.read_queue=64"
  [window-40]="--set device.dram.read_queue=40 --set device.dram.write_queue=40 --set device.dram.write_high=30 --set device.dram.write_low=10")
echo "| controller | random | sequential | random, 30 % writes | sequential, 30 % writes |"
echo "|---|---|---|---|---|"
[ -n "${STUDY_SETTINGS:-}" ] || echo "| DRAMsim3 (issue 22) | 81.2 % | 66.4 % | 74.1 % | 69.1 % |"
for s in ${STUDY_SETTINGS:-default drain-when-full read-window-64 both window-40}; do
  row="| edgesim, $s |"
  for name in random sequential random-30w sequential-30w; do
    # shellcheck disable=SC2086
    eff=$("$bin" dram --trace "$dir/$name.bin" "${common[@]}" ${settings[$s]} |
      /usr/bin/python3 -c "import json,sys; print('%.1f %%' % (100*json.load(sys.stdin)['metrics']['bandwidth_efficiency']))")
    row="$row $eff |"
  done
  echo "$row"
done
