"""Writes one MatMulNBits graph made by models/tools/quantize.py, with an input and the float32 result of the
dequantized weights computed in numpy, so ONNX Runtime's reading of the packed layout can be checked:
    /usr/bin/python3 -m models.tools.tests.matmulnbits_case OUT_DIR BITS K N"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..quantize import BLOCK, dequantize_blockwise, quantize_blockwise

out, bits, k, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(bits * 1000 + k)
weight = rng.standard_normal((n, k)).astype(np.float32)
weight[0] += 3.0  # a row with no negative values: its zero point sits at the bottom of the range
packed, scales, zeros = quantize_blockwise(weight, bits)
x = rng.standard_normal((3, k)).astype(np.float32)
dequant = dequantize_blockwise(packed, scales, zeros, bits, k)
inits = [numpy_helper.from_array(packed, "B"), numpy_helper.from_array(scales.reshape(-1), "scales"),
         numpy_helper.from_array(zeros.reshape(-1), "zero_points")]
node = helper.make_node("MatMulNBits", ["x", "B", "scales", "zero_points"], ["y"], domain="com.microsoft",
                        K=k, N=n, bits=bits, block_size=BLOCK)
graph = helper.make_graph([node], "mmnb", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, n])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
model.ir_version = 8
out.mkdir(parents=True, exist_ok=True)
onnx.save(model, str(out / "mmnb.onnx"))
(out / "case.json").write_text(json.dumps({
    "x": x.ravel().tolist(), "expected": (x @ dequant.T).ravel().tolist(), "exact": (x @ weight.T).ravel().tolist(),
    "max_weight_error": float(np.abs(dequant - weight).max()),
    "max_step": float(scales.max())}))
