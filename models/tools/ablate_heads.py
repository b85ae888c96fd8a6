"""What each LLM attention head carries into identify answers: colour and shape accuracy with that head's output
zeroed, the measurement behind "Which head reads colour" in models/README.md.

    /usr/bin/python3 -m models.tools.ablate_heads --checkpoint models/tools/work/default.pt [--scenes 60]

On fresh scenes, one identify prompt each, the right answer is fed in (teacher forcing) and the first two answer
tokens are scored: the colour word and the shape word. Each head is silenced in turn by zeroing its slice of the
input to its layer's o_proj.
"""
from __future__ import annotations

import argparse
import os
import random

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402

from .dataset import sample  # noqa: E402
from .evaluate import load  # noqa: E402
from .minigptv2.model import MiniGPTv2
from .minigptv2.preprocess import pixel_values
from .minigptv2.tokenizer import CachedTokenizer  # noqa: E402
from .paths import TOKENIZER  # noqa: E402
from .training.turns import IGNORE, encode_turns  # noqa: E402
from .world import draw_scene  # noqa: E402

ABLATE_SEED = 960_000_000  # far from the training, held-out and probe seeds


@torch.no_grad()
def ablate(model: MiniGPTv2, tok, scenes: int) -> tuple[tuple[float, float], torch.Tensor]:
    """((colour, shape) accuracy of the whole model, [layers, heads, 2] the same with each head silenced)."""
    cfg = model.cfg
    rng = random.Random(ABLATE_SEED)
    cases = []
    for seed in range(ABLATE_SEED, ABLATE_SEED + scenes):
        scene = draw_scene(seed)
        seg0, ids, labels = encode_turns(tok, cfg, [sample(scene, "identify", rng)])
        x = torch.cat([model.embed(torch.tensor([seg0])), model.encode_image(pixel_values(scene.image, cfg.vision)[None]),
                       model.embed(torch.tensor([ids]))], dim=1)
        words = [i for i, t in enumerate(labels) if t != IGNORE][:2]  # the colour word, the shape word
        start = x.shape[1] - len(ids)
        cases.append((x, [start + i for i in words], [labels[i] for i in words]))

    def accuracy() -> tuple[float, float]:
        right = [0, 0]
        for x, answer, gold in cases:
            logits, _ = model.decode(x, torch.ones(1, x.shape[1], dtype=torch.long), torch.arange(x.shape[1])[None])
            for k, (pos, token) in enumerate(zip(answer, gold)):
                right[k] += int(logits[0, pos - 1].argmax()) == token
        return right[0] / len(cases), right[1] / len(cases)

    def silence(layer: int, head: int):
        def hook(_module, inputs):
            out = inputs[0].clone()
            out[..., head * cfg.llm.head_dim:(head + 1) * cfg.llm.head_dim] = 0
            return (out,)
        return model.llama_model.model.layers[layer].self_attn.o_proj.register_forward_pre_hook(hook)

    whole = accuracy()
    table = torch.zeros(cfg.llm.layers, cfg.llm.heads, 2)
    for layer in range(cfg.llm.layers):
        for head in range(cfg.llm.heads):
            handle = silence(layer, head)
            try:
                table[layer, head] = torch.tensor(accuracy())
            finally:
                handle.remove()
    return whole, table


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help="a --checkpoint file of train.py")
    p.add_argument("--scenes", type=int, default=60)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model, _ = load(args.checkpoint)
    (colour, shape), table = ablate(model, CachedTokenizer(TOKENIZER), args.scenes)
    print(f"{args.scenes} identify prompts: colour word right {colour:.2f}, shape word right {shape:.2f}")
    print("the same with one head silenced, colour/shape (rows: layers, columns: heads)")
    for layer, row in enumerate(table):
        print(f"  layer {layer}: " + " ".join(f"{float(c):.2f}/{float(s):.2f}" for c, s in row))


if __name__ == "__main__":
    main()
