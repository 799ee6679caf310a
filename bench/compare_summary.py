#!/usr/bin/env python3
"""The table of bench/compare.sh from its JSON lines (one per implementation
and round, on stdin): medians over the rounds, GFLOP/s and MFU against rpo's
measured GEMM peak, and the ratios rpo/PyTorch for each anchor."""
import json
import statistics
import sys

runs = [json.loads(line) for line in sys.stdin if line.strip()]
samples = [r for r in runs if r.get("mode") == "sample"]
runs = [r for r in runs if r.get("mode") != "sample"]
by = {}
for r in runs:
    by.setdefault(r["impl"].split()[0], []).append(r)


def med(rs, k):
    return statistics.median(r[k] for r in rs)


flops = next(r["forward_flops"] for r in runs if "forward_flops" in r)
gemms = {impl: statistics.median(r["gemm_gflops"] for r in rs) for impl, rs in by.items()}
peak = max(gemms.values())
model, params, n = runs[0]["model"], runs[0]["params"], len(by["rpo"])
print(f"{model}: {params:,} parameters; forward {flops / 1e9:.2f} GFLOP, training step counted as 3x; "
      f"medians over {n} rounds")
print("GEMM 1024^3 GFLOP/s: " + ", ".join(f"{impl} {g:.0f}" for impl, g in gemms.items()) + f"; MFU against {peak:.0f}")
print(f"{'impl':<16} {'ms/step':>9} {'ms/forward':>11} {'peak MiB':>9} {'GFLOP/s step':>13} {'fwd':>6} {'MFU step':>9} {'fwd':>6}")
row = {}
for impl, rs in by.items():
    t, f, m = med(rs, "train_ms"), med(rs, "forward_ms"), med(rs, "peak_mib")
    row[impl] = (t, f, m)
    gs, gf = 3 * flops / t / 1e6, flops / f / 1e6
    print(f"{impl:<16} {t:>9.1f} {f:>11.1f} {m:>9.1f} {gs:>13.1f} {gf:>6.1f} {gs / peak:>9.0%} {gf / peak:>6.0%}")
for impl in by:
    if impl == "rpo":
        continue
    a, b = row["rpo"], row[impl]
    print(f"{'rpo/' + impl.split('+')[-1]:<16} {a[0] / b[0]:>8.2f}x {a[1] / b[1]:>10.2f}x {a[2] / b[2]:>8.2f}x")
for impl, rs in by.items():
    if "blas" in rs[0]:
        print(f"  {impl} loaded {rs[0]['blas']}")
if samples:
    sb = {}
    for r in samples:
        sb.setdefault(r["impl"].split()[0], []).append(r)
    print(f"guided sampling, {samples[0]['images']} images ({2 * samples[0]['images']} rows), one denoising step:")
    for impl, rs in sb.items():
        print(f"  {impl:<16} {med(rs, 'forward_ms'):>9.1f} ms {med(rs, 'peak_mib'):>9.1f} MiB")
    for impl in sb:
        if impl == "rpo" or "rpo" not in sb:
            continue
        a, b = sb["rpo"], sb[impl]
        print(f"  {'rpo/' + impl.split('+')[-1]:<16} {med(a, 'forward_ms') / med(b, 'forward_ms'):>8.2f}x {med(a, 'peak_mib') / med(b, 'peak_mib'):>8.2f}x")
