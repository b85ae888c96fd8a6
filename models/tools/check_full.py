"""Correctness of the full-size export, on the rehearsal's random checkpoints (run rehearse_full first):

    /usr/bin/python3 -m models.tools.check_full WORKDIR [--steps 16] [--reuse]

1. exports WORKDIR/files with --dtype fp16 (lossless: the official files are fp16) into WORKDIR/model-none;
2. runs the engine on it (bench/first-steps.ts): image embeddings, first-step logits, greedy ids;
3. runs tests/official_forward.py, an independent PyTorch forward of the official architecture on the
   same files (its own readers, LoRA unmerged, no KV cache, layer by layer), for the same prompt;
4. compares them (largest difference relative to the reference's largest value; the aim is 1e-3), and compares
   the int4 export's greedy ids (WORKDIR/model-int4) with the fp16 export's over --steps steps.
Prints one JSON object and writes it to WORKDIR/check.json. Random weights make the int4 agreement a check of
the plumbing, not of accuracy. --reuse keeps the fp16 export and the engine's answers of an earlier run.
The reference runs on PyTorch's BLAS: with Debian's default reference BLAS it takes most of an hour on 2 cores,
with OpenBLAS (apt-get install libopenblas0-pthread) about two minutes."""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .paths import ROOT, tool
from .rehearse_full import IMAGE, PYTHON, Watched, log

TASK, QUESTION = "vqa", "what color is the star?"
AIM = 1e-3


def relative_error(ours, reference) -> float:
    ours, reference = np.asarray(ours, np.float64), np.asarray(reference, np.float64)
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def engine(work: Path, model: Path, steps: int, reuse: bool) -> dict:
    out = work / f"{model.name}.first-steps.json"
    if reuse and out.is_file() and (work / f"{model.name}.first-steps.memory.json").is_file():
        log(f"engine: reusing {out.name}")
        return {**json.loads(out.read_text()), **json.loads((work / f"{model.name}.first-steps.memory.json").read_text())}
    log(f"engine: {model.name}, first-step logits and {steps} greedy ids")
    # node itself (not npx), so the memory sampled is the engine's
    child = Watched(["node", "--import", "tsx", "bench/first-steps.ts", "--model", str(model), "--image", str(IMAGE), "--task", TASK,
                     "--question", QUESTION, "--steps", str(steps), "--out", str(out)], work / f"{model.name}.first-steps.log")
    seconds, _ = child.run()
    measured = {"wall_seconds": round(seconds, 1), **child.memory()}
    (work / f"{model.name}.first-steps.memory.json").write_text(json.dumps(measured))
    return {**json.loads(out.read_text()), **measured}


def reference(work: Path) -> dict:
    cases, out = work / "check-cases.json", work / "check-reference.json"
    cases.write_text(json.dumps([{"image": str(IMAGE), "task": TASK, "question": QUESTION, "steps": 1}]))
    log("reference: the official architecture in PyTorch on the checkpoint files, layer by layer")
    child = Watched(tool("tests.official_forward", str(work / "files"), "448", str(out), str(cases), python=PYTHON),
                    work / "check-reference.log")
    seconds, _ = child.run()
    result = json.loads(out.read_text())[0]
    result.update(wall_seconds=round(seconds, 1), **child.memory())
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m models.tools.check_full", description=__doc__.splitlines()[0])
    p.add_argument("workdir")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--reuse", action="store_true", help="keep WORKDIR/model-none and the engine's answers from an earlier run")
    args = p.parse_args(argv)
    work = Path(args.workdir).resolve()
    files, fp16, int4 = work / "files", work / "model-none", work / "model-int4"
    if not (files / ".complete").is_file() or not (int4 / "model.json").is_file():
        print(f"check: run python3 -m models.tools.rehearse_full {work} first (it writes files/ and model-int4/)",
              file=sys.stderr)
        return 2
    began = time.monotonic()
    if not (args.reuse and (fp16 / "model.json").is_file()):
        shutil.rmtree(fp16, ignore_errors=True)
        log("export --dtype fp16 (no quantization) into model-none")
        subprocess.run(tool("export", "--minigptv2", str(files / "minigptv2_checkpoint.pth"), "--eva",
                            str(files / "eva_vit_g.pth"), "--llama", str(files / "llama"), "--out", str(fp16),
                            "--image-size", "448", "--dtype", "fp16", python=PYTHON),
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    ours = engine(work, fp16, args.steps, args.reuse)
    quantized = engine(work, int4, args.steps, args.reuse)
    ref = reference(work)
    same = [a == b for a, b in zip(ours["greedy_ids"], quantized["greedy_ids"])]
    logits_error = relative_error(ours["first_logits"], ref["first_logits"])
    summary = {
        "prompt": f"[{TASK}] {QUESTION}",
        "fp16_vs_reference": {
            "image_embeds_error": relative_error(ours["image_embeds"], ref["image_embeds"]),
            "first_logits_error": logits_error,
            "aim": AIM,
            "met": logits_error < AIM,
            "same_first_token": int(np.argmax(ours["first_logits"])) == int(np.argmax(ref["first_logits"])),
        },
        "int4_vs_fp16": {
            "steps": len(same),
            "same_ids": sum(same),
            "same_prefix": next((i for i, s in enumerate(same) if not s), len(same)),
            "first_logits_error": relative_error(quantized["first_logits"], ours["first_logits"]),
            "fp16_ids": ours["greedy_ids"],
            "int4_ids": quantized["greedy_ids"],
        },
        "runs": {name: {k: r[k] for k in ("wall_seconds", "peak_rss_mb", "peak_anon_mb")}
                 for name, r in (("engine_fp16", ours), ("engine_int4", quantized), ("reference", ref))},
        "engine_seconds": {"fp16": ours["seconds"], "int4": quantized["seconds"]},
        "total_seconds": round(time.monotonic() - began, 1),
    }
    (work / "check.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0 if summary["fp16_vs_reference"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
