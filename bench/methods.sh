#!/usr/bin/env bash
# The method comparison of issues #7 and #8 on a named MiniDreamBench subset:
# two training runs per subject (L_sim + L_pref, and pure L_sim), every row
# of the paper that differs from them only in checkpoint selection (no new
# training), the base model, and one table with paired differences against
# pure L_sim.
#   SUBJECTS=dog,cat2,backpack,teapot,vase bench/methods.sh
#   ROWS="base rpo sim rpo-last sim-es rpo-0.3 rpo-0.7" IPP=4 VAL_EVERY=40 OUT=eval/methods bench/methods.sh
# Further rows: real (no model: the upper bound), and, each training once more per
# subject, dreambooth-prior, rpo-b0.3 (β = 0.3) and any method config under
# configs/ by its name: the appendix ablations (ablation-ltrain-0.3, -0.5, -0.7, ablation-arith,
# ablation-beta-10, -100, -1000, ablation-soft) and online RPO (online-40):
#   SUBJECTS=… ROWS="sim ablation-soft online-40 online-40@last" OUT=eval/appendix bench/methods.sh
# Models: the embedded ones, or MODEL=, REWARD=, CLIP=, DINO= directories.
# Interrupted: run it again; finished subjects and rows are skipped and
# unfinished training runs resume.
set -euo pipefail
cd "$(dirname "$0")/.."
SUBJECTS=${SUBJECTS:-dog,cat2,backpack,teapot,vase}
ROWS=${ROWS:-"base rpo sim rpo-last sim-es rpo-0.3 rpo-0.7"}
IPP=${IPP:-4}
VAL_EVERY=${VAL_EVERY:-40}
OUT=${OUT:-eval/methods}
NEG=${NEG:-$OUT/negatives}   # base-model samples shared by the two runs of a subject (one per concurrent instance)
BIN=${BIN:-bin/rpo}   # its own binary keeps a long run on one build while the tree changes
go build -o "$BIN" ./cmd/rpo
mkdir -p "$OUT"
common=(--bench minidreambench --images-per-prompt "$IPP" --val-every "$VAL_EVERY" --negatives-cache "$NEG" --log-format json)
[ -n "${MODEL:-}" ] && common+=(--model "$MODEL")
[ -n "${REWARD:-}" ] && common+=(--reward-model "$REWARD")
[ -n "${CLIP:-}" ] && common+=(--clip-model "$CLIP")
[ -n "${DINO:-}" ] && common+=(--dino-model "$DINO")
# One process per subject and row: the memory of a subject's training run is
# then returned to the system whatever the Go heap keeps. Subjects outermost:
# every row of a subject is finished before the next subject starts, so an
# interrupted table holds whole subjects (keep them with bench/keep-results.sh)
# and a subject's training runs are needed only while its rows are evaluated.
row() {
  local name=$1 s=$2; shift 2
  [ -f "$OUT/$name/subjects/$s.json" ] && return 0
  echo "$(date +%T) $name $s"
  /usr/bin/time -f "$name $s %e s" -a -o "$OUT/times.txt" "$BIN" eval "${common[@]}" --subjects "$s" --out "$OUT/$name" "$@" >> "$OUT/$name.log" 2>&1 \
    || { echo "$name $s failed: see $OUT/$name.log"; return 1; }
}
for s in ${SUBJECTS//,/ }; do
  for r in $ROWS; do
    case $r in
      base)     row base "$s" --method base ;;
      real)     row real "$s" --method real ;;                                                              # the references against each other: the upper bound
      rpo)      row rpo "$s" --method rpo --runs "$OUT/runs-rpo" ;;                                          # RPO: best@0.5
      sim)      row sim "$s" --method configs/ablation-sim.yaml --runs "$OUT/runs-sim" ;;                   # pure L_sim (DreamBooth), last
      rpo-last) row rpo-last "$s" --method configs/ablation-pref-last.yaml --runs "$OUT/runs-rpo" ;;        # L_pref without early stopping
      sim-es)   row sim-es "$s" --method configs/ablation-es-sim.yaml --runs "$OUT/runs-sim" ;;             # early stopping without L_pref
      rpo-0.3)  row rpo-0.3 "$s" --method rpo --select best@0.3 --runs "$OUT/runs-rpo" ;;                   # λ_val sweep
      rpo-0.7)  row rpo-0.7 "$s" --method rpo --select best@0.7 --runs "$OUT/runs-rpo" ;;
      dreambooth-prior) row dreambooth-prior "$s" --method dreambooth-prior --runs "$OUT/runs-prior" ;;   # DreamBooth with prior preservation
      rpo-b0.3) row rpo-b0.3 "$s" --method rpo --beta 0.3 --runs "$OUT/runs-rpo-b0.3" ;;                 # RPO with a smaller preference term
      *) # any method config of configs/ (the appendix ablations, online RPO): its own training
         # runs; NAME@RULE evaluates another kept rule of NAME's runs (online-40@last)
         cfg=${r%@*}; sel=()
         [ "$cfg" != "$r" ] && sel=(--select "${r#*@}")
         if [ -f "configs/$cfg.yaml" ]; then row "$r" "$s" --method "configs/$cfg.yaml" --runs "$OUT/runs-$cfg" "${sel[@]}"
         else echo "unknown row $r (not a row above nor configs/$cfg.yaml)"; exit 2; fi ;;
    esac
  done
done
dirs=()
for r in $ROWS; do dirs+=("$OUT/$r"); done
# the table, with differences against pure L_sim when it is a row
baseline=-1
for i in "${!dirs[@]}"; do [ "${dirs[$i]}" = "$OUT/sim" ] && baseline=$i; done
"$BIN" eval table --baseline "$baseline" --out "$OUT/table.md" "${dirs[@]}"
# validation reward of the base model (step 0) and of the kept weights, the
# labels and the clip share, per training run
bench/runstats.py "$OUT"/runs-*/*/ | tee "$OUT/validation.txt"
