"""Train the default model: a small MiniGPT-v2 on the synthetic world, in the paper's three stages.

    /usr/bin/python3 models/tools/train.py --out models/default            # the default model (see README)
    /usr/bin/python3 models/tools/train.py --no-identifiers --out DIR      # the task-identifier ablation
    /usr/bin/python3 models/tools/train.py --toy --out DIR                 # a few steps, for the smoke test

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
import functools
import json
import math
import multiprocessing
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

# torch runs its own intra-op threads; OpenBLAS threads inside them only oversubscribe the cores (measured: a
# step took 4x longer on a busy 2-core machine). Must be set before torch loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
from data_parallel import Ranks  # noqa: E402
from dataset import TASKS, conversation, sample  # noqa: E402
from minigptv2.config import GenerationConfig, LlmConfig, ModelConfig, PromptConfig, VisionConfig  # noqa: E402
from minigptv2.model import MiniGPTv2  # noqa: E402
from minigptv2.onnx_export import export_model_dir  # noqa: E402
from minigptv2.preprocess import pixel_values  # noqa: E402
from minigptv2.prompt import build_segments  # noqa: E402
from minigptv2.tokenizer import Tokenizer  # noqa: E402
from pointers import answer_pointers, attention_weights, object_token_masks  # noqa: E402
from vision_pretrain import check_vision, freeze_vision, pretrain_vision  # noqa: E402
from world import MAX_OBJECTS, MAX_SIDE, MIN_SIDE, draw_scene  # noqa: E402

TOKENIZER = TOOLS / "tokenizer.json"
TRAIN_SEED = 1_000_000          # training scenes are TRAIN_SEED + n; held-out sets use seeds far from these
QUICK_EVAL_SEED = 900_000_000
VISION_SEED = 300_000_000       # stage 0 scenes are VISION_SEED + n
VISION_CHECK_SEED = 910_000_000
VISION_STEPS, VISION_IMAGES, VISION_LR = 15000, 16, 2e-3
IGNORE = -100


@dataclass(frozen=True)
class Stage:
    name: str
    share: float                 # of the time (or step) budget
    weights: dict                # task -> sampling weight
    conversation_rate: float     # fraction of prompts that are 2-3 turn conversations
    max_objects: int             # scenes of this stage hold 1..max_objects objects


STAGES = (
    # Few objects first: with one or two objects the answer hardly depends on picking the right image tokens, so
    # the LLM learns to read positions and names off the image before it has to learn to choose between objects.
    Stage("1-pretrain", 0.30, {"grounding": 3, "caption": 2, "identify": 2, "vqa": 1, "refer": 1, "detection": 1,
                               "chat": 0}, 0.0, 2),
    Stage("2-multitask", 0.45, {"grounding": 2, "caption": 1, "identify": 2, "vqa": 2, "refer": 3, "detection": 2,
                                "chat": 0}, 0.0, MAX_OBJECTS),
    Stage("3-instruct", 0.25, {"grounding": 2, "caption": 1, "identify": 2, "vqa": 2, "refer": 2, "detection": 2,
                               "chat": 1}, 0.5, MAX_OBJECTS),
)
IMAGES_PER_STEP = 8
CONVERSATION_TURNS = 3           # stage 3 conversations have 2..3 turns; model.json's history_turns is one less
PROMPTS_PER_IMAGE = 4
# --extreme-share: that fraction of the training scenes is drawn with one side at most EXTREME_SHORT px and the
# other at least EXTREME_LONG (aspect 2 to 2.5, either way round), where the uniform draw puts about 3 % of them
EXTREME_SHORT, EXTREME_LONG = 288, 576
ROWS_PER_CHUNK = 4               # forward_loss runs the batch in chunks of rows of similar length
# Pointers (models/README.md, "Why the model could not pick a named object"): where an answer picks objects by
# words said in its turn (pointers.answer_pointers), head POINTER_HEAD of NAME_LAYER is taught to look at each of
# those words and the same head of OBJECT_LAYER at those objects' image tokens, from the position that writes the
# pick (a box's first digit, the answer word).
POINTER_HEAD, NAME_LAYER, OBJECT_LAYER = 2, 0, 1
NAME_WEIGHT, OBJECT_WEIGHT = 1.0, 3.0
PEAK_LR, WARMUP_STEPS, MIN_LR_RATIO, WEIGHT_DECAY = 1e-3, 30, 0.05, 0.01


def default_config(identifiers: bool) -> ModelConfig:
    tasks = dict(PromptConfig().tasks) if identifiers else {t: "" for t in PromptConfig().tasks}
    return ModelConfig(
        name="default" if identifiers else "default-no-identifiers",
        description="small MiniGPT-v2 trained on synthetic scenes of coloured shapes (models/tools/train.py)"
        + ("" if identifiers else "; ablation without task identifiers"),
        vision=VisionConfig(image_size=112, patch_size=14, width=128, layers=3, heads=4, mlp=384, concat=4),
        llm=LlmConfig(hidden_size=128, layers=4, heads=4, head_dim=32, mlp=352, vocab_size=1000,
                      rope_theta=10000.0, rms_norm_eps=1e-6, max_positions=2048),
        prompt=PromptConfig(tasks=tasks),
        # answers are exact, so greedy; a 4-object grounded caption is about 120 tokens; a prompt carries no more
        # earlier turns than training conversations had
        generation=GenerationConfig(max_new_tokens=160, do_sample=False, temperature=1.0, top_k=0, top_p=1.0,
                                    repetition_penalty=1.0, min_length=1, context_limit=2000,
                                    history_turns=CONVERSATION_TURNS - 1))


def toy_config(identifiers: bool) -> ModelConfig:
    cfg = default_config(identifiers)
    return replace(cfg, vision=VisionConfig(image_size=32, patch_size=8, width=32, layers=1, heads=2, mlp=64),
                   llm=LlmConfig(hidden_size=32, layers=2, heads=4, head_dim=8, mlp=64, vocab_size=1000))


class CachedTokenizer(Tokenizer):
    """The prompts repeat a small set of chunks; the reference BPE is pure Python, so remember its answers."""

    @functools.lru_cache(maxsize=200_000)
    def encode(self, text: str) -> list[int]:  # type: ignore[override]
        return tuple(super().encode(text))  # type: ignore[return-value]


def sincos_2d(grid: int, width: int) -> torch.Tensor:
    """[1, 1+G*G, W] fixed 2-D sine-cosine table (CLS row zero): a position signal from the first step."""
    quarter = width // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / quarter))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32),
                            indexing="ij")
    def enc(pos):
        out = pos.reshape(-1, 1) * omega[None]
        return torch.cat([out.sin(), out.cos()], dim=1)
    table = torch.cat([enc(xs), enc(ys)], dim=1)
    return torch.cat([torch.zeros(1, width), table], dim=0)[None]


def init_weights(model: MiniGPTv2, seed: int) -> None:
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("pos_embed"):
                p.copy_(sincos_2d(model.cfg.vision.grid, p.shape[-1]))
            elif p.dim() >= 2 and "patch_embed" not in name:
                p.normal_(0.0, 0.02)
        # residual outputs start small so the deep stack begins near the identity
        depth = model.cfg.llm.layers + model.cfg.vision.layers
        for name, p in model.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight", "attn.proj.weight", "fc2.weight")):
                p.mul_(1 / math.sqrt(2 * depth))


# ---------------------------------------------------------------- batches

def encode_turns(tok, cfg: ModelConfig, turns) -> tuple[list[int], list[int], list[int]]:
    """(seg0, seg1 + answers, labels over seg1 + answers): every answer and its </s> is a target."""
    eos = cfg.tokens.eos
    seg0, ids, labels = None, [], []
    for i in range(len(turns)):
        seg0, s1 = build_segments(tok, cfg.prompt, turns[:i], turns[i][0], turns[i][1], cfg.tokens)
        # s1 repeats everything so far (earlier questions, answers, </s><s>) and adds the new question
        if s1[:len(ids)] != ids:
            raise SystemExit("internal error: multi-turn training layout differs from the prompt rules")
        new = list(s1[len(ids):])
        answer = list(tok.encode(turns[i][2])) + [eos]
        ids += new + answer
        labels += [IGNORE] * len(new) + answer
    return seg0, ids, labels


def _check_turn_layout(tok, cfg: ModelConfig) -> None:
    """The incremental layout of encode_turns must equal build_segments of the whole history."""
    turns = [("vqa", "how many objects are there?", "3"), ("refer", "the red circle", "{<1><2><30><40>}"),
             ("caption", "briefly describe this image.", "a red circle.")]
    _, ids, _ = encode_turns(tok, cfg, turns)
    _, whole = build_segments(tok, cfg.prompt, turns, "vqa", "x", cfg.tokens)
    if ids != whole[:len(ids)]:
        raise SystemExit("internal error: multi-turn training layout differs from the prompt rules")


def training_size(rng: random.Random, extreme_share: float) -> tuple[int, int] | None:
    """The (W, H) a training scene is pinned to: None (the world's own draw) but for `extreme_share` of them, which
    get a size near the extremes. With no share the generator is left untouched, so batches stay as they were."""
    if not extreme_share or rng.random() >= extreme_share:
        return None
    short, long = rng.randint(MIN_SIDE, EXTREME_SHORT), rng.randint(EXTREME_LONG, MAX_SIDE)
    return (long, short) if rng.random() < 0.5 else (short, long)


def make_batch(tok, cfg: ModelConfig, stage: Stage, step: int, images: int, prompts: int, seed: int,
               extreme_share: float = 0.0):
    """(pixels, rows): a row is (seg0, ids, labels, pointers, [objects, image tokens] masks of its scene)."""
    rng = random.Random(seed * 7919 + step)
    tasks, weights = list(stage.weights), list(stage.weights.values())
    pixels, seqs = [], []
    for i in range(images):
        size = training_size(rng, extreme_share)
        scene = draw_scene(seed + step * images + i, size=size, count=rng.randint(1, stage.max_objects))
        pixels.append(pixel_values(scene.image, cfg.vision))
        masks = object_token_masks(scene, cfg.vision.grid, cfg.vision.concat)
        for _ in range(prompts):
            if rng.random() < stage.conversation_rate:
                turns = conversation(scene, rng, rng.randint(2, CONVERSATION_TURNS), stage.weights)
            else:
                turns = [sample(scene, rng.choices(tasks, weights)[0], rng)]
            seg0, ids, labels = encode_turns(tok, cfg, turns)
            seqs.append((seg0, ids, labels, answer_pointers(tok, scene, ids, labels, IGNORE), masks))
    return torch.stack(pixels), seqs


class Batches:
    """make_batch for each step, drawn in the training process or, with workers, by a pool of processes a few
    steps ahead (scenes and prompts depend on the step alone, so the batches are the same either way). Of a
    data-parallel step's `images` scenes each process draws its own share, as batch step * procs + rank."""

    AHEAD = 2  # batches queued per worker

    def __init__(self, tok, cfg: ModelConfig, images: int, prompts: int, seed: int, extreme_share: float,
                 workers: int, ranks: Ranks = Ranks()):
        self.args = (tok, cfg, len(ranks.share(images)), prompts, seed, extreme_share)
        self.rank, self.procs = ranks.rank, ranks.procs
        self.pool = multiprocessing.get_context("fork").Pool(workers, _worker_start, self.args) if workers else None
        self.depth = workers * self.AHEAD
        self.queued = {}

    def get(self, step: int, stage_of) -> tuple:
        """The batch of `step`; stage_of(s) names the stage of step s (later steps are asked for ahead)."""
        if self.pool is None:
            tok, cfg, images, prompts, seed, extreme_share = self.args
            return make_batch(tok, cfg, STAGES[stage_of(step)], step * self.procs + self.rank, images, prompts, seed,
                              extreme_share)
        for s in range(step, step + self.depth):
            if s not in self.queued:
                self.queued[s] = self.pool.apply_async(_worker_batch, (stage_of(s), s * self.procs + self.rank))
        pixels, seqs = self.queued.pop(step).get()
        return torch.from_numpy(pixels), [(*row[:4], torch.from_numpy(row[4])) for row in seqs]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()


_WORKER = {}


def _worker_start(*args) -> None:
    torch.set_num_threads(1)
    _WORKER["args"] = args


def _worker_batch(stage: int, index: int) -> tuple:
    """A batch as numpy arrays, which cross the process boundary as plain bytes."""
    tok, cfg, images, prompts, seed, extreme_share = _WORKER["args"]
    pixels, seqs = make_batch(tok, cfg, STAGES[stage], index, images, prompts, seed, extreme_share)
    return pixels.numpy(), [(*row[:4], row[4].numpy()) for row in seqs]


def forward_loss(model: MiniGPTv2, pixels, seqs, prompts: int):
    """Cross-entropy plus pointer loss, per answer token of the batch.

    Every prompt of a scene starts with the same prefix (segment 0 and the image tokens, 24 of a row's 58-87
    positions), so the prefix runs once per scene and its keys and values serve each of the scene's prompts as a
    past; the gradient of every prompt flows back through them.
    Answers range from one token (a VQA digit) to about 120 (a four-object grounded caption), so one batch padded
    to its longest row is mostly padding. On the CPU rows are sorted by length and run in chunks, each padded only
    to its own longest row; the loss is the same, a batch about 2.5x faster (measured in models/README.md). On a
    GPU the padding costs less than the extra calls, so the batch runs whole.
    The pointer loss of a box is -log of the weight the pointer heads put on the name and on the object, summed
    with the answers' cross-entropy before the mean. Its gradient stops at the keys' input: it moves the two
    heads' key maps and whatever forms their queries, but cannot get the choice by reshaping the image tokens and
    words the keys read, which every other head reads too.
    """
    device = pixels.device
    image_embeds = model.encode_image(pixels)
    scenes, n_img = image_embeds.shape[:2]
    seg0 = seqs[0][0]
    if any(s[0] != seg0 or s[2][0] != IGNORE for s in seqs):
        raise ValueError("every row must share segment 0 and start its segment 1 outside the answer")
    text = len(seg0) + n_img  # where a row's ids start
    prefix = torch.cat([model.embed(torch.tensor([seg0] * scenes, device=device)), image_embeds], dim=1)
    order = sorted(range(len(seqs)), key=lambda r: len(seqs[r][1]))
    chunk = ROWS_PER_CHUNK if device.type == "cpu" else len(seqs)
    total = torch.zeros((), device=device)
    count = sum(sum(1 for t in s[2] if t != IGNORE) for s in seqs)
    pointer_count = sum(len(s[3]) for s in seqs)
    captured, prefix_inputs, call = {}, {}, {}  # call["scenes"]: the scene of each row of the chunk under way
    layers = model.llama_model.model.layers

    def capture(index):
        def hook(module, inputs, _):
            if not pointer_count:
                return
            if "scenes" not in call:
                prefix_inputs[index] = inputs[:3]
                return
            before = tuple(t[call["scenes"]] for t in prefix_inputs[index])
            captured[index] = attention_weights(module, inputs, keys_detached=True, before=before)[:, POINTER_HEAD]
        return hook

    hooks = [layers[i].self_attn.register_forward_hook(capture(i)) for i in (NAME_LAYER, OBJECT_LAYER)]
    try:
        _, past = model.decode(prefix, torch.ones(scenes, text, dtype=torch.long, device=device),
                               torch.arange(text, device=device).repeat(scenes, 1))
        for c in range(0, len(order), chunk):
            rows = order[c:c + chunk]
            length = max(len(seqs[r][1]) for r in rows)
            tail = torch.zeros(len(rows), length, dtype=torch.long)
            labels = torch.full((len(rows), length), IGNORE, dtype=torch.long)
            for i, r in enumerate(rows):
                ids, lab = seqs[r][1], seqs[r][2]
                tail[i, :len(ids)] = torch.tensor(ids)
                labels[i, :len(lab)] = torch.tensor(lab)
            call["scenes"] = scenes_of = torch.tensor([r // prompts for r in rows], device=device)
            # right padding: padded positions come after every real token, so causal attention never sees them
            logits, _ = model.decode(model.embed(tail.to(device)),
                                     torch.ones(len(rows), text + length, dtype=torch.long, device=device),
                                     torch.arange(text, text + length, device=device).repeat(len(rows), 1),
                                     [(k[scenes_of], v[scenes_of]) for k, v in past])
            total = total + F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                            labels[:, 1:].reshape(-1).to(device), ignore_index=IGNORE, reduction="sum")
            total = total + pointer_loss(captured, rows, seqs, text, n_img)
    finally:
        for hook in hooks:
            hook.remove()
    return total / count


def pointer_loss(captured, rows, seqs, text: int, n_img: int):
    """-log of the name head's weight on each word that picks the objects (NAME_WEIGHT shared among them) and of
    the object head's weight on the image tokens of those objects together, summed over the pointers of these
    rows (zero when they have none). Each word counts on its own: a loss on the words' sum let the head look at
    the shape word alone, so the object head's query never learned the colour and chose at chance between two
    objects of one shape (models/README.md)."""
    found = [(i, query, words, seqs[r][4][list(objs)].any(0))
             for i, r in enumerate(rows) for query, words, objs in seqs[r][3]]
    if not found:
        return 0.0
    device = captured[NAME_LAYER].device
    each = [(i, query, word, NAME_WEIGHT / len(words)) for i, query, words, _ in found for word in words]
    row, query, word = (torch.tensor([e[k] for e in each], device=device) for k in range(3))
    weight = torch.tensor([e[3] for e in each], device=device)
    name = captured[NAME_LAYER][row, query, word + text]
    row, query = (torch.tensor([f[k] for f in found], device=device) for k in range(2))
    covers = torch.stack([f[3] for f in found]).to(device, torch.float32)  # [pointers, image tokens]
    seen = (captured[OBJECT_LAYER][row, query, text - n_img:text] * covers).sum(1)
    return -(weight * torch.log(name + 1e-6)).sum() - OBJECT_WEIGHT * torch.log(seen + 1e-6).sum()


# ---------------------------------------------------------------- greedy generation for the quick check

@torch.no_grad()
def generate(model: MiniGPTv2, tok, cfg: ModelConfig, pixels, prompts: list, max_new: int) -> list[str]:
    """Batched greedy decoding: prompts are (history, task, text); rows are left-padded and masked."""
    image_embeds = model.encode_image(pixels)
    rows = [build_segments(tok, cfg.prompt, list(h), t, q, cfg.tokens) for h, t, q in prompts]
    embeds = [torch.cat([model.embed(torch.tensor([s0])), image_embeds[i:i + 1], model.embed(torch.tensor([s1]))],
                        dim=1)[0] for i, (s0, s1) in enumerate(rows)]
    b, length = len(embeds), max(e.shape[0] for e in embeds)
    x = torch.zeros(b, length, embeds[0].shape[-1])
    mask = torch.zeros(b, length, dtype=torch.long)
    for r, e in enumerate(embeds):
        x[r, length - e.shape[0]:] = e
        mask[r, length - e.shape[0]:] = 1
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    logits, past = model.decode(x, mask, positions)
    out = [[] for _ in range(b)]
    done = torch.zeros(b, dtype=torch.bool)
    for _ in range(max_new):
        nxt = logits[:, -1].argmax(-1)
        for r in range(b):
            if not done[r]:
                if int(nxt[r]) == cfg.tokens.eos:
                    done[r] = True
                else:
                    out[r].append(int(nxt[r]))
        if bool(done.all()):
            break
        positions = positions[:, -1:] + 1
        mask = torch.cat([mask, torch.ones(b, 1, dtype=torch.long)], dim=1)
        logits, past = model.decode(model.embed(nxt[:, None]), mask, positions, past)
    return [tok.decode(ids).strip() for ids in out]


def quick_eval(model: MiniGPTv2, tok, cfg: ModelConfig, per_task: int) -> dict:
    """Exact-match rate per task on fresh scenes (the full scoring with IoU is models/tools/evaluate.py)."""
    model.eval()
    rng = random.Random(QUICK_EVAL_SEED)
    result = {}
    for k, task in enumerate(("refer", "identify", "vqa", "detection", "caption", "grounding")):
        scenes = [draw_scene(QUICK_EVAL_SEED + k * 1000 + i) for i in range(per_task)]
        samples = [sample(s, task, rng) for s in scenes]
        pixels = torch.stack([pixel_values(s.image, cfg.vision) for s in scenes])
        answers = generate(model, tok, cfg, pixels, [((), t, q) for t, q, _ in samples], 160)
        result[task] = sum(a == s[2] for a, s in zip(answers, samples)) / per_task
    model.train()
    return result


# ---------------------------------------------------------------- training loop

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


def _trained(config: dict, either_arm: bool) -> dict:
    """What of a configuration an --init checkpoint must share: not the generation settings, which only go to the
    exported model.json, and for a stage 0 checkpoint (either arm) not what --no-identifiers changes either."""
    skip = ("generation", "name", "description", "prompt") if either_arm else ("generation",)
    return {k: v for k, v in config.items() if k not in skip}


def save_checkpoint(model: MiniGPTv2, cfg: ModelConfig, step: int, path) -> None:
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    torch.save({"config": cfg.to_dict(), "state": state, "step": step}, path)


def train(args, ranks: Ranks = Ranks()) -> None:
    torch.set_num_threads(args.threads)
    identifiers = not args.no_identifiers
    cfg = toy_config(identifiers) if args.toy else default_config(identifiers)
    tok = CachedTokenizer(TOKENIZER)
    if len(tok.vocab) != cfg.llm.vocab_size:
        raise SystemExit(f"{TOKENIZER} has {len(tok.vocab)} ids, the model expects {cfg.llm.vocab_size}")
    _check_turn_layout(tok, cfg)
    torch.manual_seed(args.seed)  # the modules' own initialisers run before init_weights
    model = MiniGPTv2(cfg)
    init_weights(model, args.seed)
    if args.init:  # continue from saved weights (same config); the schedule starts again
        saved = torch.load(args.init, map_location="cpu")
        # a stage 0 checkpoint (--steps 0) holds only the ViT, so it starts either arm of the ablation
        either_arm = saved["step"] == 0
        if _trained(saved["config"], either_arm) != _trained(cfg.to_dict(), either_arm):
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


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
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
