"""Builds tiny Stable Diffusion models with random weights in the real diffusers
layout and writes what the reference implementations compute on fixed inputs.

    ../shared/oracle/python internal/oracle/sd_tiny.py OUT [sd1|sd2]

OUT/model/ is a diffusers directory (model_index.json, unet/, vae/,
text_encoder/, tokenizer/, scheduler/): the U-Net and VAE are diffusers
v0.21.4's, saved with save_pretrained; the text encoder is openai CLIP's text
transformer (the mathematics of transformers' CLIPTextModel) written under
CLIPTextModel's tensor names; the tokenizer files are derived from the real
CLIP BPE vocabulary the way the Hugging Face files were. OUT/expected.safetensors
holds inputs and the reference outputs; OUT/tokens.json the tokenizer's ids.
"""
import html, json, os, sys
import torch
import clip
from clip.model import CLIP
from clip.simple_tokenizer import SimpleTokenizer
from diffusers import UNet2DConditionModel, AutoencoderKL, DDIMScheduler
from safetensors.torch import save_file
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layouts import clip_text_hf, single_file, write_clip_tokenizer

out, variant = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "sd1")
model = os.path.join(out, "model")
torch.manual_seed(0)
torch.set_grad_enabled(False)

# ---- tokenizer files: vocab.json + merges.txt as in openai/clip-vit-large-patch14
pad = "<|endoftext|>" if variant == "sd1" else "!"
write_clip_tokenizer(model, pad)

tok = SimpleTokenizer()
sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]
pad_id = tok.encoder[pad] if pad in tok.encoder else tok.encoder[pad + "</w>"]
def ids(text):  # CLIPTokenizer(padding="max_length", max_length=77, truncation=True)
    body = tok.encode(text)[:75]
    row = [sot] + body + [eot]
    return row + [pad_id] * (77 - len(row))
strings = ["a photo of a sks dog", "A Photo of a SKS Dog!", "", "   spaces\tand\nnewlines  ",
           "a dog on the beach, 4k, highly detailed", "café naïve résumé Zürich", "emoji 🐶🏖️ and ♥",
           "numbers 1234567890 and 3.14159", "punctuation: (hello)! [world]? {x}; 'quoted' \"double\"",
           "don't we'll they're it's I'm you've he'd", "&amp; &lt;b&gt; html", "日本語のテキスト 中文",
           "a " * 100 + "dog", "supercalifragilisticexpialidocious antidisestablishmentarianism",
           "a sks backpack in the jungle", "<|startoftext|> a <|endoftext|> b"]
with open(os.path.join(out, "tokens.json"), "w", encoding="utf-8") as f:
    json.dump([{"text": s, "ids": ids(s)} for s in strings], f, ensure_ascii=False, indent=0)

# ---- text encoder: openai CLIP's text transformer, saved as CLIPTextModel
# head width 64, as CLIP's and OpenCLIP's (a single file does not say the head count);
# SD 2.x's text encoder is OpenCLIP's without its last layer, which the single file still holds
W, H, L = 128, 2, (2 if variant == "sd1" else 3)
layers = L if variant == "sd1" else L - 1
act = "quick_gelu" if variant == "sd1" else "gelu"
c = CLIP(embed_dim=W, image_resolution=32, vision_layers=1, vision_width=64, vision_patch_size=16,
         context_length=77, vocab_size=49408, transformer_width=W, transformer_heads=H, transformer_layers=L)
for p in c.parameters():  # CLIP's init leaves LayerNorms at 1/0 and biases 0: randomise all
    p.normal_(0, 0.2)
if act == "gelu":
    for blk in c.transformer.resblocks:
        blk.mlp.gelu = torch.nn.GELU()
te = clip_text_hf(c, layers)
os.makedirs(os.path.join(model, "text_encoder"), exist_ok=True)
save_file({k: v.contiguous() for k, v in te.items()}, os.path.join(model, "text_encoder", "model.safetensors"))
with open(os.path.join(model, "text_encoder", "config.json"), "w") as f:
    json.dump({"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "hidden_size": W,
               "intermediate_size": 4 * W, "num_attention_heads": H, "num_hidden_layers": layers,
               "max_position_embeddings": 77, "vocab_size": 49408, "hidden_act": act, "layer_norm_eps": 1e-5,
               "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "projection_dim": W,
               "torch_dtype": "float32"}, f, indent=2)
def encode_text(tokens):
    x = (c.token_embedding(tokens) + c.positional_embedding).permute(1, 0, 2)
    for blk in c.transformer.resblocks[:layers]:
        x = blk(x)
    return c.ln_final(x.permute(1, 0, 2))

# ---- U-Net and VAE
if variant == "sd1":
    ucfg = dict(sample_size=8, block_out_channels=(32, 32, 64), layers_per_block=2,
                down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                cross_attention_dim=W, attention_head_dim=4, norm_num_groups=32)
    sched = dict(prediction_type="epsilon")
else:
    ucfg = dict(sample_size=8, block_out_channels=(32, 64), layers_per_block=1,
                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                cross_attention_dim=W, attention_head_dim=[2, 4], norm_num_groups=32,
                use_linear_projection=True, upcast_attention=True, transformer_layers_per_block=2)
    sched = dict(prediction_type="v_prediction")
unet = UNet2DConditionModel(**ucfg)
vae = AutoencoderKL(block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2,
                    up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=32,
                    layers_per_block=1, sample_size=16)
for m in (unet, vae):  # zero-initialised outputs (conv_out, proj_out) would hide mistakes
    for p in m.parameters():
        p.add_(torch.randn_like(p) * 0.05)
unet.save_pretrained(os.path.join(model, "unet"))
vae.save_pretrained(os.path.join(model, "vae"))
scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                          set_alpha_to_one=False, steps_offset=1, **sched)
scheduler.save_pretrained(os.path.join(model, "scheduler"))
with open(os.path.join(model, "model_index.json"), "w") as f:
    json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.21.4",
               "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
               "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"], "safety_checker": [None, None],
               "feature_extractor": [None, None], "requires_safety_checker": False}, f, indent=2)

# ---- the reference outputs
e = {}
e["text_ids"] = torch.tensor([ids("a photo of a sks dog"), ids("")], dtype=torch.float32)
e["text_hidden"] = encode_text(e["text_ids"].long())
e["unet_x"] = torch.randn(2, 4, 8, 8)
e["unet_t"] = torch.tensor([999.0, 17.0])
e["unet_ctx"] = torch.randn(2, 77, W)
e["unet_out"] = unet(e["unet_x"], e["unet_t"].long(), encoder_hidden_states=e["unet_ctx"]).sample
e["vae_x"] = torch.rand(2, 3, 16, 16) * 2 - 1
e["vae_mean"] = vae.encode(e["vae_x"]).latent_dist.mean
e["vae_z"] = torch.randn(2, 4, 8, 8)
e["vae_dec"] = vae.decode(e["vae_z"]).sample
# a DDIM trajectory with classifier-free guidance, as StableDiffusionPipeline runs it
steps, guidance = 4, 7.5
prompt = ids("a sks dog on the beach")
emb = encode_text(torch.tensor([ids(""), prompt]))
lat = torch.randn(1, 4, 8, 8)
e["ddim_latents"], e["ddim_ids"] = lat.clone(), torch.tensor([prompt], dtype=torch.float32)
scheduler.set_timesteps(steps)
lat = lat * scheduler.init_noise_sigma
for t in scheduler.timesteps:
    inp = scheduler.scale_model_input(torch.cat([lat] * 2), t)
    pred = unet(inp, t, encoder_hidden_states=emb).sample
    un, co = pred.chunk(2)
    lat = scheduler.step(un + guidance * (co - un), t, lat).prev_sample
e["ddim_out"] = lat
img = vae.decode(lat / vae.config.scaling_factor).sample
e["ddim_image"] = ((img / 2 + 0.5).clamp(0, 1) * 255).round()
e["ddim_timesteps"] = scheduler.timesteps.float()
save_file({k: v.contiguous().float() for k, v in e.items()}, os.path.join(out, "expected.safetensors"),
          metadata={"steps": str(steps), "guidance": str(guidance), "variant": variant})
print(f"{variant}: unet {sum(p.numel() for p in unet.parameters())} params, vae {sum(p.numel() for p in vae.parameters())}, text {sum(v.numel() for v in te.values())}")

# ---- the same model as one original-layout (LDM) file, as A1111/ComfyUI users have it,
# checked by converting it back with diffusers' own convert_from_ckpt functions
if variant == "sd1":  # CLIPTextModel under cond_stage_model.transformer.
    text_sd = dict(te)
else:  # OpenCLIP's names, which are openai CLIP's, under cond_stage_model.model.
    text_sd = {k: v for k, v in c.state_dict().items() if not k.startswith("visual.")}
single = single_file(unet, vae, text_sd, variant == "sd2")
# the head count is not in the tensors: the original config says it
unet_params = ["num_heads: 4"] if variant == "sd1" else ["num_head_channels: 16", "use_linear_in_transformer: true"]
with open(os.path.join(out, "single.yaml"), "w") as f:
    f.write("model:\n  params:\n" + ("    parameterization: \"v\"\n" if variant == "sd2" else "") +
            "    unet_config:\n      params:\n" + "".join("        " + l + "\n" for l in unet_params + ["image_size: 8"]))
save_file({k: v.contiguous() for k, v in single.items()}, os.path.join(out, "single.safetensors"))
print(f"single file: {len(single)} tensors, checked against diffusers' convert_from_ckpt")
