"""Stage 0's dense labels describe every object of a scene, and freezing leaves the ViT out of later training."""
from __future__ import annotations

import unittest

import numpy as np
import torch

from ..minigptv2.config import LlmConfig, ModelConfig, VisionConfig
from ..minigptv2.model import MiniGPTv2
from ..minigptv2.preprocess import pixel_values
from ..vision_pretrain import COLOUR_IDS, SHAPE_IDS, DenseHead, dense_loss, dense_targets, freeze_vision
from ..world import draw_scene

GRID = 8


class DenseTargets(unittest.TestCase):
    def test_every_object_owns_patches_with_its_labels_box_and_one_centre(self):
        scenes = [draw_scene(seed) for seed in range(40)]
        scenes += [draw_scene(seed, size, 4) for seed in range(40, 50) for size in ((640, 256), (256, 640))]
        for scene in scenes:
            colour, shape, centre, box = dense_targets(scene, GRID)
            w, h = scene.size
            self.assertEqual(int(centre.sum()), len(scene.objects), scene.objects)
            for obj in scene.objects:
                expected = np.array([obj.box[0] / w, obj.box[1] / h, obj.box[2] / w, obj.box[3] / h], np.float32)
                owned = np.all(np.isclose(box, expected), axis=1)
                self.assertGreater(int(owned.sum()), 0, (scene.size, obj))  # thin objects too
                self.assertTrue(np.all(colour[owned] == COLOUR_IDS[obj.colour]))
                self.assertTrue(np.all(shape[owned] == SHAPE_IDS[obj.shape]))
                cx, cy = (expected[0] + expected[2]) / 2, (expected[1] + expected[3]) / 2
                self.assertEqual(centre[min(int(cy * GRID), GRID - 1) * GRID + min(int(cx * GRID), GRID - 1)], 1)
            self.assertTrue(np.all((colour == 0) == (shape == 0)))
            self.assertTrue(np.all(box[colour == 0] == 0))

    def test_a_patch_goes_to_the_object_covering_most_of_it(self):
        scene = draw_scene(3)
        colour, _, _, box = dense_targets(scene, GRID)
        w, h = scene.size
        for cell in np.flatnonzero(colour):
            gx, gy = cell % GRID, cell // GRID
            cover = []
            for o in scene.objects:
                ox = max(0.0, min((gx + 1) / GRID, o.box[2] / w) - max(gx / GRID, o.box[0] / w))
                oy = max(0.0, min((gy + 1) / GRID, o.box[3] / h) - max(gy / GRID, o.box[1] / h))
                cover.append(ox * oy)
            best = scene.objects[int(np.argmax(cover))]
            self.assertAlmostEqual(float(box[cell][0]), best.box[0] / w, places=6)


class Freezing(unittest.TestCase):
    def test_the_dense_loss_trains_the_vit_and_freezing_keeps_it_fixed(self):
        cfg = ModelConfig(name="t", description="", vision=VisionConfig(image_size=32, patch_size=8, width=32,
                          layers=1, heads=2, mlp=64, concat=4),
                          llm=LlmConfig(hidden_size=32, layers=1, heads=2, head_dim=16, mlp=64, vocab_size=1000))
        model = MiniGPTv2(cfg)
        head = DenseHead(32)
        scene = draw_scene(0)
        pixels = pixel_values(scene.image, cfg.vision)[None]
        targets = [torch.from_numpy(t[None]) for t in dense_targets(scene, cfg.vision.grid)]
        loss, _ = dense_loss(model, head, pixels, targets)
        loss.backward()
        self.assertGreater(float(model.visual_encoder.patch_embed.proj.weight.grad.abs().sum()), 0)
        trainable = freeze_vision(model)
        ids = {id(p) for p in trainable}
        self.assertFalse(any(id(p) in ids for p in model.visual_encoder.parameters()))
        self.assertFalse(any(id(p) in ids for p in model.ln_vision.parameters()))
        self.assertIn(id(model.llama_proj.weight), ids)


if __name__ == "__main__":
    unittest.main()
