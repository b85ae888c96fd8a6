"""Greedy decoding with the KV cache: the one decode loop of the tools (quick checks, evaluation, the goldens of
models/mini, the official generation path)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from .config import ModelConfig
from .model import MiniGPTv2
from .prompt import build_segments


@dataclass
class Greedy:
    ids: list[list[int]]        # per row, the chosen ids; a row that stopped ends with its EOS
    first_logits: torch.Tensor  # [rows, vocab] logits of the first generated position
    margins: list[float]        # per row, the smallest gap between the top two scores over its steps
    prefill_ms: float           # until the first token was chosen
    decode_ms: float            # the rest


@torch.no_grad()
def greedy(model: MiniGPTv2, embeds: list[torch.Tensor], max_new: int, eos: int, ban_eos: bool = False) -> Greedy:
    """Rows of prompt embeddings ([positions, hidden] each) are left-padded and masked, run once, then extended
    one argmax at a time. A row stops at its EOS; with ban_eos EOS is never chosen (as Hugging Face's minimum
    length does), so every row gets exactly max_new ids."""
    began = time.perf_counter()
    rows, length = len(embeds), max(e.shape[0] for e in embeds)
    device = embeds[0].device
    x = embeds[0].new_zeros(rows, length, embeds[0].shape[-1])
    mask = torch.zeros(rows, length, dtype=torch.long, device=device)
    for r, e in enumerate(embeds):
        x[r, length - e.shape[0]:] = e
        mask[r, length - e.shape[0]:] = 1
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    logits, past = model.decode(x, mask, positions)
    first = logits[:, -1].clone()
    ids, margins, done = [[] for _ in range(rows)], [float("inf")] * rows, [False] * rows
    prefill_ms = None
    for step in range(max_new):
        scores = logits[:, -1]
        if ban_eos:
            scores = scores.clone()
            scores[:, eos] = -float("inf")
        top2 = torch.topk(scores, 2).values
        nxt = scores.argmax(-1)
        for r in range(rows):
            if not done[r]:
                ids[r].append(int(nxt[r]))
                margins[r] = min(margins[r], float(top2[r, 0] - top2[r, 1]))
                done[r] = ids[r][-1] == eos
        if prefill_ms is None:
            prefill_ms, began = (time.perf_counter() - began) * 1000.0, time.perf_counter()
        if all(done) or step == max_new - 1:
            break
        positions = positions[:, -1:] + 1
        mask = torch.cat([mask, mask.new_ones(rows, 1)], dim=1)
        logits, past = model.decode(model.embed(nxt[:, None]), mask, positions, past)
    return Greedy(ids, first, margins, prefill_ms or 0.0, (time.perf_counter() - began) * 1000.0)


def prompt_embeds(model: MiniGPTv2, seg0: list[int], image_embeds: torch.Tensor, seg1: list[int]) -> torch.Tensor:
    """[positions, hidden]: segment 0, the image's embeddings ([tokens, hidden]), segment 1."""
    device = image_embeds.device
    return torch.cat([model.embed(torch.tensor([seg0], device=device))[0], image_embeds,
                      model.embed(torch.tensor([seg1], device=device))[0]])


def answer(model: MiniGPTv2, tok, cfg: ModelConfig, pixels: torch.Tensor, prompts: list, max_new: int) -> list[str]:
    """The greedy answer to each prompt (history, task, text) about the image of its row of pixels."""
    image_embeds = model.encode_image(pixels)
    embeds = []
    for i, (history, task, text) in enumerate(prompts):
        seg0, seg1 = build_segments(tok, cfg.prompt, list(history), task, text, cfg.tokens)
        embeds.append(prompt_embeds(model, seg0, image_embeds[i], seg1))
    return [tok.decode(ids).strip() for ids in greedy(model, embeds, max_new, cfg.tokens.eos).ids]
