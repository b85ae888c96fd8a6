"""embed_tokens.onnx and decoder.onnx from the Hugging Face LLaMA folder with the MiniGPT-v2 LoRA deltas merged
into q_proj and v_proj (W + lora_alpha / r * B @ A), written one layer at a time. The decoder keeps the
project's interface (models/README.md): float32 activations, Concat KV cache, the causal mask built from
attention_mask; weights fp32, fp16 (cast at load) or int8 / int4 MatMulNBits blocks."""
from __future__ import annotations

import numpy as np
import torch
from onnx import TensorProto

from ..minigptv2.model import MASK_VALUE
from ..quantize import BLOCK, quantize_blockwise

from .graph import MS_DOMAIN, GraphWriter, tensor_info
from .plan import ExportPlan

# MatMulNBits computes with int8-quantized activations: on ORT 1.30's CPU EP this is 3x faster for int4 and
# 70x faster for int8 (whose float path is a slow fallback) than accuracy level 0, measured on 7B-wide layers.
ACCURACY_LEVEL = 4


def merged_weight(llama, ckpt, plan: ExportPlan, layer: int, proj: str) -> torch.Tensor:
    """[out, in] weight of a LLaMA projection, with the LoRA delta added for q_proj and v_proj. The merge is done in
    float64 and rounded once, so the export is the same whichever BLAS PyTorch multiplies with (their float32
    products differ in the last bits, enough to move a weight across an int4 rounding step)."""
    w = llama.get(f"model.layers.{layer}.self_attn.{proj}.weight")
    if (layer, proj) in plan.lora_keys:
        a_key, b_key = plan.lora_keys[(layer, proj)]
        w = (w.double() + plan.lora_scaling * (ckpt.get(b_key).double() @ ckpt.get(a_key).double())).float()
    return w


def linear(g: GraphWriter, x: str, weight: torch.Tensor, name: str, bits: int | None) -> str:
    """x @ weight.T; with `bits`, the weight is quantized into a MatMulNBits node."""
    if not bits:
        return g.op("MatMul", [x, g.weight(name + ".weight_t", weight.t())], name=name)
    n, k = weight.shape
    packed, scales, zeros = quantize_blockwise(weight.numpy(), bits, BLOCK)
    inputs = [x, g.raw(name + ".qweight", packed), g.raw(name + ".scales", scales.reshape(-1)),
              g.raw(name + ".zero_points", zeros.reshape(-1))]
    return g.op("MatMulNBits", inputs, name=name, domain=MS_DOMAIN, K=k, N=n, bits=bits, block_size=BLOCK,
                accuracy_level=ACCURACY_LEVEL)


def write_embed(path, llama, plan: ExportPlan, weight_dtype: str) -> None:
    g = GraphWriter(path, weight_dtype)
    table = llama.get("model.embed_tokens.weight").numpy()
    if weight_dtype == "fp16":  # gather the fp16 rows, then widen only those
        rows = g.op("Gather", [g.raw("embed_tokens.weight", table.astype(np.float16)), "input_ids"], axis=0)
        out = g.op("Cast", [rows], to=TensorProto.FLOAT)
    else:
        out = g.op("Gather", [g.raw("embed_tokens.weight", table), "input_ids"], axis=0)
    g.finish([tensor_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
             [tensor_info("inputs_embeds", TensorProto.FLOAT, ["batch", "sequence", plan.llm.hidden_size])],
             {out: "inputs_embeds"})


def _rms_norm(g: GraphWriter, x: str, weight: torch.Tensor, eps: float, name: str) -> str:
    mean_sq = g.op("ReduceMean", [g.op("Mul", [x, x])], axes=[-1], keepdims=1)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [mean_sq, g.const("eps", np.array(eps, np.float32))])])])
    return g.op("Mul", [g.op("Mul", [x, inv]), g.weight(name, weight)], name=name + "_out")


def _rotary_tables(g: GraphWriter, plan: ExportPlan):
    """cos, sin [B, 1, T, hd] from position_ids, in the Hugging Face rotate_half convention."""
    l = plan.llm
    inv_freq = 1.0 / (l.rope_theta ** (np.arange(0, l.head_dim, 2, dtype=np.float32) / l.head_dim))
    pos = g.op("Unsqueeze", [g.op("Cast", ["position_ids"], to=TensorProto.FLOAT), g.const("axes_last", np.array([-1]))])
    freqs = g.op("Mul", [pos, g.const("inv_freq", inv_freq.astype(np.float32))])
    emb = g.op("Unsqueeze", [g.op("Concat", [freqs, freqs], axis=-1), g.const("axes1", np.array([1]))])
    return g.op("Cos", [emb], name="cos"), g.op("Sin", [emb], name="sin")


def _attention_bias(g: GraphWriter) -> str:
    """[B, 1, T, P+T]: 0 where key j is visible to query i (attention_mask[b, j] = 1 and j <= P + i), else a
    large finite negative so a fully padded row stays finite."""
    total = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.const("i1", np.array(1))], axis=0)
    new = g.op("Gather", [g.op("Shape", ["inputs_embeds"]), g.const("i1b", np.array(1))], axis=0)
    past = g.op("Sub", [total, new])
    key_pos = g.op("Range", [g.const("i0", np.array(0)), total, g.const("step", np.array(1))])
    query_pos = g.op("Range", [past, total, g.const("step2", np.array(1))])
    causal = g.op("LessOrEqual", [g.op("Unsqueeze", [key_pos, g.const("ax0", np.array([0]))]),
                                  g.op("Unsqueeze", [query_pos, g.const("ax1", np.array([1]))])])  # [T, P+T]
    keep = g.op("Unsqueeze", [g.op("Equal", ["attention_mask", g.const("i64_one", np.array(1))]),
                              g.const("ax1b", np.array([1]))])  # [B, 1, P+T]
    visible = g.op("And", [causal, keep])  # [B, T, P+T]
    bias = g.op("Where", [visible, g.const("f0", np.array(0.0, np.float32)),
                          g.const("masked", np.array(MASK_VALUE, np.float32))])
    return g.op("Unsqueeze", [bias, g.const("ax1c", np.array([1]))], name="attn_bias")


def _rotate(g: GraphWriter, x: str, cos: str, sin: str, half: int) -> str:
    lo, hi = g.op("Split", [x, g.const("halves", np.array([half, half]))], outputs=2, axis=-1)
    rotated = g.op("Concat", [g.op("Neg", [hi]), lo], axis=-1)
    return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rotated, sin])])


def write_decoder(path, llama, ckpt, plan: ExportPlan, weight_dtype: str, bits: int | None) -> None:
    l = plan.llm
    g = GraphWriter(path, weight_dtype)
    cos, sin = _rotary_tables(g, plan)
    bias = _attention_bias(g)
    heads_shape = g.const("heads_shape", np.array([0, 0, l.heads, l.head_dim]))
    merge_shape = g.const("merge_shape", np.array([0, 0, l.hidden_size]))
    scale = g.const("attn_scale", np.array(1.0 / np.sqrt(l.head_dim), np.float32))
    x, inputs, outputs, renames = "inputs_embeds", [], [], {}
    for i in range(l.layers):
        p = f"model.layers.{i}."
        h = _rms_norm(g, x, llama.get(p + "input_layernorm.weight"), l.rms_norm_eps, p + "input_layernorm")

        def heads(proj):
            y = linear(g, h, merged_weight(llama, ckpt, plan, i, proj), p + proj, bits)
            return g.op("Transpose", [g.op("Reshape", [y, heads_shape])], perm=[0, 2, 1, 3])

        q, k, v = heads("q_proj"), heads("k_proj"), heads("v_proj")
        q, k = _rotate(g, q, cos, sin, l.head_dim // 2), _rotate(g, k, cos, sin, l.head_dim // 2)
        k = g.op("Concat", [f"past_key_values.{i}.key", k], axis=2, name=f"present_{i}_key")
        v = g.op("Concat", [f"past_key_values.{i}.value", v], axis=2, name=f"present_{i}_value")
        renames[k], renames[v] = f"present.{i}.key", f"present.{i}.value"
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]), scale]), bias])
        attn = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        attn = g.op("Reshape", [g.op("Transpose", [attn], perm=[0, 2, 1, 3]), merge_shape])
        x = g.op("Add", [x, linear(g, attn, llama.get(p + "self_attn.o_proj.weight"), p + "o_proj", bits)])
        h = _rms_norm(g, x, llama.get(p + "post_attention_layernorm.weight"), l.rms_norm_eps, p + "post_attention_layernorm")
        gate = linear(g, h, llama.get(p + "mlp.gate_proj.weight"), p + "gate_proj", bits)
        up = linear(g, h, llama.get(p + "mlp.up_proj.weight"), p + "up_proj", bits)
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
        x = g.op("Add", [x, linear(g, act, llama.get(p + "mlp.down_proj.weight"), p + "down_proj", bits)], name=f"layer{i}")
        for kind in ("key", "value"):
            inputs.append(tensor_info(f"past_key_values.{i}.{kind}", TensorProto.FLOAT,
                                      ["batch", l.heads, "past_sequence", l.head_dim]))
            outputs.append(tensor_info(f"present.{i}.{kind}", TensorProto.FLOAT,
                                       ["batch", l.heads, "total_sequence", l.head_dim]))
    x = _rms_norm(g, x, llama.get("model.norm.weight"), l.rms_norm_eps, "model.norm")
    logits = linear(g, x, llama.get("lm_head.weight"), "lm_head", bits)
    renames[logits] = "logits"
    g.finish([tensor_info("inputs_embeds", TensorProto.FLOAT, ["batch", "sequence", l.hidden_size]),
              tensor_info("attention_mask", TensorProto.INT64, ["batch", "total_sequence"]),
              tensor_info("position_ids", TensorProto.INT64, ["batch", "sequence"]), *inputs],
             [tensor_info("logits", TensorProto.FLOAT, ["batch", "sequence", l.vocab_size]), *outputs], renames)
