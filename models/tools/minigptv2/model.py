"""MiniGPT-v2 in PyTorch at any size: EVA-style ViT, ln_vision, 1x4 token concatenation, projection, LLaMA.

Parameter names follow the official checkpoints (LAVIS EVA ViT-g, MiniGPT-v2 `llama_proj`, Hugging Face LLaMA)
so that real weights load with little renaming.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import LlmConfig, ModelConfig, VisionConfig

# Masked attention scores get this instead of -inf so a fully padded row stays finite (no NaN).
MASK_VALUE = -1e9


class LayerNorm(nn.Module):
    """LayerNorm with explicit affine tensors (Debian torch 1.13 exports weight=None incorrectly at opset 17)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


# ---------------------------------------------------------------- vision (EVA ViT)

class PatchEmbed(nn.Module):
    def __init__(self, patch: int, width: int):
        super().__init__()
        self.proj = nn.Conv2d(3, width, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # [B, G*G, W], raster order


class VisionAttention(nn.Module):
    """qkv is one bias-free Linear; q and v have their own biases, k's bias is zero (as in EVA)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim = width // heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(width))
        self.v_bias = nn.Parameter(torch.zeros(width))
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        b, n, w = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.head_dim ** -0.5) @ k.transpose(-2, -1)
        out = attn.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, w))


class VisionMlp(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class VisionBlock(nn.Module):
    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.norm1 = LayerNorm(cfg.width, 1e-6)
        self.attn = VisionAttention(cfg.width, cfg.heads)
        self.norm2 = LayerNorm(cfg.width, 1e-6)
        self.mlp = VisionMlp(cfg.width, cfg.mlp)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """EVA ViT without final norm; pos_embed holds the position embedding already at this model's grid."""

    def __init__(self, cfg: VisionConfig):
        super().__init__()
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.width)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + cfg.grid ** 2, cfg.width))
        self.blocks = nn.ModuleList(VisionBlock(cfg) for _ in range(cfg.layers))

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return x


def interpolate_pos_embed(pos_embed: torch.Tensor, new_grid: int) -> torch.Tensor:
    """Resize an absolute position embedding [1, 1+G*G, W] to another grid: bicubic, align_corners=False,
    fp32, CLS position kept (what the official loader does when the image size differs from pre-training)."""
    pos_embed = pos_embed.float()
    width = pos_embed.shape[-1]
    old_grid = int(round(math.sqrt(pos_embed.shape[1] - 1)))
    if old_grid * old_grid != pos_embed.shape[1] - 1:
        raise ValueError(f"pos_embed of {pos_embed.shape[1]} positions is not 1 + a square grid")
    if old_grid == new_grid:
        return pos_embed.clone()
    cls, grid = pos_embed[:, :1], pos_embed[:, 1:]
    grid = grid.reshape(1, old_grid, old_grid, width).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new_grid, new_grid), mode="bicubic", align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_grid * new_grid, width)
    return torch.cat([cls, grid], dim=1)


# ---------------------------------------------------------------- language model (LLaMA)

class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Rotary(nn.Module):
    """RoPE in the Hugging Face LLaMA convention (rotate_half on two halves), angles from position_ids."""

    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, position_ids):
        freqs = position_ids.float().unsqueeze(-1) * self.inv_freq  # [B, T, hd/2]
        emb = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)  # [B, 1, T, hd]
        return emb.cos(), emb.sin()


class LlamaAttention(nn.Module):
    def __init__(self, cfg: LlmConfig):
        super().__init__()
        self.heads, self.head_dim = cfg.heads, cfg.head_dim
        d = cfg.hidden_size
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def forward(self, x, cos, sin, bias, past):
        b, t, d = x.shape

        def heads(p):
            return p.view(b, t, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        scores = (q @ k.transpose(2, 3)) / math.sqrt(self.head_dim) + bias
        out = scores.softmax(dim=-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(b, t, d)), (k, v)


class LlamaMLP(nn.Module):
    def __init__(self, cfg: LlmConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.mlp, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.mlp, bias=False)
        self.down_proj = nn.Linear(cfg.mlp, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaLayer(nn.Module):
    def __init__(self, cfg: LlmConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = LlamaMLP(cfg)

    def forward(self, x, cos, sin, bias, past):
        h, present = self.self_attn(self.input_layernorm(x), cos, sin, bias, past)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x)), present


class LlamaBody(nn.Module):
    def __init__(self, cfg: LlmConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(LlamaLayer(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg: LlmConfig):
        super().__init__()
        self.model = LlamaBody(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)


def attention_bias(attention_mask, past_len):
    """[B, 1, T, P+T] additive bias: key j is visible to query i iff attention_mask[b, j] == 1 and j <= P + i."""
    # Positions come from a cumulative sum over the mask's own length so the exported graph keeps them dynamic.
    key_pos = torch.cumsum(torch.ones_like(attention_mask[0]), dim=0) - 1  # [P+T]
    query_pos = key_pos[past_len:]  # [T]
    causal = key_pos.unsqueeze(0) <= query_pos.unsqueeze(1)  # [T, P+T]
    visible = causal.unsqueeze(0) & (attention_mask == 1).unsqueeze(1)  # [B, T, P+T]
    zero = torch.zeros((), dtype=torch.float32)
    return torch.where(visible, zero, torch.full((), MASK_VALUE)).unsqueeze(1)


# ---------------------------------------------------------------- the whole model

class MiniGPTv2(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        v, l = cfg.vision, cfg.llm
        self.visual_encoder = VisionTransformer(v)
        self.ln_vision = LayerNorm(v.width, 1e-5)
        self.llama_proj = nn.Linear(v.concat * v.width, l.hidden_size)
        self.llama_model = LlamaForCausalLM(l)
        self.rotary = Rotary(l.head_dim, l.rope_theta)

    def encode_image(self, pixel_values):
        """[B, 3, S, S] normalised pixels -> [B, N, D] image embeddings for the LLM."""
        x = self.ln_vision(self.visual_encoder(pixel_values))[:, 1:, :]
        # N/concat groups of `concat` consecutive raster-order tokens (a 1x4 strip, not a 2x2 square)
        x = x.reshape(x.shape[0], -1, self.cfg.vision.concat * x.shape[-1])
        return self.llama_proj(x)

    def embed(self, input_ids):
        return self.llama_model.model.embed_tokens(input_ids)

    def decode(self, inputs_embeds, attention_mask, position_ids, past=None):
        """One decoder call. past: list of (key, value) [B, H, P, hd] per layer, or None for P = 0.
        Returns logits [B, T, V] and the presents [B, H, P+T, hd]."""
        body = self.llama_model.model
        p = 0 if past is None else past[0][0].shape[2]
        cos, sin = self.rotary(position_ids)
        bias = attention_bias(attention_mask, p)
        x, presents = inputs_embeds, []
        for i, layer in enumerate(body.layers):
            x, present = layer(x, cos, sin, bias, None if past is None else past[i])
            presents.append(present)
        return self.llama_model.lm_head(body.norm(x)), presents


def random_init(model: MiniGPTv2, seed: int) -> None:
    """Random weights scaled so activations and logits stay O(1): the argmax of a random model then has clear
    margins, which makes greedy ids a meaningful parity check. Norm affines and biases are random too, so a
    reimplementation that skips one of them is caught."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("norm.weight") or "norm1." in name or "norm2." in name or "layernorm" in name \
                    or name.startswith("ln_vision"):
                if name.endswith(".weight"):
                    p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("embed_tokens.weight") or name.endswith("cls_token") or name.endswith("pos_embed"):
                p.copy_(torch.randn(p.shape, generator=g))
            elif name.endswith("lm_head.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * (3.0 / math.sqrt(p.shape[1])))
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
            else:  # biases, q_bias, v_bias
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
