"""Loads a U-Net directory with diffusers' UNet2DConditionModel.from_pretrained
and runs it on the inputs of an expected.safetensors (unet_x, unet_t, unet_ctx).

    ../shared/oracle/python internal/oracle/sd_unet_run.py OUT UNET_DIR EXPECTED

OUT/out.safetensors holds "unet_out".
"""
import os, sys
import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import load_file, save_file

out, unet_dir, expected = sys.argv[1:4]
torch.set_grad_enabled(False)
unet = UNet2DConditionModel.from_pretrained(unet_dir)
e = load_file(expected)
y = unet(e["unet_x"], e["unet_t"].long(), encoder_hidden_states=e["unet_ctx"]).sample
save_file({"unet_out": y.contiguous()}, os.path.join(out, "out.safetensors"))
