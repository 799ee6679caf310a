"""Loads LoRA adapters into a diffusers U-Net with UNet2DConditionModel.load_attn_procs
and runs it on the inputs of an expected.safetensors (unet_x, unet_t, unet_ctx).

    ../shared/oracle/python internal/oracle/sd_lora_run.py OUT UNET_DIR LORA_FILE EXPECTED

The file's keys may carry the pipeline's "unet." prefix (stripped here, as
load_lora_weights does); its metadata's lora_alpha becomes network_alphas.
"""
import json, os, sys, struct
import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file, save_file

out, unet_dir, lora, expected = sys.argv[1:5]
torch.set_grad_enabled(False)
unet = UNet2DConditionModel.from_pretrained(unet_dir)
sd = {k[len("unet."):] if k.startswith("unet.") else k: v for k, v in load_file(lora).items()}
raw = open(lora, "rb").read()
meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]]).get("__metadata__", {})
alphas = None
if "lora_alpha" in meta:
    alphas = {k.replace(".lora.down.weight", ".alpha"): float(meta["lora_alpha"]) for k in sd if k.endswith(".lora.down.weight")}
unet.load_attn_procs(sd, network_alphas=alphas)
e = load_file(expected)
y = unet(e["unet_x"], e["unet_t"].long(), encoder_hidden_states=e["unet_ctx"]).sample
save_file({"unet_out": y.contiguous()}, os.path.join(out, "out.safetensors"))
