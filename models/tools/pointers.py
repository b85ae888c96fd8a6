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


def mentions(tok, scene: Scene, ids: list[int]) -> list[tuple[int, int | None]]:
    """(position of the shape word, object index) for every "{colour} {shape}" in `ids`; the index is None when
    no object, or more than one, has that name."""
    counts = Counter(o.name for o in scene.objects)
    unique = {o.name: i for i, o in enumerate(scene.objects) if counts[o.name] == 1}
    colour_of = {tok.encode(c)[-1]: c for c in COLOURS}
    out = []
    for i in range(len(ids) - 1):
        colour = colour_of.get(ids[i])
        word = SHAPE_WORD.match(tok.decode([ids[i + 1]]).strip()) if colour else None
        if word:
            out.append((i + 1, unique.get(f"{colour} {word.group(1)}")))
    return out


def name_mentions(tok, scene: Scene, ids: list[int]) -> list[tuple[int, int]]:
    """(position of the shape word, object index) for every "{colour} {shape}" in `ids` naming an object that is
    the only one of its name in the scene."""
    return [(at, obj) for at, obj in mentions(tok, scene, ids) if obj is not None]


def box_pointers(tok, scene: Scene, ids: list[int], labels: list[int], ignore: int) -> list[tuple[int, int, int]]:
    """(position that writes the first digit, position of the name's shape word, object index) for every box an
    answer writes when the last name before it in its turn is the unique name of an object: refer's box after
    its question, grounding's box after its phrase. Turns end where an answer ends (`labels` not `ignore`)."""
    brace = tok.encode("{")[-1]
    said = mentions(tok, scene, ids)
    out, turn_start = [], 0
    for b, (token, label) in enumerate(zip(ids, labels)):
        if label != ignore and token == brace:
            before = [(at, obj) for at, obj in said if turn_start <= at < b]
            if before and before[-1][1] is not None:
                out.append((b + 1, *before[-1]))
        if label != ignore and (b + 1 == len(labels) or labels[b + 1] == ignore):
            turn_start = b + 1
    return out


def attention_weights(attn_module, inputs, keys_detached: bool = False) -> torch.Tensor:
    """[B, heads, T, T] attention probabilities, recomputed from a LlamaAttention call's inputs; with
    `keys_detached` the gradient stops at the keys' input: a loss on the weights trains the key map and
    everything behind the queries, but not the states the keys are read from."""
    x, cos, sin, bias, _ = inputs
    b, t, _ = x.shape

    def heads(p):
        return p.view(b, t, attn_module.heads, attn_module.head_dim).transpose(1, 2)

    def rope(v):
        return v * cos + rotate_half(v) * sin

    q, k = rope(heads(attn_module.q_proj(x))), rope(heads(attn_module.k_proj(x.detach() if keys_detached else x)))
    return (q @ k.transpose(2, 3) / attn_module.head_dim ** 0.5 + bias).softmax(-1)
