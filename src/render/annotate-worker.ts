import { parentPort } from 'node:worker_threads';
import type { Entity } from '../grounding/types.ts';
import { type AnnotateOptions, type AnnotatedImage, annotate } from './annotate.ts';

export interface AnnotateJob {
  id: number;
  image: Uint8Array;
  entities: readonly Entity[];
  options: AnnotateOptions;
}

export type AnnotateDone = { id: number; image: AnnotatedImage } | { id: number; error: string };

const port = parentPort!;
port.on('message', (job: AnnotateJob) => {
  annotate(job.image, job.entities, job.options).then(
    (image) => port.postMessage({ id: job.id, image } satisfies AnnotateDone),
    (err: unknown) => port.postMessage({ id: job.id, error: (err as Error).message } satisfies AnnotateDone),
  );
});
