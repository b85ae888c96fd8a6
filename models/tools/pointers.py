"""Which image tokens an object covers and where a text names it: what probe_heads.py measures attention against.

An object covers the LLM image tokens (groups of `concat` patches) holding patches it owns (vision_pretrain's
patch_owners); it is named where "{colour} {shape}" appears and no other object of the scene has that name.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import torch

from minigptv2.model import rotate_half
from vision_pretrain import patch_owners
from world import COLOURS, SHAPES, Scene

SHAPE_WORD = re.compile(r"^(" + "|".join(SHAPES) + r")[?,.]?$")  # BPE joins trailing punctuation to the word


def object_token_masks(scene: Scene, grid: int, concat: int) -> torch.Tensor:
    """[objects, image tokens] bool: the LLM image tokens (groups of `concat` patches) each object covers."""
    groups = patch_owners(scene, grid).reshape(-1, concat)
    return torch.from_numpy(np.stack([(groups == i).any(1) for i in range(len(scene.objects))]))


def name_mentions(tok, scene: Scene, ids: list[int]) -> list[tuple[int, int]]:
    """(position of the shape word, object index) for every "{colour} {shape}" in `ids` naming an object that is
    the only one of its name in the scene."""
    counts = Counter(o.name for o in scene.objects)
    unique = {o.name: i for i, o in enumerate(scene.objects) if counts[o.name] == 1}
    colour_of = {tok.encode(c)[-1]: c for c in COLOURS}
    out = []
    for i in range(len(ids) - 1):
        colour = colour_of.get(ids[i])
        word = SHAPE_WORD.match(tok.decode([ids[i + 1]]).strip()) if colour else None
        if word and f"{colour} {word.group(1)}" in unique:
            out.append((i + 1, unique[f"{colour} {word.group(1)}"]))
    return out


def head_attention(attn_module, inputs, head: int) -> torch.Tensor:
    """[B, T, T] attention probabilities of one head, recomputed from a LlamaAttention call's inputs."""
    x, cos, sin, bias, _ = inputs
    rows = slice(head * attn_module.head_dim, (head + 1) * attn_module.head_dim)
    q = (x @ attn_module.q_proj.weight[rows].T).unsqueeze(1)
    k = (x @ attn_module.k_proj.weight[rows].T).unsqueeze(1)

    def rope(t):
        return t * cos + rotate_half(t) * sin

    scores = rope(q) @ rope(k).transpose(2, 3) / attn_module.head_dim ** 0.5 + bias
    return scores.softmax(-1)[:, 0]
