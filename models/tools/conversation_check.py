"""How a trained model holds up over long conversations: accuracy at each turn of 7-turn conversations on fresh
scenes, the model's own answers fed back as history, with every earlier turn in the prompt and with only the
latest `history_turns` of its model.json.

    /usr/bin/python3 -m models.tools.conversation_check --checkpoint models/tools/work/default.pt [--scenes 60]

Turns mix refer (right when IoU > 0.5), identify, VQA and caption (right when the answer is exactly the target).
"""
from __future__ import annotations

import argparse
import random

import torch

from .dataset import conversation
from .evaluate import BOX, BATCH, iou, load, to_pixels
from .minigptv2.generate import answer
from .minigptv2.preprocess import pixel_values
from .minigptv2.tokenizer import CachedTokenizer
from .paths import TOKENIZER
from .world import draw_scene

SEED = 6_000_000_000  # far from the training and held-out seeds
TURNS = 7
WEIGHTS = {"refer": 1, "identify": 1, "vqa": 2, "caption": 1}


def right(turn, answer: str, size) -> bool:
    task, _, gold = turn
    if task != "refer":
        return answer.strip() == gold
    said, target = BOX.match(answer.strip()), BOX.match(gold)
    return bool(said) and iou(to_pixels(said.groups(), *size), to_pixels(target.groups(), *size)) > 0.5


def by_turn(model, cfg, scenes: int, kept: int | None) -> list[tuple[int, int]]:
    """(right, asked) at each turn, carrying the latest `kept` earlier turns (None: all of them)."""
    tok = CachedTokenizer(TOKENIZER)
    drawn = [draw_scene(SEED + i) for i in range(scenes)]
    talks = [(s, conversation(s, random.Random(i), TURNS, WEIGHTS)) for i, s in enumerate(drawn)]
    talks = [(s, c) for s, c in talks if len(c) == TURNS]
    pixels = torch.stack([pixel_values(s.image, cfg.vision) for s, _ in talks])
    history: list[list] = [[] for _ in talks]
    counts = []
    for k in range(TURNS):
        prompts = [(tuple(h if kept is None else h[-kept:]), c[k][0], c[k][1]) for h, (_, c) in zip(history, talks)]
        answers = []
        for start in range(0, len(prompts), BATCH):
            answers += answer(model, tok, cfg, pixels[start:start + BATCH], prompts[start:start + BATCH],
                              cfg.generation.max_new_tokens)
        counts.append((sum(right(c[k], a, s.size) for (s, c), a in zip(talks, answers)), len(talks)))
        for h, (_, c), a in zip(history, talks, answers):
            h.append((c[k][0], c[k][1], a))
    return counts


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--scenes", type=int, default=60)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, cfg = load(args.checkpoint)
    for kept in dict.fromkeys((None, cfg.generation.history_turns)):
        counts = by_turn(model, cfg, args.scenes, kept)
        label = "every earlier turn" if kept is None else f"the latest {kept}"
        print(f"{label}: " + " ".join(f"{a}/{b}" for a, b in counts), flush=True)


if __name__ == "__main__":
    with torch.no_grad():
        main()
