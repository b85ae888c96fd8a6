/** A box as [x1, y1, x2, y2]. On the model's 100-unit grid, or in pixels of the original image. */
export type Box = [number, number, number, number];

/** A phrase the model grounded, with every box it gave for it (pixels of the original image). */
export interface Entity {
  phrase: string;
  boxes: Box[];
}

export interface ImageSize {
  width: number;
  height: number;
}
