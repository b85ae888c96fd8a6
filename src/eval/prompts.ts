import type { ImageSize } from '../grounding/types.ts';
import type { TaskId } from '../inference/types.ts';
import { identifyQuestion } from '../grounding/format.ts';
import { pixelsToGrid } from '../grounding/scale.ts';
import type { EvalCase } from './cases.ts';

export interface PromptOptions {
  /** RefCOCO-style phrasing of the paper's evaluation: `give me the location of {phrase}`. */
  refcocoPrompt?: boolean;
}

/** The text sent after the task identifier, as the paper's demo and evaluation phrase each task. */
export function promptFor(c: EvalCase, size: ImageSize, options: PromptOptions = {}): { task: TaskId; question: string } {
  switch (c.task) {
    case 'refer':
      return { task: 'refer', question: options.refcocoPrompt ? `give me the location of ${c.text}` : c.text };
    case 'identify':
      return { task: 'identify', question: identifyQuestion(pixelsToGrid(c.box, size)) };
    case 'vqa':
      return { task: 'vqa', question: c.text };
    case 'detection':
      return { task: 'detection', question: c.text };
    case 'caption':
      return { task: 'caption', question: 'briefly describe this image.' };
    case 'grounding':
      return { task: 'grounding', question: 'describe this image in detail' };
  }
}
