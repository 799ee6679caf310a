#!/usr/bin/env python3
"""The U-Net of internal/models (UNet) in PyTorch, timed on the CPU.

Same architecture, shapes, parameter count, loss (MSE on a fixed random
batch) and optimizer (AdamW) as rpo's benchmark driver bench/rpobench, so the
two can be held side by side: `make bench-compare`.
Prints one JSON line: median ms per training step and per forward pass,
peak RSS, the FLOPs of one forward pass (the multiply-adds of every
convolution, linear layer and attention product, counted per call, ×2) and
the BLAS library the process loaded.
"""
import argparse, json, math, resource, time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    # name: (in_ch, channels, groups, heads, time_dim, ctx_dim, attn_levels, res, batch, ctx_len)
    "a": (4, [32, 64, 128], 8, 4, 128, 64, 1, 32, 16, 8),
    "embedded": (4, [64, 128, 192], 8, 4, 256, 128, 2, 16, 32, 16),
}


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, t):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(t))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, d, dc, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(d, d, bias=False)
        self.to_k = nn.Linear(dc, d, bias=False)
        self.to_v = nn.Linear(dc, d, bias=False)
        self.to_out = nn.Linear(d, d)

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        b, l, d = x.shape
        h, dh = self.heads, d // self.heads
        q = self.to_q(x).view(b, l, h, dh).transpose(1, 2)
        k = self.to_k(ctx).view(b, ctx.shape[1], h, dh).transpose(1, 2)
        v = self.to_v(ctx).view(b, ctx.shape[1], h, dh).transpose(1, 2)
        FLOPS[0] += 2 * 2 * b * h * l * ctx.shape[1] * dh  # q·kᵀ and a·v
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1)
        o = (a @ v).transpose(1, 2).reshape(b, l, d)
        return self.to_out(o)


class AttnBlock(nn.Module):
    def __init__(self, c, dc, heads, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, c, eps=1e-5)
        self.norm1 = nn.LayerNorm(c)
        self.attn1 = Attention(c, c, heads)
        self.norm2 = nn.LayerNorm(c)
        self.attn2 = Attention(c, dc, heads)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x, ctx):
        n, c, hh, ww = x.shape
        t = self.norm(x).flatten(2).transpose(1, 2)
        t = t + self.attn1(self.norm1(t))
        t = t + self.attn2(self.norm2(t), ctx)
        t = t.transpose(1, 2).reshape(n, c, hh, ww)
        return x + self.proj_out(t)


class UNet(nn.Module):
    def __init__(self, cin, chans, groups, heads, tdim, dctx, attn_levels):
        super().__init__()
        self.l1 = nn.Linear(chans[0], tdim)
        self.l2 = nn.Linear(tdim, tdim)
        self.conv_in = nn.Conv2d(cin, chans[0], 3, padding=1)
        last = len(chans) - 1
        self.attn_from = len(chans) - attn_levels
        self.down, self.down_attn, self.downsample = nn.ModuleList(), nn.ModuleDict(), nn.ModuleList()
        prev = chans[0]
        for i, c in enumerate(chans):
            self.down.append(ResBlock(prev, c, tdim, groups))
            if i >= self.attn_from:
                self.down_attn[str(i)] = AttnBlock(c, dctx, heads, groups)
            if i < last:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
            prev = c
        self.mid = ResBlock(chans[last], chans[last], tdim, groups)
        self.up, self.up_attn = nn.ModuleDict(), nn.ModuleDict()
        prev = chans[last]
        for i in range(last - 1, -1, -1):
            self.up[str(i)] = ResBlock(prev + chans[i], chans[i], tdim, groups)
            if i >= self.attn_from:
                self.up_attn[str(i)] = AttnBlock(chans[i], dctx, heads, groups)
            prev = chans[i]
        self.norm_out = nn.GroupNorm(groups, chans[0], eps=1e-5)
        self.conv_out = nn.Conv2d(chans[0], cin, 3, padding=1)
        self.last = last

    def forward(self, x, temb, ctx):
        t = self.l2(F.silu(self.l1(temb)))
        h = self.conv_in(x)
        skips = []
        for i in range(self.last + 1):
            h = self.down[i](h, t)
            if str(i) in self.down_attn:
                h = self.down_attn[str(i)](h, ctx)
            if i == self.last:
                break
            skips.append(h)
            h = self.downsample[i](h)
        h = self.mid(h, t)
        for i in range(self.last - 1, -1, -1):
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = torch.cat([h, skips[i]], 1)
            h = self.up[str(i)](h, t)
            if str(i) in self.up_attn:
                h = self.up_attn[str(i)](h, ctx)
        return self.conv_out(F.silu(self.norm_out(h)))


FLOPS = [0]  # the forward pass's FLOPs, accumulated while counting


def count_flops(net):
    """Hooks that add each convolution's and linear layer's FLOPs to FLOPS."""
    def conv(m, inp, out):
        FLOPS[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, inp, out):
        FLOPS[0] += 2 * out.numel() * m.in_features
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(conv)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(linear)


def blas_library():
    """The BLAS shared library mapped into this process."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "blas" in path.rsplit("/", 1)[-1]:
                libs.add(path)
    return ", ".join(sorted(libs)) or "none"


def gemm_peak():
    """Median GFLOP/s of torch.mm (the loaded BLAS's sgemm) on a 1024³ product."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(a, b)
    rates = []
    for _ in range(7):
        t0 = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * 1024 ** 3 / (time.perf_counter() - t0) / 1e9)
    return sorted(rates)[3]


def sinusoid(ts, dim):
    half = dim // 2
    w = torch.exp(-math.log(10000) * torch.arange(half) / half)
    a = ts[:, None] * w[None]
    return torch.cat([torch.cos(a), torch.sin(a)], 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="a", choices=CONFIGS)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sample", type=int, default=0,
                    help="instead: one denoising step of a guided sampling batch of this many images (2x rows, no_grad) and its peak RSS")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    cin, chans, groups, heads, tdim, dctx, attn_levels, res, batch, ctx_len = CONFIGS[args.model]
    if args.sample:
        batch = 2 * args.sample  # conditional and unconditional rows
    net = UNet(cin, chans, groups, heads, tdim, dctx, attn_levels)
    params = sum(p.numel() for p in net.parameters())
    x = torch.randn(batch, cin, res, res)
    ts = torch.tensor([float(37 * (i + 1) % 1000) for i in range(batch)])
    temb = sinusoid(ts, chans[0])
    ctx = torch.randn(batch, ctx_len, dctx)
    target = torch.randn(batch, cin, res, res)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=1e-2)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(x, temb, ctx), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    def median_ms(f):
        f()
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            f()
            times.append((time.perf_counter() - t0) * 1000)
        return sorted(times)[len(times) // 2]

    if args.sample:
        with torch.no_grad():
            fwd_ms = median_ms(lambda: net(x, temb, ctx))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"impl": "pytorch " + torch.__version__, "model": args.model, "params": params, "mode": "sample",
                          "images": args.sample, "forward_ms": round(fwd_ms, 1), "peak_mib": round(peak, 1), "blas": blas_library()}))
        return
    train_ms = median_ms(step)
    with torch.no_grad():
        fwd_ms = median_ms(lambda: net(x, temb, ctx))
        count_flops(net)
        FLOPS[0] = 0
        net(x, temb, ctx)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": "pytorch " + torch.__version__, "model": args.model, "params": params,
                      "train_ms": round(train_ms, 1), "forward_ms": round(fwd_ms, 1), "peak_mib": round(peak, 1),
                      "forward_flops": FLOPS[0], "blas": blas_library(), "gemm_gflops": round(gemm_peak(), 1)}))


if __name__ == "__main__":
    main()
