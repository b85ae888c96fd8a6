"""MiniGPT-v2 at 7B size on one GPU: the engine (WebGPU, the `--target webgpu` int4 export) against the official
path (PyTorch fp16 under autocast on the official files, generating as Hugging Face `generate` does), on the same
card in the same run. WORKDIR/files holds the official-format files (make_official_fixture --full) and
WORKDIR/model-int4-webgpu their export; models/tools/gpu_rehearsal.sh makes both and runs the three steps:

    python3 -m models.tools.gpu_compare official WORKDIR   # WORKDIR/official.json
    python3 -m models.tools.gpu_compare engine WORKDIR     # WORKDIR/engine.json
    python3 -m models.tools.gpu_compare report WORKDIR     # side by side with the ratios: WORKDIR/gpu.json

Both paths answer the same image turn and follow-up for exactly TOKENS tokens (EOS held back) after a warm-up
conversation, greedy. A typical complete answer is the image turn with 40 tokens and the follow-up with 20. GPU
memory is the card's used memory sampled every 0.2 s with nvidia-smi, less what was used before the path started."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from .minigptv2.config import PromptConfig, VisionConfig
from .minigptv2.preprocess import pixel_values
from .minigptv2.prompt import build_segments
from .minigptv2.tokenizer import Tokenizer
from .paths import ROOT, tool

IMAGE = ROOT / "assets" / "sample.png"
WARMUP_IMAGE = ROOT / "test" / "fixtures" / "images" / "photo-640x480.jpg"
TASK = "vqa"
QUESTIONS = ["what color is the star?", "and what shape is the blue object?"]
TOKENS = 40
IMAGE_SIZE = 448
TYPICAL = (40, 20)  # tokens of a typical image-turn answer and follow-up answer
AIMS = {"decode_speedup": 3.0, "complete_answer_ratio": 0.5, "gpu_memory_ratio": 0.4, "image_ttft_ratio": 1.0}


def gpu_used_mb() -> float:
    out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split()[0])


def gpu_name() -> str:
    return subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True,
                          check=True).stdout.strip()


class GpuMemory:
    """The card's peak used memory while a path runs, less what it used before."""

    def __init__(self):
        self.baseline = gpu_used_mb()
        self.peak = self.baseline
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.2):
            self.peak = max(self.peak, gpu_used_mb())

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return round(self.peak - self.baseline)


class Lines:
    """A child process spoken to in JSON lines."""

    def __init__(self, argv: list[str]):
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = self.read()

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.proc.args[:3]} stopped (exit {self.proc.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"{self.proc.args[:3]}: {answer['error']}")
        return answer

    def ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def official(work: Path) -> dict:
    files = work / "files"
    memory = GpuMemory()
    began = time.monotonic()
    path = Lines(tool("official_path", "--files", str(files), "--image-size", str(IMAGE_SIZE), "--device", "cuda",
                      "--dtype", "fp16"))
    load_s = time.monotonic() - began
    tok = Tokenizer(files / "llama" / "tokenizer.json")
    vision = VisionConfig(image_size=IMAGE_SIZE, patch_size=14, width=1408, layers=1, heads=16, mlp=1)
    with tempfile.TemporaryDirectory() as tmp:
        def request(image: Path, history: list) -> dict:
            raw = Path(tmp) / f"{image.stem}.f32"
            pixel_values(Image.open(image), vision).numpy().astype("<f4").tofile(raw)
            turns, done = [], []
            for question, answer in zip(QUESTIONS[:len(history) + 1], history + [None]):
                seg0, seg1 = build_segments(tok, PromptConfig(), done, TASK, question)
                turns.append({"seg0": seg0, "seg1": seg1})
                done.append((TASK, question, answer))
            return {"pixels": str(raw), "tokens": TOKENS, "turns": turns}

        path.ask(request(WARMUP_IMAGE, []))  # CUDA kernels and allocator warm
        first = path.ask(request(IMAGE, []))
        answer = tok.decode(first["turns"][0]["ids"])
        both = path.ask(request(IMAGE, [answer]))  # the demo re-prefills the whole conversation each turn
    path.close()
    turn1, turn2 = first["turns"][0], both["turns"][1]
    result = {"load_s": round(load_s, 1), "vision_ms": first["vision_ms"], "turns": [turn1, turn2],
              "gpu_memory_mb": memory.stop(), "torch_max_allocated_mb": round(first.get("gpu_max_allocated_mb", 0))}
    (work / "official.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def engine(work: Path) -> dict:
    model = work / "model-int4-webgpu"
    memory = GpuMemory()
    probe = Lines(["node", "--import", "tsx", "bench/engine-probe.ts", str(model), "16", "", "webgpu"])
    if probe.ready["device"] != "webgpu":
        raise SystemExit(f"the engine runs on {probe.ready['device']}, not webgpu (see its warning above)")
    turns = {"cmd": "turns", "task": TASK, "questions": QUESTIONS, "tokens": TOKENS}
    probe.ask({**turns, "conversation": "warm-up", "image": str(WARMUP_IMAGE)})  # shaders compiled, buffers made
    measured = probe.ask({**turns, "conversation": "measured", "image": str(IMAGE)})
    probe.close()
    result = {"load_s": round(probe.ready["loadMs"] / 1000, 1), "vision_ms": measured["visionMs"],
              "turns": [{"prefill_ms": t["prefillMs"], "ttft_ms": t["ttftMs"], "decode_ms": t["decodeMs"],
                         "decode_tokens": t["decodeTokens"], "prefill_tokens": t["prefillTokens"]} for t in measured["turns"]],
              "answers": measured["answers"], "gpu_memory_mb": memory.stop(), "peak_rss_mb": measured["peakRssMb"]}
    (work / "engine.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def figures(path: dict) -> dict:
    t1, t2 = path["turns"]
    per_token = [t["decode_ms"] / t["decode_tokens"] for t in (t1, t2)]
    return {
        "decode_tok_s": round(1000 / per_token[0], 1),
        "image_turn_ttft_ms": round(t1["ttft_ms"], 1),
        "follow_up_ttft_ms": round(t2["ttft_ms"], 1),
        "vision_ms": round(path["vision_ms"], 1),
        "complete_image_turn_ms": round(t1["ttft_ms"] + (TYPICAL[0] - 1) * per_token[0], 1),
        "complete_follow_up_ms": round(t2["ttft_ms"] + (TYPICAL[1] - 1) * per_token[1], 1),
        "gpu_memory_mb": path["gpu_memory_mb"],
    }


def report(work: Path) -> dict:
    ours, theirs = (figures(json.loads((work / f"{n}.json").read_text())) for n in ("engine", "official"))
    card = gpu_name()
    complete = lambda f: f["complete_image_turn_ms"] + f["complete_follow_up_ms"]  # noqa: E731
    ratios = {
        "decode_speedup": round(ours["decode_tok_s"] / theirs["decode_tok_s"], 2),
        "complete_answer_ratio": round(complete(ours) / complete(theirs), 2),
        "gpu_memory_ratio": round(ours["gpu_memory_mb"] / theirs["gpu_memory_mb"], 2),
        "image_ttft_ratio": round(ours["image_turn_ttft_ms"] / theirs["image_turn_ttft_ms"], 2),
    }
    met = {k: (ratios[k] >= AIMS[k] if k == "decode_speedup" else ratios[k] <= AIMS[k]) for k in AIMS}
    summary = {"card": card, "engine": ours, "official": theirs, "ratios": ratios, "aims": AIMS, "met": met}
    (work / "gpu.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    steps = {"official": official, "engine": engine, "report": report}
    if len(args) != 2 or args[0] not in steps:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(steps[args[0]](Path(args[1]).resolve())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
