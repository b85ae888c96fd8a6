"""decoder.onnx for --target webgpu: the graph shape ONNX Runtime's WebGPU provider runs fastest (the layout of
onnxruntime-genai's model builder, see ../shared/reference/measured.md):
- q/k/v projections packed into one int4 MatMulNBits (block 32) per layer; every other matmul int4 too;
- GroupQueryAttention with rotary embedding fused (cos/sin caches baked in) and the KV cache kept in place in
  max-length buffers (pasts and presents are the same buffers when the caller shares them);
- SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization carrying the residual stream;
- fp16 activations (`activations="fp32"` writes the same graph in fp32, for checking it on the CPU EP).

Interface (differs from the CPU decoder): inputs_embeds [B,T,D], attention_mask int64 [B, P+T] (right-padded:
the graph derives GQA's seqlens_k and total_sequence_length from it; no position_ids), past_key_values.{i}.key /
.value [B, H, max_len, hd]; outputs logits [B,T,V] and present.{i}.key / .value."""
from __future__ import annotations

import numpy as np
import torch
from onnx import TensorProto

from ..quantize import BLOCK, quantize_blockwise

from .decoder_graph import ACCURACY_LEVEL, merged_weight
from .graph import MS_DOMAIN, GraphWriter, tensor_info
from .plan import ExportPlan

BITS = 4


def _matmul_nbits(g: GraphWriter, x: str, weight: torch.Tensor, name: str, np_dtype) -> str:
    n, k = weight.shape
    packed, scales, zeros = quantize_blockwise(weight.numpy(), BITS, BLOCK)
    inputs = [x, g.raw(name + ".qweight", packed), g.raw(name + ".scales", scales.reshape(-1).astype(np_dtype)),
              g.raw(name + ".zero_points", zeros.reshape(-1))]
    return g.op("MatMulNBits", inputs, name=name, domain=MS_DOMAIN, K=k, N=n, bits=BITS, block_size=BLOCK,
                accuracy_level=ACCURACY_LEVEL)


def write_webgpu_decoder(path, llama, ckpt, plan: ExportPlan, activations: str = "fp16") -> None:
    l = plan.llm
    np_dtype = np.float16 if activations == "fp16" else np.float32
    elem = TensorProto.FLOAT16 if activations == "fp16" else TensorProto.FLOAT
    g = GraphWriter(path, "fp32")

    def vec(name, t):
        return g.raw(name, t.numpy().astype(np_dtype))

    # GQA inputs from the attention mask: seqlens_k = valid tokens - 1 per row, total = the mask's length
    seqlens = g.op("Cast", [g.op("Sub", [g.op("ReduceSum", ["attention_mask", g.const("ax1", np.array([1]))], keepdims=0),
                                         g.const("one", np.array(1))])], to=TensorProto.INT32, name="seqlens_k")
    total = g.op("Cast", [g.op("Gather", [g.op("Shape", ["attention_mask"]), g.const("i1", np.array(1))], axis=0)],
                 to=TensorProto.INT32, name="total_sequence_length")
    inv_freq = 1.0 / (l.rope_theta ** (np.arange(0, l.head_dim, 2, dtype=np.float32) / l.head_dim))
    angles = np.arange(l.max_positions, dtype=np.float32)[:, None] * inv_freq[None]
    cos, sin = g.raw("cos_cache", np.cos(angles).astype(np_dtype)), g.raw("sin_cache", np.sin(angles).astype(np_dtype))
    inputs, outputs, renames = [], [], {}
    layer_in = "inputs_embeds"
    residual = None
    for i in range(l.layers):
        p = f"model.layers.{i}."
        gamma = vec(p + "input_layernorm.weight", llama.get(p + "input_layernorm.weight"))
        if residual is None:
            h = g.op("SimplifiedLayerNormalization", [layer_in, gamma], name=p + "input_layernorm", epsilon=l.rms_norm_eps, axis=-1)
            residual = layer_in
        else:
            h, _, _, residual = g.op("SkipSimplifiedLayerNormalization", [layer_in, residual, gamma], outputs=4,
                                     name=p + "input_layernorm", domain=MS_DOMAIN, epsilon=l.rms_norm_eps)
        qkv_w = torch.cat([merged_weight(llama, ckpt, plan, i, "q_proj"), merged_weight(llama, ckpt, plan, i, "k_proj"),
                           merged_weight(llama, ckpt, plan, i, "v_proj")])
        qkv = _matmul_nbits(g, h, qkv_w, p + "qkv_proj", np_dtype)
        attn, present_k, present_v = g.op(
            "GroupQueryAttention", [qkv, "", "", f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens, total, cos, sin],
            outputs=3, name=p + "attn", domain=MS_DOMAIN, num_heads=l.heads, kv_num_heads=l.heads, do_rotary=1,
            rotary_interleaved=0, scale=float(1.0 / np.sqrt(l.head_dim)))
        renames[present_k], renames[present_v] = f"present.{i}.key", f"present.{i}.value"
        o = _matmul_nbits(g, attn, llama.get(p + "self_attn.o_proj.weight"), p + "o_proj", np_dtype)
        gamma = vec(p + "post_attention_layernorm.weight", llama.get(p + "post_attention_layernorm.weight"))
        h, _, _, residual = g.op("SkipSimplifiedLayerNormalization", [o, residual, gamma], outputs=4,
                                 name=p + "post_attention_layernorm", domain=MS_DOMAIN, epsilon=l.rms_norm_eps)
        gate = _matmul_nbits(g, h, llama.get(p + "mlp.gate_proj.weight"), p + "gate_proj", np_dtype)
        up = _matmul_nbits(g, h, llama.get(p + "mlp.up_proj.weight"), p + "up_proj", np_dtype)
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
        layer_in = _matmul_nbits(g, act, llama.get(p + "mlp.down_proj.weight"), p + "down_proj", np_dtype)
        for kind in ("key", "value"):
            inputs.append(tensor_info(f"past_key_values.{i}.{kind}", elem, ["batch", l.heads, "max_sequence", l.head_dim]))
            outputs.append(tensor_info(f"present.{i}.{kind}", elem, ["batch", l.heads, "max_sequence", l.head_dim]))
    h, _, _, _ = g.op("SkipSimplifiedLayerNormalization", [layer_in, residual, vec("model.norm.weight", llama.get("model.norm.weight"))],
                      outputs=4, name="model.norm", domain=MS_DOMAIN, epsilon=l.rms_norm_eps)
    renames[_matmul_nbits(g, h, llama.get("lm_head.weight"), "lm_head", np_dtype)] = "logits"
    g.finish([tensor_info("inputs_embeds", elem, ["batch", "sequence", l.hidden_size]),
              tensor_info("attention_mask", TensorProto.INT64, ["batch", "total_sequence"]), *inputs],
             [tensor_info("logits", elem, ["batch", "sequence", l.vocab_size]), *outputs], renames)
