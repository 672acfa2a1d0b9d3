"""ADM U-Net (the guided-diffusion architecture of Dhariwal & Nichol, 2021) with
per-class cell-count conditioning (TopoCellGen, CVPR 2025, Sec. 3 and Suppl. Sec. 10).

The count vector ``c`` (length C) goes through ``log1p`` and a two-layer MLP and
is added to the timestep embedding, which every residual block receives.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["UNet", "timestep_embedding"]

# ADM's channel multipliers per resolution level when the config leaves them unset
DEFAULT_MULT = {512: (0.5, 1, 1, 2, 2, 4, 4), 256: (1, 1, 2, 2, 4, 4), 128: (1, 1, 2, 3, 4), 64: (1, 2, 3, 4)}


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps, ``(B,) -> (B, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return F.pad(emb, (0, dim % 2))


class GroupNorm32(nn.GroupNorm):
    # statistics in float32 even under bf16 autocast
    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


def _norm(ch: int) -> nn.GroupNorm:
    return GroupNorm32(math.gcd(32, ch), ch)


def _zero(module: nn.Module) -> nn.Module:
    # residual branches start as the identity (ADM initialisation)
    for p in module.parameters():
        p.detach().zero_()
    return module


def _resample(x: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "up":
        return F.interpolate(x, scale_factor=2, mode="nearest")
    if mode == "down":
        return F.avg_pool2d(x, 2)
    return x


class ResBlock(nn.Module):
    """Residual block; the embedding enters as a scale and shift of the second norm
    (``use_scale_shift_norm``) or as an added bias; optional up/down sampling inside."""

    def __init__(self, ch, emb_ch, out_ch, dropout, scale_shift, resample=""):
        super().__init__()
        self.scale_shift, self.mode = scale_shift, resample
        self.in_norm = _norm(ch)
        self.in_conv = nn.Conv2d(ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_ch, 2 * out_ch if scale_shift else out_ch)
        self.out_norm = _norm(out_ch)
        self.out = nn.Sequential(nn.SiLU(), nn.Dropout(dropout), _zero(nn.Conv2d(out_ch, out_ch, 3, padding=1)))
        self.skip = nn.Identity() if out_ch == ch else nn.Conv2d(ch, out_ch, 1)

    def forward(self, x, emb):
        h = _resample(F.silu(self.in_norm(x)), self.mode)
        x = _resample(x, self.mode)
        h = self.in_conv(h)
        e = self.emb(F.silu(emb)).type(h.dtype)[..., None, None]
        if self.scale_shift:
            scale, shift = e.chunk(2, dim=1)
            h = self.out_norm(h) * (1 + scale) + shift
        else:
            h = self.out_norm(h + e)
        return self.skip(x) + self.out(h)


class Attention(nn.Module):
    """Multi-head self-attention over all pixels, ``head_ch`` channels per head."""

    def __init__(self, ch, head_ch):
        super().__init__()
        if ch % head_ch:
            raise ValueError(f"num_head_channels={head_ch} does not divide {ch} channels")
        self.heads = ch // head_ch
        self.norm = _norm(ch)
        self.qkv = nn.Conv1d(ch, 3 * ch, 1)
        self.proj = _zero(nn.Conv1d(ch, ch, 1))

    def forward(self, x, emb=None):
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x).reshape(b, c, h * w))
        q, k, v = qkv.reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        a = F.scaled_dot_product_attention(q, k, v)
        return x + self.proj(a.transpose(-1, -2).reshape(b, c, h * w)).reshape(b, c, h, w)


class Resample(nn.Module):
    """Plain up/down sampling (``resblock_updown: false``): nearest + conv, strided conv."""

    def __init__(self, ch, mode):
        super().__init__()
        self.mode = mode
        self.conv = nn.Conv2d(ch, ch, 3, stride=2 if mode == "down" else 1, padding=1)

    def forward(self, x, emb=None):
        return self.conv(_resample(x, "up") if self.mode == "up" else x)


class Stage(nn.ModuleList):
    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, (ResBlock, Attention, Resample)) else layer(x)
        return x


class UNet(nn.Module):
    """``model(x_t, t, counts) -> (B, 2C, H, W)`` (eps and the variance
    interpolation ``v`` when ``learn_sigma``, else ``(B, C, H, W)``)."""

    def __init__(
        self,
        image_size,
        num_classes,
        num_channels,
        num_res_blocks,
        attention_resolutions,
        num_head_channels,
        dropout=0.0,
        channel_mult=None,
        use_scale_shift_norm=True,
        resblock_updown=True,
        learn_sigma=True,
    ):
        super().__init__()
        if channel_mult is None:
            if image_size not in DEFAULT_MULT:
                raise ValueError(f"no default channel_mult for image_size {image_size}; set model.channel_mult")
            channel_mult = DEFAULT_MULT[image_size]
        if image_size % 2 ** (len(channel_mult) - 1):
            raise ValueError(f"image_size {image_size} is not divisible by 2^{len(channel_mult) - 1}")
        mc, emb_ch = num_channels, 4 * num_channels
        self.num_classes, self.image_size, self.mc = num_classes, image_size, mc
        attn = set(attention_resolutions)

        def res(ci, co, mode=""):
            return ResBlock(ci, emb_ch, co, dropout, use_scale_shift_norm, mode)

        def updown(c, mode):
            return res(c, c, mode) if resblock_updown else Resample(c, mode)

        self.time_embed = nn.Sequential(nn.Linear(mc, emb_ch), nn.SiLU(), nn.Linear(emb_ch, emb_ch))
        self.count_embed = nn.Sequential(nn.Linear(num_classes, emb_ch), nn.SiLU(), nn.Linear(emb_ch, emb_ch))

        ch, r = int(channel_mult[0] * mc), image_size
        self.down = nn.ModuleList([Stage([nn.Conv2d(num_classes, ch, 3, padding=1)])])
        skips = [ch]
        for level, m in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers = [res(ch, int(m * mc))]
                ch = int(m * mc)
                if r in attn:
                    layers.append(Attention(ch, num_head_channels))
                self.down.append(Stage(layers))
                skips.append(ch)
            if level < len(channel_mult) - 1:
                self.down.append(Stage([updown(ch, "down")]))
                skips.append(ch)
                r //= 2
        self.middle = Stage([res(ch, ch), Attention(ch, num_head_channels), res(ch, ch)])
        self.up = nn.ModuleList()
        for level, m in reversed(list(enumerate(channel_mult))):
            for i in range(num_res_blocks + 1):
                layers = [res(ch + skips.pop(), int(m * mc))]
                ch = int(m * mc)
                if r in attn:
                    layers.append(Attention(ch, num_head_channels))
                if level and i == num_res_blocks:
                    layers.append(updown(ch, "up"))
                    r *= 2
                self.up.append(Stage(layers))
        out_ch = 2 * num_classes if learn_sigma else num_classes
        self.out = nn.Sequential(_norm(ch), nn.SiLU(), _zero(nn.Conv2d(ch, out_ch, 3, padding=1)))

    def forward(self, x, t, counts):
        emb = self.time_embed(timestep_embedding(t, self.mc))
        emb = emb + self.count_embed(torch.log1p(counts.float().clamp_min(0)))
        hs, h = [], x
        for stage in self.down:
            h = stage(h, emb)
            hs.append(h)
        h = self.middle(h, emb)
        for stage in self.up:
            h = stage(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)
