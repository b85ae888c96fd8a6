"""The official path, for the benchmark: the PyTorch reference of a model directory generating the way the
official MiniGPT-v2 demo does through Hugging Face `generate` (greedy, KV cache grown by concatenation, every turn
re-prefilled from the full prompt with the image embeddings kept from upload), timed, one JSON line per request.

    /usr/bin/python3 -m models.tools.official_path --model DIR --threads N < requests.jsonl
    python3 -m models.tools.official_path --files DIR [--image-size 448] --device cuda --dtype fp16 < requests.jsonl

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
checkpoint exporter's, a quantized one) is refused with one line.

--files reads the official checkpoint files instead (DIR/eva_vit_g.pth, DIR/minigptv2_checkpoint.pth, DIR/llama),
as the official code loads them: the EVA blocks but the last, the position table resized to the image size,
ln_vision (identity when the checkpoint has none), llama_proj, and LLaMA with each LoRA delta merged into its
weight (peft's merge). --device cuda --dtype fp16 runs it as the official demo does on a GPU (fp16 weights under
autocast); the answer line then adds the GPU memory PyTorch allocated at most."""
from __future__ import annotations

import argparse
import contextlib
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .minigptv2.config import ModelConfig, TokensConfig, load_config
from .minigptv2.generate import greedy
from .minigptv2.model import MiniGPTv2, Rotary, interpolate_pos_embed

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


def _empty(cfg: ModelConfig, device: str, dtype: torch.dtype) -> MiniGPTv2:
    """The architecture with uninitialised weights on `device` (a 7B is not worth initialising on the CPU first)."""
    try:
        with torch.device("meta"):
            model = MiniGPTv2(cfg)
    except (AttributeError, TypeError):  # torch < 2.0: no device context; fine for the small checks it runs
        return MiniGPTv2(cfg).to(device=device, dtype=dtype)
    model = model.to_empty(device=device).to(dtype)
    model.rotary = Rotary(cfg.llm.head_dim, cfg.llm.rope_theta).to(device)  # its buffer was never computed
    return model


def load_official(files: Path, image_size: int, device: str, dtype: torch.dtype) -> MiniGPTv2:
    from .official.checkpoints import LlamaFolder, MiniGPTv2Checkpoint, load_eva
    from .official.plan import make_plan
    eva = load_eva(files / "eva_vit_g.pth")
    ckpt, llama = MiniGPTv2Checkpoint(files / "minigptv2_checkpoint.pth"), LlamaFolder(files / "llama")
    plan = make_plan(eva, ckpt, llama, image_size)
    if plan.problems:
        raise ValueError("; ".join(plan.problems[:3]))
    tokens = TokensConfig(unk=0, bos=int(llama.config.get("bos_token_id", 1)), eos=int(llama.config.get("eos_token_id", 2)))
    model = _empty(ModelConfig(name="official", description="", vision=plan.vision, llm=plan.llm, tokens=tokens), device, dtype)
    params = dict(model.named_parameters())

    def put(name: str, value: torch.Tensor) -> None:
        target = params.pop(name)
        if tuple(value.shape) != tuple(target.shape):
            raise ValueError(f"{name}: shape {tuple(value.shape)}, expected {tuple(target.shape)}")
        with torch.no_grad():
            target.copy_(value.to(device=device, dtype=dtype))

    for name in list(params):
        if name.startswith("visual_encoder."):
            key = name[len("visual_encoder."):]
            value = eva.get(key)
            put(name, interpolate_pos_embed(value, plan.vision.grid) if key == "pos_embed" else value)
        elif name.startswith("ln_vision."):
            put(name, ckpt.get(name) if plan.ln_vision_from_checkpoint else torch.ones_like(params[name], device="cpu")
                if name.endswith("weight") else torch.zeros_like(params[name], device="cpu"))
        elif name.startswith("llama_proj."):
            put(name, ckpt.get(name))
    for name in [n for n in params if n.startswith("llama_model.")]:
        key = name[len("llama_model."):]
        value = llama.get(key)
        parts = key.split(".")
        if len(parts) > 4 and parts[3] == "self_attn" and (int(parts[2]), parts[4]) in plan.lora_keys:
            a, b = plan.lora_keys[(int(parts[2]), parts[4])]
            value = value + plan.lora_scaling * (ckpt.get(b) @ ckpt.get(a))
        put(name, value)
    if params:
        raise ValueError(f"no weights for {sorted(params)[:3]}")
    return model.eval()


def precision(model: MiniGPTv2):
    """fp16 weights run under autocast, as the official demo runs them (its maybe_autocast): matmuls in fp16,
    norms and softmax in fp32."""
    weight = next(model.parameters())
    if weight.is_cuda and weight.dtype == torch.float16:
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def _sync(model: MiniGPTv2) -> None:
    if next(model.parameters()).is_cuda:
        torch.cuda.synchronize()


def ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


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
    weight = next(model.parameters())
    _sync(model)
    t = time.perf_counter()
    image = model.encode_image(torch.from_numpy(pixels.reshape(1, 3, size, size)).to(weight.device, weight.dtype))
    _sync(model)
    vision_ms = ms(t)
    turns = []
    for i, turn in enumerate(request["turns"]):
        t = time.perf_counter()
        seg0 = model.embed(torch.tensor([turn["seg0"]], dtype=torch.long, device=weight.device))
        seg1 = model.embed(torch.tensor([turn["seg1"]], dtype=torch.long, device=weight.device))
        embeds = torch.cat([seg0, image, seg1], dim=1)
        embed_ms = ms(t)
        # Hugging Face greedy `generate` on inputs_embeds: a prefill of the whole prompt, then one token per step
        # with the KV cache; EOS is held back so exactly `tokens` tokens are produced.
        out = greedy(model, [embeds[0]], tokens, cfg.tokens.eos, ban_eos=True)
        # The demo embeds the prompt inside its own call, so it counts toward the prefill and the first token;
        # the image was encoded at upload, so only the first turn's time to first token includes vision.
        turns.append({"prefill_ms": out.prefill_ms + embed_ms,
                      "ttft_ms": out.prefill_ms + embed_ms + (vision_ms if i == 0 else 0.0),
                      "decode_ms": out.decode_ms, "decode_tokens": tokens - 1, "ids": out.ids[0],
                      "prefill_tokens": int(embeds.shape[1])})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    answer = {"vision_ms": vision_ms, "turns": turns, "peak_rss_mb": peak}
    if weight.is_cuda:
        answer["gpu_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}",
                                     description="Time the official generation path on a model directory.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="a model directory exported by the reference")
    source.add_argument("--files", type=Path, help="the official checkpoint files (eva_vit_g.pth, minigptv2_checkpoint.pth, llama/)")
    parser.add_argument("--image-size", type=int, default=448, help="with --files: the square input size")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="with --files")
    parser.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32", help="with --files")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(max(1, args.threads))
    try:
        t = time.perf_counter()
        if args.files:
            dtype = torch.float16 if args.dtype == "fp16" else torch.float32
            model = load_official(args.files, args.image_size, args.device, dtype)
        else:
            model = load_model(args.model)
        load_ms = ms(t)
    except (OSError, ValueError, KeyError) as err:
        print(json.dumps({"error": f"cannot load {args.model or args.files}: {err}"}), flush=True)
        sys.exit(1)
    print(json.dumps({"ready": True, "load_ms": load_ms, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            with precision(model):
                answer = run_request(model, json.loads(line))
        except (OSError, ValueError, KeyError, TypeError) as err:
            answer = {"error": str(err)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
