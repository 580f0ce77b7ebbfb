#!/usr/bin/env bash
# The power-down and self-refresh table of docs/dram.md: the default experiment on the
# phone with its DRAM modelled command by command (configs/hw/phone-lpddr5x-command.json),
# under each device.dram.low_power policy: DRAM command and I/O energy per token, the
# background (standby, power-down, self-refresh) energy per token, and the ranks' time in
# each low-power state.
# Usage: scripts/dram_low_power_table.sh [EDGESIM]   (default build/edgesim)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/edgesim}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 - "$dir/e.json" <<'PY'
import json, sys
dev = json.load(open("configs/hw/phone-lpddr5x-command.json"))["device"]
json.dump({"extends": ["builtin:experiments/default.json"], "device": dev}, open(sys.argv[1], "w"))
PY
echo "| low_power | DRAM commands + I/O, J/token | background, J/token | DRAM total, J/token | background share | power-down | self-refresh |"
echo "|---|---|---|---|---|---|---|"
for lp in off power-down self-refresh; do
  "$bin" run -c "$dir/e.json" --set "device.dram.low_power=$lp" --format json --no-progress |
    /usr/bin/python3 -c "
import json, sys
r = json.load(sys.stdin)
m, d, run = r['metrics'], r['stats']['dram'], r['config']['run']
# The stats cover every token the run simulates (warm-up included); each takes token_latency_s.
tokens = run['tokens'] + run['warmup_tokens']
bg = d['background_energy']['value'] / tokens
cmd = m['energy_breakdown_j']['dram']
pd = d.get('power_down_share', {}).get('value', 0.0)
sr = d.get('self_refresh_share', {}).get('value', 0.0)
print(f'| $lp | {cmd:.3f} | {bg:.3f} | {cmd + bg:.3f} | {100 * bg / (cmd + bg):.1f} % | {100 * pd:.1f} % | {100 * sr:.1f} % |')"
done
