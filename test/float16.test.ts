import { describe, expect, it } from 'vitest';
import { floatToHalf, fromHalfArray, halfToFloat, toHalfArray } from '../src/inference/float16.ts';

// Bit patterns from IEEE 754 binary16: sign 1 bit, exponent 5 bits (bias 15), mantissa 10 bits.
describe('float16 conversion', () => {
  it('encodes exact values, the largest half and signed zero', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [0, 0x0000], [-0, 0x8000],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [-(2 ** -24), 0x8001], [1023 * 2 ** -24, 0x03ff], [1 + 2 ** -10, 0x3c01],
    ];
    for (const [value, bits] of cases) expect([value, floatToHalf(value)]).toEqual([value, bits]);
  });

  it('rounds to nearest with ties to even, across the normal and subnormal ranges', () => {
    expect(floatToHalf(0.1)).toBe(0x2e66); // 0.0999755859375
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway between 0x3c00 and 0x3c01: the even one
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway between 0x3c01 and 0x3c02
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just past halfway
    expect(floatToHalf(2 - 2 ** -12)).toBe(0x4000); // the carry moves into the exponent
    expect(floatToHalf(2 ** -25)).toBe(0x0000); // half the smallest subnormal: ties to zero
    expect(floatToHalf(2 ** -25 * 1.001)).toBe(0x0001);
    expect(floatToHalf(3 * 2 ** -25)).toBe(0x0002); // 1.5 steps: ties to the even step
    expect(floatToHalf(2 ** -14 - 2 ** -25)).toBe(0x0400); // the largest subnormal rounds up into the normals
    expect(floatToHalf(1e-8)).toBe(0x0000);
    expect(floatToHalf(-1e-8)).toBe(0x8000);
  });

  it('overflows to infinity only past the rounding boundary, and keeps Infinity and NaN', () => {
    expect(floatToHalf(65519)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00); // halfway to 65536, ties to even: infinity
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(-1e6)).toBe(0xfc00);
    expect(floatToHalf(Infinity)).toBe(0x7c00);
    expect(floatToHalf(-Infinity)).toBe(0xfc00);
    const nan = floatToHalf(NaN);
    expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0).toBe(true);
  });

  it('decodes normals, subnormals, infinities and NaN', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(halfToFloat(0x0400)).toBe(2 ** -14);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('round-trips every half that is a number, through the array forms', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i).filter((h) => (h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0);
    expect(toHalfArray(fromHalfArray(all))).toEqual(all);
  });
});
