"""LLaMA-layout BPE tokenizer: (a) train one and write it as a Hugging Face tokenizer.json, (b) encode/decode
with such a file exactly as Hugging Face's tokenizers would for plain text (no special-token matching)."""
from __future__ import annotations

import functools
import json
import re
from collections import Counter
from pathlib import Path

SPACE = "\u2581"  # SentencePiece's word marker
SPECIALS = ["<unk>", "<s>", "</s>"]
BYTE_PIECES = [f"<0x{b:02X}>" for b in range(256)]
# Characters that never take part in a merge: digits stay one piece each (as in LLaMA) and the box/tag
# punctuation stays separate, so boxes like {<34><7><100><56>} are always spelt the same way.
UNMERGEABLE = set("0123456789<>{}")
_BYTE_RE = re.compile(r"^<0x([0-9A-F]{2})>$")


def _normalize(text: str) -> str:
    return SPACE + text.replace(" ", SPACE)


def _words(normalized: str) -> list[str]:
    # SentencePiece split_by_whitespace: a piece may start with the marker but never contains it elsewhere.
    return re.findall(f"{SPACE}[^{SPACE}]*|[^{SPACE}]+", normalized)


def train_bpe(corpus: list[str], vocab_size: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Learn merges on the corpus until the vocabulary (specials, bytes, characters, merges) has vocab_size
    pieces or nothing is left to merge. Returns (pieces in id order, merges in rank order)."""
    counts: Counter[tuple[str, ...]] = Counter()
    for line in corpus:
        if line:
            for w in _words(_normalize(line)):
                counts[tuple(w)] += 1
    chars = sorted({c for w in counts for c in w} - {SPACE})
    pieces = SPECIALS + BYTE_PIECES + [SPACE] + chars
    known = set(pieces)
    merges: list[tuple[str, str]] = []
    words = dict(counts)
    while len(pieces) < vocab_size:
        pairs: Counter[tuple[str, str]] = Counter()
        for w, n in words.items():
            for a, b in zip(w, w[1:]):
                if not (UNMERGEABLE & set(a + b)) and a + b not in known:
                    pairs[(a, b)] += n
        if not pairs:
            break
        # most frequent pair; ties broken by the pair's text so the result is reproducible
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merged = best[0] + best[1]
        merges.append(best)
        pieces.append(merged)
        known.add(merged)
        new_words = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + n
        words = new_words
    return pieces, merges


def tokenizer_json(pieces: list[str], merges: list[tuple[str, str]]) -> dict:
    """The Hugging Face tokenizer.json of a LLaMA-2-style tokenizer with these pieces and merges."""
    added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": {p: i for i, p in enumerate(pieces)},
                  "merges": [f"{a} {b}" for a, b in merges]},
    }


def widen(pieces: list[str], merges: list[tuple[str, str]], vocab_size: int) -> tuple[list[str], list[tuple[str, str]]]:
    """More pieces for a trained vocabulary, up to vocab_size, each one merge of two known pieces ranked after
    every trained merge: a valid tokenizer of a real LLaMA's size (32,000 ids) for full-size rehearsals, whose
    extra pieces are rare joins of words and endings that plain text seldom reaches."""
    pieces, merges = list(pieces), list(merges)
    known = set(pieces)
    learned = [p for p in pieces[len(SPECIALS) + len(BYTE_PIECES):] if not UNMERGEABLE & set(p)]
    heads = [p for p in learned if p.startswith(SPACE)]
    tails = [p for p in learned if not p.startswith(SPACE)]
    for a in heads + tails:
        for b in tails:
            if len(pieces) >= vocab_size:
                return pieces, merges
            if a + b not in known:
                pieces.append(a + b)
                merges.append((a, b))
                known.add(a + b)
    raise ValueError(f"cannot widen a {len(known)}-piece vocabulary to {vocab_size} by joining its pieces")


def read_tokenizer(path: str | Path) -> tuple[list[str], list[tuple[str, str]]]:
    """(pieces in id order, merges in rank order) of a tokenizer.json written by tokenizer_json."""
    model = json.loads(Path(path).read_text(encoding="utf-8"))["model"]
    pieces = [p for p, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
    return pieces, [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]


def write_tokenizer(corpus: list[str], vocab_size: int, path: str | Path) -> None:
    pieces, merges = train_bpe(corpus, vocab_size)
    Path(path).write_text(json.dumps(tokenizer_json(pieces, merges), ensure_ascii=False, indent=1) + "\n",
                          encoding="utf-8")


class Tokenizer:
    """Plain-text encoding of a LLaMA-layout tokenizer.json (dummy prefix, BPE by merge rank over the whole
    chunk, UTF-8 byte fallback), and decoding with special ids skipped."""

    def __init__(self, path: str | Path):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        model = data["model"]
        self.vocab: dict[str, int] = model["vocab"]
        self.pieces = {i: p for p, i in self.vocab.items()}
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks = {m: r for r, m in enumerate(merges)}
        self.special_ids = {t["id"] for t in data["added_tokens"] if t["special"]}

    def encode(self, text: str) -> list[int]:
        """ids of `text` as ordinary text: markers like <s> or [/INST] written in it are not special."""
        if not text:
            return []
        symbols: list[str] = []
        for ch in _normalize(text):
            if ch in self.vocab:
                symbols.append(ch)
            else:
                symbols.extend(f"<0x{b:02X}>" for b in ch.encode("utf-8"))
        while len(symbols) > 1:
            best, best_rank = -1, None
            for i in range(len(symbols) - 1):
                r = self.ranks.get((symbols[i], symbols[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best < 0:
                break
            symbols[best:best + 2] = [symbols[best] + symbols[best + 1]]
        return [self.vocab[s] for s in symbols]

    def decode(self, ids: list[int]) -> str:
        out: list[str] = []
        pending = bytearray()
        count = 0

        def flush():
            nonlocal count
            if pending:
                try:
                    out.append(pending.decode("utf-8"))
                except UnicodeDecodeError:
                    out.append("\ufffd" * count)
                pending.clear()
                count = 0

        for i in ids:
            if i in self.special_ids:
                continue
            piece = self.pieces[i]
            m = _BYTE_RE.match(piece)
            if m:
                pending.append(int(m.group(1), 16))
                count += 1
            else:
                flush()
                out.append(piece.replace(SPACE, " "))
        flush()
        text = "".join(out)
        return text[1:] if text.startswith(" ") else text


class CachedTokenizer(Tokenizer):
    """Prompts repeat a small set of chunks and the BPE here is pure Python, so its answers are remembered."""

    @functools.lru_cache(maxsize=200_000)
    def encode(self, text: str) -> list[int]:  # type: ignore[override]
        return tuple(super().encode(text))  # type: ignore[return-value]
