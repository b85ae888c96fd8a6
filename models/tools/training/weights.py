"""The weights of a training run: how they start, how they are saved, and which saved ones a run may start from."""
from __future__ import annotations

import math

import torch

from ..minigptv2.config import ModelConfig
from ..minigptv2.model import MiniGPTv2


def sincos_2d(grid: int, width: int) -> torch.Tensor:
    """[1, 1+G*G, W] fixed 2-D sine-cosine table (CLS row zero): a position signal from the first step."""
    quarter = width // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / quarter))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32),
                            indexing="ij")
    def enc(pos):
        out = pos.reshape(-1, 1) * omega[None]
        return torch.cat([out.sin(), out.cos()], dim=1)
    table = torch.cat([enc(xs), enc(ys)], dim=1)
    return torch.cat([torch.zeros(1, width), table], dim=0)[None]


def init_weights(model: MiniGPTv2, seed: int) -> None:
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("pos_embed"):
                p.copy_(sincos_2d(model.cfg.vision.grid, p.shape[-1]))
            elif p.dim() >= 2 and "patch_embed" not in name:
                p.normal_(0.0, 0.02)
        # residual outputs start small so the deep stack begins near the identity
        depth = model.cfg.llm.layers + model.cfg.vision.layers
        for name, p in model.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight", "attn.proj.weight", "fc2.weight")):
                p.mul_(1 / math.sqrt(2 * depth))


def trained_part(config: dict, either_arm: bool) -> dict:
    """What of a configuration an --init checkpoint must share: not the generation settings, which only go to the
    exported model.json, and for a stage 0 checkpoint (either arm) not what --no-identifiers changes either."""
    skip = ("generation", "name", "description", "prompt") if either_arm else ("generation",)
    return {k: v for k, v in config.items() if k not in skip}


def save_checkpoint(model: MiniGPTv2, cfg: ModelConfig, step: int, path) -> None:
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    torch.save({"config": cfg.to_dict(), "state": state, "step": step}, path)
