/**
 * IEEE 754 half precision <-> float32, for graphs with float16 inputs and outputs: Node 20 has no Float16Array,
 * and onnxruntime-node exchanges float16 tensors as their raw bits in a Uint16Array.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds `value` to the nearest half, ties to even; overflow gives ±Infinity, NaN stays NaN (quiet). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e > 0) return sign | roundShift((e << 23) | mantissa, 13);
  // Below the smallest normal half: a subnormal (steps of 2^-24), or zero when under half a step.
  if (e < -10) return sign;
  return sign | roundShift(mantissa | 0x800000, 14 - e);
}

/** `value >> shift` rounded to nearest, ties to even; a carry out of the mantissa correctly bumps the exponent. */
function roundShift(value: number, shift: number): number {
  const half = 1 << (shift - 1);
  const rest = value & ((1 << shift) - 1);
  const kept = value >>> shift;
  return rest > half || (rest === half && kept & 1) ? kept + 1 : kept;
}

export function halfToFloat(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

export function toHalfArray(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToHalf(values[i]!);
  return out;
}

export function fromHalfArray(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]!);
  return out;
}
