"""Conversations as training rows: the prompt layout of every turn, with the answers as the only targets."""
from __future__ import annotations

from ..minigptv2.config import ModelConfig
from ..minigptv2.prompt import build_segments

IGNORE = -100  # the label of a position that is not a target


def encode_turns(tok, cfg: ModelConfig, turns) -> tuple[list[int], list[int], list[int]]:
    """(seg0, seg1 + answers, labels over seg1 + answers): every answer and its </s> is a target."""
    eos = cfg.tokens.eos
    seg0, ids, labels = None, [], []
    for i in range(len(turns)):
        seg0, s1 = build_segments(tok, cfg.prompt, turns[:i], turns[i][0], turns[i][1], cfg.tokens)
        # s1 repeats everything so far (earlier questions, answers, </s><s>) and adds the new question
        if s1[:len(ids)] != ids:
            raise SystemExit("internal error: multi-turn training layout differs from the prompt rules")
        new = list(s1[len(ids):])
        answer = list(tok.encode(turns[i][2])) + [eos]
        ids += new + answer
        labels += [IGNORE] * len(new) + answer
    return seg0, ids, labels


def check_turn_layout(tok, cfg: ModelConfig) -> None:
    """The incremental layout of encode_turns must equal build_segments of the whole history."""
    turns = [("vqa", "how many objects are there?", "3"), ("refer", "the red circle", "{<1><2><30><40>}"),
             ("caption", "briefly describe this image.", "a red circle.")]
    _, ids, _ = encode_turns(tok, cfg, turns)
    _, whole = build_segments(tok, cfg.prompt, turns, "vqa", "x", cfg.tokens)
    if ids != whole[:len(ids)]:
        raise SystemExit("internal error: multi-turn training layout differs from the prompt rules")
