import type { Box, Entity, ImageSize } from '../grounding/types.ts';
import { gridToPixels } from '../grounding/scale.ts';
import { iouPlusOne } from './iou.ts';

/** Strictly above this IoU a predicted box counts as right, as in the paper's RefCOCO scoring. */
export const IOU_THRESHOLD = 0.5;

/** The answer must open with a box, exactly as the paper's evaluation reads it: `{<d><d><d><d>}` first. */
const LEADING_BOX = /^\{<(\d+)><(\d+)><(\d+)><(\d+)>\}/;

/** Matches counted for tasks that find several boxes. */
export interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

/** REC: the first thing in the answer is a box whose pixel version overlaps the truth with IoU > 0.5 (+1 pixel). */
export function scoreRefer(raw: string, truth: Box, size: ImageSize): boolean {
  const m = LEADING_BOX.exec(raw.trim());
  if (!m) return false;
  const predicted = gridToPixels(m.slice(1, 5).map((v) => Math.min(100, Number(v))) as Box, size);
  return iouPlusOne(predicted, truth) > IOU_THRESHOLD;
}

/** Exact-match normalisation: lower case, trimmed, single spaces, no final full stop. */
export function normalizeAnswer(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim().replace(/\.$/, '').trim();
}

export function scoreExact(answer: string, expected: string): boolean {
  return normalizeAnswer(answer) === normalizeAnswer(expected);
}

/** One-to-one matching, best IoU pairs first; a pair counts when IoU > 0.5 (+1-pixel convention). */
export function matchBoxes(predicted: readonly Box[], truth: readonly Box[]): Counts {
  const pairs = predicted.flatMap((p, i) => truth.map((t, j) => ({ i, j, iou: iouPlusOne(p, t) })));
  pairs.sort((a, b) => b.iou - a.iou);
  const usedP = new Set<number>();
  const usedT = new Set<number>();
  for (const { i, j, iou } of pairs) {
    if (iou <= IOU_THRESHOLD) break;
    if (usedP.has(i) || usedT.has(j)) continue;
    usedP.add(i);
    usedT.add(j);
  }
  return { tp: usedP.size, fp: predicted.length - usedP.size, fn: truth.length - usedT.size };
}

/** Detection: every box the answer gives (pixels), whatever phrase it is under, against the true instances. */
export function scoreDetection(entities: readonly Entity[], truth: readonly Box[]): Counts {
  return matchBoxes(entities.flatMap((e) => e.boxes), truth);
}

/** Phrases compare without case, extra spaces or a leading article: `A red circle` = `red circle`. */
export function normalizePhrase(phrase: string): string {
  return normalizeAnswer(phrase).replace(/^(a|an|the) /, '');
}

/** Grounded caption: (phrase, box) pairs; a pair is right when the phrase matches and the box overlaps. */
export function scoreGrounding(entities: readonly Entity[], truth: readonly { phrase: string; box: Box }[]): Counts {
  const phrases = new Set([...entities.map((e) => normalizePhrase(e.phrase)), ...truth.map((t) => normalizePhrase(t.phrase))]);
  const total: Counts = { tp: 0, fp: 0, fn: 0 };
  for (const phrase of phrases) {
    const predicted = entities.filter((e) => normalizePhrase(e.phrase) === phrase).flatMap((e) => e.boxes);
    const counts = matchBoxes(predicted, truth.filter((t) => normalizePhrase(t.phrase) === phrase).map((t) => t.box));
    total.tp += counts.tp;
    total.fp += counts.fp;
    total.fn += counts.fn;
  }
  return total;
}

/** Words that can name an object: colours and shapes, taken from the true captions (`red circle` → red, circle). */
export interface ObjectVocabulary {
  colours: Set<string>;
  shapes: Set<string>;
}

export function vocabularyOf(objectNames: readonly string[]): ObjectVocabulary {
  const words = objectNames.map((o) => normalizePhrase(o).split(' '));
  return { colours: new Set(words.map((w) => w.slice(0, -1).join(' '))), shapes: new Set(words.map((w) => w.at(-1)!)) };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every `colour shape` mention in a caption, plurals counted once (`two red circles` is one mention). */
export function objectsMentioned(caption: string, vocabulary: ObjectVocabulary): string[] {
  const alternatives = (set: Set<string>) => [...set].filter(Boolean).map(escapeRegExp).sort((a, b) => b.length - a.length).join('|');
  if (vocabulary.colours.size === 0 || vocabulary.shapes.size === 0) return [];
  const mention = new RegExp(`\\b(${alternatives(vocabulary.colours)})\\s+(${alternatives(vocabulary.shapes)})(?:e?s)?\\b`, 'g');
  return [...normalizeAnswer(caption).matchAll(mention)].map((m) => `${m[1]} ${m[2]}`);
}

/** Caption: right when the objects it names are exactly the true objects, as a multiset (order free). */
export function scoreCaption(caption: string, truth: readonly string[], vocabulary: ObjectVocabulary): boolean {
  const sorted = (list: string[]) => [...list].sort().join('|');
  return sorted(objectsMentioned(caption, vocabulary)) === sorted(truth.map(normalizePhrase));
}
