"""Tensor layouts the oracle scripts write: openai CLIP's text transformer
under transformers' CLIPTextModel names, and the original (CompVis LDM)
single-file layout of a diffusers U-Net and VAE, with diffusers' own
convert_from_ckpt functions to check it (imported by sd_tiny.py and sd_full.py)."""
import ast, logging as _logging, os, re
import torch
import diffusers.pipelines.stable_diffusion as _sdp

def ldm_unet(sd, cfg):
    n, lpb = len(cfg["block_out_channels"]), cfg["layers_per_block"]
    m = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
         "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
         "mid_block.attentions.0": "middle_block.1", "mid_block.resnets.0": "middle_block.0",
         "mid_block.resnets.1": "middle_block.2"}
    for i in range(n):
        for j in range(lpb):
            m[f"down_blocks.{i}.resnets.{j}"] = f"input_blocks.{(lpb + 1) * i + j + 1}.0"
            m[f"down_blocks.{i}.attentions.{j}"] = f"input_blocks.{(lpb + 1) * i + j + 1}.1"
        m[f"down_blocks.{i}.downsamplers.0.conv"] = f"input_blocks.{(lpb + 1) * (i + 1)}.0.op"
        up_attn = cfg["up_block_types"][i] == "CrossAttnUpBlock2D"
        for j in range(lpb + 1):
            m[f"up_blocks.{i}.resnets.{j}"] = f"output_blocks.{(lpb + 1) * i + j}.0"
            m[f"up_blocks.{i}.attentions.{j}"] = f"output_blocks.{(lpb + 1) * i + j}.1"
        m[f"up_blocks.{i}.upsamplers.0"] = f"output_blocks.{(lpb + 1) * i + lpb}.{2 if up_attn else 1}"
    res = {"norm1": "in_layers.0", "conv1": "in_layers.2", "norm2": "out_layers.0", "conv2": "out_layers.3",
           "time_emb_proj": "emb_layers.1", "conv_shortcut": "skip_connection"}
    out = {}
    for k, v in sd.items():
        best = max((p for p in m if k.startswith(p + ".")), key=len)
        rest = k[len(best) + 1:]
        if ".resnets." in best:
            a, b = rest.split(".", 1)
            rest = res[a] + "." + b
        out["model.diffusion_model." + m[best] + "." + rest] = v
    return out

def ldm_vae(sd, cfg):
    n, lpb = len(cfg["block_out_channels"]), cfg["layers_per_block"]
    m = {"encoder.conv_norm_out": "encoder.norm_out", "decoder.conv_norm_out": "decoder.norm_out",
         "encoder.mid_block.attentions.0": "encoder.mid.attn_1", "decoder.mid_block.attentions.0": "decoder.mid.attn_1"}
    for s in ("encoder", "decoder"):
        for j in range(2):
            m[f"{s}.mid_block.resnets.{j}"] = f"{s}.mid.block_{j + 1}"
    for i in range(n):
        for j in range(lpb):
            m[f"encoder.down_blocks.{i}.resnets.{j}"] = f"encoder.down.{i}.block.{j}"
        m[f"encoder.down_blocks.{i}.downsamplers.0"] = f"encoder.down.{i}.downsample"
        for j in range(lpb + 1):
            m[f"decoder.up_blocks.{i}.resnets.{j}"] = f"decoder.up.{n - 1 - i}.block.{j}"
        m[f"decoder.up_blocks.{i}.upsamplers.0"] = f"decoder.up.{n - 1 - i}.upsample"
    attn = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    out = {}
    for k, v in sd.items():
        cands = [p for p in m if k.startswith(p + ".")]
        if not cands:
            out["first_stage_model." + k] = v
            continue
        best = max(cands, key=len)
        rest = k[len(best) + 1:].replace("conv_shortcut", "nin_shortcut")
        if "attentions" in best:
            a, b = rest.rsplit(".", 1)
            rest = attn[a] + "." + b
            if a != "group_norm" and b == "weight":
                v = v[:, :, None, None]  # LDM's VAE attention projections are 1×1 convolutions
        out["first_stage_model." + m[best] + "." + rest] = v
    return out

# convert_from_ckpt imports transformers, which is not here: take its conversion functions alone
_src = open(os.path.join(os.path.dirname(_sdp.__file__), "convert_from_ckpt.py")).read()
_want = {"shave_segments", "renew_resnet_paths", "renew_vae_resnet_paths", "renew_attention_paths",
         "renew_vae_attention_paths", "assign_to_checkpoint", "conv_attn_to_linear",
         "convert_ldm_unet_checkpoint", "convert_ldm_vae_checkpoint"}
_mod = ast.Module(body=[n for n in ast.parse(_src).body if isinstance(n, ast.FunctionDef) and n.name in _want], type_ignores=[])
_ns = {"re": re, "torch": torch, "logger": _logging.getLogger("convert_from_ckpt"), "Dict": dict, "Optional": object, "Union": object}
exec(compile(_mod, "convert_from_ckpt.py", "exec"), _ns)
class cfc:
    convert_ldm_unet_checkpoint = staticmethod(_ns["convert_ldm_unet_checkpoint"])
    convert_ldm_vae_checkpoint = staticmethod(_ns["convert_ldm_vae_checkpoint"])


def single_file(unet, vae, text_sd, sd2):
    """The single-file state dict of a model, checked against convert_from_ckpt."""
    single = {}
    single.update(ldm_unet(unet.state_dict(), unet.config))
    single.update(ldm_vae(vae.state_dict(), vae.config))
    back = cfc.convert_ldm_unet_checkpoint(dict(single), dict(unet.config))
    assert set(back) == set(unet.state_dict()), set(back) ^ set(unet.state_dict())
    assert all(torch.equal(back[k], v) for k, v in unet.state_dict().items())
    back = cfc.convert_ldm_vae_checkpoint(dict(single), dict(vae.config))
    assert set(back) == set(vae.state_dict()), set(back) ^ set(vae.state_dict())
    assert all(torch.equal(back[k].reshape(v.shape), v) for k, v in vae.state_dict().items())
    prefix = "cond_stage_model.model." if sd2 else "cond_stage_model.transformer."
    for k, v in text_sd.items():
        single[prefix + k] = v
    return single


def clip_blocks_hf(prefix, resblocks, width):
    """openai CLIP's residual attention blocks under CLIPEncoder's names (prefix.encoder.layers.i.…)."""
    sd = {}
    for i, b in enumerate(resblocks):
        q = f"{prefix}.encoder.layers.{i}."
        for j, n in enumerate("qkv"):
            sd[q + f"self_attn.{n}_proj.weight"] = b.attn.in_proj_weight[j * width:(j + 1) * width]
            sd[q + f"self_attn.{n}_proj.bias"] = b.attn.in_proj_bias[j * width:(j + 1) * width]
        sd[q + "self_attn.out_proj.weight"], sd[q + "self_attn.out_proj.bias"] = b.attn.out_proj.weight, b.attn.out_proj.bias
        sd[q + "layer_norm1.weight"], sd[q + "layer_norm1.bias"] = b.ln_1.weight, b.ln_1.bias
        sd[q + "layer_norm2.weight"], sd[q + "layer_norm2.bias"] = b.ln_2.weight, b.ln_2.bias
        sd[q + "mlp.fc1.weight"], sd[q + "mlp.fc1.bias"] = b.mlp.c_fc.weight, b.mlp.c_fc.bias
        sd[q + "mlp.fc2.weight"], sd[q + "mlp.fc2.bias"] = b.mlp.c_proj.weight, b.mlp.c_proj.bias
    return sd


def clip_text_hf(c, layers):
    """openai CLIP c's text transformer (its first `layers` blocks) under CLIPTextModel's names."""
    te = {"text_model.embeddings.token_embedding.weight": c.token_embedding.weight,
          "text_model.embeddings.position_embedding.weight": c.positional_embedding,
          "text_model.embeddings.position_ids": torch.arange(77, dtype=torch.int64)[None],
          "text_model.final_layer_norm.weight": c.ln_final.weight, "text_model.final_layer_norm.bias": c.ln_final.bias}
    te.update(clip_blocks_hf("text_model", c.transformer.resblocks[:layers], c.positional_embedding.shape[1]))
    return te


def write_clip_tokenizer(model, pad):
    """MODEL/tokenizer/ as in openai/clip-vit-large-patch14 (CLIPTokenizer's
    vocab.json, merges.txt and configs), built from the real CLIP BPE
    vocabulary that openai's clip package ships; pad is the padding token
    ("<|endoftext|>" for SD 1.x, "!" for SD 2.x)."""
    import gzip, json
    from clip.simple_tokenizer import bytes_to_unicode, default_bpe
    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(os.path.join(model, "tokenizer"), exist_ok=True)
    with open(os.path.join(model, "tokenizer", "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(model, "tokenizer", "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    with open(os.path.join(model, "tokenizer", "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 77, "bos_token": "<|startoftext|>",
                   "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": pad,
                   "tokenizer_class": "CLIPTokenizer"}, f, indent=2)
    with open(os.path.join(model, "tokenizer", "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                   "pad_token": pad}, f, indent=2)
