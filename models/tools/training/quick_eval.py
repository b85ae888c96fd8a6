"""The check at the end of training: exact-match rate per task on fresh scenes."""
from __future__ import annotations

import random

import torch

from ..dataset import sample
from ..minigptv2.config import ModelConfig
from ..minigptv2.generate import answer
from ..minigptv2.model import MiniGPTv2
from ..minigptv2.preprocess import pixel_values
from ..world import draw_scene
from .config import QUICK_EVAL_SEED


def quick_eval(model: MiniGPTv2, tok, cfg: ModelConfig, per_task: int) -> dict:
    """Exact-match rate per task on fresh scenes (the full scoring with IoU is models/tools/evaluate.py)."""
    model.eval()
    rng = random.Random(QUICK_EVAL_SEED)
    result = {}
    for k, task in enumerate(("refer", "identify", "vqa", "detection", "caption", "grounding")):
        scenes = [draw_scene(QUICK_EVAL_SEED + k * 1000 + i) for i in range(per_task)]
        samples = [sample(s, task, rng) for s in scenes]
        pixels = torch.stack([pixel_values(s.image, cfg.vision) for s in scenes])
        answers = answer(model, tok, cfg, pixels, [((), t, q) for t, q, _ in samples], 160)
        result[task] = sum(a == s[2] for a, s in zip(answers, samples)) / per_task
    model.train()
    return result
