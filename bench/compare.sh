#!/usr/bin/env bash
# make bench-compare: the same U-Net in PyTorch (Debian python3-torch) and in
# rpo, on the same machine in one invocation: ms per training step and per
# forward pass, peak memory, GFLOP/s and model FLOPs utilisation (MFU:
# achieved GFLOP/s over the GEMM's measured peak), and the ratios rpo/PyTorch;
# then one denoising step of a guided sampling batch of SAMPLE images (default
# 32: 64 rows) with its peak memory, against PyTorch + OpenBLAS.
#
# Two PyTorch anchors: with OpenBLAS (libopenblas0-pthread, what a user who
# installs PyTorch gets: the strong anchor) and with the netlib reference
# BLAS (libblas3). Each runs with its BLAS chosen by LD_LIBRARY_PATH for that
# command only, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, and reports the
# BLAS it loaded; the OpenBLAS one runs a second time with OPENBLAS_NUM_THREADS=1
# (pytorch+openblas1t: torch's threads without OpenBLAS's inside them, the
# fastest PyTorch here). The implementations alternate over ROUNDS rounds
# (these machines drift) and each number is the median over the rounds of
# each round's median over STEPS steps.
#   make bench-compare                      # Model A and the embedded shapes
#   MODELS=embedded ROUNDS=5 STEPS=5 make bench-compare
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
LIB=/usr/lib/x86_64-linux-gnu
need=""
"$PY" -c 'import torch' 2>/dev/null || need="$need python3-torch"
[ -e "$LIB/openblas-pthread/libblas.so.3" ] || need="$need libopenblas0-pthread"
[ -e "$LIB/blas/libblas.so.3" ] || need="$need libblas3"
if [ -n "$need" ]; then
  echo "bench-compare: installing Debian's$need" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
go build -o bin/rpobench ./bench/rpobench
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-3}
SAMPLE=${SAMPLE:-32}
torch() { # torch BLASDIR MODEL [ARGS]: one measurement with that BLAS
  local blas=$1 model=$2; shift 2
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_LIBRARY_PATH="$blas" "$PY" bench/unet_torch.py --model "$model" --steps "$STEPS" "$@"
}
for m in ${MODELS:-a embedded}; do
  runs=()
  for r in $(seq "$ROUNDS"); do
    runs+=("$(torch "$LIB/openblas-pthread" "$m" | sed 's/"impl": "pytorch/"impl": "pytorch+openblas/')")
    # the same with OpenBLAS on one thread: torch's own two threads call it, and two
    # threads each inside them oversubscribe the cores (the training step up to 2x slower)
    runs+=("$(OPENBLAS_NUM_THREADS=1 torch "$LIB/openblas-pthread" "$m" | sed 's/"impl": "pytorch/"impl": "pytorch+openblas1t/')")
    runs+=("$(torch "$LIB/blas:$LIB/lapack" "$m" | sed 's/"impl": "pytorch/"impl": "pytorch+refblas/')")
    runs+=("$(./bin/rpobench -model "$m" -steps "$STEPS")")
    # one denoising step of a guided batch of SAMPLE images, each in its own process (its peak RSS)
    runs+=("$(torch "$LIB/openblas-pthread" "$m" --sample "$SAMPLE" | sed 's/"impl": "pytorch/"impl": "pytorch+openblas/')")
    runs+=("$(OPENBLAS_NUM_THREADS=1 torch "$LIB/openblas-pthread" "$m" --sample "$SAMPLE" | sed 's/"impl": "pytorch/"impl": "pytorch+openblas1t/')")
    runs+=("$(./bin/rpobench -model "$m" -steps "$STEPS" -sample "$SAMPLE")")
  done
  printf '%s\n' "${runs[@]}" | "$PY" bench/compare_summary.py
done
