"""Blockwise weight-only quantization in ONNX Runtime's MatMulNBits layout (com.microsoft): each output row's
weights are cut into blocks of `block` along K; each block gets a float scale and an unsigned zero point, and
is stored as unsigned `bits`-bit integers, two 4-bit values per byte (low nibble first).
Dequantized weight = (q - zero_point) * scale."""
from __future__ import annotations

import numpy as np

BLOCK = 32


def quantize_blockwise(weight: np.ndarray, bits: int, block: int = BLOCK):
    """weight [N, K] float32 (one row per output) -> (packed uint8 [N, blocks, block*bits/8],
    scales float32 [N, blocks], zero_points uint8 [N, ceil(blocks*bits/8)])."""
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, got {bits}")
    n, k = weight.shape
    blocks = -(-k // block)
    w = np.zeros((n, blocks * block), dtype=np.float32)
    w[:, :k] = weight
    w = w.reshape(n, blocks, block)
    qmax = (1 << bits) - 1
    # the range always includes 0, so zero weights (and the padding) stay exactly zero
    lo = np.minimum(w.min(axis=2), 0.0)
    hi = np.maximum(w.max(axis=2), 0.0)
    scale = (hi - lo) / qmax
    scale[scale == 0] = 1.0
    zero = np.clip(np.round(-lo / scale), 0, qmax)
    q = np.clip(np.round(w / scale[..., None]) + zero[..., None], 0, qmax).astype(np.uint8)
    zero = zero.astype(np.uint8)
    if bits == 4:
        q = q[..., 0::2] | (q[..., 1::2] << 4)
        if blocks % 2:
            zero = np.concatenate([zero, np.zeros((n, 1), dtype=np.uint8)], axis=1)
        zero = zero[:, 0::2] | (zero[:, 1::2] << 4)
    return np.ascontiguousarray(q), scale.astype(np.float32), np.ascontiguousarray(zero)


def dequantize_blockwise(packed: np.ndarray, scale: np.ndarray, zero: np.ndarray, bits: int, k: int) -> np.ndarray:
    """The inverse, [N, K] float32: what the graph computes with, for error checks."""
    n, blocks, _ = packed.shape
    if bits == 4:
        q = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(n, blocks, -1)
        zero = np.stack([zero & 0x0F, zero >> 4], axis=-1).reshape(n, -1)[:, :blocks]
    else:
        q = packed
    w = (q.astype(np.float32) - zero[..., None].astype(np.float32)) * scale[..., None]
    return w.reshape(n, -1)[:, :k]
