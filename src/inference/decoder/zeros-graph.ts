/**
 * The bytes of a one-node ONNX model, `zeros = Expand(0, shape)`: its output is a zero-filled tensor of the shape
 * fed at run time. The WebGPU provider uses it to obtain GPU memory (JS cannot allocate any) for KV caches.
 * Written by hand in protobuf's wire format: a few fields of onnx.proto's ModelProto suffice.
 */

export type ZerosType = 'float32' | 'float16';

/** onnx.proto TensorProto.DataType */
const ELEMENT = { float32: 1, float16: 10, int64: 7 } as const;
const BYTES = { float32: 4, float16: 2 } as const;

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const number = (field: number, value: number): number[] => [...varint(field << 3), ...varint(value)];

function bytes(field: number, payload: number[] | string): number[] {
  const data = typeof payload === 'string' ? [...Buffer.from(payload, 'utf8')] : payload;
  return [...varint((field << 3) | 2), ...varint(data.length), ...data];
}

/** ValueInfoProto of a tensor of known element type and rank `dims` (named dimensions). */
function tensorInfo(name: string, element: number, dims: string[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, bytes(2, d)));
  return bytes(1, name).concat(bytes(2, bytes(1, [...number(1, element), ...bytes(2, shape)])));
}

export function zerosGraph(type: ZerosType): Uint8Array {
  const zero = [...number(2, ELEMENT[type]), ...bytes(8, 'zero'), ...bytes(9, new Array<number>(BYTES[type]).fill(0))];
  const node = [...bytes(1, 'zero'), ...bytes(1, 'shape'), ...bytes(2, 'zeros'), ...bytes(3, 'expand'), ...bytes(4, 'Expand')];
  const graph = [
    ...bytes(1, node),
    ...bytes(2, 'zeros'),
    ...bytes(5, zero),
    ...bytes(11, tensorInfo('shape', ELEMENT.int64, ['rank'])),
    ...bytes(12, tensorInfo('zeros', ELEMENT[type], ['d0', 'd1', 'd2', 'd3'])),
  ];
  const opset = [...bytes(1, ''), ...number(2, 13)];
  return Uint8Array.from([...number(1, 8), ...bytes(7, graph), ...bytes(8, opset)]);
}
