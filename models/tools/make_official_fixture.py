"""Random checkpoints in exactly the official formats and key names, for testing the exporter without the real
20 GB of weights: miniature by default, or at the official sizes with --full:

    /usr/bin/python3 -m models.tools.make_official_fixture --out DIR [--seed 7] [--llama-format safetensors|bin]
        [--lora-spelling peft|default] [--drop KEY ...] [--ln-vision] [--llama-7b-layers N | --full]

DIR/eva_vit_g.pth                LAVIS-style bare state dict (fp16), width 176 = 2 heads of 88, 3 blocks (the
                                 export uses 2), a 4x4-grid position embedding (as a 56-px pre-training would have)
DIR/minigptv2_checkpoint.pth     {"model": llama_proj + LoRA A/B of q_proj/v_proj for every layer, "config": ...}
DIR/llama/                       Hugging Face folder: config.json, two fp16 safetensors shards + index (or .bin
                                 shards + index), tokenizer.json (the project's), tokenizer_config.json

--full writes the official shapes: EVA ViT-g (40 blocks, width 1408 = 16 heads, MLP 6144, a 16x16+1 position
table), LoRA r 64 with lora_alpha 16, LLaMA-2-7B (32 layers, hidden 4096, MLP 11008, vocab 32000) and the
project's tokenizer widened to 32,000 ids: 2.0 + 0.1 + 13.5 GB, written one tensor at a time."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from .minigptv2.tokenizer import read_tokenizer, tokenizer_json, widen
from .official.writers import LazyState, lora_key, write_llama_folder
from .paths import TOKENIZER

EVA = {"width": 176, "mlp": 768, "blocks": 3, "patch": 14, "file_grid": 4}
LLAMA = {"hidden_size": 128, "intermediate_size": 344, "num_attention_heads": 4, "num_key_value_heads": 4,
         "num_hidden_layers": 2, "vocab_size": 1000, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
         "max_position_embeddings": 4096}
LORA = {"r": 8, "alpha": 16}
LLAMA_7B = {"hidden_size": 4096, "intermediate_size": 11008, "num_attention_heads": 32, "num_key_value_heads": 32,
            "vocab_size": 32000}
FULL_EVA = {"width": 1408, "mlp": 6144, "blocks": 40, "patch": 14, "file_grid": 16}
FULL_VOCAB = 32000


class Random:
    def __init__(self, seed: int):
        self.g = torch.Generator().manual_seed(seed)

    def normal(self, *shape, std=1.0, mean=0.0):
        return torch.randn(shape, generator=self.g) * std + mean

    def weight(self, out_dim, in_dim, gain=1.0):
        return self.normal(out_dim, in_dim, std=gain / math.sqrt(in_dim))


def eva_state(r: Random) -> dict:
    w, m, patch = EVA["width"], EVA["mlp"], EVA["patch"]
    sd = {"cls_token": r.normal(1, 1, w), "pos_embed": r.normal(1, 1 + EVA["file_grid"] ** 2, w),
          "patch_embed.proj.weight": r.normal(w, 3, patch, patch, std=1 / math.sqrt(3 * patch ** 2)),
          "patch_embed.proj.bias": r.normal(w, std=0.1)}
    for n in range(EVA["blocks"]):
        p = f"blocks.{n}."
        sd.update({p + "norm1.weight": r.normal(w, std=0.1, mean=1), p + "norm1.bias": r.normal(w, std=0.1),
                   p + "attn.qkv.weight": r.weight(3 * w, w), p + "attn.q_bias": r.normal(w, std=0.1),
                   p + "attn.v_bias": r.normal(w, std=0.1), p + "attn.proj.weight": r.weight(w, w),
                   p + "attn.proj.bias": r.normal(w, std=0.1),
                   p + "norm2.weight": r.normal(w, std=0.1, mean=1), p + "norm2.bias": r.normal(w, std=0.1),
                   p + "mlp.fc1.weight": r.weight(m, w), p + "mlp.fc1.bias": r.normal(m, std=0.1),
                   p + "mlp.fc2.weight": r.weight(w, m), p + "mlp.fc2.bias": r.normal(w, std=0.1)})
    return {k: v.half() for k, v in sd.items()}  # LAVIS ships the ViT in fp16


def llama_state(r: Random) -> LazyState:
    """fp16 tensors made in key order as the shards are written (13.5 GB at 7B size)."""
    c = LLAMA
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    makers = {"model.embed_tokens.weight": ((v, d), lambda: r.normal(v, d)),
              "model.norm.weight": ((d,), lambda: r.normal(d, std=0.1, mean=1)),
              "lm_head.weight": ((v, d), lambda: r.weight(v, d, gain=3.0))}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        makers.update({p + "input_layernorm.weight": ((d,), lambda: r.normal(d, std=0.1, mean=1)),
                       p + "post_attention_layernorm.weight": ((d,), lambda: r.normal(d, std=0.1, mean=1)),
                       **{p + f"self_attn.{x}_proj.weight": ((d, d), lambda: r.weight(d, d)) for x in "qkvo"},
                       p + "mlp.gate_proj.weight": ((f, d), lambda: r.weight(f, d)),
                       p + "mlp.up_proj.weight": ((f, d), lambda: r.weight(f, d)),
                       p + "mlp.down_proj.weight": ((d, f), lambda: r.weight(d, f))})
    return LazyState({n: (shape, torch.float16) for n, (shape, _) in makers.items()}, lambda n: makers[n][1]())


def minigptv2_state(r: Random, spelling: str, ln_vision: bool) -> dict:
    d = LLAMA["hidden_size"]
    w, rank = EVA["width"], LORA["r"]
    sd = {"llama_proj.weight": r.weight(d, 4 * w), "llama_proj.bias": r.normal(d, std=0.1)}
    for i in range(LLAMA["num_hidden_layers"]):
        for proj in ("q_proj", "v_proj"):
            # B is zero at the start of LoRA training; a trained one is not, and must visibly change the output
            sd[lora_key(i, proj, "A", spelling)] = r.weight(rank, d)
            sd[lora_key(i, proj, "B", spelling)] = r.weight(d, rank, gain=0.5)
    if ln_vision:
        sd["ln_vision.weight"] = r.normal(w, std=0.1, mean=1)
        sd["ln_vision.bias"] = r.normal(w, std=0.1)
    return sd


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--llama-format", choices=["safetensors", "bin"], default="safetensors")
    p.add_argument("--lora-spelling", choices=["peft", "default"], default="peft",
                   help="peft: lora_A.weight (peft 0.2.0, the official file); default: lora_A.default.weight")
    p.add_argument("--drop", action="append", default=[], help="leave this MiniGPT-v2 checkpoint key out")
    p.add_argument("--ln-vision", action="store_true", help="put a trained ln_vision into the MiniGPT-v2 checkpoint")
    p.add_argument("--llama-7b-layers", type=int, default=0,
                   help="LLaMA-2-7B widths (4096, 32 heads, MLP 11008, vocab 32000) with this many layers, for speed "
                        "and size measurements (the tokenizer stays the project's 1000-id one)")
    p.add_argument("--full", action="store_true",
                   help="the official sizes: EVA ViT-g, LoRA r 64, LLaMA-2-7B and a 32,000-id tokenizer (15.6 GB)")
    args = p.parse_args(argv)
    if args.llama_7b_layers or args.full:
        LLAMA.update(LLAMA_7B, num_hidden_layers=32 if args.full else args.llama_7b_layers)
    if args.full:
        EVA.update(FULL_EVA)
        LORA.update(r=64)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = TOKENIZER
    if args.full:
        tokenizer = out / "tokenizer-32000.json"
        tokenizer.write_text(json.dumps(tokenizer_json(*widen(*read_tokenizer(TOKENIZER), FULL_VOCAB)),
                                        ensure_ascii=False) + "\n", encoding="utf-8")
    r = Random(args.seed)
    torch.save(eva_state(r), out / "eva_vit_g.pth")
    write_llama_folder(out / "llama", llama_state(r), LLAMA, tokenizer, args.llama_format)
    if args.full:
        tokenizer.unlink()  # copied into llama/
    model = minigptv2_state(r, args.lora_spelling, args.ln_vision)
    for key in args.drop:
        if key not in model:
            raise SystemExit(f"--drop {key}: no such key")
        del model[key]
    config = {"model": {"arch": "minigpt_v2", "lora_r": LORA["r"], "lora_alpha": LORA["alpha"], "image_size": 448}}
    torch.save({"model": model, "config": config, "epoch": 0}, out / "minigptv2_checkpoint.pth")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
