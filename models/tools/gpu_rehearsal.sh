#!/usr/bin/env bash
# The 7B path on a GPU machine, from nothing: random official-format files, their --target webgpu export, then the
# engine on WebGPU against the official PyTorch path on the same card (models/tools/gpu_compare.py says how).
#   models/tools/gpu_rehearsal.sh WORKDIR
# Needs python3 with torch (CUDA), onnx, numpy and PIL; node with the project's node_modules; nvidia-smi; a Vulkan
# loader for WebGPU. Writes about 22 GB under WORKDIR; prints the side-by-side summary as JSON at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(realpath -m "${1:?usage: models/tools/gpu_rehearsal.sh WORKDIR}")
mkdir -p "$work"
say() { echo "[gpu-rehearsal $(date +%H:%M:%S)] $*" >&2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2
if [ ! -f "$work/files/.complete" ]; then
  say "writing the official-format files (EVA ViT-g, MiniGPT-v2, LLaMA-2-7B; random weights)"
  python3 -m models.tools.make_official_fixture --full --out "$work/files" >/dev/null
  touch "$work/files/.complete"
fi
# The official path needs only the files: it loads and runs on the GPU while the export uses the CPU.
say "official path (PyTorch fp16) in the background"
python3 -m models.tools.gpu_compare official "$work" >"$work/official.out" 2>"$work/official.err" &
official=$!
if [ ! -f "$work/model-int4-webgpu/model.json" ]; then
  say "export --target webgpu --dtype fp16"
  rm -rf "$work/model-int4-webgpu"
  python3 -m models.tools.export --minigptv2 "$work/files/minigptv2_checkpoint.pth" --eva "$work/files/eva_vit_g.pth" \
    --llama "$work/files/llama" --out "$work/model-int4-webgpu" --image-size 448 --target webgpu --dtype fp16 >/dev/null
fi
if ! wait "$official"; then cat "$work/official.err" >&2; exit 1; fi
say "official path done; the engine on WebGPU"
python3 -m models.tools.gpu_compare engine "$work" >/dev/null
python3 -m models.tools.gpu_compare report "$work"
