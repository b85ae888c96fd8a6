import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON, removeDir, ROOT, tempDir } from './helpers/official-export.ts';

// A hand-made miniature of the published files: refs(unc).p is a Python-2 pickle of ref records whose
// file_name carries an annotation suffix; the image file name comes from instances.json.
const REFS = [
  { ref_id: 0, ann_id: 101, image_id: 7, split: 'val', category_id: 1, file_name: 'COCO_train2014_000000000007_101.jpg',
    sentences: [{ sent_id: 0, sent: 'man on the left', raw: 'Man on the left.' }, { sent_id: 1, sent: 'left guy', raw: 'left guy' }] },
  { ref_id: 1, ann_id: 102, image_id: 7, split: 'testA', category_id: 1, file_name: 'COCO_train2014_000000000007_102.jpg',
    sentences: [{ sent_id: 2, sent: 'woman in red', raw: 'woman in red' }] },
  { ref_id: 2, ann_id: 999, image_id: 8, split: 'val', category_id: 1, file_name: 'COCO_train2014_000000000008_999.jpg',
    sentences: [{ sent_id: 3, sent: 'orphan', raw: 'orphan' }] },
];
const INSTANCES = {
  images: [{ id: 7, file_name: 'COCO_train2014_000000000007.jpg', width: 640, height: 480 }],
  annotations: [{ id: 101, image_id: 7, bbox: [10.5, 20, 100, 200], category_id: 1 }, { id: 102, image_id: 7, bbox: [300, 40, 50, 60], category_id: 1 }],
  categories: [{ id: 1, name: 'person' }],
};

describe('refcoco_to_jsonl.py turns a RefCOCO split into eval cases', () => {
  let work: string;
  beforeAll(() => {
    work = tempDir('refcoco-');
    writeFileSync(join(work, 'instances.json'), JSON.stringify(INSTANCES));
    execFileSync(PYTHON, ['-c', `import json, pickle, sys; pickle.dump(json.loads(sys.argv[1]), open(sys.argv[2], 'wb'), protocol=2)`,
      JSON.stringify(REFS), join(work, 'refs(unc).p')]);
    mkdirSync(join(work, 'eval'));
  });
  afterAll(() => removeDir(work));

  const convert = (split: string) => spawnSync(PYTHON, ['-m', 'models.tools.refcoco_to_jsonl', '--refs', join(work, 'refs(unc).p'),
    '--instances', join(work, 'instances.json'), '--images', join(work, 'train2014'), '--split', split, '--out', join(work, 'eval', `${split}.jsonl`)], { cwd: ROOT, encoding: 'utf8' });

  it('writes one case per sentence of the split, box as [x, y, x + w, y + h], image relative to the file', () => {
    const run = convert('val');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('wrote 2 sentences of split val');
    expect(run.stderr).toContain('skipped ref 2'); // its annotation is not in instances.json
    const lines = readFileSync(join(work, 'eval', 'val.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { image: '../train2014/COCO_train2014_000000000007.jpg', task: 'refer', text: 'man on the left', box: [10.5, 20, 110.5, 220] },
      { image: '../train2014/COCO_train2014_000000000007.jpg', task: 'refer', text: 'left guy', box: [10.5, 20, 110.5, 220] },
    ]);
    expect(resolve(join(work, 'eval'), lines[0].image)).toBe(join(work, 'train2014', 'COCO_train2014_000000000007.jpg'));
  });

  it('names the splits a file has when asked for another', () => {
    const run = convert('testB');
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(`refcoco_to_jsonl: no split 'testB' in ${join(work, 'refs(unc).p')} (it has testA, val)`);
  });
});
