"""ALIGN (transformers' AlignModel, the layout of kakaobrain/align-base) with
random weights, and what it computes.

    ../shared/oracle/python internal/oracle/align.py OUT [full] [IMAGE...]

The oracle has no transformers, and nothing here has ALIGN. AlignModel is an
EfficientNet image tower and a BERT text tower; this script holds twins of
transformers' AlignVisionModel and AlignTextModel written from
modeling_align.py (parameter names as transformers names them), and checks
each against an independent PyTorch implementation before trusting it:

- the EfficientNet twin, with torchvision's symmetric padding switched on,
  against torchvision.models.efficientnet.EfficientNet built from the same
  stage table and scaling (MBConv, squeeze-and-excitation, BatchNorm,
  B7's width and depth rounding), with the same weights;
- each BERT layer of the twin against torch.nn.TransformerEncoderLayer
  (post-LayerNorm, GELU, key padding mask), with the same weights;
- transformers' pooler, AvgPool2d(hidden_dim, ceil_mode=True), against the
  plain mean over positions.

What these cannot check is transformers' own padding of stride-2
convolutions (ZeroPad2d((k//2 − 1, k//2, k//2 − 1, k//2)) before a "valid"
convolution, and (0, 1, 0, 1) before the stem): that is read from
modeling_align.py and written into the twin's "transformers" mode.

OUT/align/ is an AlignModel directory (config.json, model.safetensors,
preprocessor_config.json, vocab.txt, tokenizer_config.json);
OUT/expected.safetensors holds pixels, token ids, masks and the twin's
embeddings. With IMAGE arguments, OUT/pixels.safetensors holds
EfficientNetImageProcessor's preprocessing of each by PIL as align-base
configures it (resize to 346×346 bilinear, centre crop 289, (v − 127.5)/127.5).
"""
import json, math, os, sys
from functools import partial
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

out = sys.argv[1]
args = sys.argv[2:]
full = bool(args) and args[0] == "full"
images = args[1:] if full else args
torch.manual_seed(0)
torch.set_grad_enabled(False)


# ---- the EfficientNet twin (AlignVisionModel)
def round_filters(c, ch):
    d = c["depth_divisor"]
    v = ch * c["width_coefficient"]
    n = max(d, int(v + d / 2) // d * d)
    if n < 0.9 * v:
        n += d
    return int(n)


def correct_pad(k, adjust):
    c = k // 2
    return (c - 1, c, c - 1, c) if adjust else (c, c, c, c)


class Embeddings(nn.Module):
    def __init__(self, c, tv):
        super().__init__()
        self.tv = tv
        o = round_filters(c, 32)
        self.convolution = nn.Conv2d(3, o, 3, 2, padding=1 if tv else 0, bias=False)
        self.batchnorm = nn.BatchNorm2d(o, eps=c["batch_norm_eps"])

    def forward(self, x):
        if not self.tv:
            x = F.pad(x, (0, 1, 0, 1))
        return F.silu(self.batchnorm(self.convolution(x)))


class Expansion(nn.Module):
    def __init__(self, c, i, o):
        super().__init__()
        self.expand_conv = nn.Conv2d(i, o, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(o, eps=c["batch_norm_eps"])

    def forward(self, x):
        return F.silu(self.expand_bn(self.expand_conv(x)))


class Depthwise(nn.Module):
    def __init__(self, c, ch, k, stride, adjust, tv):
        super().__init__()
        self.stride, self.tv, self.pad = stride, tv, correct_pad(k, adjust)
        p = k // 2 if tv or stride == 1 else 0  # "same" at stride 1, "valid" after the pad at stride 2
        self.depthwise_conv = nn.Conv2d(ch, ch, k, stride, padding=p, groups=ch, bias=False)
        self.depthwise_norm = nn.BatchNorm2d(ch, eps=c["batch_norm_eps"])

    def forward(self, x):
        if self.stride == 2 and not self.tv:
            x = F.pad(x, self.pad)
        return F.silu(self.depthwise_norm(self.depthwise_conv(x)))


class SqueezeExcite(nn.Module):
    def __init__(self, c, i, dim):
        super().__init__()
        se = max(1, int(i * c["squeeze_expansion_ratio"]))
        self.reduce = nn.Conv2d(dim, se, 1)
        self.expand = nn.Conv2d(se, dim, 1)

    def forward(self, x):
        g = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.expand(F.silu(self.reduce(g))))


class Projection(nn.Module):
    def __init__(self, c, i, o, residual):
        super().__init__()
        self.residual = residual
        self.project_conv = nn.Conv2d(i, o, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(o, eps=c["batch_norm_eps"])

    def forward(self, inputs, x):
        x = self.project_bn(self.project_conv(x))
        return x + inputs if self.residual else x


class Block(nn.Module):
    def __init__(self, c, i, o, stride, e, k, first, adjust, tv):
        super().__init__()
        dim = i * e
        self.expand = e != 1
        if self.expand:
            self.expansion = Expansion(c, i, dim)
        self.depthwise_conv = Depthwise(c, dim if self.expand else i, k, stride, adjust, tv)
        self.squeeze_excite = SqueezeExcite(c, i, dim if self.expand else i)
        self.projection = Projection(c, dim if self.expand else i, o, stride == 1 and not first)

    def forward(self, x):
        h = self.expansion(x) if self.expand else x
        return self.projection(x, self.squeeze_excite(self.depthwise_conv(h)))


class Encoder(nn.Module):
    def __init__(self, c, tv):
        super().__init__()
        blocks, n = [], 0
        for i in range(len(c["in_channels"])):
            fi, fo = round_filters(c, c["in_channels"][i]), round_filters(c, c["out_channels"][i])
            for j in range(int(math.ceil(c["depth_coefficient"] * c["num_block_repeats"][i]))):
                blocks.append(Block(c, fo if j else fi, fo, 1 if j else c["strides"][i], c["expand_ratios"][i],
                                    c["kernel_sizes"][i], j == 0, n not in c["depthwise_padding"], tv))
                n += 1
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


class Vision(nn.Module):
    def __init__(self, c, tv=False):
        super().__init__()
        self.embeddings = Embeddings(c, tv)
        self.encoder = Encoder(c, tv)
        self.hidden_dim = c["hidden_dim"]

    def forward(self, x):
        h = self.encoder(self.embeddings(x))
        return nn.AvgPool2d(self.hidden_dim, ceil_mode=True)(h).reshape(h.shape[:2]), h  # transformers' pooler


# ---- the BERT twin (AlignTextModel)
class SelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x, ext):
        b, l, d = x.shape
        split = lambda t: t.view(b, l, self.heads, d // self.heads).permute(0, 2, 1, 3)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        s = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads) + ext
        return (s.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(b, l, d)


class Dense(nn.Module):
    def __init__(self, i, o, eps):
        super().__init__()
        self.dense = nn.Linear(i, o)
        self.LayerNorm = nn.LayerNorm(o, eps=eps)

    def forward(self, x, res):
        return self.LayerNorm(self.dense(x) + res)


class Attention(nn.Module):
    def __init__(self, d, heads, eps):
        super().__init__()
        setattr(self, "self", SelfAttention(d, heads))
        self.output = Dense(d, d, eps)

    def forward(self, x, ext):
        return self.output(getattr(self, "self")(x, ext), x)


class Intermediate(nn.Module):
    def __init__(self, d, f):
        super().__init__()
        self.dense = nn.Linear(d, f)

    def forward(self, x):
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, t):
        super().__init__()
        d, eps = t["hidden_size"], t["layer_norm_eps"]
        self.attention = Attention(d, t["num_attention_heads"], eps)
        self.intermediate = Intermediate(d, t["intermediate_size"])
        self.output = Dense(t["intermediate_size"], d, eps)

    def forward(self, x, ext):
        a = self.attention(x, ext)
        return self.output(self.intermediate(a), a)


class TextEmbeddings(nn.Module):
    def __init__(self, t):
        super().__init__()
        d = t["hidden_size"]
        self.word_embeddings = nn.Embedding(t["vocab_size"], d)
        self.position_embeddings = nn.Embedding(t["max_position_embeddings"], d)
        self.token_type_embeddings = nn.Embedding(t["type_vocab_size"], d)
        self.LayerNorm = nn.LayerNorm(d, eps=t["layer_norm_eps"])

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])[None]
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos) + self.token_type_embeddings(torch.zeros_like(ids)))


class TextEncoder(nn.Module):
    def __init__(self, t):
        super().__init__()
        self.layer = nn.ModuleList([Layer(t) for _ in range(t["num_hidden_layers"])])


class Pooler(nn.Module):  # in the file, unused by ALIGN's embedding
    def __init__(self, d):
        super().__init__()
        self.dense = nn.Linear(d, d)


class Text(nn.Module):
    def __init__(self, t):
        super().__init__()
        self.embeddings = TextEmbeddings(t)
        self.encoder = TextEncoder(t)
        self.pooler = Pooler(t["hidden_size"])

    def forward(self, ids, mask):
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        h = self.embeddings(ids)
        for l in self.encoder.layer:
            h = l(h, ext)
        return h


class Align(nn.Module):
    def __init__(self, v, t, proj):
        super().__init__()
        self.vision_model = Vision(v)
        self.text_model = Text(t)
        self.text_projection = nn.Linear(t["hidden_size"], proj)
        self.temperature = nn.Parameter(torch.tensor(1.0))


# ---- configurations: align-base's (EfficientNet-B7 at 289 px, BERT-base) or a tiny one
vision = {"num_channels": 3, "image_size": 289, "width_coefficient": 2.0, "depth_coefficient": 3.1, "depth_divisor": 8,
          "kernel_sizes": [3, 3, 5, 3, 5, 5, 3], "in_channels": [32, 16, 24, 40, 80, 112, 192],
          "out_channels": [16, 24, 40, 80, 112, 192, 320], "depthwise_padding": [], "strides": [1, 2, 2, 2, 1, 2, 1],
          "num_block_repeats": [1, 2, 2, 3, 3, 4, 1], "expand_ratios": [1, 6, 6, 6, 6, 6, 6],
          "squeeze_expansion_ratio": 0.25, "hidden_act": "swish", "hidden_dim": 640, "pooling_type": "mean",
          "batch_norm_eps": 0.001, "batch_norm_momentum": 0.99, "drop_connect_rate": 0.2, "model_type": "align_vision_model"}
text = {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
        "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
        "pad_token_id": 0, "position_embedding_type": "absolute", "model_type": "align_text_model"}
resize, crop = 346, 289
if not full:
    vision.update(width_coefficient=0.5, depth_coefficient=0.5, image_size=64, hidden_dim=160, depthwise_padding=[2])  # every stage's first block changes width, so torchvision adds no residual there either
    text.update(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=80)
    resize, crop = 80, 64
proj = round_filters(vision, vision["out_channels"][-1])

m = Align(vision, text, proj).eval()


def randomize(mod):
    for n, p in mod.named_parameters():
        if n.endswith("LayerNorm.weight") or n.endswith("_bn.weight") or n.endswith("norm.weight") or n.endswith("batchnorm.weight"):
            p.uniform_(0.7, 1.3)
        elif p.dim() <= 1:
            p.normal_(0, 0.1)
        elif "embeddings" in n and "text" in n:
            p.normal_(0, 0.5)
    for n, b in mod.named_buffers():
        if n.endswith("running_mean"):
            b.normal_(0, 0.1)
        elif n.endswith("running_var"):
            b.uniform_(0.5, 1.5)


def calibrate(vis, side):
    """BatchNorm's running statistics from one batch, as training leaves them: without them random
    weights shrink the signal block after block until the embedding no longer depends on the image."""
    for mod in vis.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = 1.0
    vis.train()
    vis(torch.rand(4, 3, side, side) * 2 - 1)
    vis.eval()


randomize(m)
calibrate(m.vision_model, crop)
report = {}

# ---- check 1: the EfficientNet twin against torchvision's EfficientNet
from torchvision.models.efficientnet import EfficientNet, MBConvConfig
v = vision
setting = [MBConvConfig(v["expand_ratios"][i], v["kernel_sizes"][i], v["strides"][i], v["in_channels"][i],
                        v["out_channels"][i], v["num_block_repeats"][i], v["width_coefficient"], v["depth_coefficient"])
           for i in range(len(v["in_channels"]))]
ref = EfficientNet(setting, dropout=0.5, stochastic_depth_prob=0.2, norm_layer=partial(nn.BatchNorm2d, eps=1e-3)).eval()
twin_tv = Vision(vision, tv=True).eval()  # torchvision pads every convolution symmetrically
randomize(twin_tv)
calibrate(twin_tv, crop)
tw = dict(twin_tv.named_parameters()) | dict(twin_tv.named_buffers())


def copy_cna(dst, cna):  # the twin's conv and BatchNorm into a Conv2dNormActivation (conv [0], bn [1])
    conv, bn = dst
    cna[0].weight.copy_(tw[conv + ".weight"])
    for k in ("weight", "bias", "running_mean", "running_var"):
        getattr(cna[1], k).copy_(tw[bn + "." + k])
copy_cna(("embeddings.convolution", "embeddings.batchnorm"), ref.features[0])
n = 0
for stage in ref.features[1:-1]:
    for mb in stage:
        layers, p = list(mb.block), f"encoder.blocks.{n}."
        if len(layers) == 4:
            copy_cna((p + "expansion.expand_conv", p + "expansion.expand_bn"), layers.pop(0))
        copy_cna((p + "depthwise_conv.depthwise_conv", p + "depthwise_conv.depthwise_norm"), layers[0])
        se = layers[1]
        for a, b in (("fc1", "reduce"), ("fc2", "expand")):
            getattr(se, a).weight.copy_(tw[p + f"squeeze_excite.{b}.weight"])
            getattr(se, a).bias.copy_(tw[p + f"squeeze_excite.{b}.bias"])
        copy_cna((p + "projection.project_conv", p + "projection.project_bn"), layers[2])
        n += 1
assert n == len(twin_tv.encoder.blocks), (n, len(twin_tv.encoder.blocks))
x = torch.randn(2, 3, crop, crop)
want = ref.avgpool(ref.features[:-1](x)).flatten(1)
got, h = twin_tv(x)
report["efficientnet_vs_torchvision"] = (got - want).abs().max().item() / want.abs().max().item()
report["pooler_vs_mean"] = (got - h.mean((2, 3))).abs().max().item() / got.abs().max().item()
report["torchvision_spread"] = ((want[0] - want[1]).norm() / want[0].norm()).item()  # the check is not of a constant
report["blocks"] = n

# ---- check 2: each BERT layer against torch.nn.TransformerEncoderLayer
ids_probe = torch.randint(5, text["vocab_size"], (2, 12))
mask_probe = torch.ones(2, 12, dtype=torch.long)
mask_probe[1, 7:] = 0
hid = m.text_model.embeddings(ids_probe)
ext = (1.0 - mask_probe[:, None, None, :].float()) * torch.finfo(torch.float32).min
worst = 0.0
for l in m.text_model.encoder.layer:
    d = text["hidden_size"]
    te = nn.TransformerEncoderLayer(d, text["num_attention_heads"], text["intermediate_size"], dropout=0.0, activation="gelu",
                                    layer_norm_eps=text["layer_norm_eps"], batch_first=True, norm_first=False).eval()
    sa = getattr(l.attention, "self")
    te.self_attn.in_proj_weight.copy_(torch.cat([sa.query.weight, sa.key.weight, sa.value.weight]))
    te.self_attn.in_proj_bias.copy_(torch.cat([sa.query.bias, sa.key.bias, sa.value.bias]))
    te.self_attn.out_proj.weight.copy_(l.attention.output.dense.weight)
    te.self_attn.out_proj.bias.copy_(l.attention.output.dense.bias)
    te.norm1.load_state_dict(l.attention.output.LayerNorm.state_dict())
    te.linear1.load_state_dict(l.intermediate.dense.state_dict())
    te.linear2.load_state_dict(l.output.dense.state_dict())
    te.norm2.load_state_dict(l.output.LayerNorm.state_dict())
    a = l(hid, ext)
    b = te(hid, src_key_padding_mask=mask_probe == 0)
    keep = mask_probe.bool()
    worst = max(worst, ((a - b).abs()[keep]).max().item() / a.abs().max().item())
    hid = a
report["bert_layer_vs_torch"] = worst
print(json.dumps(report))
assert report["torchvision_spread"] > 0.05 and report["efficientnet_vs_torchvision"] < 1e-5 and report["bert_layer_vs_torch"] < 1e-5 and report["pooler_vs_mean"] < 1e-5, report

# ---- the AlignModel directory
d = os.path.join(out, "align")
os.makedirs(d, exist_ok=True)
sd = {k: v.contiguous() for k, v in m.state_dict().items()}
for k in [k for k in sd if k.endswith("running_var")]:
    sd[k.replace("running_var", "num_batches_tracked")] = torch.tensor(0, dtype=torch.int64)
sd["text_model.embeddings.position_ids"] = torch.arange(text["max_position_embeddings"])[None]
save_file(sd, os.path.join(d, "model.safetensors"))
json.dump({"architectures": ["AlignModel"], "model_type": "align", "projection_dim": proj, "temperature_init_value": 1.0,
           "text_config": text, "vision_config": vision}, open(os.path.join(d, "config.json"), "w"), indent=2)
json.dump({"crop_size": {"height": crop, "width": crop}, "do_center_crop": True, "do_normalize": False, "do_rescale": True,
           "do_resize": True, "image_mean": [0.485, 0.456, 0.406], "image_processor_type": "EfficientNetImageProcessor",
           "image_std": [0.229, 0.224, 0.225], "include_top": False, "resample": 2, "rescale_factor": 1 / 127.5,
           "rescale_offset": True, "size": {"height": resize, "width": resize}},
          open(os.path.join(d, "preprocessor_config.json"), "w"), indent=2)
words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "photo", "of", "sks", "dog", "red", "back", "##pack", "on", "the",
         "beach", "in", "jungle", ",", "."]
vocab = words + [f"[unused{i}]" for i in range(text["vocab_size"] - len(words))]
open(os.path.join(d, "vocab.txt"), "w").write("\n".join(vocab) + "\n")
json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer"},
          open(os.path.join(d, "tokenizer_config.json"), "w"))

# ---- reference embeddings: pixels in [-1, 1], prompts tokenised by hand with the vocabulary above
prompts = ["A photo of a sks dog", "a red backpack on the beach, in the jungle."]
toks = [["a", "photo", "of", "a", "sks", "dog"], ["a", "red", "back", "##pack", "on", "the", "beach", ",", "in", "the", "jungle", "."]]
L = 64
ids = torch.zeros(2, L, dtype=torch.long)
mask = torch.zeros(2, L, dtype=torch.long)
for i, t in enumerate(toks):
    row = [2] + [vocab.index(w) for w in t] + [3]
    ids[i, :len(row)] = torch.tensor(row)
    mask[i, :len(row)] = 1
e = {}
e["align_pixels"] = torch.rand(2, 3, crop, crop) * 2 - 1
e["align_image"] = m.vision_model(e["align_pixels"])[0]
e["align_ids"] = ids.float()
e["align_text"] = m.text_projection(m.text_model(ids, mask)[:, 0, :])
for k in ("align_image", "align_text"):  # the embeddings depend on their inputs
    spread = ((e[k][0] - e[k][1]).norm() / e[k][0].norm()).item()
    report[k + "_spread"] = spread
    assert spread > 0.05, (k, spread)
print(json.dumps(report))
save_file({k: t.contiguous().float() for k, t in e.items()}, os.path.join(out, "expected.safetensors"))
json.dump(prompts, open(os.path.join(out, "prompts.json"), "w"))

# ---- EfficientNetImageProcessor's preprocessing, by PIL
if images:
    from PIL import Image
    px = {}
    for i, p in enumerate(images):
        im = Image.open(p).convert("RGB").resize((346, 346), Image.BILINEAR)
        a = np.asarray(im, dtype=np.float32)
        top = (346 - 289) // 2
        a = (a[top:top + 289, top:top + 289] - 127.5) / 127.5
        px[f"image{i}"] = torch.from_numpy(a.transpose(2, 0, 1).copy())
    save_file(px, os.path.join(out, "pixels.safetensors"))
print("align written:", sum(p.numel() for p in m.parameters()), "parameters")
