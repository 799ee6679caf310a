#!/usr/bin/env bash
# Copies the results of an evaluation tree (bench/methods.sh's OUT) into
# docs/results/NAME: per row the reports and per-subject metrics, never the
# images, grids or training runs.
#   bench/keep-results.sh eval/main30-v9 main30-v9
set -euo pipefail
src=$1; name=$2
dst=docs/results/$name
mkdir -p "$dst"
for row in "$src"/*/; do
  r=$(basename "$row")
  [ -f "$row/meta.json" ] || continue
  mkdir -p "$dst/$r/subjects"
  for f in meta.json results.json results.md subjects.csv; do
    [ -f "$row/$f" ] && cp "$row/$f" "$dst/$r/"
  done
  cp "$row"/subjects/*.json "$dst/$r/subjects/" 2>/dev/null || true
done
for f in table.md validation.txt times.txt; do
  [ -f "$src/$f" ] && cp "$src/$f" "$dst/"
done
du -sh "$dst"
