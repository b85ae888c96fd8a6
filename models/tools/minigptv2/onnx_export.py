"""Export a MiniGPTv2 into a model directory: vision.onnx, embed_tokens.onnx, decoder.onnx (opset 17, dynamic
batch / sequence / past axes), model.json and tokenizer.json."""
from __future__ import annotations

import inspect
import shutil
import tempfile
from pathlib import Path

import torch
from torch import nn

from .config import ModelConfig, save_config
from .model import MiniGPTv2

OPSET = 17
# Graphs over this size keep their weights in an external data file (protobuf's 2 GB limit).
EXTERNAL_DATA_BYTES = 2_000_000_000
# torch 2.9 and later export through dynamo by default, which rejects dynamic_axes; these graphs are traced
TRACED = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


class _Vision(nn.Module):
    def __init__(self, m: MiniGPTv2):
        super().__init__()
        self.m = m

    def forward(self, pixel_values):
        return self.m.encode_image(pixel_values)


class _Embed(nn.Module):
    def __init__(self, m: MiniGPTv2):
        super().__init__()
        self.m = m

    def forward(self, input_ids):
        return self.m.embed(input_ids)


class _Decoder(nn.Module):
    def __init__(self, m: MiniGPTv2):
        super().__init__()
        self.m = m

    def forward(self, inputs_embeds, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.m.decode(inputs_embeds, attention_mask, position_ids, past)
        return (logits, *[t for kv in presents for t in kv])


def _export(module, args, path: Path, inputs, outputs, axes, param_bytes: int):
    def export(to: Path):
        torch.onnx.export(module, args, str(to), input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True, **TRACED)

    if param_bytes <= EXTERNAL_DATA_BYTES:
        export(path)
        return
    # The exporter writes one file per tensor for large graphs; gather them into a single `<graph>.data`.
    import onnx
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        export(Path(tmp) / path.name)
        model = onnx.load(str(Path(tmp) / path.name))
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data")


def _bytes(module: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def export_model_dir(model: MiniGPTv2, config: ModelConfig, tokenizer_json_path, out_dir) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    v, l = config.vision, config.llm
    with torch.no_grad():
        vision = _Vision(model)
        _export(vision, (torch.zeros(1, 3, v.image_size, v.image_size),), out / "vision.onnx",
                ["pixel_values"], ["image_embeds"], {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
                _bytes(model.visual_encoder) + _bytes(model.llama_proj))
        _export(_Embed(model), (torch.ones(1, 3, dtype=torch.long),), out / "embed_tokens.onnx",
                ["input_ids"], ["inputs_embeds"],
                {"input_ids": {0: "batch", 1: "sequence"}, "inputs_embeds": {0: "batch", 1: "sequence"}},
                _bytes(model.llama_model.model.embed_tokens))
        # traced with a non-empty past (P=2, T=3, B=2): zero-length pasts are checked on the exported graph
        b, p, t = 2, 2, 3
        past_names, present_names, axes = [], [], {
            "inputs_embeds": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "total_sequence"},
            "position_ids": {0: "batch", 1: "sequence"},
            "logits": {0: "batch", 1: "sequence"}}
        for i in range(l.layers):
            for kind in ("key", "value"):
                past_names.append(f"past_key_values.{i}.{kind}")
                present_names.append(f"present.{i}.{kind}")
                axes[past_names[-1]] = {0: "batch", 2: "past_sequence"}
                axes[present_names[-1]] = {0: "batch", 2: "total_sequence"}
        args = (torch.zeros(b, t, l.hidden_size), torch.ones(b, p + t, dtype=torch.long),
                torch.arange(p, p + t).repeat(b, 1),
                *[torch.zeros(b, l.heads, p, l.head_dim) for _ in past_names])
        _export(_Decoder(model), args, out / "decoder.onnx", ["inputs_embeds", "attention_mask", "position_ids",
                *past_names], ["logits", *present_names], axes, _bytes(model.llama_model))
    save_config(config, out / "model.json")
    if Path(tokenizer_json_path).resolve() != (out / "tokenizer.json").resolve():
        shutil.copyfile(tokenizer_json_path, out / "tokenizer.json")
