#!/usr/bin/env bash
# make bench-compare MODELS=sd15: Stable Diffusion 1.5's U-Net at its real
# shapes (random weights, runs/sd-full/sd15 from make parity-full) in
# diffusers/PyTorch and in rpo, alternating, one process per measurement:
# seconds, peak RSS during the runs (weights included), ratios rpo/torch.
# PyTorch runs with Debian's OpenBLAS (libopenblas0-pthread, as make
# bench-compare installs it), with its default threads and with one
# (OPENBLAS_NUM_THREADS=1); the ratios are against the faster of the two.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${SD15:-runs/sd-full/sd15}
test -f "$DIR/model/unet/diffusion_pytorch_model.safetensors" ||
  ../shared/oracle/python internal/oracle/sd_full.py "$DIR" sd15 >&2
go build -o bin/sdbench ./bench/sdbench
out=${OUT:-runs/bench-sd15.jsonl}
: > "$out"
for mode in ${MODES:-fwd32 train32 fwd64}; do
  # the strong anchors, as bench/compare.sh: PyTorch with OpenBLAS (whatever libblas.so.3 the system points to),
  # its default threads and one thread (torch's own two threads without OpenBLAS's inside them: faster here)
  for t in default 1; do
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $([ $t = 1 ] && echo OPENBLAS_NUM_THREADS=1) LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \
      ../shared/oracle/python bench/sd_torch.py "$DIR/model/unet" "$mode" | sed "s/\"impl\": \"torch/\"impl\": \"torch-openblas$t/" | tee -a "$out"
  done
  ./bin/sdbench -model "$DIR/model" -mode "$mode" | tee -a "$out"
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'shape':<28} {'torch s':>8} {'rpo s':>8} {'ratio':>6}   {'torch MiB':>9} {'rpo MiB':>9} {'ratio':>6}")
names = {"fwd32": "forward, batch 2, 32×32", "fwd64": "forward, batch 2, 64×64", "train32": "train step, batch 1, 32×32"}
for m in dict.fromkeys(r["mode"] for r in rows):
    t = min((r for r in rows if r["mode"] == m and r["impl"].startswith("torch")), key=lambda r: r["seconds"])  # the faster anchor
    g = next(r for r in rows if r["mode"] == m and r["impl"] == "rpo")
    print(f"{names[m]:<28} {t['seconds']:>8.1f} {g['seconds']:>8.1f} {g['seconds']/t['seconds']:>5.2f}x   {t['peak_mib']:>9.0f} {g['peak_mib']:>9.0f} {g['peak_mib']/t['peak_mib']:>5.2f}x")
PY
