"""Readers for the three official inputs: LAVIS's EVA ViT-g file, the MiniGPT-v2 checkpoint (projection + LoRA)
and a Hugging Face LLaMA folder (config.json with safetensors or .bin shards). Each exposes keys, shapes and
float32 tensors by name, so the exporter can check everything before it writes anything and then read one layer
at a time."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .safetensors import SafetensorsFile


def _torch_load(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return torch.load(str(path), map_location="cpu")


class TensorDict:
    """A loaded state dict with the same interface as the lazy readers."""

    def __init__(self, tensors: dict, source: str):
        self.tensors = {k: v for k, v in tensors.items() if isinstance(v, torch.Tensor)}
        self.source = source

    def keys(self) -> list[str]:
        return list(self.tensors)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.tensors[name].shape)

    def get(self, name: str) -> torch.Tensor:
        return self.tensors[name].float()


def load_eva(path: str | Path) -> TensorDict:
    """LAVIS `eva_vit_g.pth` is a bare state dict; a {"model": ...} wrapper is accepted too."""
    obj = _torch_load(Path(path))
    for wrapper in ("model", "state_dict", "module"):
        if isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    return TensorDict(obj, str(path))


def _lookup(config, *names):
    """Walks a nested config that is a dict or an attribute object (an omegaconf DictConfig behaves as both)."""
    node = config
    for name in names:
        if node is None:
            return None
        if isinstance(node, dict) or hasattr(node, "get") and not isinstance(node, (str, bytes)):
            try:
                node = node.get(name)
                continue
            except (TypeError, AttributeError):
                pass
        node = getattr(node, name, None)
    return node


class MiniGPTv2Checkpoint(TensorDict):
    """{"model": state dict of the trained parameters, "config": the training config, ...}."""

    def __init__(self, path: str | Path):
        obj = _torch_load(Path(path))
        if not isinstance(obj, dict) or not isinstance(obj.get("model"), dict):
            raise ValueError(f"{path}: not a MiniGPT-v2 checkpoint (no 'model' state dict)")
        super().__init__(obj["model"], str(path))
        alpha = _lookup(obj.get("config"), "model", "lora_alpha")
        self.lora_alpha = float(alpha) if alpha is not None else None


class LlamaFolder:
    """A Hugging Face LLaMA folder. Safetensors shards are memory-mapped; .bin shards are loaded whole, at most
    two at a time (a layer may straddle two shards)."""

    MAX_OPEN_BIN = 2

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        config_path = self.folder / "config.json"
        if not config_path.is_file():
            raise FileNotFoundError(f"{self.folder}: no config.json (expected a Hugging Face LLaMA folder)")
        self.config = json.loads(config_path.read_text(encoding="utf-8"))
        self.tokenizer_path = self.folder / "tokenizer.json"
        self._where: dict[str, str] = {}
        self._safetensors: dict[str, SafetensorsFile] = {}
        self._bin: dict[str, dict] = {}
        self._bin_shapes: dict[str, tuple[int, ...]] = {}
        for index_name, single in (("model.safetensors.index.json", "model.safetensors"),
                                   ("pytorch_model.bin.index.json", "pytorch_model.bin")):
            index = self.folder / index_name
            if index.is_file():
                self._where = dict(json.loads(index.read_text(encoding="utf-8"))["weight_map"])
                break
            if (self.folder / single).is_file():
                self._where = {name: single for name in self._open(single).keys()}
                break
        else:
            raise FileNotFoundError(f"{self.folder}: no model.safetensors(.index.json) or pytorch_model.bin(.index.json)")
        self.kind = "safetensors" if next(iter(self._where.values()), "").endswith(".safetensors") else "bin"

    def _open(self, file: str):
        if file.endswith(".safetensors"):
            if file not in self._safetensors:
                self._safetensors[file] = SafetensorsFile(self.folder / file)
            return self._safetensors[file]
        if file not in self._bin:
            while len(self._bin) >= self.MAX_OPEN_BIN:
                self._bin.pop(next(iter(self._bin)))
            self._bin[file] = TensorDict(_torch_load(self.folder / file), file)
            for name in self._bin[file].keys():
                self._bin_shapes[name] = self._bin[file].shape(name)
        return self._bin[file]

    def keys(self) -> list[str]:
        return list(self._where)

    def shape(self, name: str) -> tuple[int, ...]:
        file = self._where[name]
        if file.endswith(".bin") and name not in self._bin_shapes:
            self._open(file)
        return self._bin_shapes[name] if file.endswith(".bin") else self._open(file).shape(name)

    def get(self, name: str) -> torch.Tensor:
        return self._open(self._where[name]).get(name)
