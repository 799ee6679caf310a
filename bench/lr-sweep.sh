#!/usr/bin/env bash
# The learning-rate sweep of rpo train (issue #7): a few MiniDreamBench
# subjects (live and object) at several learning rates, each run's best
# validation reward and the base model's (step 0), side by side.
#   LRS="1e-5 3e-5 1e-4 3e-4" SUBJECTS="dog cat2 backpack teapot vase" STEPS=400 VAL_EVERY=40 bench/lr-sweep.sh
# Models: the embedded ones, or MODEL=... REWARD=... directories.
set -euo pipefail
cd "$(dirname "$0")/.."
LRS=${LRS:-"1e-5 3e-5 1e-4 3e-4"}
SUBJECTS=${SUBJECTS:-"dog cat2 backpack teapot vase"}
STEPS=${STEPS:-400}
VAL_EVERY=${VAL_EVERY:-40}
OUT=${OUT:-runs/lr-sweep}
go build -o bin/rpo ./cmd/rpo
[ -d "$OUT/minidreambench" ] || ./bin/rpo world export --out "$OUT/minidreambench"
args=()
[ -n "${MODEL:-}" ] && args+=(--model "$MODEL")
[ -n "${REWARD:-}" ] && args+=(--reward-model "$REWARD")
for lr in $LRS; do
  for s in $SUBJECTS; do
    run="$OUT/lr$lr/$s"
    mkdir -p "$OUT/lr$lr"
    [ -f "$run/checkpoints/state.json" ] && resume=(--resume) || resume=()
    ./bin/rpo train --subject "$s" --refs "$OUT/minidreambench/$s" --out "$run" --lr "$lr" --steps "$STEPS" --val-every "$VAL_EVERY" \
      --negatives-cache "$OUT/negatives" --log-format json "${args[@]}" "${resume[@]}" > "$run.log" 2>&1 || { echo "$s lr=$lr failed: see $run.log"; continue; }
  done
done
# base (step 0), best and last validation reward, labels, clip share per run
runs=()
for lr in $LRS; do for s in $SUBJECTS; do runs+=("$OUT/lr$lr/$s"); done; done
bench/runstats.py "${runs[@]}"
