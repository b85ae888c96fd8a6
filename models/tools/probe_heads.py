"""Which object each attention head looks at when a refer prompt names one: the probe behind "Why the model could
not pick a named object" in models/README.md.

    /usr/bin/python3 -m models.tools.probe_heads --checkpoint models/tools/work/default.pt [--scenes 40]

On fresh two-object scenes every refer prompt is run with its right answer fed in (teacher forcing). For each
head of each layer it prints the attention weight on the named object's image tokens minus the weight on the
other object's, at the last word of the name and at the position that writes the first box digit, and how often
that first digit is right; then, by kind of pair (same shape, same colour, different), how often the pointer
heads' object head prefers the named object and how much weight their name head puts on the colour word.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402

from .evaluate import load  # noqa: E402
from .minigptv2.model import MiniGPTv2
from .minigptv2.preprocess import pixel_values
from .pointers import attention_weights, name_mentions, object_token_masks  # noqa: E402
from .minigptv2.tokenizer import CachedTokenizer  # noqa: E402
from .paths import TOKENIZER  # noqa: E402
from .training.loss import NAME_LAYER, OBJECT_LAYER, POINTER_HEAD  # noqa: E402
from .training.turns import IGNORE, encode_turns  # noqa: E402
from .world import draw_scene, format_box  # noqa: E402

PROBE_SEED = 950_000_000  # far from the training and held-out seeds


def _refer_prompts(model: MiniGPTv2, tok, scenes: int):
    """For each refer prompt of the fresh two-object scenes whose objects differ in name, run with its right
    answer fed in: (scene, target index, object token masks, per-layer attention [1, heads, T, T], logits,
    where the answer starts, first digit's answer index, name's shape word answer index, labels)."""
    cfg = model.cfg
    captured: list[torch.Tensor] = []
    hooks = [layer.self_attn.register_forward_hook(
        lambda mod, inputs, out: captured.append(attention_weights(mod, inputs)))
        for layer in model.llama_model.model.layers]
    try:
        for seed in range(PROBE_SEED, PROBE_SEED + scenes):
            scene = draw_scene(seed, count=2)
            if scene.objects[0].name == scene.objects[1].name:
                continue
            masks = object_token_masks(scene, cfg.vision.grid, cfg.vision.concat)
            pixels = pixel_values(scene.image, cfg.vision)[None]
            for target, obj in enumerate(scene.objects):
                seg0, ids, labels = encode_turns(tok, cfg, [("refer", f"the {obj.name}",
                                                             format_box(obj.box, *scene.size))])
                x = torch.cat([model.embed(torch.tensor([seg0])), model.encode_image(pixels),
                               model.embed(torch.tensor([ids]))], dim=1)
                captured.clear()
                logits, _ = model.decode(x, torch.ones(1, x.shape[1], dtype=torch.long),
                                         torch.arange(x.shape[1])[None])
                digit = next(i for i, t in enumerate(labels) if t != IGNORE and tok.decode([t]).isdigit())
                name = next(i for i, o in name_mentions(tok, scene, ids) if o == target)
                yield scene, target, masks, list(captured), logits, len(seg0) + masks.shape[1], digit, name, labels
    finally:
        for hook in hooks:
            hook.remove()


@torch.no_grad()
def probe(model: MiniGPTv2, tok, scenes: int) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """([layers, heads] mean target-minus-other weight at the name, the same at the first digit, first digits
    right, prompts)."""
    layers, heads = model.cfg.llm.layers, model.cfg.llm.heads
    at_name, at_digit = torch.zeros(layers, heads), torch.zeros(layers, heads)
    right = prompts = 0
    for _, target, masks, captured, logits, start, digit, name, labels in _refer_prompts(model, tok, scenes):
        right += int(logits[0, start + digit - 1].argmax()) == labels[digit]
        image = slice(start - masks.shape[1], start)
        mine, other = masks[target], masks[1 - target] & ~masks[target]
        for layer, att in enumerate(captured):
            for total, pos in ((at_name, start + name), (at_digit, start + digit - 1)):
                weights = att[0, :, pos, image]
                total[layer] += weights[:, mine].sum(-1) - weights[:, other].sum(-1)
        prompts += 1
    return at_name / prompts, at_digit / prompts, right, prompts


@torch.no_grad()
def pointer_pairs(model: MiniGPTv2, tok, scenes: int) -> dict[str, dict[str, float]]:
    """By kind of pair (same shape, same colour, different), over the refer prompts of probe(): the share whose
    first box digit is right, whose object head (train.POINTER_HEAD of OBJECT_LAYER) puts more weight on the named
    object than on the other where that digit is written, and the name head's mean weight on the colour word
    there."""
    counts: dict[str, list[float]] = {}
    for scene, target, masks, captured, logits, start, digit, name, labels in _refer_prompts(model, tok, scenes):
        a, b = scene.objects
        kind = "same shape" if a.shape == b.shape else "same colour" if a.colour == b.colour else "different"
        pos = start + digit - 1
        seen = captured[OBJECT_LAYER][0, POINTER_HEAD, pos, start - masks.shape[1]:start]
        mine, other = masks[target], masks[1 - target] & ~masks[target]
        row = counts.setdefault(kind, [0, 0, 0, 0.0])
        row[0] += 1
        row[1] += int(logits[0, pos].argmax()) == labels[digit]
        row[2] += float(seen[mine].sum()) > float(seen[other].sum())
        row[3] += float(captured[NAME_LAYER][0, POINTER_HEAD, pos, start + name - 1])
    return {kind: {"prompts": n, "first digit right": d / n, "object head picks it": p / n, "colour word weight": c / n}
            for kind, (n, d, p, c) in counts.items()}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="a --checkpoint file of train.py")
    p.add_argument("--scenes", type=int, default=40)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model, _ = load(args.checkpoint)
    at_name, at_digit, right, prompts = probe(model, CachedTokenizer(TOKENIZER), args.scenes)
    print(f"{prompts} refer prompts on two-object scenes; first box digit right {right}/{prompts}")
    for title, table in (("at the last word of the name", at_name), ("where the first box digit is written", at_digit)):
        print(f"weight on the named object minus weight on the other, {title} (rows: layers, columns: heads)")
        for layer, row in enumerate(table):
            print(f"  layer {layer}: " + " ".join(f"{float(v):+.2f}" for v in row))
    print("by kind of pair, where the first box digit is written:")
    for kind, stats in pointer_pairs(model, CachedTokenizer(TOKENIZER), args.scenes).items():
        print(f"  {kind}: " + ", ".join(f"{k} {v:.2f}" if k != "prompts" else f"{v} prompts" for k, v in stats.items()))


if __name__ == "__main__":
    main()
