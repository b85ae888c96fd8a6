"""The batch of each training step: scenes drawn from the step's seed, prompts sampled by the stage's weights."""
from __future__ import annotations

import multiprocessing
import random

import torch

from ..data_parallel import Ranks
from ..dataset import conversation, sample
from ..minigptv2.config import ModelConfig
from ..minigptv2.preprocess import pixel_values
from ..pointers import answer_pointers, object_token_masks
from ..world import MAX_SIDE, MIN_SIDE, draw_scene
from .config import CONVERSATION_TURNS, EXTREME_LONG, EXTREME_SHORT, STAGES, Stage
from .turns import IGNORE, encode_turns


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
