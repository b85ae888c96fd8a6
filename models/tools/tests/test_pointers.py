"""Names point at the right object, boxes written after a name or in a detection answer point at theirs, counts
at every object counted, objects cover the right image tokens, and the probe reads the model's own attention."""
from __future__ import annotations

import math
import random
import unittest
from collections import Counter

import torch

from ..dataset import conversation, sample
from ..minigptv2.config import LlmConfig, ModelConfig, VisionConfig
from ..minigptv2.model import MiniGPTv2
from ..minigptv2.tokenizer import Tokenizer
from ..paths import TOKENIZER
from ..pointers import answer_pointers, attention_weights, name_mentions, object_token_masks
from ..probe_heads import PROBE_SEED, pointer_pairs, probe
from ..training.config import default_config
from ..training.turns import IGNORE, encode_turns
from ..vision_pretrain import patch_owners
from ..world import COLOURS, SHAPES, draw_scene

TOK = Tokenizer(TOKENIZER)


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


class AnswerPointers(unittest.TestCase):
    CFG = default_config(True)

    def pointers(self, scene, turns):
        _, ids, labels = encode_turns(TOK, self.CFG, turns)
        return ids, labels, answer_pointers(TOK, scene, ids, labels, IGNORE)

    def test_refer_box_points_from_its_first_digit_at_the_name_asked_for(self):
        rng = random.Random(1)
        for seed in range(30):
            scene = draw_scene(seed)
            turn = sample(scene, "refer", rng)
            if turn[0] != "refer":
                continue
            ids, labels, found = self.pointers(scene, [turn])
            self.assertEqual(len(found), 1)
            digit, words, (obj,) = found[0]
            self.assertEqual(f"the {scene.objects[obj].name}", turn[1])
            self.assertEqual([TOK.decode([ids[w]]).strip() for w in words], turn[1].split()[1:])
            self.assertEqual(TOK.decode(ids[digit - 1:digit + 1]).strip(), "{<")  # the next token is the first digit
            self.assertEqual(TOK.decode([labels[digit + 1]]), turn[2][2])

    def test_grounding_boxes_point_at_unique_names_only(self):
        rng = random.Random(2)
        for seed in range(40):
            scene = draw_scene(seed, count=4)
            counts = Counter(o.name for o in scene.objects)
            _, _, found = self.pointers(scene, [sample(scene, "grounding", rng)])
            self.assertEqual([objs for _, _, objs in found],
                             [(i,) for i, o in enumerate(scene.objects) if counts[o.name] == 1])

    def test_a_name_from_an_earlier_turn_or_the_question_of_identify_points_nowhere(self):
        scene = next(s for s in (draw_scene(seed, count=2) for seed in range(100))
                     if s.objects[0].shape != s.objects[1].shape)
        first = scene.objects[0]
        turns = [("refer", f"the {first.name}", "{<1><2><3><4>}"),
                 ("detection", f"{first.shape}s", f"<p>{first.shape}s</p> {{<1><2><3><4>}}"),
                 ("identify", "what is this {<1><2><3><4>}", first.name)]
        ids, _, found = self.pointers(scene, turns)
        self.assertEqual([objs for _, _, objs in found], [(0,), (0,)])  # refer's box and detection's, not identify
        self.assertEqual([TOK.decode([ids[w]]).strip() for _, (w,), _ in found[1:]], [f"{first.shape}s"])
        self.assertLess(found[0][0], ids.index(self.CFG.tokens.eos))

    def test_conversations_point_only_at_names_in_the_same_turn(self):
        rng = random.Random(3)
        weights = {"refer": 1, "grounding": 1, "detection": 1, "identify": 1, "vqa": 1}
        checked = 0
        for seed in range(40):
            scene = draw_scene(seed)
            ids, labels, found = self.pointers(scene, conversation(scene, rng, 3, weights))
            for at, words, objs in found:
                self.assertNotIn(self.CFG.tokens.eos, ids[words[-1]:at])  # no answer ends in between
                for w, obj in ((w, obj) for w in words for obj in objs):
                    said = TOK.decode([ids[w]]).strip(" ?,.")
                    self.assertTrue(said == "objects" or any(said.startswith(part) for part in
                                                             scene.objects[obj].name.split()), (said, objs))
                checked += 1
        self.assertGreater(checked, 20)


    def test_vqa_points_from_the_question_at_the_words_that_pick_an_object(self):
        rng = random.Random(5)
        kinds = Counter()
        for seed in range(160):
            scene = draw_scene(seed)
            _, question, answer = turn = sample(scene, "vqa", rng)
            ids, labels, found = self.pointers(scene, [turn])
            kind = " ".join(question.split()[:2])
            kinds[kind, answer if kind == "is there" else ""] += 1
            named = sum(o.name in question for o in scene.objects)
            if answer in ("no", "0") or (kind == "is there" and named > 1):
                self.assertEqual(found, [])  # absent and repeated objects pick no single object
                continue
            self.assertEqual(len(found), 1, question)
            at, words, objs = found[0]
            if kind == "how many":
                counted = question.split()[2]
                self.assertEqual(len(objs), int(answer))
                self.assertEqual([TOK.decode([ids[w]]).strip() for w in words], [counted])
                self.assertTrue(all(counted in ("objects", scene.objects[o].shape + "s") for o in objs))
                continue
            (obj,) = objs
            self.assertEqual(labels[at], IGNORE)  # the question's last position writes the answer
            self.assertEqual(TOK.decode([labels[at + 1]]).strip(), answer)
            said = [TOK.decode([ids[w]]).strip(" ?") for w in words]
            if kind == "is there":
                self.assertEqual(" ".join(said), scene.objects[obj].name)
            else:
                asked = question.split()[4].rstrip("?")
                self.assertEqual(said, [asked])
                self.assertEqual({asked, answer}, {scene.objects[obj].colour, scene.objects[obj].shape})
        self.assertEqual({k for k, _ in kinds}, {"what color", "what shape", "how many", "is there"})
        self.assertGreater(min(kinds.values()), 8)

    def test_a_question_about_a_shape_colour_or_name_two_objects_share_picks_nothing(self):
        scenes = (draw_scene(seed, count=4) for seed in range(5000))
        twins = next(s for s in scenes
                     if len({o.name for o in s.objects}) < 4 and len({o.colour for o in s.objects}) < 4)
        shape = next(o.shape for o in twins.objects if sum(p.shape == o.shape for p in twins.objects) > 1)
        colour = next(o.colour for o in twins.objects if sum(p.colour == o.colour for p in twins.objects) > 1)
        name = next(o.name for o in twins.objects if sum(p.name == o.name for p in twins.objects) > 1)
        for question, answer in ((f"what color is the {shape}?", "red"),
                                 (f"what shape is the {colour} object?", "star"), (f"is there a {name}?", "yes")):
            self.assertEqual(self.pointers(twins, [("vqa", question, answer)])[2], [], question)

    def test_each_detection_box_points_at_the_next_object_of_the_colour_or_shape_asked_for(self):
        rng = random.Random(7)
        boxes = 0
        for seed in range(60):
            scene = draw_scene(seed, count=4)
            _, phrase, answer = turn = sample(scene, "detection", rng)
            ids, labels, found = self.pointers(scene, [turn])
            hits = [(i,) for i, o in enumerate(scene.objects) if phrase in (f"{o.colour} objects", f"{o.shape}s")]
            self.assertEqual([objs for _, _, objs in found], hits)
            for (digit, (word,), _), box in zip(found, answer.split("</p> ")[1].split("<delim>")):
                self.assertEqual(TOK.decode([ids[word]]).strip(), phrase.split()[0])
                self.assertEqual(TOK.decode([labels[digit + 1]]), box[2])  # from the box's first digit
            boxes += len(found)
        self.assertGreater(boxes, 90)

    def test_caption_and_chat_pick_nothing(self):
        rng = random.Random(6)
        for seed in range(30):
            scene = draw_scene(seed)
            for task in ("caption", "chat"):
                self.assertEqual(self.pointers(scene, [sample(scene, task, rng)])[2], [], task)


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

    def test_a_call_with_a_past_gets_the_rows_of_the_whole_sequence(self):
        model = tiny_model(image_size=32, patch_size=8)
        attn = model.llama_model.model.layers[1].self_attn
        calls = []
        attn.register_forward_hook(lambda mod, inputs, out: calls.append(inputs))
        x, mask = torch.randn(2, 7, 32), torch.ones(2, 7, dtype=torch.long)
        _, past = model.decode(x[:, :3], mask[:, :3], torch.arange(3).repeat(2, 1))
        model.decode(x[:, 3:], mask, torch.arange(3, 7).repeat(2, 1), past)
        model.decode(x, mask, torch.arange(7).repeat(2, 1))
        prefix, tail, whole = calls
        with self.assertRaises(ValueError):
            attention_weights(attn, tail)
        got = attention_weights(attn, tail, before=prefix[:3])
        self.assertEqual(tuple(got.shape), (2, 2, 4, 7))
        self.assertTrue(torch.allclose(got, attention_weights(attn, whole)[:, :, 3:], atol=1e-6))


class KeysDetached(unittest.TestCase):
    def test_same_weights_but_no_gradient_reaches_the_states_the_keys_read(self):
        model = tiny_model(image_size=32, patch_size=8)
        attn = model.llama_model.model.layers[0].self_attn
        x = torch.randn(1, 6, 32, requires_grad=True)
        weights = {}

        def hook(mod, inputs, out):
            weights[False] = attention_weights(mod, inputs)
            weights[True] = attention_weights(mod, inputs, keys_detached=True)

        attn.register_forward_hook(hook)
        mask = torch.ones(1, 6, dtype=torch.long)
        model.decode(x, mask, torch.arange(6)[None])
        self.assertTrue(torch.equal(weights[False], weights[True]))
        grads = {k: torch.autograd.grad(w[0, 0, 5, 2], x, retain_graph=True)[0] for k, w in weights.items()}
        # position 5's query is read from position 5; every other position reaches that weight only as a key
        self.assertGreater(float(grads[False][0, :5].abs().sum()), 0.0)
        self.assertEqual(float(grads[True][0, :5].abs().sum()), 0.0)
        self.assertGreater(float(grads[True][0, 5].abs().sum()), 0.0)


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

    def test_splits_the_same_prompts_by_kind_of_pair(self):
        torch.manual_seed(0)
        model = MiniGPTv2(ModelConfig(name="t", description="", vision=VisionConfig(
            image_size=112, patch_size=14, width=32, layers=1, heads=2, mlp=64, concat=4),
            llm=LlmConfig(hidden_size=32, layers=2, heads=4, head_dim=8, mlp=64, vocab_size=1000))).eval()
        kinds = pointer_pairs(model, TOK, 12)
        scenes = [draw_scene(seed, count=2).objects for seed in range(PROBE_SEED, PROBE_SEED + 12)]
        same_shape = sum(2 for a, b in scenes if a.shape == b.shape and a.colour != b.colour)
        self.assertEqual(sum(k["prompts"] for k in kinds.values()), probe(model, TOK, 12)[3])
        self.assertEqual(kinds.get("same shape", {"prompts": 0})["prompts"], same_shape)
        for stats in kinds.values():
            self.assertTrue(all(0 <= v <= 1 for k, v in stats.items() if k != "prompts"))


if __name__ == "__main__":
    unittest.main()
