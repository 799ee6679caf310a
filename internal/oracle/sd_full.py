"""Stable Diffusion at full size with random weights, in the real diffusers
layout (SD 1.5's or SD 2.1's unet/vae/text_encoder configurations), and the
reference outputs of one small forward pass of each component.

    ../shared/oracle/python internal/oracle/sd_full.py OUT sd15|sd21

About 4.3 GB on disk (fp32); keep it out of git (make parity-full writes it
under runs/).
"""
import json, os, sys, time
import torch
from clip.model import CLIP
from diffusers import UNet2DConditionModel, AutoencoderKL, DDIMScheduler
from safetensors.torch import save_file
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layouts import clip_text_hf, single_file, write_clip_tokenizer

out, which = sys.argv[1], sys.argv[2]
model = os.path.join(out, "model")
torch.manual_seed(0)
torch.set_grad_enabled(False)
sd15 = which == "sd15"
W, H, L, act = (768, 12, 12, "quick_gelu") if sd15 else (1024, 16, 24, "gelu")
unet_cfg = dict(sample_size=64 if sd15 else 96, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
                down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                cross_attention_dim=W, attention_head_dim=8 if sd15 else [5, 10, 20, 20],
                use_linear_projection=not sd15, upcast_attention=not sd15, norm_num_groups=32)
t0 = time.time()
unet = UNet2DConditionModel(**unet_cfg)
unet.save_pretrained(os.path.join(model, "unet"))
vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                    up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=2,
                    sample_size=512 if sd15 else 768)
vae.save_pretrained(os.path.join(model, "vae"))
c = CLIP(embed_dim=W, image_resolution=32, vision_layers=1, vision_width=64, vision_patch_size=16,
         context_length=77, vocab_size=49408, transformer_width=W, transformer_heads=H, transformer_layers=L)
if act == "gelu":
    for blk in c.transformer.resblocks:
        blk.mlp.gelu = torch.nn.GELU()
layers = L if sd15 else L - 1  # SD 2.x's text encoder is OpenCLIP-H without its last layer
te = clip_text_hf(c, layers)
os.makedirs(os.path.join(model, "text_encoder"), exist_ok=True)
save_file({k: v.contiguous() for k, v in te.items()}, os.path.join(model, "text_encoder", "model.safetensors"))
with open(os.path.join(model, "text_encoder", "config.json"), "w") as f:
    json.dump({"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "hidden_size": W,
               "intermediate_size": 4 * W, "num_attention_heads": H, "num_hidden_layers": layers,
               "max_position_embeddings": 77, "vocab_size": 49408, "hidden_act": act, "layer_norm_eps": 1e-5,
               "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "projection_dim": W if sd15 else 512,
               "torch_dtype": "float32"}, f, indent=2)
DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False,
              steps_offset=1, prediction_type="epsilon" if sd15 else "v_prediction").save_pretrained(os.path.join(model, "scheduler"))
write_clip_tokenizer(model, "<|endoftext|>" if sd15 else "!")  # the real CLIP vocabulary
with open(os.path.join(model, "model_index.json"), "w") as f:
    json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.21.4",
               "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
               "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"]}, f, indent=2)
# the same model as one original-layout file (A1111/ComfyUI), checked with convert_from_ckpt
text_sd = dict(te) if sd15 else {k: v for k, v in c.state_dict().items() if not k.startswith("visual.")}
save_file({k: v.contiguous() for k, v in single_file(unet, vae, text_sd, not sd15).items()}, os.path.join(out, "single.safetensors"))
print(f"built and saved in {time.time() - t0:.0f} s; unet {sum(p.numel() for p in unet.parameters())} parameters, "
      f"{len(unet.state_dict())} tensors", flush=True)
e = {}
e["unet_x"], e["unet_t"], e["unet_ctx"] = torch.randn(1, 4, 8, 8), torch.tensor([500.0]), torch.randn(1, 77, W)
e["unet_out"] = unet(e["unet_x"], e["unet_t"].long(), encoder_hidden_states=e["unet_ctx"]).sample
e["vae_z"] = torch.randn(1, 4, 8, 8)
e["vae_dec"] = vae.decode(e["vae_z"]).sample
e["vae_x"] = torch.rand(1, 3, 64, 64) * 2 - 1
e["vae_mean"] = vae.encode(e["vae_x"]).latent_dist.mean
ids = torch.tensor([[49406, 320, 1125, 539, 320, 48136, 1929, 49407] + [49407] * 69])
x = c.token_embedding(ids) + c.positional_embedding
for blk in c.transformer.resblocks[:layers]:
    x = blk(x.permute(1, 0, 2)).permute(1, 0, 2)
e["text_ids"], e["text_hidden"] = ids.float(), c.ln_final(x)
save_file({k: v.contiguous().float() for k, v in e.items()}, os.path.join(out, "expected.safetensors"))
print(f"done in {time.time() - t0:.0f} s", flush=True)
