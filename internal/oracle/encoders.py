"""Tiny CLIP and DINO models with random weights in the transformers layout
(CLIPModel, ViTModel), and what the reference implementations compute.

    ../shared/oracle/python internal/oracle/encoders.py OUT [full|full32]

OUT/clip/ is a CLIPModel directory (config.json, model.safetensors,
preprocessor_config.json, tokenizer files) holding openai CLIP's weights
(py/clip/model.py) under transformers' names; OUT/dino/ a ViTModel directory
with DINO's (py/dino/vision_transformer.py). OUT/expected.safetensors holds
pixel inputs, token ids and the references' embeddings.
"""
import gzip, json, os, sys
from functools import partial
import torch
import clip
from clip.model import CLIP
from clip.simple_tokenizer import SimpleTokenizer, bytes_to_unicode, default_bpe
import vision_transformer as vits
from safetensors.torch import save_file
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layouts import clip_blocks_hf

out = sys.argv[1]
full = len(sys.argv) > 2 and sys.argv[2] in ("full", "full32")  # the real shapes: CLIP ViT-B/16 (or B/32 with "full32"), DINO ViT-S/16
torch.manual_seed(0)
torch.set_grad_enabled(False)
e = {}

# ---- CLIP: a ViT-B/16-like pair at tiny size
E, R, P, VW, VL, TW, TH, TL = 48, 32, 8, 128, 2, 128, 2, 2   # vision heads = VW // 64 = 2
if full:
    E, R, P, VW, VL, TW, TH, TL = 512, 224, (32 if sys.argv[2:] == ["full32"] else 16), 768, 12, 512, 8, 12
c = CLIP(embed_dim=E, image_resolution=R, vision_layers=VL, vision_width=VW, vision_patch_size=P,
         context_length=77, vocab_size=49408, transformer_width=TW, transformer_heads=TH, transformer_layers=TL)
for p in c.parameters():
    p.normal_(0, 0.1 if not full else 0.02)
sd = {}
def blocks(prefix, resblocks, width):
    sd.update(clip_blocks_hf(prefix, resblocks, width))
v = c.visual
sd["vision_model.embeddings.patch_embedding.weight"] = v.conv1.weight
sd["vision_model.embeddings.class_embedding"] = v.class_embedding
sd["vision_model.embeddings.position_embedding.weight"] = v.positional_embedding
sd["vision_model.embeddings.position_ids"] = torch.arange(v.positional_embedding.shape[0])[None]
sd["vision_model.pre_layrnorm.weight"], sd["vision_model.pre_layrnorm.bias"] = v.ln_pre.weight, v.ln_pre.bias
sd["vision_model.post_layernorm.weight"], sd["vision_model.post_layernorm.bias"] = v.ln_post.weight, v.ln_post.bias
blocks("vision_model", v.transformer.resblocks, VW)
sd["visual_projection.weight"] = v.proj.T
sd["text_model.embeddings.token_embedding.weight"] = c.token_embedding.weight
sd["text_model.embeddings.position_embedding.weight"] = c.positional_embedding
sd["text_model.embeddings.position_ids"] = torch.arange(77)[None]
sd["text_model.final_layer_norm.weight"], sd["text_model.final_layer_norm.bias"] = c.ln_final.weight, c.ln_final.bias
blocks("text_model", c.transformer.resblocks, TW)
sd["text_projection.weight"] = c.text_projection.T
sd["logit_scale"] = c.logit_scale.reshape(())
d = os.path.join(out, "clip")
os.makedirs(d, exist_ok=True)
save_file({k: t.contiguous() for k, t in sd.items()}, os.path.join(d, "model.safetensors"))
json.dump({"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": E, "logit_scale_init_value": 2.6592,
           "text_config": {"hidden_size": TW, "intermediate_size": 4 * TW, "num_attention_heads": TH, "num_hidden_layers": TL,
                           "max_position_embeddings": 77, "vocab_size": 49408, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
                           "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1},
           "vision_config": {"hidden_size": VW, "intermediate_size": 4 * VW, "num_attention_heads": VW // 64,
                             "num_hidden_layers": VL, "image_size": R, "patch_size": P, "hidden_act": "quick_gelu",
                             "layer_norm_eps": 1e-5, "num_channels": 3}},
          open(os.path.join(d, "config.json"), "w"), indent=2)
json.dump({"crop_size": {"height": R, "width": R}, "do_center_crop": True, "do_normalize": True, "do_resize": True,
           "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
           "resample": 3, "size": {"shortest_edge": R}, "image_processor_type": "CLIPImageProcessor"},
          open(os.path.join(d, "preprocessor_config.json"), "w"), indent=2)
merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
merges = [tuple(m.split()) for m in merges]
vocab = list(bytes_to_unicode().values())
vocab = vocab + [x + "</w>" for x in vocab] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
json.dump({x: i for i, x in enumerate(vocab)}, open(os.path.join(d, "vocab.json"), "w", encoding="utf-8"), ensure_ascii=False)
open(os.path.join(d, "merges.txt"), "w", encoding="utf-8").write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
json.dump({"model_max_length": 77, "pad_token": "<|endoftext|>", "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>"},
          open(os.path.join(d, "tokenizer_config.json"), "w"))
e["clip_pixels"] = torch.randn(2, 3, R, R)
e["clip_image"] = c.encode_image(e["clip_pixels"])
prompts = ["a photo of a sks dog", "a red backpack on the beach"]
e["clip_ids"] = clip.tokenize(prompts).float()
e["clip_text"] = c.encode_text(clip.tokenize(prompts))
json.dump(prompts, open(os.path.join(out, "prompts.json"), "w"))

# ---- DINO: ViT-S/16's layout at tiny size
R2, P2, D, H, L = 32, 16, 64, 2, 2
if full:
    R2, P2, D, H, L = 224, 16, 384, 6, 12
m = vits.VisionTransformer(img_size=[R2], patch_size=P2, embed_dim=D, depth=L, num_heads=H, mlp_ratio=4, qkv_bias=True,
                           norm_layer=partial(torch.nn.LayerNorm, eps=1e-6))  # as vits.vit_small builds it
for p in m.parameters():
    p.normal_(0, 0.1 if not full else 0.02)
sd = {"embeddings.cls_token": m.cls_token, "embeddings.position_embeddings": m.pos_embed,
      "embeddings.patch_embeddings.projection.weight": m.patch_embed.proj.weight,
      "embeddings.patch_embeddings.projection.bias": m.patch_embed.proj.bias,
      "layernorm.weight": m.norm.weight, "layernorm.bias": m.norm.bias}
for i, b in enumerate(m.blocks):
    q = f"encoder.layer.{i}."
    for j, n in enumerate(["query", "key", "value"]):
        sd[q + f"attention.attention.{n}.weight"] = b.attn.qkv.weight[j * D:(j + 1) * D]
        sd[q + f"attention.attention.{n}.bias"] = b.attn.qkv.bias[j * D:(j + 1) * D]
    sd[q + "attention.output.dense.weight"], sd[q + "attention.output.dense.bias"] = b.attn.proj.weight, b.attn.proj.bias
    sd[q + "layernorm_before.weight"], sd[q + "layernorm_before.bias"] = b.norm1.weight, b.norm1.bias
    sd[q + "layernorm_after.weight"], sd[q + "layernorm_after.bias"] = b.norm2.weight, b.norm2.bias
    sd[q + "intermediate.dense.weight"], sd[q + "intermediate.dense.bias"] = b.mlp.fc1.weight, b.mlp.fc1.bias
    sd[q + "output.dense.weight"], sd[q + "output.dense.bias"] = b.mlp.fc2.weight, b.mlp.fc2.bias
sd["pooler.dense.weight"], sd["pooler.dense.bias"] = torch.randn(D, D), torch.randn(D)  # ViTModel's pooler: unused by DINO's metric
d = os.path.join(out, "dino")
os.makedirs(d, exist_ok=True)
save_file({k: t.contiguous() for k, t in sd.items()}, os.path.join(d, "model.safetensors"))
json.dump({"architectures": ["ViTModel"], "model_type": "vit", "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
           "intermediate_size": 4 * D, "hidden_act": "gelu", "layer_norm_eps": 1e-6, "image_size": R2, "patch_size": P2,
           "num_channels": 3, "qkv_bias": True}, open(os.path.join(d, "config.json"), "w"), indent=2)
json.dump({"do_normalize": True, "do_resize": True, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
           "resample": 2, "size": {"height": R2, "width": R2}, "image_processor_type": "ViTImageProcessor"},
          open(os.path.join(d, "preprocessor_config.json"), "w"), indent=2)
e["dino_pixels"] = torch.randn(2, 3, R2, R2)
e["dino_cls"] = m(e["dino_pixels"])
save_file({k: t.contiguous().float() for k, t in e.items()}, os.path.join(out, "expected.safetensors"))
print("clip and dino written")
