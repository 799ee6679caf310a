#!/usr/bin/env bash
# Pauses (stop) or resumes (cont) every running `rpo eval --bench …` process,
# so that a measurement does not share the cores with a background table:
#   bench/pause.sh stop; make bench-compare; bench/pause.sh cont
# (matching the rpo processes themselves: `pgrep -f "rpo eval" | head -1` is
# the /usr/bin/time wrapper of bench/methods.sh, and stopping it does not
# stop rpo). It matches binaries named rpo, rpo2, rpo.bin …
set -euo pipefail
case ${1:-} in
  stop) sig=STOP ;;
  cont) sig=CONT ;;
  *) echo "usage: bench/pause.sh stop|cont" >&2; exit 2 ;;
esac
pkill -"$sig" -f '(^|/)rpo[0-9]*(\.[a-z]+)? eval --bench' || true
