"""Score a trained PyTorch checkpoint on an eval JSONL with greedy decoding, the way the paper's code scores.

    /usr/bin/python3 -m models.tools.evaluate --checkpoint models/tools/work/default.pt --data models/eval/main.jsonl

REC: the answer must start with {<x1><y1><x2><y2>}; the 100-grid box is scaled to the image and counted right
when IoU > 0.5 with the +1-pixel convention. identify / VQA: exact match after lower-casing and trimming.
detection: precision / recall / F1 of boxes at IoU > 0.5 over all cases. caption: exact match of the object
multiset. grounding: F1 of (phrase, box) pairs. This is the trainer's own check; `minigpt-bot eval` scores the
exported model directory the same way.
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import torch
from PIL import Image

from .dataset import CAPTION_TEXT, GROUNDING_TEXT
from .minigptv2.config import ModelConfig
from .minigptv2.generate import answer
from .minigptv2.model import MiniGPTv2
from .minigptv2.preprocess import pixel_values
from .minigptv2.tokenizer import CachedTokenizer
from .paths import TOKENIZER
from .world import COLOURS, SHAPES, grid_box

BOX = re.compile(r"\{<(\d+)><(\d+)><(\d+)><(\d+)>\}")
GROUP = re.compile(r"<p>([^<]*)</p>\s*((?:\{<\d+><\d+><\d+><\d+>\}(?:<delim>)?)+)")
OBJECT = re.compile(r"\b(" + "|".join(COLOURS) + r") (" + "|".join(SHAPES) + r")\b")
BATCH = 16


def iou(a, b) -> float:
    ix = min(a[2], b[2]) - max(a[0], b[0]) + 1
    iy = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def to_pixels(g, w: int, h: int) -> list[float]:
    g = [min(100, max(0, int(v))) for v in g]
    return [g[0] / 100 * w, g[1] / 100 * h, g[2] / 100 * w, g[3] / 100 * h]


def match(pred: list, gold: list, same=lambda p, g: True) -> int:
    """Greedy one-to-one matching of boxes at IoU > 0.5; returns the number of true positives."""
    used, hits = set(), 0
    for p in pred:
        best = max(((iou(p[1], g[1]), j) for j, g in enumerate(gold) if j not in used and same(p[0], g[0])),
                   default=(0.0, -1))
        if best[0] > 0.5:
            used.add(best[1])
            hits += 1
    return hits


def question(case: dict, w: int, h: int) -> str:
    task = case["task"]
    if task == "identify":
        return "what is this {" + "".join(f"<{v}>" for v in grid_box(case["box"], w, h)) + "}"
    if task == "caption":
        return CAPTION_TEXT
    if task == "grounding":
        return GROUNDING_TEXT
    return case["text"]


def phrase_key(p: str) -> str:
    p = p.strip().lower()
    return p[2:] if p.startswith("a ") else p[3:] if p.startswith("an ") else p


def score(cases: list[dict], answers: list[str], sizes: list[tuple[int, int]]) -> dict:
    exact: dict[str, list[bool]] = {}
    f1_counts: dict[str, list[int]] = {"detection": [0, 0, 0], "grounding": [0, 0, 0]}  # tp, n_pred, n_gold
    for case, raw, (w, h) in zip(cases, answers, sizes):
        task = case["task"]
        if task == "refer":
            m = BOX.match(raw.strip())
            ok = bool(m) and iou(to_pixels(m.groups(), w, h), case["box"]) > 0.5
        elif task in ("identify", "vqa"):
            ok = raw.strip().lower() == case["answer"].strip().lower()
        elif task == "caption":
            ok = Counter(" ".join(m) for m in OBJECT.findall(raw.lower())) == Counter(case["objects"])
        elif task == "detection":
            pred = [(None, to_pixels(m, w, h)) for m in BOX.findall(raw)]
            gold = [(None, b) for b in case["boxes"]]
            c = f1_counts["detection"]
            c[0] += match(pred, gold); c[1] += len(pred); c[2] += len(gold)
            continue
        elif task == "grounding":
            pred = [(phrase_key(p), to_pixels(b, w, h)) for p, boxes in GROUP.findall(raw)
                    for b in BOX.findall(boxes)]
            gold = [(phrase_key(o["phrase"]), o["box"]) for o in case["objects"]]
            c = f1_counts["grounding"]
            c[0] += match(pred, gold, lambda a, b: a == b); c[1] += len(pred); c[2] += len(gold)
            continue
        else:
            continue
        exact.setdefault(task, []).append(ok)
    out = {t: sum(v) / len(v) for t, v in exact.items()}
    for t, (tp, n_pred, n_gold) in f1_counts.items():
        if n_gold:
            p, r = tp / max(n_pred, 1), tp / n_gold
            out[t] = 0.0 if tp == 0 else 2 * p * r / (p + r)
    return out


def load(checkpoint: str) -> tuple[MiniGPTv2, ModelConfig]:
    saved = torch.load(checkpoint, map_location="cpu")
    cfg = ModelConfig.from_dict(saved["config"])
    model = MiniGPTv2(cfg)
    model.load_state_dict(saved["state"])
    return model.eval(), cfg


def evaluate(model: MiniGPTv2, cfg: ModelConfig, data: Path, limit: int | None = None):
    cases = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
    tok = CachedTokenizer(TOKENIZER)
    answers: list = [None] * len(cases)
    sizes: list = [None] * len(cases)
    # batches of one task stop together (short answers do not wait for long grounded captions)
    order = sorted(range(len(cases)), key=lambda i: cases[i]["task"])
    for start in range(0, len(order), BATCH):
        idx = order[start:start + BATCH]
        images = [Image.open(data.parent / cases[i]["image"]).convert("RGB") for i in idx]
        pixels = torch.stack([pixel_values(im, cfg.vision) for im in images])
        prompts = [((), cases[i]["task"], question(cases[i], *im.size)) for i, im in zip(idx, images)]
        for i, im, a in zip(idx, images, answer(model, tok, cfg, pixels, prompts, cfg.generation.max_new_tokens)):
            answers[i], sizes[i] = a, im.size
    return cases, answers, score(cases, answers, sizes)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, action="append", help="eval JSONL (repeatable)")
    p.add_argument("--predictions", help="write cases with the raw answers here (JSONL)")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--scores", help="write the per-task scores of each data file here (JSON), e.g. MODEL_DIR/heldout.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, cfg = load(args.checkpoint)
    rows, table = [], {}
    for data in args.data:
        with torch.no_grad():
            cases, answers, scores = evaluate(model, cfg, Path(data), args.limit)
        print(f"{data}: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(scores.items())), flush=True)
        rows += [{**c, "raw": a} for c, a in zip(cases, answers)]
        table[Path(data).stem] = {k: round(v, 4) for k, v in sorted(scores.items())}
    if args.predictions:
        Path(args.predictions).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    if args.scores:
        Path(args.scores).write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
