"""A training run: stage 0 (the ViT), then stages 1-3 on a time or step budget, the export and its record."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch

from ..data_parallel import Ranks
from ..minigptv2.model import MiniGPTv2
from ..minigptv2.onnx_export import export_model_dir
from ..minigptv2.tokenizer import CachedTokenizer
from ..paths import TOKENIZER
from ..vision_pretrain import check_vision, freeze_vision, pretrain_vision
from .batches import Batches
from .config import (MIN_LR_RATIO, STAGES, TRAIN_SEED, VISION_CHECK_SEED, VISION_IMAGES, VISION_LR, VISION_SEED,
                     WARMUP_STEPS, WEIGHT_DECAY, default_config, toy_config)
from .loss import forward_loss
from .quick_eval import quick_eval
from .turns import check_turn_layout
from .weights import init_weights, save_checkpoint, trained_part


def lr_at(progress: float, step: int, peak: float) -> float:
    warm = min(1.0, (step + 1) / WARMUP_STEPS)
    cosine = MIN_LR_RATIO + (1 - MIN_LR_RATIO) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return peak * warm * cosine


def vision_stage(model: MiniGPTv2, steps: int, images: int, seed: int, check: int, ranks: Ranks) -> None:
    start = time.time()
    head = pretrain_vision(model, steps, images, VISION_SEED + seed * 10_000_000, VISION_LR,
                           lambda line: ranks.main and print(f"{line} ({(time.time() - start) / 60:.1f} min)",
                                                             flush=True), ranks)
    if not ranks.main:
        return
    for name, size in (("random sizes", None), ("640x256", (640, 256)), ("256x640", (256, 640))):
        stats = check_vision(model, head, [VISION_CHECK_SEED + i for i in range(check)], size)
        print(f"vision check, {name}: colour {stats['colour']:.3f} shape {stats['shape']:.3f} "
              f"box error {stats['box_grid_err']:.2f} grid units", flush=True)


def train(args, ranks: Ranks = Ranks()) -> None:
    torch.set_num_threads(args.threads)
    identifiers = not args.no_identifiers
    cfg = toy_config(identifiers) if args.toy else default_config(identifiers)
    tok = CachedTokenizer(TOKENIZER)
    if len(tok.vocab) != cfg.llm.vocab_size:
        raise SystemExit(f"{TOKENIZER} has {len(tok.vocab)} ids, the model expects {cfg.llm.vocab_size}")
    check_turn_layout(tok, cfg)
    torch.manual_seed(args.seed)  # the modules' own initialisers run before init_weights
    model = MiniGPTv2(cfg)
    init_weights(model, args.seed)
    if args.init:  # continue from saved weights (same config); the schedule starts again
        saved = torch.load(args.init, map_location="cpu")
        # a stage 0 checkpoint (--steps 0) holds only the ViT, so it starts either arm of the ablation
        either_arm = saved["step"] == 0
        if trained_part(saved["config"], either_arm) != trained_part(cfg.to_dict(), either_arm):
            raise SystemExit(f"{args.init} was trained with another configuration")
        model.load_state_dict(saved["state"])
    ranks.align(model)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    vision_steps = 0 if args.init else 3 if args.toy else args.vision_steps  # --init weights hold a trained ViT
    if vision_steps:
        vision_stage(model, vision_steps, 2 if args.toy else VISION_IMAGES, args.seed, 4 if args.toy else 64, ranks)
    trainable = freeze_vision(model)
    images, prompts = (2, 2) if args.toy else (args.images, args.prompts)
    # the workers fork before the model moves, so that no child inherits a GPU context
    batches = Batches(tok, cfg, images, prompts, TRAIN_SEED + args.seed * 10_000_000, args.extreme_share,
                      args.workers, ranks)
    device = torch.device(args.device)
    model.to(device)
    decay = [p for p in trainable if p.dim() >= 2]
    no_decay = [p for p in trainable if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay,
                            "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))
    budget_s = args.minutes * 60 if args.steps is None else None
    log = print if ranks.main else (lambda *a, **k: None)
    log(f"model {cfg.name}: {n_params / 1e6:.2f}M parameters on {device}; budget "
        f"{f'{args.minutes} min' if budget_s else f'{args.steps} steps'}; {images} images x {prompts} prompts/step"
        f"{f' in {ranks.procs} processes' if ranks.procs > 1 else ''}", flush=True)
    first = args.first_stage - 1
    shares = [s.share if i >= first else 0.0 for i, s in enumerate(STAGES)]
    bounds = [sum(shares[:i + 1]) / sum(shares) for i in range(len(STAGES))]

    def stage_at(progress: float) -> int:
        return next(i for i, b in enumerate(bounds) if i >= first and (progress < b or i == len(bounds) - 1))

    start, step, ema = time.time(), 0, None
    try:
        while True:
            elapsed = ranks.decide(time.time() - start)
            if (elapsed >= budget_s) if budget_s is not None else step >= args.steps:
                break  # --steps 0: stage 0 alone (a ViT for later --init runs)
            progress = elapsed / budget_s if budget_s is not None else step / args.steps
            for group in opt.param_groups:
                group["lr"] = lr_at(progress, step, args.lr)
            # a time budget knows the stage of the current step only; batches drawn ahead take that one
            pixels, seqs = batches.get(step, (lambda s: stage_at(progress)) if budget_s else
                                       (lambda s: stage_at(s / args.steps)))
            loss = forward_loss(model, pixels.to(device), seqs, prompts)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            mean_loss = ranks.average(trainable, loss)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            ema = mean_loss if ema is None else 0.95 * ema + 0.05 * mean_loss
            step += 1
            if step % args.log_every == 0 or args.toy:
                log(f"step {step} {STAGES[stage_at(progress)].name} {elapsed / 60:.1f} min loss {ema:.4f} "
                    f"lr {lr_at(progress, step, args.lr):.2e}", flush=True)
            if args.checkpoint and step % 50 == 0 and ranks.main:
                save_checkpoint(model, cfg, step, args.checkpoint)
                if step % 100 == 0:  # kept, to compare runs at equal step counts
                    save_checkpoint(model, cfg, step, f"{args.checkpoint}.step{step}")
    finally:
        batches.close()
    train_min = (time.time() - start) / 60
    ranks.check_same(model)
    if not ranks.main:
        return
    print(f"trained {step} steps in {train_min:.1f} min", flush=True)
    model.eval().cpu()
    if args.checkpoint:
        save_checkpoint(model, cfg, step, args.checkpoint)
    export_model_dir(model, cfg, TOKENIZER, args.out)
    print(f"exported {args.out}", flush=True)
    if args.eval_per_task:
        scores = quick_eval(model, tok, cfg, args.eval_per_task)
        print("held-out exact match: " + ", ".join(f"{k} {v:.0%}" for k, v in scores.items()), flush=True)
    (Path(args.out) / "training.json").write_text(json.dumps(
        {"parameters": n_params, "vision_steps": vision_steps, "steps": step,
         "minutes": round(train_min, 1), "identifiers": identifiers,
         "images_per_step": images, "prompts_per_image": prompts, "extreme_share": args.extreme_share,
         "processes": ranks.procs, "seed": args.seed,
         "device": args.device,
         "first_stage": args.first_stage, "peak_lr": args.lr, "init": args.init}, indent=1) + "\n")
