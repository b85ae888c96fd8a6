"""A small reader for the safetensors format: an 8-byte little-endian header length, a JSON header mapping each
tensor name to dtype / shape / byte range, then the raw little-endian tensors. The file is memory-mapped, so
opening a 13 GB shard costs nothing and a tensor is read only when asked for."""
from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path

import numpy as np
import torch

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


class SafetensorsFile:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if len(self._map) < 8:
            raise ValueError(f"{self.path}: not a safetensors file (too short)")
        (header_len,) = struct.unpack("<Q", self._map[:8])
        if header_len > len(self._map) - 8:
            raise ValueError(f"{self.path}: not a safetensors file (header length {header_len})")
        header = json.loads(bytes(self._map[8:8 + header_len]))
        header.pop("__metadata__", None)
        self._base = 8 + header_len
        self._entries = header

    def keys(self) -> list[str]:
        return list(self._entries)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._entries[name]["shape"])

    def get(self, name: str) -> torch.Tensor:
        """The tensor as float32 (bf16 widened by hand: numpy has no bfloat16)."""
        e = self._entries[name]
        start, end = e["data_offsets"]
        raw = self._map[self._base + start:self._base + end]
        if e["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            array = bits.view(np.float32)
        elif e["dtype"] in _DTYPES:
            array = np.frombuffer(raw, dtype=_DTYPES[e["dtype"]])
        else:
            raise ValueError(f"{self.path}: tensor {name} has unsupported dtype {e['dtype']}")
        return torch.from_numpy(array.reshape(e["shape"]).astype(np.float32, copy=True))
