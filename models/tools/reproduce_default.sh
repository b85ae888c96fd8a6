#!/bin/sh
# Trains the default model and its identifier ablation the way models/default/ was made (models/README.md,
# "Training"): stage 0 on the CPU, a run and a continuation on one GPU, a continuation on the CPU, both arms side
# by side. Needs a CUDA GPU and 16 cores (7 scene-drawing workers per arm); about 75 minutes.
#
#   sh models/tools/reproduce_default.sh [WORK_DIR]      (default models/tools/work/reproduce)
#
# WORK_DIR (relative to models/tools) gets default/ and ablation/ (model directories), their .pt checkpoints for
# models.tools.evaluate, and a log per run. PYTHON, DEVICE, VISION_STEPS, GPU_MINUTES, GPU_MORE_MINUTES and
# CPU_MINUTES override the recipe's values.
set -eu
cd "$(dirname "$0")"
work=${1:-work/reproduce}
py=${PYTHON:-python3}
device=${DEVICE:-cuda}
mkdir -p "$work"
work=$(cd "$work" && pwd)
cd ../..  # the tools run as modules of the repository root

run() {  # NAME INIT [models.tools.train flags]: one run, logged to WORK_DIR/NAME.log
  name=$1 init=$2
  shift 2
  "$py" -m models.tools.train --init "$work/$init.pt" --threads 1 --eval-per-task 0 --out "$work/$name" \
    --checkpoint "$work/$name.pt" "$@" >"$work/$name.log" 2>&1
}

both() {  # NAME INIT_WITH INIT_WITHOUT [flags]: the two arms at once
  name=$1 with=$2 without=$3
  shift 3
  run "$name" "$with" "$@" &
  first=$!
  run "$name-ablation" "$without" --no-identifiers "$@" &
  wait "$first"
  wait $!
}

echo "stage 0 on the CPU"
"$py" -m models.tools.train --steps 0 ${VISION_STEPS:+--vision-steps "$VISION_STEPS"} --threads 1 --eval-per-task 0 \
  --out "$work/stage0" --checkpoint "$work/stage0.pt" >"$work/stage0.log" 2>&1
echo "stages 1-3 on $device"
both gpu stage0 stage0 --device "$device" --images 64 --workers 7 --minutes "${GPU_MINUTES:-7.5}"
echo "stages 2-3 again on $device, at half the rate"
both gpu-more gpu gpu-ablation --device "$device" --images 64 --workers 7 --minutes "${GPU_MORE_MINUTES:-2.5}" \
  --first-stage 2 --lr 5e-4
echo "stages 2-3 again on the CPU, one core per arm, 30 % of the scenes near the size extremes"
both cpu gpu-more gpu-more-ablation --minutes "${CPU_MINUTES:-40}" --first-stage 2 --lr 5e-4 --extreme-share 0.3
rm -rf "$work/default" "$work/ablation"
mv "$work/cpu" "$work/default"
mv "$work/cpu-ablation" "$work/ablation"
echo "done: $work/default, $work/ablation (checkpoints $work/cpu.pt, $work/cpu-ablation.pt)"
