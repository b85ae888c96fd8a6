"""Build the random-weight "scale" model directory: a MiniGPT-v2 whose decoder layers have LLaMA-7B width
(hidden 4096, 32 heads of 128, MLP 11008) but only a few layers, and a small ViT. The benchmark uses it to
measure the engine, the bare ONNX Runtime loop and the PyTorch reference at the matrix sizes of the real model
on a CPU, where a full 7B would not fit the time budget.

    /usr/bin/python3 -m models.tools.make_scale [--layers 2] [--out models/tools/work/scale]

The directory is git-ignored and never committed (about 0.8 GB per layer). The PyTorch weights are not stored
separately: models/tools/official_path.py reads them back from the ONNX initializers, exactly as it does for
every model directory the reference exports."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from .minigptv2.config import GenerationConfig, LlmConfig, ModelConfig, VisionConfig
from .minigptv2.model import MiniGPTv2, random_init
from .minigptv2.onnx_export import export_model_dir
from .minigptv2.tokenizer import Tokenizer
from .paths import TOKENIZER, TOOLS

SEED = 4096
DEFAULT_OUT = TOOLS / "work" / "scale"


def scale_config(layers: int) -> ModelConfig:
    vocab = len(Tokenizer(TOKENIZER).vocab)
    return ModelConfig(
        name=f"scale-{layers}",
        description=f"random weights, LLaMA-7B width with {layers} layers, for the benchmark only",
        # the official 448 px / 14 → 1024 patches → 256 image tokens, so prompts are as long as the real model's
        vision=VisionConfig(image_size=448, patch_size=14, width=256, layers=2, heads=4, mlp=1024, concat=4),
        llm=LlmConfig(hidden_size=4096, layers=layers, heads=32, head_dim=128, mlp=11008, vocab_size=vocab,
                      rope_theta=10000.0, rms_norm_eps=1e-6, max_positions=2048),
        generation=GenerationConfig(do_sample=False, repetition_penalty=1.0))


def main() -> None:
    parser = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=2, help="decoder layers (2-4)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if not 1 <= args.layers <= 8:
        parser.error("--layers must be between 1 and 8")
    began = time.time()
    cfg = scale_config(args.layers)
    torch.manual_seed(SEED)
    model = MiniGPTv2(cfg)
    random_init(model, SEED)
    export_model_dir(model.eval(), cfg, TOKENIZER, args.out)
    print(f"wrote {args.out} ({cfg.name}) in {time.time() - began:.0f} s")


if __name__ == "__main__":
    main()
