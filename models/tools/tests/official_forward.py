"""An independent PyTorch forward of MiniGPT-v2, written from the official architecture and run directly on the
official-format checkpoint files (EVA .pth, MiniGPT-v2 .pth, Hugging Face LLaMA folder). It shares no model or
reader code with the exporter: LoRA is applied unmerged (x W^T + s x A^T B^T, as peft does), attention is
recomputed over the whole sequence at every step (no KV cache), and safetensors are read here on their own,
memory-mapped, one tensor at a time (a full-size 7B runs in about 6 GB). OFFICIAL_FORWARD_THREADS sets torch's
threads (default 1).

    /usr/bin/python3 -m models.tools.tests.official_forward FILES_DIR IMAGE_SIZE OUT.json CASES.json

CASES.json: [{"image": path, "task": ..., "question": ..., "steps": n}]. Prompt ids and pixels come from the
project's reference tokenizer, prompt rules and PIL preprocessing (checked against the TypeScript side elsewhere)."""
import json
import math
import mmap
import os
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..minigptv2.config import PromptConfig, VisionConfig
from ..minigptv2.preprocess import pixel_values
from ..minigptv2.prompt import build_segments
from ..minigptv2.tokenizer import Tokenizer

torch.set_num_threads(int(os.environ.get("OFFICIAL_FORWARD_THREADS", "1")))


class SafetensorsWeights:
    """The tensors of safetensors shards, memory-mapped and widened to float32 one at a time as they are asked for,
    so a 7B LLaMA runs layer by layer in a few GB."""

    def __init__(self, paths):
        self.entries = {}
        for path in paths:
            with open(path, "rb") as f:
                blob = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            (n,) = struct.unpack("<Q", blob[:8])
            for name, e in json.loads(blob[8:8 + n]).items():
                if name != "__metadata__":
                    self.entries[name] = (blob, 8 + n, e)

    def __getitem__(self, name):
        blob, base, e = self.entries[name]
        a, b = e["data_offsets"]
        dtype = {"F16": np.float16, "F32": np.float32}[e["dtype"]]
        return torch.from_numpy(np.frombuffer(blob, dtype=dtype, count=(b - a) // np.dtype(dtype).itemsize,
                                              offset=base + a).reshape(e["shape"]).astype(np.float32))


def read_llama(folder):
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    if (folder / "model.safetensors.index.json").exists():
        index = json.loads((folder / "model.safetensors.index.json").read_text())
        return config, SafetensorsWeights([folder / f for f in sorted(set(index["weight_map"].values()))])
    index = json.loads((folder / "pytorch_model.bin.index.json").read_text())
    tensors = {}
    for file in sorted(set(index["weight_map"].values())):
        tensors.update({k: v.float() for k, v in torch.load(folder / file).items()})
    return config, tensors


def eva_forward(eva, pixels, ln_w, ln_b):
    """EVA ViT-g as LAVIS builds it for MiniGPT-v2: all blocks but the last, no final norm, then ln_vision."""
    patch_w = eva["patch_embed.proj.weight"]
    width, patch = patch_w.shape[0], patch_w.shape[2]
    heads = width // 88
    x = F.conv2d(pixels, patch_w, eva["patch_embed.proj.bias"], stride=patch).flatten(2).transpose(1, 2)
    grid = int(math.isqrt(x.shape[1]))
    pos = eva["pos_embed"]
    old = int(math.isqrt(pos.shape[1] - 1))
    if old != grid:  # LAVIS interpolate_pos_embed: bicubic, align_corners False, CLS row untouched
        body = pos[:, 1:].reshape(1, old, old, width).permute(0, 3, 1, 2)
        body = F.interpolate(body, size=(grid, grid), mode="bicubic", align_corners=False)
        pos = torch.cat([pos[:, :1], body.permute(0, 2, 3, 1).flatten(1, 2)], dim=1)
    x = torch.cat([eva["cls_token"].expand(x.shape[0], -1, -1), x], dim=1) + pos
    blocks = 1 + max(int(k.split(".")[1]) for k in eva if k.startswith("blocks."))
    for n in range(blocks - 1):
        p = lambda k: eva[f"blocks.{n}.{k}"]  # noqa: E731
        h = F.layer_norm(x, (width,), p("norm1.weight"), p("norm1.bias"), 1e-6)
        qkv = F.linear(h, p("attn.qkv.weight"), torch.cat([p("attn.q_bias"), torch.zeros(width), p("attn.v_bias")]))
        b, t, _ = qkv.shape
        q, k, v = qkv.reshape(b, t, 3, heads, -1).permute(2, 0, 3, 1, 4)
        a = torch.softmax((q * (width // heads) ** -0.5) @ k.transpose(-2, -1), dim=-1) @ v
        x = x + F.linear(a.transpose(1, 2).reshape(b, t, width), p("attn.proj.weight"), p("attn.proj.bias"))
        h = F.layer_norm(x, (width,), p("norm2.weight"), p("norm2.bias"), 1e-6)
        x = x + F.linear(F.gelu(F.linear(h, p("mlp.fc1.weight"), p("mlp.fc1.bias"))), p("mlp.fc2.weight"), p("mlp.fc2.bias"))
    return F.layer_norm(x, (width,), ln_w, ln_b, 1e-5)


def llama_logits(cfg, w, lora, scaling, embeds):
    """LlamaForCausalLM over the whole sequence; LoRA as a side branch on q_proj and v_proj."""
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    hd, eps, theta = d // heads, cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    t = embeds.shape[1]
    inv = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
    ang = torch.arange(t).float()[:, None] * inv[None]
    cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()
    rot = lambda z: z * cos + torch.cat([-z[..., hd // 2:], z[..., :hd // 2]], -1) * sin  # noqa: E731
    norm = lambda z, g: g * (z * torch.rsqrt(z.pow(2).mean(-1, keepdim=True) + eps))  # noqa: E731
    causal = torch.full((t, t), float("-inf")).triu(1)
    x = embeds
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = norm(x, w[p + "input_layernorm.weight"])

        def proj(name):
            y = F.linear(h, w[p + f"self_attn.{name}.weight"])
            if (i, name) in lora:
                a, b = lora[(i, name)]
                y = y + scaling * F.linear(F.linear(h, a), b)
            return y.reshape(1, t, heads, hd).transpose(1, 2)

        q, k, v = rot(proj("q_proj")), rot(proj("k_proj")), proj("v_proj")
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd) + causal, -1) @ v
        x = x + F.linear(a.transpose(1, 2).reshape(1, t, d), w[p + "self_attn.o_proj.weight"])
        h = norm(x, w[p + "post_attention_layernorm.weight"])
        x = x + F.linear(F.silu(F.linear(h, w[p + "mlp.gate_proj.weight"])) * F.linear(h, w[p + "mlp.up_proj.weight"]),
                         w[p + "mlp.down_proj.weight"])
    return F.linear(norm(x, w["model.norm.weight"]), w["lm_head.weight"])[0]


def main(files, image_size, out_path, cases_path):
    files = Path(files)
    eva = {k: v.float() for k, v in torch.load(files / "eva_vit_g.pth").items()}
    ckpt = torch.load(files / "minigptv2_checkpoint.pth")
    sd = {k: v.float() for k, v in ckpt["model"].items()}
    cfg, w = read_llama(files / "llama")
    lora = {}
    for k in sd:
        if ".lora_A" in k:
            layer, name = int(k.split(".layers.")[1].split(".")[0]), k.split(".self_attn.")[1].split(".")[0]
            lora[(layer, name)] = (sd[k], sd[k.replace("lora_A", "lora_B")])
    r = next(iter(lora.values()))[0].shape[0]
    scaling = ckpt.get("config", {}).get("model", {}).get("lora_alpha", 16) / r
    width = eva["cls_token"].shape[-1]
    ln_w, ln_b = sd.get("ln_vision.weight", torch.ones(width)), sd.get("ln_vision.bias", torch.zeros(width))
    tok = Tokenizer(files / "llama" / "tokenizer.json")
    vcfg = VisionConfig(image_size=image_size, patch_size=eva["patch_embed.proj.weight"].shape[2], width=width,
                        layers=1, heads=1, mlp=1)
    results = []
    with torch.no_grad():
        for case in json.loads(Path(cases_path).read_text()):
            pixels = pixel_values(Image.open(case["image"]), vcfg)[None]
            feats = eva_forward(eva, pixels, ln_w, ln_b)[:, 1:]
            image_embeds = F.linear(feats.reshape(1, -1, 4 * width), sd["llama_proj.weight"], sd["llama_proj.bias"])
            seg0, seg1 = build_segments(tok, PromptConfig(), [], case["task"], case["question"])
            emb = w["model.embed_tokens.weight"]
            ids, logits0, margins = [], None, []
            for _ in range(case["steps"]):
                seq = torch.cat([emb[seg0], image_embeds[0], emb[seg1 + ids]])[None]
                last = llama_logits(cfg, w, lora, scaling, seq)[-1]
                logits0 = last if logits0 is None else logits0
                top = torch.topk(last, 2).values
                margins.append(float(top[0] - top[1]))
                ids.append(int(last.argmax()))
                if ids[-1] == 2:
                    break
            results.append({"image_embeds": image_embeds.flatten().tolist(), "first_logits": logits0.tolist(),
                            "greedy_ids": ids, "min_margin": min(margins)})
    Path(out_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
