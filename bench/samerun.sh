#!/usr/bin/env bash
# The same-computation check: a seeded 40-step `rpo train`, a 20-step
# `rpo pretrain t2i` and `rpo generate`, with the sha256 of every weight file,
# metrics.jsonl (timing fields removed) and PNG they write. Two binaries give
# the same list when they compute the same thing.
#   bench/samerun.sh [BIN] [OUT]    (default bin/rpo, runs/samerun)
set -euo pipefail
BIN=${1:-bin/rpo}
OUT=${2:-runs/samerun}
rm -rf "$OUT"; mkdir -p "$OUT"
"$BIN" world export --out "$OUT/mdb" --force >/dev/null
"$BIN" train --subject dog --refs "$OUT/mdb/dog" --out "$OUT/train" --steps 40 --val-every 20 --val-per-prompt 2 --seed 3 >/dev/null 2>&1
"$BIN" pretrain t2i --out "$OUT/pt" --init internal/embedded/t2i --steps 20 --batch 4 --sample-every 10 --sample-steps 5 --log-every 5 --seed 3 >/dev/null 2>&1
"$BIN" generate --model "$OUT/train/best@0.5" --prompt "a sks dog on the beach" -n 2 --steps 20 --seed 1 --out "$OUT/gen" >/dev/null 2>&1
cd "$OUT"
# metrics without timing fields
for m in train/metrics.jsonl pt/metrics.jsonl; do
  python3 -c '
import json,sys
def strip(o):
    if isinstance(o,dict): return {k:strip(v) for k,v in o.items() if k not in ("elapsed_s","elapsed","seconds","time","timing")}
    if isinstance(o,list): return [strip(v) for v in o]
    return o
for l in open(sys.argv[1]):
    l=l.strip()
    if l: print(json.dumps(strip(json.loads(l)),sort_keys=True))
' "$m" > "$m.notime"
done
find train pt gen \( -name '*.safetensors' -o -name '*.png' -o -name '*.notime' \) -not -path '*/checkpoint*' | sort | xargs sha256sum
