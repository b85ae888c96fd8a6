"""A minimal ONNX graph writer that streams weights to disk: each initializer's bytes go straight into
`<graph>.onnx.data` as it is added, so a 7B model is written while only one layer is in memory. Graphs under
1.5 GB are re-saved with their weights inline, like the project's other exports; larger ones keep the data file
(re-saving reads the whole graph in twice, and protobuf stops at 2 GB: EVA ViT-g in fp16 is 1.97 GB)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
MS_DOMAIN = "com.microsoft"
INLINE_LIMIT = 1_500_000_000
ALIGN = 4096  # lets ONNX Runtime memory-map the data file


class GraphWriter:
    def __init__(self, path: Path, weight_dtype: str = "fp32"):
        if weight_dtype not in ("fp32", "fp16"):
            raise ValueError(f"weight dtype must be fp32 or fp16, got {weight_dtype}")
        self.path = Path(path)
        self.data_name = self.path.name + ".data"
        self.weight_dtype = weight_dtype
        self.nodes: list = []
        self.initializers: list = []
        self._data = open(self.path.parent / self.data_name, "wb")
        self._names: set[str] = set()
        self.weight_bytes = 0

    def name(self, base: str) -> str:
        name, i = base, 1
        while name in self._names:
            i += 1
            name = f"{base}_{i}"
        self._names.add(name)
        return name

    def raw(self, name: str, array: np.ndarray) -> str:
        """Any numpy array as an initializer, its bytes appended to the data file."""
        array = np.ascontiguousarray(array)
        name = self.name(name)
        offset = self._data.tell()
        pad = -offset % ALIGN
        if pad:
            self._data.write(b"\0" * pad)
            offset += pad
        self._data.write(array.data)  # the array's own buffer: no second copy
        t = TensorProto(name=name, data_type=onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[array.dtype], dims=array.shape)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.data_name), ("offset", str(offset)), ("length", str(array.nbytes))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        self.initializers.append(t)
        self.weight_bytes += array.nbytes
        return name

    def const(self, name: str, array) -> str:
        """A small constant (shapes, scalars), kept inline."""
        name = self.name(name)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name: str, tensor) -> str:
        """A float weight, stored in the writer's dtype; the graph always sees float32 (fp16 gets a Cast)."""
        array = tensor.detach().float().numpy() if hasattr(tensor, "detach") else np.asarray(tensor, np.float32)
        if self.weight_dtype == "fp32":
            return self.raw(name, array.astype(np.float32))
        stored = self.raw(name + "_fp16", array.astype(np.float16))
        return self.op("Cast", [stored], name=name, to=TensorProto.FLOAT)

    def op(self, op_type: str, inputs: list, name: str | None = None, outputs: int = 1, domain: str = "", **attrs):
        outs = [self.name(f"{name or op_type}" + (f"_{i}" if outputs > 1 else "")) for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name("n_" + outs[0]),
                                           domain=domain or None, **attrs))
        return outs[0] if outputs == 1 else outs

    def finish(self, inputs: list, outputs: list, renames: dict | None = None) -> None:
        """inputs/outputs: ValueInfoProtos; renames maps internal names onto the graph's output names."""
        for internal, public in (renames or {}).items():
            self.nodes.append(helper.make_node("Identity", [internal], [public], name=self.name("n_" + public)))
        self._data.close()
        graph = helper.make_graph(self.nodes, self.path.stem, inputs, outputs, self.initializers)
        domains = {n.domain for n in self.nodes if n.domain}
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)] +
                                  [helper.make_opsetid(d, 1) for d in sorted(domains)], producer_name="minigpt-bot export")
        model.ir_version = 8
        onnx.save(model, str(self.path))
        data_path = self.path.parent / self.data_name
        if self.weight_bytes < INLINE_LIMIT:
            inline = onnx.load(str(self.path))  # reads the data file in
            onnx.save(inline, str(self.path))
            data_path.unlink()


def tensor_info(name: str, elem_type: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, shape)
