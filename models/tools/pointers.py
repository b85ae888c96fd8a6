"""Which image tokens an object covers, where a text names it, and where an answer picks an object by words: the
pointers train.py teaches and the attention probe_heads.py measures.

An object covers the LLM image tokens (groups of `concat` patches) holding patches it owns (vision_pretrain's
patch_owners); it is named where "{colour} {shape}" appears and no other object of the scene has that name.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np
import torch

from .minigptv2.model import rotate_half
from .vision_pretrain import patch_owners
from .world import COLOURS, SHAPES, Scene

SHAPE_WORD = re.compile(r"^(" + "|".join(SHAPES) + r")[?,.]?$")  # BPE joins trailing punctuation to the word
EXISTS_QUESTION = re.compile(r"is there an? (" + "|".join(COLOURS) + r") (" + "|".join(SHAPES) + r")\?")
COLOUR_QUESTION = re.compile(r"what color is the (" + "|".join(SHAPES) + r")\?")
SHAPE_QUESTION = re.compile(r"what shape is the (" + "|".join(COLOURS) + r") object\?")
COUNT_QUESTION = re.compile(r"how many (?:(" + "|".join(SHAPES) + r")s|(objects)) are there\?")
DETECTION_ANSWER = re.compile(r"^<p>(?:(" + "|".join(COLOURS) + r") objects|(" + "|".join(SHAPES) + r")s)</p>")


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


def answer_turns(labels: list[int], ignore: int) -> list[tuple[int, int, int]]:
    """(question start, answer start, answer end) of every turn; an answer is a run of positions with a label."""
    out, start, i = [], 0, 0
    while i < len(labels):
        if labels[i] == ignore:
            i += 1
            continue
        end = i
        while end < len(labels) and labels[end] != ignore:
            end += 1
        out.append((start, i, end))
        start = i = end
    return out


def answer_pointers(tok, scene: Scene, ids: list[int], labels: list[int],
                    ignore: int) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """Where an answer picks objects by words said in its turn: (position that writes the pick, positions of the
    words that pick them, object indices). `labels` marks the answers (not `ignore`).
    - A box, when the last "{colour} {shape}" before it in its turn is the unique name of an object (refer's box
      after its question, a grounding phrase's box), from the position that writes its first digit; the words
      are the name's two.
    - The k-th box of a detection answer: the k-th object, left to right, of the colour or shape asked for, from
      its first digit; the word is that colour or shape in the question.
    - The answer of "is there a {colour} {shape}?" when one object has that name (the answer is yes), of "what
      color is the {shape}?" and of "what shape is the {colour} object?" when one object has that shape or colour,
      from the question's last position; the words are the name, the shape, the colour asked about.
    - The answer of "how many {shape}s are there?" (every object of that shape, when there is one) and of "how
      many objects are there?" (every object), from the question's last position; the word is the one counted.
    """
    brace = tok.encode("{")[-1]
    said = mentions(tok, scene, ids)
    out = []
    for question, answer, end in answer_turns(labels, ignore):
        braces = [b for b in range(answer, end) if ids[b] == brace]
        detected = DETECTION_ANSWER.match(tok.decode(ids[answer:end]).strip())
        if detected:
            colour, shape = detected.groups()
            hits = [i for i, o in enumerate(scene.objects) if o.colour == colour or o.shape == shape]
            word = _last_word(tok, ids, question, answer, colour or shape)
            out += [(b + 1, (word,), (obj,)) for b, obj in zip(braces, hits)]
            continue
        for b in braces:
            before = [(at, obj) for at, obj in said if question <= at < b]
            if before and before[-1][1] is not None:
                at, obj = before[-1]
                out.append((b + 1, (at - 1, at), (obj,)))
        out += _question_pick(tok, scene, ids, said, question, answer)
    return out


def _last_word(tok, ids: list[int], start: int, end: int, word: str) -> int:
    """Position of the last token in ids[start:end] that begins with `word` (BPE may join an 's' or a '?')."""
    return next(p for p in range(end - 1, start - 1, -1) if tok.decode([ids[p]]).strip(" ?").startswith(word))


def _question_pick(tok, scene: Scene, ids: list[int], said, question: int, answer: int):
    asked = tok.decode(ids[question:answer])
    named = [(at, obj) for at, obj in said if question <= at < answer]
    if EXISTS_QUESTION.search(asked) and named and named[-1][1] is not None:
        at, obj = named[-1]
        return [(answer - 1, (at - 1, at), (obj,))]
    counted = COUNT_QUESTION.search(asked)
    if counted:
        shape, every = counted.groups()
        objs = tuple(i for i, o in enumerate(scene.objects) if every or o.shape == shape)
        return [(answer - 1, (_last_word(tok, ids, question, answer, shape or every),), objs)] if objs else []
    for pattern, attribute in ((COLOUR_QUESTION, "shape"), (SHAPE_QUESTION, "colour")):
        m = pattern.search(asked)
        if not m:
            continue
        objs = [i for i, o in enumerate(scene.objects) if getattr(o, attribute) == m.group(1)]
        if len(objs) != 1:
            return []
        return [(answer - 1, (_last_word(tok, ids, question, answer, m.group(1)),), (objs[0],))]
    return []


def attention_weights(attn_module, inputs, keys_detached: bool = False, before=None) -> torch.Tensor:
    """[B, heads, T, P+T] attention probabilities, recomputed from a LlamaAttention call's inputs; with
    `keys_detached` the gradient stops at the keys' input: a loss on the weights trains the key map and
    everything behind the queries, but not the states the keys are read from. A call with a past needs `before`:
    the (x, cos, sin) this layer was called with for the P positions of that past, one row per row of this call."""
    x, cos, sin, bias, past = inputs
    if past is not None and before is None:
        raise ValueError("the keys of a past are recomputed from the inputs that made it: pass them as before")

    def heads(p):
        return p.view(p.shape[0], p.shape[1], attn_module.heads, attn_module.head_dim).transpose(1, 2)

    def rope(v, cos, sin):
        return v * cos + rotate_half(v) * sin

    def keys(x, cos, sin):
        return rope(heads(attn_module.k_proj(x.detach() if keys_detached else x)), cos, sin)

    q = rope(heads(attn_module.q_proj(x)), cos, sin)
    k = keys(x, cos, sin) if before is None else torch.cat([keys(*before), keys(x, cos, sin)], dim=2)
    return (q @ k.transpose(2, 3) / attn_module.head_dim ** 0.5 + bias).softmax(-1)
