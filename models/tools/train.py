"""Train the default model: a small MiniGPT-v2 on the synthetic world, in the paper's three stages.

    /usr/bin/python3 -m models.tools.train --out models/default            # the default model (see README)
    /usr/bin/python3 -m models.tools.train --no-identifiers --out DIR      # the task-identifier ablation
    /usr/bin/python3 -m models.tools.train --toy --out DIR                 # a few steps, for the smoke test

Stages (the paper's, adapted to this world; every scene is drawn on the fly from the training seed):
  0. vision pre-training (vision_pretrain.py): the paper starts from a pre-trained EVA-CLIP ViT and freezes it;
     ours is pre-trained here on dense per-patch labels of the world, then frozen with ln_vision for stages 1-3;
  1. broad pre-training: single-turn samples of every task, weighted towards whole-scene descriptions
     (grounding and caption name and place every object, the densest supervision per image);
  2. multi-task fine-grained training: single-turn samples weighted towards the box tasks (refer, detection,
     identify) and VQA;
  3. multi-turn instruction tuning: conversations of 2-3 turns mixing tasks on one image, plain chat without an
     identifier, and single-turn samples so the single-turn format is kept.
Stage 0 runs --vision-steps steps. The budget of stages 1-3 is wall-clock time (--minutes) split by
STAGES[].share, so the command finishes in time on a busy machine; --steps fixes the step count instead, for runs
that must repeat exactly.
Each image is encoded once and answered by several prompts (PROMPTS_PER_IMAGE), which spreads the vision cost.
Loss is on the answer tokens and the closing </s> only, as in the official training, plus the pointers: where an
answer picks objects by words said in its turn (a box after a name, a detection box, the answer of "is there a
{colour} {shape}?", "what color is the {shape}?" or "how many {shape}s are there?"), two heads are taught to look
at those words and at the objects.
"""
from __future__ import annotations

import argparse
import os
import tempfile

# torch runs its own intra-op threads; OpenBLAS threads inside them only oversubscribe the cores (measured: a
# step took 4x longer on a busy 2-core machine). Must be set before torch loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402

from .data_parallel import Ranks  # noqa: E402
from .training.config import (EXTREME_LONG, EXTREME_SHORT, IMAGES_PER_STEP, PEAK_LR, PROMPTS_PER_IMAGE,  # noqa: E402
                              VISION_IMAGES, VISION_STEPS)
from .training.loop import train  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--minutes", type=float, default=60.0, help="time budget of stages 1-3 (default 60)")
    p.add_argument("--steps", type=int, default=None,
                   help="fixed number of steps instead of a time budget (0: stage 0 alone)")
    p.add_argument("--vision-steps", type=int, default=VISION_STEPS,
                   help=f"stage 0 steps of {VISION_IMAGES} scenes (default {VISION_STEPS})")
    p.add_argument("--no-identifiers", action="store_true", help="ablation: every task tag empty")
    p.add_argument("--toy", action="store_true", help="tiny model, a few steps (smoke test)")
    p.add_argument("--images", type=int, default=IMAGES_PER_STEP)
    p.add_argument("--prompts", type=int, default=PROMPTS_PER_IMAGE)
    p.add_argument("--extreme-share", type=float, default=0.0,
                   help=f"fraction of stage 1-3 scenes drawn {EXTREME_SHORT} px or less by {EXTREME_LONG} or more")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch threads of each training process")
    p.add_argument("--procs", type=int, default=1,
                   help="data-parallel training processes on the CPU, each on its share of a step's --images")
    p.add_argument("--device", default="cpu", help="torch device of stages 1-3, e.g. cuda (stage 0 runs on the CPU)")
    p.add_argument("--workers", type=int, default=0,
                   help="processes that draw the batches ahead of the step (0: the training process draws them)")
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--init", default=None, help="start from the weights of a --checkpoint file")
    p.add_argument("--first-stage", type=int, choices=(1, 2, 3), default=1,
                   help="start at this stage (with --init: continue a trained model); the budget is shared by the rest")
    p.add_argument("--lr", type=float, default=PEAK_LR, help=f"peak learning rate (default {PEAK_LR})")
    p.add_argument("--checkpoint", default=None, help="also save the PyTorch weights here (for evaluate.py)")
    p.add_argument("--eval-per-task", type=int, default=20, help="quick held-out check size (0: skip)")
    args = p.parse_args(argv)
    if args.toy and args.steps is None:
        args.steps = 3
    if args.procs == 1:
        train(args)
        return
    if args.procs < 1 or args.device != "cpu":
        raise SystemExit("--procs runs data-parallel processes on the CPU: a positive count, without --device")
    for scenes in ((2, 2) if args.toy else (args.images, VISION_IMAGES)):
        if scenes % args.procs:
            raise SystemExit(f"{scenes} scenes a step cannot be split evenly between {args.procs} processes")
    with tempfile.TemporaryDirectory() as tmp:
        torch.multiprocessing.spawn(_train_rank, (args, os.path.join(tmp, "rendezvous")), nprocs=args.procs)


def _train_rank(rank: int, args, rendezvous: str) -> None:
    ranks = Ranks(rank, args.procs, rendezvous)
    try:
        train(args, ranks)
    finally:
        ranks.close()


if __name__ == "__main__":
    main()
