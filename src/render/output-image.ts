/** An annotated image ready to upload. */
export interface OutputImage {
  bytes: Uint8Array;
  mime: 'image/png' | 'image/jpeg';
  name: string;
}
