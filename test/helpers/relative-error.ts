/** Largest difference relative to the reference's largest magnitude: how parity tests compare float outputs. */
export function relativeError(ours: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (ours.length !== reference.length) throw new Error(`length ${ours.length} != ${reference.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ours.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i]! - reference[i]!));
    scale = Math.max(scale, Math.abs(reference[i]!));
  }
  return diff / scale;
}
