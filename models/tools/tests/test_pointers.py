"""Names point at the right object, objects cover the right image tokens, and the probe reads the model's own
attention."""
from __future__ import annotations

import math
import random
import sys
import unittest
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dataset import sample  # noqa: E402
from minigptv2.config import LlmConfig, ModelConfig, VisionConfig  # noqa: E402
from minigptv2.model import MiniGPTv2  # noqa: E402
from minigptv2.tokenizer import Tokenizer  # noqa: E402
from pointers import attention_weights, name_mentions, object_token_masks  # noqa: E402
from probe_heads import PROBE_SEED, probe  # noqa: E402
from vision_pretrain import patch_owners  # noqa: E402
from world import COLOURS, SHAPES, draw_scene  # noqa: E402

TOK = Tokenizer(Path(__file__).resolve().parent.parent / "tokenizer.json")


def tiny_model(image_size: int, patch_size: int) -> MiniGPTv2:
    """A random two-layer model with two heads of 16 in each layer."""
    torch.manual_seed(0)
    return MiniGPTv2(ModelConfig(name="t", description="", vision=VisionConfig(
        image_size=image_size, patch_size=patch_size, width=32, layers=1, heads=2, mlp=64, concat=4),
        llm=LlmConfig(hidden_size=32, layers=2, heads=2, head_dim=16, mlp=64, vocab_size=1000)))


class NameMentions(unittest.TestCase):
    def test_every_unique_name_in_questions_and_answers_points_at_its_object(self):
        rng = random.Random(0)
        checked = 0
        for seed in range(40):
            scene = draw_scene(seed)
            counts = Counter(o.name for o in scene.objects)
            for task in ("refer", "identify", "grounding", "caption", "vqa", "chat"):
                _, text, answer = sample(scene, task, rng)
                ids = TOK.encode(text) + TOK.encode(answer)
                found = [(TOK.decode(ids[at - 1:at + 1]).strip(" ?,."), obj) for at, obj in name_mentions(TOK, scene, ids)]
                for name, obj in found:
                    self.assertEqual(scene.objects[obj].name, name)
                said = f" {text} {answer}"
                expected = [o.name for o in scene.objects if counts[o.name] == 1 for _ in range(said.count(f" {o.name}"))]
                self.assertEqual(sorted(n for n, _ in found), sorted(expected), (text, answer))
                checked += len(found)
        self.assertGreater(checked, 100)

    def test_names_of_absent_or_repeated_objects_point_nowhere(self):
        scene = draw_scene(5)
        present = {o.name for o in scene.objects}
        absent = next(f"{c} {s}" for c in COLOURS for s in SHAPES if f"{c} {s}" not in present)
        self.assertEqual(name_mentions(TOK, scene, TOK.encode(f"is there a {absent}?")), [])
        twins = next(s for s in (draw_scene(seed, count=4) for seed in range(2000))
                     if len({o.name for o in s.objects}) < len(s.objects))
        name = next(n for n, k in Counter(o.name for o in twins.objects).items() if k > 1)
        self.assertEqual(name_mentions(TOK, twins, TOK.encode(f"the {name}")), [])


class ObjectTokens(unittest.TestCase):
    def test_every_object_covers_the_tokens_of_its_patches(self):
        for seed in range(40):
            scene = draw_scene(seed)
            masks = object_token_masks(scene, 8, 4)
            owners = patch_owners(scene, 8)
            self.assertEqual(tuple(masks.shape), (len(scene.objects), 16))
            for i in range(len(scene.objects)):
                self.assertTrue(bool(masks[i].any()))
                self.assertEqual(masks[i].nonzero()[:, 0].tolist(), sorted({p // 4 for p in (owners == i).nonzero()[0]}))


class AttentionWeights(unittest.TestCase):
    def test_equals_the_softmax_the_layer_computes(self):
        model = tiny_model(image_size=32, patch_size=8)
        attn = model.llama_model.model.layers[1].self_attn
        got, expected = [], []

        def hook(mod, inputs, out):
            got.append(attention_weights(mod, inputs)[:, 1])
            x, cos, sin, bias, _ = inputs
            b, t, _ = x.shape
            heads = [p.view(b, t, 2, 16).transpose(1, 2) for p in (mod.q_proj(x), mod.k_proj(x))]
            q, k = [h * cos + torch.cat([-h[..., 8:], h[..., :8]], -1) * sin for h in heads]
            expected.append(((q @ k.transpose(2, 3)) / math.sqrt(16) + bias).softmax(-1)[:, 1])

        attn.register_forward_hook(hook)
        mask = torch.tensor([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1]])
        model.decode(torch.randn(2, 5, 32), mask, (mask.cumsum(1) - 1).clamp(min=0))
        self.assertTrue(torch.allclose(got[0], expected[0], atol=1e-6))
        self.assertTrue(torch.allclose(got[0].sum(-1), torch.ones(2, 5)))
        self.assertEqual(float(got[0][1].triu(1).abs().max()), 0.0)  # causal
        self.assertEqual(float(got[0][0, 1:, 0].abs().max()), 0.0)  # a padded key gets no weight


class Probe(unittest.TestCase):
    def test_reports_every_head_for_every_refer_prompt_of_two_object_scenes(self):
        model = tiny_model(image_size=112, patch_size=14).eval()
        at_name, at_digit, right, prompts = probe(model, TOK, 5)
        distinct = sum(2 for seed in range(PROBE_SEED, PROBE_SEED + 5)
                       if len({o.name for o in draw_scene(seed, count=2).objects}) == 2)
        self.assertEqual(prompts, distinct)
        self.assertEqual(tuple(at_name.shape), (2, 2))
        self.assertEqual(tuple(at_digit.shape), (2, 2))
        self.assertTrue(bool((at_name.abs() <= 1).all() and (at_digit.abs() <= 1).all()))
        self.assertLessEqual(right, prompts)


if __name__ == "__main__":
    unittest.main()
