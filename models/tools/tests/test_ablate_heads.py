"""Silencing one head at a time: a head that writes nothing changes nothing, and the model is left as it was."""
from __future__ import annotations

import unittest

import torch

from ..ablate_heads import ablate
from ..minigptv2.config import LlmConfig, ModelConfig, VisionConfig
from ..minigptv2.model import MiniGPTv2
from ..minigptv2.tokenizer import Tokenizer
from ..paths import TOKENIZER

TOK = Tokenizer(TOKENIZER)


class Ablate(unittest.TestCase):
    def test_a_head_that_writes_nothing_scores_as_the_whole_model(self):
        torch.manual_seed(0)
        model = MiniGPTv2(ModelConfig(name="t", description="", vision=VisionConfig(
            image_size=112, patch_size=14, width=32, layers=1, heads=2, mlp=64, concat=4),
            llm=LlmConfig(hidden_size=32, layers=2, heads=2, head_dim=16, mlp=64, vocab_size=1000))).eval()
        with torch.no_grad():
            model.llama_model.model.layers[1].self_attn.o_proj.weight[:, 16:] = 0  # layer 1, head 1 is mute
            model.llama_model.lm_head.weight.mul_(50)  # sharp logits, so a silenced head can move the argmax
        x = torch.randn(1, 6, 32)
        before = model.decode(x, torch.ones(1, 6, dtype=torch.long), torch.arange(6)[None])[0]
        whole, table = ablate(model, TOK, 8)
        self.assertEqual(tuple(table.shape), (2, 2, 2))
        self.assertEqual(tuple(table[1, 1].tolist()), whole)
        self.assertTrue(bool(((table >= 0) & (table <= 1)).all()))
        after = model.decode(x, torch.ones(1, 6, dtype=torch.long), torch.arange(6)[None])[0]
        self.assertTrue(torch.equal(before, after))


if __name__ == "__main__":
    unittest.main()
