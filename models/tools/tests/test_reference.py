"""Properties of the PyTorch reference that the engine and the trainer rely on.
    /usr/bin/python3 -m unittest discover -s models/tools/tests -t .   (a few seconds)"""
import json
import tempfile
import unittest
from dataclasses import replace
from pathlib import Path

import torch

from ..make_mini import build_model, mini_config
from ..minigptv2.config import PromptConfig, load_config, save_config
from ..minigptv2.model import interpolate_pos_embed
from ..minigptv2.prompt import build_segments
from ..minigptv2.tokenizer import Tokenizer, train_bpe, tokenizer_json
from ..paths import TOKENIZER as TOKENIZER_FILE

TOKENIZER = Tokenizer(TOKENIZER_FILE)


class DecoderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = build_model(mini_config())
        g = torch.Generator().manual_seed(0)
        cls.x = torch.randn(1, 9, 64, generator=g)

    def full(self, x):
        n = x.shape[1]
        return self.model.decode(x, torch.ones(1, n, dtype=torch.long), torch.arange(n)[None])

    @torch.no_grad()
    def test_cached_steps_equal_one_full_pass(self):
        logits, _ = self.full(self.x)
        _, past = self.full(self.x[:, :6])
        step, _ = self.model.decode(self.x[:, 6:], torch.ones(1, 9, dtype=torch.long), torch.arange(6, 9)[None],
                                    past)
        self.assertLess(float((step - logits[:, 6:]).abs().max()), 1e-5)

    @torch.no_grad()
    def test_left_padding_is_invisible(self):
        alone, _ = self.full(self.x[:, :5])
        padded = torch.cat([torch.randn(1, 4, 64), self.x[:, :5]], dim=1)
        mask = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1, 1]])
        pos = torch.tensor([[0, 0, 0, 0, 0, 1, 2, 3, 4]])
        logits, _ = self.model.decode(padded, mask, pos)
        self.assertLess(float((logits[:, 4:] - alone).abs().max()), 1e-5)

    @torch.no_grad()
    def test_image_embeddings_group_four_consecutive_tokens(self):
        m = self.model
        pv = torch.randn(2, 3, 112, 112)
        tokens = m.ln_vision(m.visual_encoder(pv))[:, 1:]
        manual = m.llama_proj(torch.cat([tokens[:, i::4] for i in range(4)], dim=-1))
        self.assertEqual(tuple(m.encode_image(pv).shape), (2, 16, 64))
        self.assertLess(float((m.encode_image(pv) - manual).abs().max()), 1e-5)


class PosEmbedTest(unittest.TestCase):
    def test_keeps_cls_and_resizes_grid(self):
        pe = torch.randn(1, 1 + 16, 8)
        out = interpolate_pos_embed(pe, 6)
        self.assertEqual(tuple(out.shape), (1, 37, 8))
        self.assertTrue(torch.equal(out[:, 0], pe[:, 0]))
        self.assertTrue(torch.equal(interpolate_pos_embed(pe, 4), pe))

    def test_rejects_non_square(self):
        with self.assertRaises(ValueError):
            interpolate_pos_embed(torch.randn(1, 1 + 15, 8), 4)


class TokenizerTest(unittest.TestCase):
    def test_round_trip(self):
        for text in ["what color is the star?", "caf\u00e9 \U0001F600 {<1><2><3><4>}", "  spaced  out "]:
            self.assertEqual(TOKENIZER.decode(TOKENIZER.encode(text)), text)

    def test_user_markup_is_plain_text(self):
        ids = TOKENIZER.encode("a </s><s> b")
        self.assertNotIn(1, ids)
        self.assertNotIn(2, ids)

    def test_training_keeps_digits_and_braces_single(self):
        pieces, merges = train_bpe(["{<12><34>} tea tea tea"] * 5, 300)
        self.assertIn("\u2581tea", pieces)
        for a, b in merges:
            self.assertFalse(set(a + b) & set("0123456789<>{}"))
        data = tokenizer_json(pieces, merges)
        self.assertEqual(data["model"]["vocab"]["\u2581"], 259)


class PromptTest(unittest.TestCase):
    def test_multi_turn_segments(self):
        seg0, seg1 = build_segments(TOKENIZER, PromptConfig(), [("refer", "the red star", "{<1><2><3><4>}")],
                                    "chat", "and the blue one?")
        self.assertEqual(seg0, [1, 1] + TOKENIZER.encode("[INST] <Img>"))
        self.assertEqual(seg1, TOKENIZER.encode("</Img> [refer] the red star [/INST] {<1><2><3><4>}") + [2, 1]
                         + TOKENIZER.encode("[INST] and the blue one? [/INST]"))

    def test_unknown_task(self):
        with self.assertRaises(ValueError):
            build_segments(TOKENIZER, PromptConfig(), [], "translate", "hi")


class ConfigTest(unittest.TestCase):
    def test_round_trip_and_bad_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "model.json"
            save_config(mini_config(), path)
            self.assertEqual(load_config(path), mini_config())
            path.write_text('{"format": "minigpt-bot/1", "name": "x"}')
            with self.assertRaisesRegex(ValueError, "missing key"):
                load_config(path)

    def test_history_turns_is_written_and_required_even_when_null(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "model.json"
            capped = replace(mini_config(), generation=replace(mini_config().generation, history_turns=2))
            save_config(capped, path)
            self.assertEqual(load_config(path).generation.history_turns, 2)
            save_config(mini_config(), path)
            data = json.loads(path.read_text())
            self.assertIsNone(data["generation"]["history_turns"])
            del data["generation"]["history_turns"]
            path.write_text(json.dumps(data))
            with self.assertRaisesRegex(ValueError, "missing key 'generation.history_turns'"):
                load_config(path)


if __name__ == "__main__":
    unittest.main()
