"""The synthetic world keeps its published rules, and the task samples speak the box language exactly."""
from __future__ import annotations

import random
import re
import unittest

import numpy as np

from ..dataset import TASKS, conversation, sample
from ..world import COLOURS, GAP, JITTER, draw_scene, grid_box

SCENES = [draw_scene(seed) for seed in range(60)]


class WorldRules(unittest.TestCase):
    def test_sizes_counts_and_background(self):
        for scene in SCENES:
            w, h = scene.size
            self.assertTrue(256 <= w <= 640 and 256 <= h <= 640)
            self.assertTrue(1 <= len(scene.objects) <= 4)
            corner = scene.image.getpixel((0, 0))
            covered = any(o.box[0] == 0 and o.box[1] == 0 for o in scene.objects)
            if not covered:
                self.assertTrue(all(200 <= c <= 255 for c in corner))

    def test_boxes_are_tight_square_apart_and_left_to_right(self):
        for scene in SCENES:
            short = min(scene.size)
            arr = np.asarray(scene.image).astype(int)
            for o in scene.objects:
                x1, y1, x2, y2 = o.box
                self.assertEqual(x2 - x1, y2 - y1, o)
                self.assertTrue(0.12 * short - 1 <= x2 - x1 <= 0.35 * short, o)
                # the drawn colour sits inside the box and touches all four sides
                base = np.array(COLOURS[o.colour])
                inside = np.all(np.abs(arr[y1:y2, x1:x2] - base) <= JITTER, axis=-1)
                self.assertTrue(inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any())
            for a, b in zip(scene.objects, scene.objects[1:]):
                self.assertLessEqual(a.box[0], b.box[0])
            for i, a in enumerate(scene.objects):
                for b in scene.objects[i + 1:]:
                    apart = (a.box[2] + GAP <= b.box[0] or b.box[2] + GAP <= a.box[0]
                             or a.box[3] + GAP <= b.box[1] or b.box[3] + GAP <= a.box[1])
                    self.assertTrue(apart, (a, b))

    def test_same_seed_same_scene(self):
        self.assertEqual(draw_scene(5).objects, draw_scene(5).objects)
        self.assertEqual(draw_scene(5, size=(256, 640)).size, (256, 640))

    def test_grid_box_truncates(self):
        self.assertEqual(grid_box((0, 10, 639, 256), 640, 256), (0, 3, 99, 100))


class Samples(unittest.TestCase):
    def test_answer_formats(self):
        rng = random.Random(0)
        box = r"\{<\d{1,3}><\d{1,3}><\d{1,3}><\d{1,3}>\}"
        for scene in SCENES:
            names = [o.name for o in scene.objects]
            task, text, answer = sample(scene, "refer", rng)
            self.assertRegex(answer, f"^{box}$")
            _, _, answer = sample(scene, "identify", rng)
            self.assertIn(answer, names)
            _, text, answer = sample(scene, "detection", rng)
            self.assertRegex(answer, f"^<p>{re.escape(text)}</p> {box}(<delim>{box})*$")
            _, _, answer = sample(scene, "caption", rng)
            self.assertEqual(re.findall(r"a (\w+ \w+)", answer), names)
            _, _, answer = sample(scene, "grounding", rng)
            self.assertEqual(re.findall(r"<p>a (\w+ \w+)</p> " + box, answer), names)

    def test_counts_and_conversations(self):
        rng = random.Random(1)
        for scene in SCENES:
            turns = conversation(scene, rng, 3, {t: 1 for t in TASKS})
            self.assertEqual(len({q for _, q, _ in turns}), len(turns))
        scene = SCENES[0]
        for _ in range(50):
            _, q, a = sample(scene, "vqa", rng)
            if q == "how many objects are there?":
                self.assertEqual(a, str(len(scene.objects)))


if __name__ == "__main__":
    unittest.main()
