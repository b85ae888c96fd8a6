"""Prompt segments with the official rules: the text is split at <ImageHere>; segment 0 gets the tokenizer's BOS;
the template's own <s> / </s> become ids; every text chunk between them is encoded on its own as plain text, so
nothing the user writes can turn into a special id."""
from __future__ import annotations

import re

from .config import PromptConfig, TokensConfig
from .tokenizer import Tokenizer

IMAGE_MARKER = "<ImageHere>"
_TEMPLATE_SPECIALS = re.compile(r"(<s>|</s>)")
_FIELDS = re.compile(r"\{(question|answer)\}")
_INST_MARK = re.compile(r"\[\s*(/?\s*INST)\s*\]", re.IGNORECASE)


def neutralise_user_text(text: str) -> str:
    """Typed "[INST]" / "[/INST]" lose their brackets, so user text (or an answer fed back) cannot close the
    instruction early; the engine applies the same rule."""
    return _INST_MARK.sub(r"\1", text)


def question_text(prompt_cfg: PromptConfig, task: str, text: str) -> str:
    """The task's identifier, a space, the user's text (just the text when the identifier is empty)."""
    if task not in prompt_cfg.tasks:
        raise ValueError(f"unknown task {task!r}")
    tag = prompt_cfg.tasks[task]
    text = neutralise_user_text(text)
    return f"{tag} {text}" if tag else text


def _fill(template: str, values: dict, special_ids: dict) -> list:
    """Template -> list of str chunks and int ids; values are inserted once, never re-scanned."""
    parts: list = []
    for piece in _TEMPLATE_SPECIALS.split(template):
        if piece in special_ids:
            parts.append(special_ids[piece])
        elif piece:
            parts.append(_FIELDS.sub(lambda m: values[m.group(1)], piece))
    return parts


def _encode(tokenizer: Tokenizer, parts: list) -> list[int]:
    ids: list[int] = []
    text = ""
    for p in parts + [None]:
        if isinstance(p, str):
            text += p  # adjacent text (end of one turn, start of the next) is one chunk
            continue
        ids += tokenizer.encode(text)
        text = ""
        if p is not None:
            ids.append(p)
    return ids


def build_segments(tokenizer: Tokenizer, prompt_cfg: PromptConfig, history: list, task: str, question: str,
                   tokens: TokensConfig | None = None) -> tuple[list[int], list[int]]:
    """history: earlier (task, question, answer) triples, oldest first; returns (seg0_ids, seg1_ids)."""
    tokens = tokens or TokensConfig()
    special_ids = {"<s>": tokens.bos, "</s>": tokens.eos}
    turns = list(history) + [(task, question, None)]
    before, marker, after = prompt_cfg.first.partition(IMAGE_MARKER)
    if not marker:
        raise ValueError(f"prompt.first has no {IMAGE_MARKER}")
    first_q = question_text(prompt_cfg, turns[0][0], turns[0][1])
    seg0 = [tokens.bos] + _encode(tokenizer, _fill(before, {"question": first_q}, special_ids))
    parts = _fill(after, {"question": first_q}, special_ids)
    for (t, q, _), (_, _, prev_answer) in zip(turns[1:], turns[:-1]):
        parts += _fill(prompt_cfg.turn, {"question": question_text(prompt_cfg, t, q), "answer": neutralise_user_text(prev_answer)},
                       special_ids)
    return seg0, _encode(tokenizer, parts)
