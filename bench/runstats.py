#!/usr/bin/env python3
"""One line per `rpo train` run directory (its metrics.jsonl): validation r_λ of
the base model (step 0), the best fine-tuned validation (step > 0: what
best@λ keeps unless --keep-base) and the last validation, the mean ALIGN-I
and ALIGN-T of the last validation, and over the steps the mean label
probability p, the mean label y, the mean L_sim and L_pref, and the share of
steps whose global gradient norm exceeded the clip of 1.0.
    bench/runstats.py runs/ltrain/*/            [--lambda 0.5]
"""
import argparse, json, os, statistics as st

ap = argparse.ArgumentParser()
ap.add_argument("runs", nargs="+")
ap.add_argument("--lambda", dest="lam", default="0.5")
a = ap.parse_args()
print(f"{'run':<40} {'base':>7} {'best':>7} {'@':>4} {'last':>7} {'ALIGN-I':>8} {'ALIGN-T':>8} {'p':>5} {'y':>5} {'L_sim':>7} {'L_pref':>7} {'clip%':>6}")
for r in a.runs:
    path = os.path.join(r, "metrics.jsonl")
    if not os.path.exists(path):
        continue
    vals, steps = [], []
    for line in open(path):
        d = json.loads(line)
        if "validation" in d:
            vals.append(d["validation"])
        elif "step" in d:
            steps.append(d["step"])
    if not vals or not steps:
        continue
    rew = lambda v: v["reward"][a.lam]
    base = next((rew(v) for v in vals if v["step"] == 0), float("nan"))
    best = max([v for v in vals if v["step"] > 0] or vals, key=rew)
    last = vals[-1]
    ai = st.mean(last["align_i"].values())
    at = st.mean(last["align_t"].values())
    m = lambda k: st.mean(s.get(k, 0) for s in steps)
    clip = 100 * sum(s["grad_norm"] > 1 for s in steps) / len(steps)
    print(f"{r.rstrip('/'):<40} {base:7.4f} {rew(best):7.4f} {best['step']:4d} {rew(last):7.4f} {ai:8.3f} {at:8.3f} {m('p'):5.2f} {m('y'):5.2f} {m('l_sim'):7.4f} {m('l_pref'):7.4f} {clip:6.1f}")
