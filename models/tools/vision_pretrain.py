"""Vision pre-training: the small ViT learns the world's objects from dense per-patch labels.

MiniGPT-v2 starts from a pre-trained EVA-CLIP ViT and keeps it frozen through all three stages; the LLM only has
to learn to read features that already describe the image. The default model's ViT is trained from scratch, so it
first gets its own pre-training (stage 0), on labels the world gives for free: for every patch of the grid, the
object covering most of it (its colour and shape, or background), whether the object's centre lies in it, and
the object's whole box in image-relative coordinates. A linear head reads those from `ln_vision`'s output (what
the projection into the LLM sees) and is thrown away afterwards; the ViT and ln_vision are then frozen.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data_parallel import Ranks
from .minigptv2.model import MiniGPTv2
from .minigptv2.preprocess import pixel_values
from .world import COLOURS, SHAPES, Scene, draw_scene

COLOUR_IDS = {c: i + 1 for i, c in enumerate(COLOURS)}  # 0 = background
SHAPE_IDS = {s: i + 1 for i, s in enumerate(SHAPES)}
HEAD_OUTPUTS = (1 + len(COLOURS), 1 + len(SHAPES), 2, 4)  # colour, shape, centre here, box


class DenseHead(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.proj = nn.Linear(width, sum(HEAD_OUTPUTS))

    def forward(self, patches):
        return torch.split(self.proj(patches), HEAD_OUTPUTS, dim=-1)


def patch_features(model: MiniGPTv2, pixels: torch.Tensor) -> torch.Tensor:
    """[B, G*G, W]: ln_vision of the patch tokens, the features llama_proj concatenates and projects."""
    return model.ln_vision(model.visual_encoder(pixels))[:, 1:, :]


def patch_owners(scene: Scene, grid: int) -> np.ndarray:
    """Per patch (raster order): the index of the object covering most of it, -1 for background. Every object,
    however thin after the squash to a square, owns at least one patch."""
    w, h = scene.size
    owner = np.full(grid * grid, -1, np.int64)
    best = np.zeros(grid * grid, np.float32)
    edges = np.arange(grid + 1, dtype=np.float32) / grid
    for i, obj in enumerate(scene.objects):
        x1, y1, x2, y2 = obj.box[0] / w, obj.box[1] / h, obj.box[2] / w, obj.box[3] / h
        ox = np.clip(np.minimum(edges[1:], x2) - np.maximum(edges[:-1], x1), 0, None)
        oy = np.clip(np.minimum(edges[1:], y2) - np.maximum(edges[:-1], y1), 0, None)
        area = (oy[:, None] * ox[None, :]).reshape(-1)
        mine = area > best
        best[mine], owner[mine] = area[mine], i
    return owner


def dense_targets(scene: Scene, grid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per patch (raster order): colour id, shape id, 1 where an object's centre falls, the covering object's
    box as (x1/W, y1/H, x2/W, y2/H); a patch belongs to the object of patch_owners."""
    w, h = scene.size
    n = grid * grid
    owner = patch_owners(scene, grid)
    colour, shape, centre = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    box = np.zeros((n, 4), np.float32)
    for i, obj in enumerate(scene.objects):
        mine = owner == i
        x1, y1, x2, y2 = obj.box[0] / w, obj.box[1] / h, obj.box[2] / w, obj.box[3] / h
        colour[mine], shape[mine] = COLOUR_IDS[obj.colour], SHAPE_IDS[obj.shape]
        box[mine] = (x1, y1, x2, y2)
        cx, cy = min(int((x1 + x2) / 2 * grid), grid - 1), min(int((y1 + y2) / 2 * grid), grid - 1)
        centre[cy * grid + cx] = 1
    return colour, shape, centre, box


def dense_batch(model: MiniGPTv2, seeds: list[int], size=None):
    """Pixels and dense targets of the scenes of `seeds` (size pins W, H, for the extremes)."""
    cfg = model.cfg.vision
    scenes = [draw_scene(s, size) for s in seeds]
    pixels = torch.stack([pixel_values(s.image, cfg) for s in scenes])
    targets = [dense_targets(s, cfg.grid) for s in scenes]
    return pixels, [torch.from_numpy(np.stack(t)) for t in zip(*targets)]


def dense_loss(model: MiniGPTv2, head: DenseHead, pixels, targets) -> tuple[torch.Tensor, dict]:
    colour_t, shape_t, centre_t, box_t = targets
    colour, shape, centre, box = head(patch_features(model, pixels))
    owned = colour_t > 0
    box_err = (box.sigmoid() - box_t).abs()[owned]
    loss = (F.cross_entropy(colour.flatten(0, 1), colour_t.flatten())
            + F.cross_entropy(shape.flatten(0, 1), shape_t.flatten())
            + F.cross_entropy(centre.flatten(0, 1), centre_t.flatten())
            + 10 * box_err.mean())
    stats = {"colour": float((colour.argmax(-1) == colour_t).float().mean()),
             "shape": float((shape.argmax(-1) == shape_t)[owned].float().mean()),
             "box_grid_err": float(box_err.mean()) * 100}  # mean error in 100-grid units
    return loss, stats


def pretrain_vision(model: MiniGPTv2, steps: int, images: int, seed: int, lr: float, log,
                   ranks: Ranks = Ranks()) -> DenseHead:
    """Train the ViT and ln_vision for `steps` steps of `images` fresh scenes (split between `ranks`); returns the
    (discarded) head."""
    head = DenseHead(model.cfg.vision.width)
    ranks.align(head)
    params = (list(model.visual_encoder.parameters()) + list(model.ln_vision.parameters())
              + list(head.parameters()))
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    warmup = max(1, steps // 20)
    for step in range(steps):
        scale = min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * step / steps)))
        for group in opt.param_groups:
            group["lr"] = lr * scale
        pixels, targets = dense_batch(model, [seed + step * images + i for i in ranks.share(images)])
        loss, stats = dense_loss(model, head, pixels, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        ranks.average(params, loss)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if (step + 1) % 50 == 0 or step + 1 == steps:
            log(f"vision step {step + 1}/{steps} loss {float(loss):.4f} colour {stats['colour']:.3f} "
                f"shape {stats['shape']:.3f} box error {stats['box_grid_err']:.2f} grid units")
    return head


@torch.no_grad()
def check_vision(model: MiniGPTv2, head: DenseHead, seeds: list[int], size=None) -> dict:
    """The head's accuracy on scenes never trained on."""
    _, stats = dense_loss(model, head, *dense_batch(model, seeds, size))
    return stats


def freeze_vision(model: MiniGPTv2) -> list[nn.Parameter]:
    """Freeze the ViT and ln_vision, as MiniGPT-v2 does; returns the parameters that still train."""
    for p in list(model.visual_encoder.parameters()) + list(model.ln_vision.parameters()):
        p.requires_grad_(False)
    return [p for p in model.parameters() if p.requires_grad]

