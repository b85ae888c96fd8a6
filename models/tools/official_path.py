"""The official path, for the benchmark: the PyTorch reference of a model directory generating the way the
official MiniGPT-v2 demo does through Hugging Face `generate` (greedy, KV cache grown by concatenation, every turn
re-prefilled from the full prompt with the image embeddings kept from upload), timed, one JSON line per request.

    /usr/bin/python3 models/tools/official_path.py --model DIR --threads N < requests.jsonl

A request is one line: {"pixels": "<raw little-endian float32 [3,S,S] file>", "tokens": 16,
                        "turns": [{"seg0": [ids], "seg1": [ids]}, ...]}
Each turn is generated for exactly `tokens` tokens (EOS suppressed, as Hugging Face's min-length processor does)
so every path of the benchmark does the same work. The answer line holds the timings (ms) and ids of every turn,
and the process's peak RSS.

Weights come from the model directory's ONNX initializers, so every directory the reference exports
(minigptv2/onnx_export.py: mini, the trained default, the scale model) is measured on exactly the weights the
engine uses. That exporter names norms, biases and embeddings after their parameters, but stores every Linear
weight transposed under a generated name; those are assigned in the order the graph consumes them, which is the
order of the forward pass, and every shape and parameter is checked, so a graph of another layout (the official
checkpoint exporter's, a quantized one) is refused with one line."""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
from minigptv2.config import load_config  # noqa: E402
from minigptv2.model import MiniGPTv2  # noqa: E402

PREFIX = "m."


def _generated_weights(graph) -> list[tuple[str, np.ndarray]]:
    """Initializers without a parameter name, with the op that consumes them, in the order the graph uses them."""
    inits = {i.name: i for i in graph.initializer if not i.name.startswith(PREFIX)}
    seen, out = set(), []
    for node in graph.node:
        for name in node.input:
            if name in inits and name not in seen:
                seen.add(name)
                out.append((node.op_type, numpy_helper.to_array(inits[name])))
    unused = set(inits) - seen
    if unused:
        raise ValueError(f"initializers no node uses: {sorted(unused)[:3]}")
    return out


def _load_graph(model: MiniGPTv2, path: Path, expected: list) -> list[str]:
    """Copies one graph's weights into `model`. `expected` lists, for the generated initializers in graph order,
    (consuming op, function from the stored array to [(parameter, value), ...])."""
    graph = onnx.load(str(path)).graph
    params = dict(model.named_parameters())
    assigned = [(init.name[len(PREFIX):], numpy_helper.to_array(init))
                for init in graph.initializer if init.name.startswith(PREFIX)]
    generated = _generated_weights(graph)
    if len(generated) != len(expected):
        raise ValueError(f"{path.name}: {len(generated)} unnamed weights, the reference layout has {len(expected)}")
    for (op, array), (want_op, split) in zip(generated, expected):
        pairs = split(array)
        if op != want_op:
            raise ValueError(f"{path.name}: {pairs[0][0]} is consumed by {op}, expected {want_op}")
        assigned += pairs
    for name, array in assigned:
        _assign(params, name, array, path)
    return [name for name, _ in assigned]


def _assign(params: dict, name: str, array: np.ndarray, path: Path) -> None:
    if name not in params:
        raise ValueError(f"{path.name}: {name} is not a parameter of the reference model")
    target = params[name]
    value = torch.from_numpy(np.array(array, dtype=np.float32, order="C"))
    if tuple(value.shape) != tuple(target.shape):
        raise ValueError(f"{path.name}: {name} has shape {tuple(value.shape)}, expected {tuple(target.shape)}")
    with torch.no_grad():
        target.copy_(value)


def _linear(name: str):
    """A Linear weight, stored transposed as the MatMul's right operand."""
    return "MatMul", lambda a: [(name, a.T)]


def _qv_bias(prefix: str, w: int):
    """EVA's q and v biases, folded with k's zero bias into one [q, 0, v] constant of the qkv Add."""
    def split(a: np.ndarray):
        if a.shape != (3 * w,) or np.any(a[w:2 * w] != 0):
            raise ValueError(f"{prefix}: the folded qkv bias is not [q, 0, v]")
        return [(prefix + "q_bias", a[:w]), (prefix + "v_bias", a[2 * w:])]
    return "Add", split


def load_model(model_dir: Path) -> MiniGPTv2:
    cfg = load_config(model_dir / "model.json")
    model = MiniGPTv2(cfg).eval()
    vision: list = []
    for b in range(cfg.vision.layers):
        p = f"visual_encoder.blocks.{b}."
        vision += [_linear(p + "attn.qkv.weight"), _qv_bias(p + "attn.", cfg.vision.width),
                   _linear(p + "attn.proj.weight"), _linear(p + "mlp.fc1.weight"), _linear(p + "mlp.fc2.weight")]
    vision.append(_linear("llama_proj.weight"))
    decoder: list = []
    for i in range(cfg.llm.layers):
        p = f"llama_model.model.layers.{i}."
        decoder += [_linear(p + f"self_attn.{n}_proj.weight") for n in "qkvo"]
        decoder += [_linear(p + f"mlp.{n}_proj.weight") for n in ("gate", "up", "down")]
    decoder.append(_linear("llama_model.lm_head.weight"))
    loaded = _load_graph(model, model_dir / "vision.onnx", vision)
    loaded += _load_graph(model, model_dir / "embed_tokens.onnx", [])
    loaded += _load_graph(model, model_dir / "decoder.onnx", decoder)
    missing = sorted(set(dict(model.named_parameters())) - set(loaded))
    if missing or len(loaded) != len(set(loaded)):
        raise ValueError(f"the graphs do not hold each parameter once (missing: {missing[:3]})")
    return model


def ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


@torch.no_grad()
def generate(model: MiniGPTv2, embeds: torch.Tensor, tokens: int, eos: int) -> dict:
    """Hugging Face greedy `generate` on inputs_embeds: a prefill of the whole prompt (logits for every position,
    as LlamaForCausalLM computes them), then one token per step with the KV cache, the attention mask grown by
    one and position ids from its cumulative sum; EOS is masked so exactly `tokens` tokens are produced."""
    began = time.perf_counter()
    mask = torch.ones(1, embeds.shape[1], dtype=torch.long)
    positions = (mask.cumsum(-1) - 1)
    logits, past = model.decode(embeds, mask, positions, None)
    ids = []
    scores = logits[:, -1, :].clone()
    scores[:, eos] = -float("inf")
    ids.append(int(scores.argmax(-1)))
    prefill_ms = ttft_ms = ms(began)
    t = time.perf_counter()
    for _ in range(tokens - 1):
        step = model.embed(torch.tensor([[ids[-1]]]))
        mask = torch.cat([mask, mask.new_ones(1, 1)], dim=-1)
        positions = (mask.cumsum(-1) - 1)[:, -1:]
        logits, past = model.decode(step, mask, positions, past)
        scores = logits[:, -1, :].clone()
        scores[:, eos] = -float("inf")
        ids.append(int(scores.argmax(-1)))
    return {"prefill_ms": prefill_ms, "ttft_ms": ttft_ms, "decode_ms": ms(t), "decode_tokens": tokens - 1,
            "ids": ids}


@torch.no_grad()
def run_request(model: MiniGPTv2, request: dict) -> dict:
    cfg = model.cfg
    size = cfg.vision.image_size
    pixels = np.fromfile(request["pixels"], dtype="<f4")
    if pixels.size != 3 * size * size:
        raise ValueError(f"pixels: {pixels.size} floats, expected 3x{size}x{size}")
    tokens = int(request["tokens"])
    if not 1 <= tokens <= 4096:
        raise ValueError("tokens must be between 1 and 4096")
    t = time.perf_counter()
    image = model.encode_image(torch.from_numpy(pixels.reshape(1, 3, size, size)))
    vision_ms = ms(t)
    turns = []
    for i, turn in enumerate(request["turns"]):
        t = time.perf_counter()
        seg0 = model.embed(torch.tensor([turn["seg0"]], dtype=torch.long))
        seg1 = model.embed(torch.tensor([turn["seg1"]], dtype=torch.long))
        embeds = torch.cat([seg0, image, seg1], dim=1)
        embed_ms = ms(t)
        out = generate(model, embeds, tokens, cfg.tokens.eos)
        # The demo embeds the prompt inside its own call, so it counts toward the prefill and the first token;
        # the image was encoded at upload, so only the first turn's time to first token includes vision.
        out["prefill_ms"] += embed_ms
        out["ttft_ms"] += embed_ms + (vision_ms if i == 0 else 0.0)
        out["prefill_tokens"] = int(embeds.shape[1])
        turns.append(out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"vision_ms": vision_ms, "turns": turns, "peak_rss_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the official generation path on a model directory.")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(max(1, args.threads))
    try:
        t = time.perf_counter()
        model = load_model(args.model)
        load_ms = ms(t)
    except (OSError, ValueError, KeyError) as err:
        print(json.dumps({"error": f"cannot load {args.model}: {err}"}), flush=True)
        sys.exit(1)
    print(json.dumps({"ready": True, "load_ms": load_ms, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = run_request(model, json.loads(line))
        except (OSError, ValueError, KeyError, TypeError) as err:
            answer = {"error": str(err)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
