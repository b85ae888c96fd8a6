"""The training loss: cross-entropy on the answers plus the pointer loss that teaches two heads to look at the
words and the objects an answer picks."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..minigptv2.model import MiniGPTv2
from ..pointers import attention_weights
from .turns import IGNORE

ROWS_PER_CHUNK = 4               # forward_loss runs the batch in chunks of rows of similar length
# Pointers (models/HISTORY.md, "Why the model could not pick a named object"): where an answer picks objects by
# words said in its turn (pointers.answer_pointers), head POINTER_HEAD of NAME_LAYER is taught to look at each of
# those words and the same head of OBJECT_LAYER at those objects' image tokens, from the position that writes the
# pick (a box's first digit, the answer word).
POINTER_HEAD, NAME_LAYER, OBJECT_LAYER = 2, 0, 1
NAME_WEIGHT, OBJECT_WEIGHT = 1.0, 3.0


def forward_loss(model: MiniGPTv2, pixels, seqs, prompts: int):
    """Cross-entropy plus pointer loss, per answer token of the batch.

    Every prompt of a scene starts with the same prefix (segment 0 and the image tokens, 24 of a row's 58-87
    positions), so the prefix runs once per scene and its keys and values serve each of the scene's prompts as a
    past; the gradient of every prompt flows back through them.
    Answers range from one token (a VQA digit) to about 120 (a four-object grounded caption), so one batch padded
    to its longest row is mostly padding. On the CPU rows are sorted by length and run in chunks, each padded only
    to its own longest row; the loss is the same, a batch about 2.5x faster (measured in models/README.md). On a
    GPU the padding costs less than the extra calls, so the batch runs whole.
    The pointer loss of a box is -log of the weight the pointer heads put on the name and on the object, summed
    with the answers' cross-entropy before the mean. Its gradient stops at the keys' input: it moves the two
    heads' key maps and whatever forms their queries, but cannot get the choice by reshaping the image tokens and
    words the keys read, which every other head reads too.
    """
    device = pixels.device
    image_embeds = model.encode_image(pixels)
    scenes, n_img = image_embeds.shape[:2]
    seg0 = seqs[0][0]
    if any(s[0] != seg0 or s[2][0] != IGNORE for s in seqs):
        raise ValueError("every row must share segment 0 and start its segment 1 outside the answer")
    text = len(seg0) + n_img  # where a row's ids start
    prefix = torch.cat([model.embed(torch.tensor([seg0] * scenes, device=device)), image_embeds], dim=1)
    order = sorted(range(len(seqs)), key=lambda r: len(seqs[r][1]))
    chunk = ROWS_PER_CHUNK if device.type == "cpu" else len(seqs)
    total = torch.zeros((), device=device)
    count = sum(sum(1 for t in s[2] if t != IGNORE) for s in seqs)
    pointer_count = sum(len(s[3]) for s in seqs)
    captured, prefix_inputs, call = {}, {}, {}  # call["scenes"]: the scene of each row of the chunk under way
    layers = model.llama_model.model.layers

    def capture(index):
        def hook(module, inputs, _):
            if not pointer_count:
                return
            if "scenes" not in call:
                prefix_inputs[index] = inputs[:3]
                return
            before = tuple(t[call["scenes"]] for t in prefix_inputs[index])
            captured[index] = attention_weights(module, inputs, keys_detached=True, before=before)[:, POINTER_HEAD]
        return hook

    hooks = [layers[i].self_attn.register_forward_hook(capture(i)) for i in (NAME_LAYER, OBJECT_LAYER)]
    try:
        _, past = model.decode(prefix, torch.ones(scenes, text, dtype=torch.long, device=device),
                               torch.arange(text, device=device).repeat(scenes, 1))
        for c in range(0, len(order), chunk):
            rows = order[c:c + chunk]
            length = max(len(seqs[r][1]) for r in rows)
            tail = torch.zeros(len(rows), length, dtype=torch.long)
            labels = torch.full((len(rows), length), IGNORE, dtype=torch.long)
            for i, r in enumerate(rows):
                ids, lab = seqs[r][1], seqs[r][2]
                tail[i, :len(ids)] = torch.tensor(ids)
                labels[i, :len(lab)] = torch.tensor(lab)
            call["scenes"] = scenes_of = torch.tensor([r // prompts for r in rows], device=device)
            # right padding: padded positions come after every real token, so causal attention never sees them
            logits, _ = model.decode(model.embed(tail.to(device)),
                                     torch.ones(len(rows), text + length, dtype=torch.long, device=device),
                                     torch.arange(text, text + length, device=device).repeat(len(rows), 1),
                                     [(k[scenes_of], v[scenes_of]) for k, v in past])
            total = total + F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                            labels[:, 1:].reshape(-1).to(device), ignore_index=IGNORE, reduction="sum")
            total = total + pointer_loss(captured, rows, seqs, text, n_img)
    finally:
        for hook in hooks:
            hook.remove()
    return total / count


def pointer_loss(captured, rows, seqs, text: int, n_img: int):
    """-log of the name head's weight on each word that picks the objects (NAME_WEIGHT shared among them) and of
    the object head's weight on the image tokens of those objects together, summed over the pointers of these
    rows (zero when they have none). Each word counts on its own: a loss on the words' sum let the head look at
    the shape word alone, so the object head's query never learned the colour and chose at chance between two
    objects of one shape (models/README.md)."""
    found = [(i, query, words, seqs[r][4][list(objs)].any(0))
             for i, r in enumerate(rows) for query, words, objs in seqs[r][3]]
    if not found:
        return 0.0
    device = captured[NAME_LAYER].device
    each = [(i, query, word, NAME_WEIGHT / len(words)) for i, query, words, _ in found for word in words]
    row, query, word = (torch.tensor([e[k] for e in each], device=device) for k in range(3))
    weight = torch.tensor([e[3] for e in each], device=device)
    name = captured[NAME_LAYER][row, query, word + text]
    row, query = (torch.tensor([f[k] for f in found], device=device) for k in range(2))
    covers = torch.stack([f[3] for f in found]).to(device, torch.float32)  # [pointers, image tokens]
    seen = (captured[OBJECT_LAYER][row, query, text - n_img:text] * covers).sum(1)
    return -(weight * torch.log(name + 1e-6)).sum() - OBJECT_WEIGHT * torch.log(seen + 1e-6).sum()
