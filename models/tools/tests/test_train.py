"""The trainer's batches are the same whoever draws them, a share of their scenes can be drawn near the size
extremes, its loss is that of whole rows, its pointer loss wants the name head on both words of a name, a stage 0
checkpoint is the same each time and starts either arm of the identifier ablation, and data-parallel processes
train one model."""
from __future__ import annotations

import contextlib
import io
import json
import math
import random
import subprocess
import tempfile
import unittest
from pathlib import Path

import torch

from ..minigptv2.model import MiniGPTv2
from ..pointers import attention_weights
from ..minigptv2.tokenizer import CachedTokenizer
from ..paths import ROOT, TOKENIZER, tool
from ..train import main
from ..training.batches import Batches, make_batch, training_size
from ..training.config import EXTREME_LONG, EXTREME_SHORT, STAGES, TRAIN_SEED, toy_config
from ..training.loss import (NAME_LAYER, NAME_WEIGHT, OBJECT_LAYER, OBJECT_WEIGHT, POINTER_HEAD, forward_loss,
                             pointer_loss)
from ..training.turns import IGNORE
from ..training.weights import init_weights


class DrawnBatches(unittest.TestCase):
    def test_worker_processes_draw_the_batches_the_training_process_would(self):
        args = (CachedTokenizer(TOKENIZER), toy_config(True), 3, 2, 1234, 0.5)
        here, pool = Batches(*args, workers=0), Batches(*args, workers=2)
        try:
            for step in range(5):
                stage_of = lambda s: s % 3  # noqa: E731 - every stage, and batches asked for ahead
                (p1, rows1), (p2, rows2) = here.get(step, stage_of), pool.get(step, stage_of)
                self.assertTrue(torch.equal(p1, p2))
                self.assertEqual(len(rows1), len(rows2))
                for a, b in zip(rows1, rows2):
                    self.assertEqual(a[:4], b[:4])
                    self.assertTrue(torch.equal(a[4], b[4]))
        finally:
            pool.close()


class ExtremeShare(unittest.TestCase):
    def test_every_scene_of_a_whole_share_is_near_an_extreme_either_way_round(self):
        rng = random.Random(5)
        sizes = [training_size(rng, 1.0) for _ in range(200)]
        for w, h in sizes:
            self.assertLessEqual(min(w, h), EXTREME_SHORT)
            self.assertGreaterEqual(max(w, h), EXTREME_LONG)
            self.assertTrue(256 <= w <= 640 and 256 <= h <= 640)
        wide = sum(w > h for w, h in sizes)
        self.assertTrue(60 < wide < 140, wide)

    def test_a_share_pins_about_that_many_scenes(self):
        rng = random.Random(6)
        pinned = sum(training_size(rng, 0.3) is not None for _ in range(1000))
        self.assertTrue(240 < pinned < 360, pinned)

    def test_no_share_leaves_the_batches_as_they_were(self):
        rng, untouched = random.Random(7), random.Random(7)
        self.assertIsNone(training_size(rng, 0.0))
        self.assertEqual(rng.random(), untouched.random())


class PointerLoss(unittest.TestCase):
    # one row, 12 positions: the image tokens are 2..5 (text starts at 6); the answer's first digit is written
    # from position 6 + 5 and the name's shape word is at 6 + 3, its colour word at 6 + 2. The weights come from
    # a call on the text alone, the prefix (segment 0 and the image) its past: one query per position from 6 on.
    TEXT, N_IMG, DIGIT, SHAPE = 6, 4, 5, 3

    def loss(self, colour_weight: float, shape_weight: float, object_weight: float, words=(SHAPE - 1, SHAPE)) -> float:
        name = torch.zeros(1, 6, 12)
        name[0, self.DIGIT, self.TEXT + self.SHAPE - 1] = colour_weight
        name[0, self.DIGIT, self.TEXT + self.SHAPE] = shape_weight
        seen = torch.zeros(1, 6, 12)
        seen[0, self.DIGIT, 3:5] = object_weight / 2  # image tokens 1 and 2 of the object
        covers = torch.tensor([[False, True, True, False]])
        rows = [(None, None, None, [(self.DIGIT, words, (0,))], covers)]
        return float(pointer_loss({NAME_LAYER: name, OBJECT_LAYER: seen}, [0], rows, self.TEXT, self.N_IMG))

    def test_is_minus_log_of_each_name_word_and_of_the_object(self):
        expected = -(NAME_WEIGHT / 2 * (math.log(0.3) + math.log(0.6)) + OBJECT_WEIGHT * math.log(0.8))
        self.assertAlmostEqual(self.loss(0.3, 0.6, 0.8), expected, places=4)

    def test_a_single_word_takes_the_whole_name_weight(self):
        expected = -(NAME_WEIGHT * math.log(0.6) + OBJECT_WEIGHT * math.log(0.8))
        self.assertAlmostEqual(self.loss(0.3, 0.6, 0.8, words=(self.SHAPE,)), expected, places=4)

    def test_a_head_on_the_shape_word_alone_costs_more_than_one_on_both_words(self):
        self.assertGreater(self.loss(0.0, 1.0, 1.0), self.loss(0.5, 0.5, 1.0) + 5)

    def test_a_count_wants_the_weight_on_all_the_objects_counted(self):
        name = torch.zeros(1, 6, 12)
        name[0, self.DIGIT, self.TEXT + self.SHAPE] = 1.0
        seen = torch.zeros(1, 6, 12)
        seen[0, self.DIGIT, 2:6] = torch.tensor([0.1, 0.2, 0.3, 0.4])
        covers = torch.tensor([[True, False, False, False], [False, False, True, False], [False, True, False, True]])

        def loss(objs):
            rows = [(None, None, None, [(self.DIGIT, (self.SHAPE,), objs)], covers)]
            return float(pointer_loss({NAME_LAYER: name, OBJECT_LAYER: seen}, [0], rows, self.TEXT, self.N_IMG))

        self.assertAlmostEqual(loss((0, 1)), -OBJECT_WEIGHT * math.log(0.4), places=4)
        self.assertAlmostEqual(loss((0, 1, 2)), -OBJECT_WEIGHT * math.log(1.0), places=4)

    def test_rows_without_a_box_add_nothing(self):
        rows = [(None, None, None, [], torch.zeros(0, 4, dtype=torch.bool))]
        self.assertEqual(pointer_loss({}, [0], rows, self.TEXT, self.N_IMG), 0.0)


class SharedPrefix(unittest.TestCase):
    """forward_loss runs each scene's prefix once and its prompts in chunks on that past: the loss and the
    gradients must be those of every row run whole, as one padded batch."""

    def whole(self, model, pixels, seqs, prompts):
        image = model.encode_image(pixels).repeat_interleave(prompts, dim=0)
        text = len(seqs[0][0]) + image.shape[1]
        length = text + max(len(s[1]) for s in seqs)
        tail = torch.zeros(len(seqs), length - text, dtype=torch.long)
        labels = torch.full((len(seqs), length), IGNORE, dtype=torch.long)
        for i, s in enumerate(seqs):
            tail[i, :len(s[1])] = torch.tensor(s[1])
            labels[i, text:text + len(s[2])] = torch.tensor(s[2])
        captured, layers = {}, model.llama_model.model.layers
        hooks = [layers[i].self_attn.register_forward_hook(
            lambda mod, inputs, out, i=i: captured.__setitem__(
                i, attention_weights(mod, inputs, keys_detached=True)[:, POINTER_HEAD, text:]))
            for i in (NAME_LAYER, OBJECT_LAYER)]
        x = torch.cat([model.embed(torch.tensor([s[0] for s in seqs])), image, model.embed(tail)], dim=1)
        logits, _ = model.decode(x, torch.ones(len(seqs), length, dtype=torch.long),
                                 torch.arange(length).repeat(len(seqs), 1))
        for hook in hooks:
            hook.remove()
        total = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                  labels[:, 1:].reshape(-1), ignore_index=IGNORE, reduction="sum")
        total = total + pointer_loss(captured, list(range(len(seqs))), seqs, text, image.shape[1])
        return total / sum(sum(1 for t in s[2] if t != IGNORE) for s in seqs)

    def test_loss_and_gradients_are_those_of_whole_rows(self):
        cfg = toy_config(True)
        model = MiniGPTv2(cfg)
        init_weights(model, 0)
        tok = CachedTokenizer(TOKENIZER)
        for stage in STAGES:
            pixels, seqs = make_batch(tok, cfg, stage, 3, 4, 3, TRAIN_SEED)
            self.assertTrue(any(s[3] for s in seqs))  # pointers are part of the check
            grads = []
            for loss_of in (forward_loss, self.whole):
                model.zero_grad(set_to_none=True)
                loss = loss_of(model, pixels, seqs, 3)
                loss.backward()
                grads.append((float(loss), torch.cat([p.grad.flatten() for p in model.llama_model.parameters()])))
            self.assertAlmostEqual(grads[0][0], grads[1][0], places=5)
            self.assertTrue(torch.allclose(grads[0][1], grads[1][1], atol=1e-5), stage.name)

class StageZeroCheckpoint(unittest.TestCase):
    def run_toy(self, out: Path, *flags: str) -> dict:
        with contextlib.redirect_stdout(io.StringIO()):  # the trainer's progress lines
            main(["--toy", "--threads", "1", "--eval-per-task", "0", "--out", str(out),
                  "--checkpoint", str(out) + ".pt", *flags])
        return torch.load(str(out) + ".pt")

    def test_is_the_same_each_time_and_starts_the_ablation_too(self):
        with tempfile.TemporaryDirectory() as tmp:
            a = self.run_toy(Path(tmp, "a"), "--steps", "0")
            b = self.run_toy(Path(tmp, "b"), "--steps", "0")
            self.assertEqual(a["step"], 0)
            for name, tensor in a["state"].items():
                self.assertTrue(torch.equal(tensor, b["state"][name]), name)
            ablation = self.run_toy(Path(tmp, "n"), "--steps", "1", "--no-identifiers", "--init", tmp + "/a.pt")
            self.assertEqual(ablation["config"]["name"], toy_config(False).name)
            self.assertTrue(torch.equal(ablation["state"]["visual_encoder.cls_token"],
                                        a["state"]["visual_encoder.cls_token"]))  # the ViT stays frozen

    def test_a_checkpoint_continues_whatever_generation_settings_it_was_saved_with(self):
        # generation settings only go to the export's model.json; checkpoints saved before one existed go on
        with tempfile.TemporaryDirectory() as tmp:
            saved = self.run_toy(Path(tmp, "a"), "--steps", "1")
            del saved["config"]["generation"]["history_turns"]
            torch.save(saved, tmp + "/old.pt")
            self.assertEqual(self.run_toy(Path(tmp, "b"), "--steps", "1", "--init", tmp + "/old.pt")["step"], 1)

    def test_a_trained_checkpoint_keeps_its_own_arm(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.run_toy(Path(tmp, "a"), "--steps", "1")
            with self.assertRaises(SystemExit):
                self.run_toy(Path(tmp, "n"), "--steps", "1", "--no-identifiers", "--init", tmp + "/a.pt")


class DataParallel(unittest.TestCase):
    def run_toy(self, out: Path, *flags: str) -> subprocess.CompletedProcess:
        return subprocess.run(tool("train", "--toy", "--threads", "1", "--eval-per-task", "0", "--out", str(out),
                                   "--checkpoint", str(out) + ".pt", *flags),
                              cwd=ROOT, capture_output=True, text=True, timeout=300)

    def test_two_processes_keep_one_model_and_export_it(self):
        # the run fails if the processes' weights differ at the end (their gradients were not averaged)
        with tempfile.TemporaryDirectory() as tmp:
            run = self.run_toy(Path(tmp, "p"), "--procs", "2", "--steps", "3")
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertIn("in 2 processes", run.stdout)
            self.assertEqual(json.loads(Path(tmp, "p", "training.json").read_text())["processes"], 2)
            self.assertTrue(Path(tmp, "p", "model.json").exists())
            self.assertEqual(torch.load(Path(tmp, "p.pt"))["step"], 3)

    def test_a_step_that_cannot_be_split_evenly_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = self.run_toy(Path(tmp, "p"), "--procs", "3", "--steps", "1")  # toy steps draw 2 scenes
            self.assertNotEqual(run.returncode, 0)
            self.assertIn("cannot be split evenly between 3 processes", run.stderr + run.stdout)


if __name__ == "__main__":
    unittest.main()
