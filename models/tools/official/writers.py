"""Writers of the official file formats (safetensors, a Hugging Face LLaMA folder), for the miniature fixture,
the full-size rehearsal and for turning a project model directory into official-format files."""
from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Callable

import torch

_SAFETENSORS_DTYPES = {torch.float16: "F16", torch.float32: "F32"}


class LazyState:
    """A state dict known by names, shapes and dtypes up front, whose tensors are made one at a time, in key
    order, as they are written: a 13 GB LLaMA never has to be in memory at once."""

    def __init__(self, specs: dict[str, tuple[tuple[int, ...], torch.dtype]], make: Callable[[str], torch.Tensor]):
        self.specs, self._make = specs, make

    @classmethod
    def of(cls, tensors: dict) -> "LazyState":
        return cls({n: (tuple(t.shape), t.dtype) for n, t in tensors.items()}, tensors.__getitem__)

    def keys(self) -> list[str]:
        return list(self.specs)

    def make(self, name: str) -> torch.Tensor:
        shape, dtype = self.specs[name]
        t = self._make(name).to(dtype)
        if tuple(t.shape) != shape:
            raise ValueError(f"{name}: made {tuple(t.shape)}, declared {shape}")
        return t

    def nbytes(self) -> int:
        return sum(torch.Size(s).numel() * torch.empty((), dtype=d).element_size() for s, d in self.specs.values())


def write_safetensors(path: Path, state: LazyState | dict, names: list[str] | None = None) -> None:
    """The header first (offsets follow from the declared shapes), then each tensor as it is made."""
    state = state if isinstance(state, LazyState) else LazyState.of(state)
    names = state.keys() if names is None else names
    header, offset = {}, 0
    for name in names:
        shape, dtype = state.specs[name]
        size = torch.Size(shape).numel() * torch.empty((), dtype=dtype).element_size()
        header[name] = {"dtype": _SAFETENSORS_DTYPES[dtype], "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for name in names:
            f.write(state.make(name).contiguous().numpy().tobytes())


def write_llama_folder(folder: Path, tensors: LazyState | dict, config: dict, tokenizer_json: Path,
                       fmt: str = "safetensors") -> None:
    """config.json, two shards + their index (layer 0 split across both, as in the real 7B folders),
    tokenizer.json and tokenizer_config.json."""
    state = tensors if isinstance(tensors, LazyState) else LazyState.of(tensors)
    folder.mkdir(parents=True, exist_ok=True)
    full = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "bos_token_id": 1, "eos_token_id": 2,
            "hidden_act": "silu", "torch_dtype": "float16", **config}
    (folder / "config.json").write_text(json.dumps(full, indent=2), encoding="utf-8")
    names = state.keys()
    shards = [names[: len(names) // 3], names[len(names) // 3:]]
    if fmt == "safetensors":
        prefix, ext, index_name = "model", ".safetensors", "model.safetensors.index.json"
    else:
        prefix, ext, index_name = "pytorch_model", ".bin", "pytorch_model.bin.index.json"
    weight_map = {}
    for i, shard in enumerate(shards):
        file = f"{prefix}-{i + 1:05d}-of-{len(shards):05d}{ext}"
        if fmt == "safetensors":
            write_safetensors(folder / file, state, shard)
        else:
            torch.save({n: state.make(n) for n in shard}, folder / file)
        weight_map.update({n: file for n in shard})
    (folder / index_name).write_text(json.dumps({"metadata": {"total_size": state.nbytes()}, "weight_map": weight_map}, indent=2),
                                     encoding="utf-8")
    shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    (folder / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                                                              "add_bos_token": True}), encoding="utf-8")


def lora_key(layer: int, proj: str, ab: str, spelling: str = "peft") -> str:
    suffix = ".weight" if spelling == "peft" else ".default.weight"
    return f"llama_model.base_model.model.model.layers.{layer}.self_attn.{proj}.lora_{ab}{suffix}"
