"""Writers of the official file formats (safetensors, a Hugging Face LLaMA folder), for the miniature fixture
and for turning a project model directory into official-format files."""
from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import torch

_SAFETENSORS_DTYPES = {torch.float16: "F16", torch.float32: "F32"}


def write_safetensors(path: Path, tensors: dict) -> None:
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        raw = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": _SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for raw in blobs:
            f.write(raw)


def write_llama_folder(folder: Path, tensors: dict, config: dict, tokenizer_json: Path, fmt: str = "safetensors") -> None:
    """config.json, two shards + their index (layer 0 split across both, as in the real 7B folders),
    tokenizer.json and tokenizer_config.json."""
    folder.mkdir(parents=True, exist_ok=True)
    full = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "bos_token_id": 1, "eos_token_id": 2,
            "hidden_act": "silu", "torch_dtype": "float16", **config}
    (folder / "config.json").write_text(json.dumps(full, indent=2), encoding="utf-8")
    names = list(tensors)
    shards = [names[: len(names) // 3], names[len(names) // 3:]]
    if fmt == "safetensors":
        prefix, ext, index_name = "model", ".safetensors", "model.safetensors.index.json"
    else:
        prefix, ext, index_name = "pytorch_model", ".bin", "pytorch_model.bin.index.json"
    weight_map = {}
    for i, shard in enumerate(shards):
        file = f"{prefix}-{i + 1:05d}-of-{len(shards):05d}{ext}"
        part = {n: tensors[n] for n in shard}
        if fmt == "safetensors":
            write_safetensors(folder / file, part)
        else:
            torch.save(part, folder / file)
        weight_map.update({n: file for n in shard})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    (folder / index_name).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2),
                                     encoding="utf-8")
    shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    (folder / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                                                              "add_bos_token": True}), encoding="utf-8")


def lora_key(layer: int, proj: str, ab: str, spelling: str = "peft") -> str:
    suffix = ".weight" if spelling == "peft" else ".default.weight"
    return f"llama_model.base_model.model.model.layers.{layer}.self_attn.{proj}.lora_{ab}{suffix}"
