export type Rgb = readonly [number, number, number];

export interface PaletteColour {
  name: string;
  rgb: Rgb;
}

/**
 * Sixteen named colours, one per entity in answer order (cycled past 16), as the official demo colours boxes by
 * entity index. Its list repeats some colours; this one keeps every entry distinct and nameable in text, and
 * stays clear of the light backgrounds and mid-saturation objects of the synthetic scenes so boxes stand out.
 */
export const PALETTE: readonly PaletteColour[] = [
  { name: 'red', rgb: [255, 0, 0] },
  { name: 'green', rgb: [0, 255, 0] },
  { name: 'blue', rgb: [0, 0, 255] },
  { name: 'olive', rgb: [128, 140, 0] },
  { name: 'magenta', rgb: [255, 0, 255] },
  { name: 'cyan', rgb: [0, 255, 255] },
  { name: 'orange', rgb: [255, 100, 0] },
  { name: 'purple', rgb: [128, 0, 128] },
  { name: 'navy', rgb: [0, 0, 128] },
  { name: 'maroon', rgb: [128, 0, 0] },
  { name: 'teal', rgb: [0, 128, 128] },
  { name: 'lime', rgb: [128, 255, 0] },
  { name: 'pink', rgb: [255, 105, 180] },
  { name: 'brown', rgb: [139, 69, 19] },
  { name: 'gold', rgb: [255, 215, 0] },
  { name: 'grey', rgb: [128, 128, 128] },
];

export function colourFor(entityIndex: number): PaletteColour {
  return PALETTE[entityIndex % PALETTE.length]!;
}

/** Black or white, whichever reads better on the colour (WCAG relative luminance threshold). */
export function textColourOn([r, g, b]: Rgb): string {
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return luminance > 140 ? 'rgb(0,0,0)' : 'rgb(255,255,255)';
}

export const css = ([r, g, b]: Rgb): string => `rgb(${r},${g},${b})`;
