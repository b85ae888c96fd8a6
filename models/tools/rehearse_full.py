"""The real MiniGPT-v2's path at full size, without its weights: random checkpoints in the official formats and
shapes, exported with models.tools.export, loaded by the engine, asked a question about an image and a follow-up.

    /usr/bin/python3 -m models.tools.rehearse_full WORKDIR [--quantize int4|int8|none] [--device cpu|webgpu]
        [--tokens 16] [--reuse-files]

WORKDIR/files       the three official inputs (make_official_fixture --full: 15.7 GB)
WORKDIR/model-V     the export (int4: 6.0 GB, int8: 9.4 GB, none: 15.6 GB, all with fp16 storage)
WORKDIR/summary.json
Prints a line as each phase starts and ends, then the summary as one JSON object: each phase's wall time, peak
resident and anonymous memory, the size of every file, and the engine's load time, vision, prefill, time to first
token, ms per decoded token, follow-up time to first token and the vision runs the follow-up made (0 expected).
--reuse-files skips writing the inputs when WORKDIR/files is complete from an earlier run."""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from .paths import ROOT, tool

PYTHON = "/usr/bin/python3"
IMAGE = ROOT / "assets" / "sample.png"
QUESTION = "[vqa] what color is the star?"
FOLLOW_UP = "[vqa] and what shape is the blue object?"
EXPORT_FLAGS = {"int4": ["--dtype", "fp16", "--quantize", "int4"], "int8": ["--dtype", "fp16", "--quantize", "int8"],
                "none": ["--dtype", "fp16"]}
# Disk each phase writes, measured on the first rehearsal (GB), plus room to spare.
FILES_GB = 15.7
EXPORT_GB = {"int4": 6.0, "int8": 9.4, "none": 15.6}
MARGIN_GB = 2.0
FILES_DONE = ".complete"


def log(line: str) -> None:
    print(f"[rehearse {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def mb(n: float) -> int:
    return round(n / 2 ** 20)


class Watched:
    """A child process with its peak memory sampled from /proc: VmHWM (resident, file pages included: memory-mapped
    weights show there but are page cache the kernel can drop) and the peak of RssAnon (memory that must stay)."""

    def __init__(self, argv: list[str], log_path: Path):
        self.argv, self.log_path = argv, log_path
        self.peak_anon = 0
        self.peak_rss = 0

    def _sample(self, pid: int, done: threading.Event) -> None:
        while not done.wait(0.25):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                return
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            self.peak_anon = max(self.peak_anon, int(fields.get("RssAnon", "0 kB").split()[0]) * 1024)
            self.peak_rss = max(self.peak_rss, int(fields.get("VmHWM", "0 kB").split()[0]) * 1024)

    def run(self) -> tuple[float, str]:
        began = time.monotonic()
        with open(self.log_path, "w") as err:
            child = subprocess.Popen(self.argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
            done = threading.Event()
            sampler = threading.Thread(target=self._sample, args=(child.pid, done), daemon=True)
            sampler.start()
            out, _ = child.communicate()
            done.set()
            sampler.join()
        seconds = time.monotonic() - began
        if child.returncode != 0:
            raise SystemExit(f"rehearse: {' '.join(self.argv[:3])} … failed (exit {child.returncode}); see {self.log_path}")
        return seconds, out

    def memory(self) -> dict:
        return {"peak_rss_mb": mb(self.peak_rss), "peak_anon_mb": mb(self.peak_anon)}


def sizes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def free_gb(path: Path) -> float:
    return shutil.disk_usage(path).free / 1e9


def make_files(work: Path, reuse: bool) -> dict:
    files = work / "files"
    if reuse and (files / FILES_DONE).is_file():
        log(f"phase 1/3: reusing the official-format inputs in {files}")
        return {"reused": True, "bytes": sizes(files)}
    shutil.rmtree(files, ignore_errors=True)
    log("phase 1/3: writing random checkpoints in the official formats and shapes (EVA ViT-g, MiniGPT-v2, LLaMA-2-7B)")
    child = Watched(tool("make_official_fixture", "--full", "--out", str(files), python=PYTHON), work / "files.log")
    seconds, _ = child.run()
    (files / FILES_DONE).write_text("")
    result = {"seconds": round(seconds, 1), **child.memory(), "bytes": sizes(files)}
    log(f"phase 1/3 done: {seconds:.0f} s, {sum(result['bytes'].values()) / 1e9:.1f} GB")
    return result


def export(work: Path, quantize: str, device: str) -> tuple[Path, dict]:
    target = ["--target", "webgpu"] if device == "webgpu" else []
    out = work / f"model-{quantize}{'-webgpu' if target else ''}"
    shutil.rmtree(out, ignore_errors=True)
    files = work / "files"
    argv = tool("export", "--minigptv2", str(files / "minigptv2_checkpoint.pth"), "--eva", str(files / "eva_vit_g.pth"),
                "--llama", str(files / "llama"), "--out", str(out), "--image-size", "448", *EXPORT_FLAGS[quantize],
                *target, python=PYTHON)
    log(f"phase 2/3: export {' '.join(EXPORT_FLAGS[quantize] + target)} into {out}")
    child = Watched(argv, work / f"{out.name}.export.log")
    seconds, stdout = child.run()
    files_written = sizes(out)
    result = {"flags": EXPORT_FLAGS[quantize] + target, "seconds": round(seconds, 1), **child.memory(),
              "bytes": files_written, "total_bytes": sum(files_written.values()), "log": stdout.strip().splitlines()}
    log(f"phase 2/3 done: {seconds:.0f} s, peak anonymous {result['peak_anon_mb']} MB, {result['total_bytes'] / 1e9:.2f} GB written")
    return out, result


def ask(work: Path, model: Path, device: str, tokens: int) -> dict:
    argv = ["node", str(ROOT / "bin" / "minigpt-bot.js"), "ask", "--json", "--model", str(model), "--image", str(IMAGE),
            "--device", device, "--greedy", "--max-tokens", str(tokens), "--follow-up", FOLLOW_UP, QUESTION]
    log(f"phase 3/3: the engine ({device}) loads {model.name}, answers '{QUESTION}' and the follow-up '{FOLLOW_UP}'")
    child = Watched(argv, work / f"{model.name}.ask.log")
    seconds, stdout = child.run()
    answer = json.loads(stdout.strip().splitlines()[-1])
    first, follow = answer["timings"], answer["followUps"][0]["timings"]
    result = {
        "device": answer["load"]["device"],
        "wall_seconds": round(seconds, 1),
        "load_ms": answer["load"]["ms"],
        "load_peak_rss_mb": answer["load"]["peakRssMb"],
        **child.memory(),
        "image_turn": {"vision_ms": first["vision"], "preprocess_ms": first["preprocess"], "prefill_ms": first["prefill"],
                       "prefill_tokens": first["prefillTokens"], "ttft_ms": first["firstToken"],
                       "ms_per_token": first["msPerToken"], "tokens": first["tokens"]},
        "follow_up": {"prefill_ms": follow["prefill"], "prefill_tokens": follow["prefillTokens"], "ttft_ms": follow["firstToken"],
                      "ms_per_token": follow["msPerToken"], "tokens": follow["tokens"],
                      "vision_runs": answer["counters"]["visionRuns"] - 1, "vision_cached": answer["followUps"][0]["visionCached"]},
        "answers": [answer["raw"], answer["followUps"][0]["raw"]],
        "warnings": Path(child.log_path).read_text().strip().splitlines(),
    }
    log(f"phase 3/3 done: load {result['load_ms'] / 1000:.1f} s, image turn TTFT {first['firstToken'] / 1000:.1f} s, "
        f"{first['msPerToken']} ms/token, follow-up TTFT {follow['firstToken'] / 1000:.1f} s, "
        f"vision runs in the follow-up: {result['follow_up']['vision_runs']}")
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m models.tools.rehearse_full", description=__doc__.splitlines()[0])
    p.add_argument("workdir")
    p.add_argument("--quantize", choices=sorted(EXPORT_FLAGS), default="int4")
    p.add_argument("--device", choices=["cpu", "webgpu"], default="cpu")
    p.add_argument("--tokens", type=int, default=16, help="greedy tokens per answer at most")
    p.add_argument("--reuse-files", action="store_true", help="keep WORKDIR/files from an earlier complete run")
    args = p.parse_args(argv)
    if args.device == "webgpu" and args.quantize != "int4":
        p.error("--device webgpu runs the int4 --target webgpu export: use --quantize int4")
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    reuse = args.reuse_files and (work / "files" / FILES_DONE).is_file()
    need = (0 if reuse else FILES_GB) + EXPORT_GB[args.quantize] + MARGIN_GB
    if free_gb(work) < need:
        print(f"rehearse: {work} has {free_gb(work):.1f} GB free; this rehearsal writes about {need:.0f} GB", file=sys.stderr)
        return 2
    began = time.monotonic()
    # the BLAS behind PyTorch's matrix products sets the export's LoRA merge time (Debian's default is the reference one)
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    summary = {"machine": {"cpus": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1),
                           "blas": "openblas" if "openblas" in blas else "reference" if os.path.exists(blas) else "unknown"},
               "quantize": args.quantize, "device": args.device}
    summary["files"] = make_files(work, args.reuse_files)
    model, summary["export"] = export(work, args.quantize, args.device)
    summary["engine"] = ask(work, model, args.device, args.tokens)
    summary["total_seconds"] = round(time.monotonic() - began, 1)
    summary["peak_child_rss_mb"] = mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
