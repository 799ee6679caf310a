#!/usr/bin/env bash
# make bench-compare: the same U-Net in PyTorch (Debian python3-torch) and in
# rpo, on the same machine in one invocation; ms per training step and per
# forward pass, their ratios, peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "bench-compare: installing Debian's python3-torch" >&2
  apt-get update -qq && apt-get install -y -qq python3-torch >/dev/null
fi
go build -o bin/rpobench ./bench/rpobench
printf '%-9s %-10s %10s %12s %10s   %s\n' model impl "ms/step" "ms/forward" "peak MiB" "params"
for m in ${MODELS:-a embedded}; do
  t=$("$PY" bench/unet_torch.py --model "$m" --steps "${STEPS:-5}")
  r=$(./bin/rpobench -model "$m" -steps "${STEPS:-5}")
  "$PY" - "$t" "$r" <<'PY'
import json, sys
t, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for x in (t, r):
    print(f"{x['model']:<9} {x['impl'].split()[0]:<10} {x['train_ms']:>10.1f} {x['forward_ms']:>12.1f} {x['peak_mib']:>10.1f}   {x['params']:,}")
print(f"{t['model']:<9} {'rpo/torch':<10} {r['train_ms']/t['train_ms']:>9.2f}x {r['forward_ms']/t['forward_ms']:>11.2f}x {r['peak_mib']/t['peak_mib']:>9.2f}x")
PY
done
