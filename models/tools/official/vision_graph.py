"""vision.onnx from the EVA file and the MiniGPT-v2 checkpoint, one block at a time: patch embedding, CLS,
the position embedding resized to the export's grid and baked in, every block of the file but its last,
ln_vision, CLS dropped, 1x4 concatenation, llama_proj."""
from __future__ import annotations

import math

import numpy as np
import torch
from onnx import TensorProto

from ..minigptv2.model import interpolate_pos_embed

from .graph import GraphWriter, tensor_info
from .plan import ExportPlan


def _linear(g: GraphWriter, x: str, weight: torch.Tensor, bias, name: str) -> str:
    y = g.op("MatMul", [x, g.weight(name + ".weight_t", weight.t())], name=name)
    return g.op("Add", [y, g.weight(name + ".bias", bias)], name=name + "_bias") if bias is not None else y


def write_vision(path, eva, ckpt, plan: ExportPlan, weight_dtype: str) -> None:
    v = plan.vision
    w, heads = v.width, v.heads
    g = GraphWriter(path, weight_dtype)
    batch = g.op("Slice", [g.op("Shape", ["pixel_values"]), g.const("zero", np.array([0])), g.const("one", np.array([1]))],
                 name="batch")
    x = g.op("Conv", ["pixel_values", g.weight("patch_embed.weight", eva.get("patch_embed.proj.weight")),
                      g.weight("patch_embed.bias", eva.get("patch_embed.proj.bias"))],
             name="patch_embed", kernel_shape=[v.patch_size] * 2, strides=[v.patch_size] * 2)
    x = g.op("Reshape", [x, g.const("shape_bwn", np.array([0, w, -1]))])
    x = g.op("Transpose", [x], perm=[0, 2, 1])  # [B, grid*grid, W] in raster order
    cls_shape = g.op("Concat", [batch, g.const("one_w", np.array([1, w]))], axis=0)
    cls = g.op("Expand", [g.weight("cls_token", eva.get("cls_token")), cls_shape], name="cls")
    x = g.op("Concat", [cls, x], axis=1)
    pos = interpolate_pos_embed(eva.get("pos_embed"), v.grid)
    x = g.op("Add", [x, g.weight("pos_embed", pos)], name="embedded")
    scale = g.const("attn_scale", np.array((w // heads) ** -0.5, dtype=np.float32))
    sqrt_half = g.const("sqrt_half", np.array(1 / math.sqrt(2), dtype=np.float32))
    one, half = g.const("f_one", np.array(1.0, np.float32)), g.const("f_half", np.array(0.5, np.float32))
    for n in range(v.layers):
        p = f"blocks.{n}."

        def t(key):
            return eva.get(p + key)

        h = g.op("LayerNormalization", [x, g.weight(p + "norm1.weight", t("norm1.weight")),
                                        g.weight(p + "norm1.bias", t("norm1.bias"))], epsilon=1e-6, axis=-1)
        qkv_bias = torch.cat([t("attn.q_bias"), torch.zeros_like(t("attn.v_bias")), t("attn.v_bias")])
        qkv = _linear(g, h, t("attn.qkv.weight"), qkv_bias, p + "qkv")
        qkv = g.op("Reshape", [qkv, g.const("shape_qkv", np.array([0, 0, 3, heads, w // heads]))])
        qkv = g.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])
        q, k, val = g.op("Split", [qkv], outputs=3, axis=0, name=p + "qkv_split")
        axis0 = g.const("axis0", np.array([0]))
        q, k, val = (g.op("Squeeze", [y, axis0]) for y in (q, k, val))
        scores = g.op("MatMul", [g.op("Mul", [q, scale]), g.op("Transpose", [k], perm=[0, 1, 3, 2])])
        attn = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), val])
        attn = g.op("Reshape", [g.op("Transpose", [attn], perm=[0, 2, 1, 3]), g.const("shape_bnw", np.array([0, 0, w]))])
        x = g.op("Add", [x, _linear(g, attn, t("attn.proj.weight"), t("attn.proj.bias"), p + "proj")])
        h = g.op("LayerNormalization", [x, g.weight(p + "norm2.weight", t("norm2.weight")),
                                        g.weight(p + "norm2.bias", t("norm2.bias"))], epsilon=1e-6, axis=-1)
        h = _linear(g, h, t("mlp.fc1.weight"), t("mlp.fc1.bias"), p + "fc1")
        gelu = g.op("Mul", [g.op("Mul", [h, half]), g.op("Add", [g.op("Erf", [g.op("Mul", [h, sqrt_half])]), one])])
        x = g.op("Add", [x, _linear(g, gelu, t("mlp.fc2.weight"), t("mlp.fc2.bias"), p + "fc2")], name=f"block{n}")
    if plan.ln_vision_from_checkpoint:
        ln_w, ln_b = ckpt.get("ln_vision.weight"), ckpt.get("ln_vision.bias")
    else:  # the official model creates ln_vision fresh and never trains it: identity affine
        ln_w, ln_b = torch.ones(w), torch.zeros(w)
    x = g.op("LayerNormalization", [x, g.weight("ln_vision.weight", ln_w), g.weight("ln_vision.bias", ln_b)],
             epsilon=1e-5, axis=-1)
    big = np.iinfo(np.int64).max
    x = g.op("Slice", [x, g.const("from1", np.array([1])), g.const("to_end", np.array([big])), g.const("axis1", np.array([1]))])
    # groups of `concat` consecutive raster-order tokens (a 1x4 strip)
    x = g.op("Reshape", [x, g.const("shape_concat", np.array([0, -1, v.concat * w]))])
    x = _linear(g, x, ckpt.get("llama_proj.weight"), ckpt.get("llama_proj.bias"), "llama_proj")
    g.finish([tensor_info("pixel_values", TensorProto.FLOAT, ["batch", 3, v.image_size, v.image_size])],
             [tensor_info("image_embeds", TensorProto.FLOAT, ["batch", v.tokens, plan.llm.hidden_size])],
             {x: "image_embeds"})
