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

/** A user's mistake as a value: an identifier code can branch on, and a short message a person can read. */
export interface Failure<E extends string = string> {
  ok: false;
  error: E;
  message: string;
}

/** Parsers of user input return this instead of throwing. */
export type Result<T, E extends string = string> = { ok: true; value: T } | Failure<E>;

/** One drawn box as users see it: `#number`, counted over entities in order, then each entity's boxes in order. */
export interface NumberedBox {
  number: number;
  entityIndex: number;
  phrase: string;
  box: Box;
}
