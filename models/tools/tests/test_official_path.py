"""The official path measures the same weights the engine runs: reading a model directory's ONNX graphs back
into the reference must give every parameter of the model that was exported, and a broken layout must fail.
    /usr/bin/python3 -m unittest models.tools.tests.test_official_path"""
import json
import subprocess
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnx
import torch

from ..make_mini import build_model, mini_config
from ..official_path import load_model
from ..paths import ROOT, tool

MINI = ROOT / "models" / "mini"


class LoadFromOnnxTest(unittest.TestCase):
    def test_every_parameter_equals_the_exported_model(self):
        exported = dict(build_model(mini_config()).named_parameters())
        loaded = dict(load_model(MINI).named_parameters())
        self.assertEqual(sorted(exported), sorted(loaded))
        for name, value in exported.items():
            self.assertTrue(torch.equal(value, loaded[name]), name)

    def test_a_graph_with_a_missing_weight_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            for f in MINI.iterdir():
                (Path(tmp) / f.name).write_bytes(f.read_bytes())
            graph = onnx.load(str(MINI / "decoder.onnx"))
            named = [i for i in graph.graph.initializer if i.name.endswith("norm.weight")]
            graph.graph.initializer.remove(named[0])
            onnx.save(graph, str(Path(tmp) / "decoder.onnx"))
            with self.assertRaises(ValueError):
                load_model(Path(tmp))

    def test_greedy_ids_match_the_golden_reference(self):
        golden = json.loads((ROOT / "test" / "fixtures" / "golden" / "mini.json").read_text())
        case = next(c for c in golden["prompts"] if len(c["history"]) == 0)
        image = next(i for i in golden["images"] if i["name"] == case["image"])
        pixels = np.fromfile(ROOT / "test" / "fixtures" / "golden" / image["pixel_values"]["file"], dtype="<f4")
        with tempfile.NamedTemporaryFile(suffix=".f32") as f:
            pixels.tofile(f.name)
            request = {"pixels": f.name, "tokens": 4, "turns": [{"seg0": case["seg0_ids"], "seg1": case["seg1_ids"]}]}
            out = subprocess.run(tool("official_path", "--model", str(MINI), "--threads", "1"), cwd=ROOT,
                                 input=json.dumps(request) + "\n", capture_output=True, text=True, timeout=120,
                                 check=True).stdout.splitlines()
        self.assertTrue(json.loads(out[0])["ready"])
        answer = json.loads(out[1])
        want = case["greedy_ids"][:4]
        self.assertNotIn(2, want)  # EOS: the official path suppresses it, the golden ids must not need it
        self.assertEqual(answer["turns"][0]["ids"][:len(want)], want)


if __name__ == "__main__":
    unittest.main()


class LoadOfficialFilesTest(unittest.TestCase):
    """--files: the official checkpoint files loaded as the official code does must compute what the independent
    forward (tests/official_forward.py: its own readers, LoRA unmerged, no KV cache) computes."""

    def test_first_logits_and_greedy_ids_equal_the_independent_forward(self):
        from ..minigptv2.config import PromptConfig
        from ..minigptv2.preprocess import pixel_values
        from ..minigptv2.prompt import build_segments
        from ..minigptv2.tokenizer import Tokenizer
        from ..minigptv2.generate import greedy
        from ..official_path import load_official
        from PIL import Image

        image, question, steps = ROOT / "test" / "fixtures" / "images" / "photo-640x480.jpg", "what colour is it?", 6
        with tempfile.TemporaryDirectory() as tmp:
            files = Path(tmp) / "files"
            subprocess.run(tool("make_official_fixture", "--out", str(files), "--ln-vision"), cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
            cases, out = Path(tmp) / "cases.json", Path(tmp) / "ref.json"
            cases.write_text(json.dumps([{"image": str(image), "task": "vqa", "question": question, "steps": steps}]))
            subprocess.run(tool("tests.official_forward", str(files), "112", str(out), str(cases)), cwd=ROOT,
                           check=True)
            ref = json.loads(out.read_text())[0]
            model = load_official(files, 112, "cpu", torch.float32)
            tok = Tokenizer(files / "llama" / "tokenizer.json")
        self.assertNotIn(2, ref["greedy_ids"])  # the official path holds EOS back; the reference does not
        with torch.no_grad():
            pixels = pixel_values(Image.open(image), model.cfg.vision)[None]
            seg0, seg1 = build_segments(tok, PromptConfig(), [], "vqa", question)
            embeds = torch.cat([model.embed(torch.tensor([seg0])), model.encode_image(pixels), model.embed(torch.tensor([seg1]))], 1)
            mask = torch.ones(1, embeds.shape[1], dtype=torch.long)
            logits, _ = model.decode(embeds, mask, mask.cumsum(-1) - 1)
            ids = greedy(model, [embeds[0]], steps, 2, ban_eos=True).ids[0]
        first, want = logits[0, -1].numpy(), np.array(ref["first_logits"])
        self.assertLess(np.abs(first - want).max() / np.abs(want).max(), 1e-4)
        self.assertEqual(ids, ref["greedy_ids"])

    def test_a_missing_lora_tensor_is_refused(self):
        from ..official_path import load_official
        with tempfile.TemporaryDirectory() as tmp:
            files = Path(tmp) / "files"
            subprocess.run(tool("make_official_fixture", "--out", str(files), "--drop",
                                "llama_model.base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"),
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            with self.assertRaisesRegex(ValueError, "lora_B"):
                load_official(files, 112, "cpu", torch.float32)
