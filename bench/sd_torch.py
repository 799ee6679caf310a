"""Stable Diffusion's U-Net in diffusers/PyTorch at real shapes, for
make bench-compare MODELS=sd15: one mode per process, so that each peak is its own.

    python3 bench/sd_torch.py UNET_DIR fwd32|fwd64|train32

fwdN: forward pass at batch 2 (classifier-free guidance) on N×N latents;
train32: forward and backward (MSE to a target, gradients of every weight)
at batch 1 on 32×32 latents. Prints JSON: seconds (the second of two runs
for 32×32, the only run for 64×64), peak RSS during the runs, RSS before.
"""
import json, sys, time
import torch
from diffusers import UNet2DConditionModel

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
torch.set_num_threads(2)
torch.manual_seed(0)
unet = UNet2DConditionModel.from_pretrained(sys.argv[1])
mode = sys.argv[2]
side = 64 if mode == "fwd64" else 32
batch = 1 if mode == "train32" else 2
x, ctx = torch.randn(batch, 4, side, side), torch.randn(batch, 77, unet.config.cross_attention_dim)
t = torch.tensor([500] * batch)
target = torch.randn(batch, 4, side, side)
runs = 1 if mode == "fwd64" else 2
base = rss("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
times = []
for _ in range(runs):
    s = time.time()
    if mode == "train32":
        unet.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(unet(x, t, encoder_hidden_states=ctx).sample, target)
        loss.backward()
    else:
        with torch.no_grad():
            unet(x, t, encoder_hidden_states=ctx)
    times.append(time.time() - s)
print(json.dumps({"impl": f"torch {torch.__version__}", "mode": mode, "seconds": times[-1], "all": times,
                  "peak_mib": rss("VmHWM"), "base_mib": base, "threads": torch.get_num_threads()}))
