"""Image preprocessing as the official code does it: RGB, squash to S x S with PIL's (antialiased) bicubic,
/255, normalise with the CLIP mean/std, CHW float32."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .config import VisionConfig


def resize(image: Image.Image, size: int) -> Image.Image:
    return image.convert("RGB").resize((size, size), Image.BICUBIC)


def pixel_values(image: Image.Image, cfg: VisionConfig) -> torch.Tensor:
    """[3, S, S] float32, the way torchvision's ToTensor + Normalize compute it."""
    x = torch.from_numpy(np.asarray(resize(image, cfg.image_size), dtype=np.uint8).copy())
    x = x.permute(2, 0, 1).float().div(255)
    mean = torch.tensor(cfg.mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(cfg.std, dtype=torch.float32)[:, None, None]
    return x.sub(mean).div(std)
