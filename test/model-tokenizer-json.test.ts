// models/tools/tokenizer.json as read by Hugging Face's tokenizers.js must give the ids the Python reference
// computed (the goldens), so the TypeScript engine can use a maintained library for the BPE itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';

const golden = JSON.parse(readFileSync('test/fixtures/golden/mini.json', 'utf8')) as {
  tokenizer: { text: string; ids: number[]; decoded: string }[];
  tokenizer_fuzz: { text: string; ids: number[] }[];
};
const json = readFileSync('models/tools/tokenizer.json', 'utf8');
const tokenizer = new Tokenizer(JSON.parse(json), {});
// Strings that are exactly a special token's text: the library maps those to the special id on purpose;
// the engine must encode user text so that this never happens (checked in the engine's own tests).
const SPECIAL_TEXT = /<s>|<\/s>|<unk>/;

describe('project tokenizer.json', () => {
  it('is the one copied into the mini model directory', () => {
    expect(readFileSync('models/mini/tokenizer.json', 'utf8')).toBe(json);
  });

  it('has the LLaMA layout: specials, 256 byte pieces, then the word marker', () => {
    expect(tokenizer.encode('hello', { add_special_tokens: true }).ids[0]).toBe(1);
    const vocab = JSON.parse(json).model.vocab as Record<string, number>;
    expect([vocab['<unk>'], vocab['<s>'], vocab['</s>'], vocab['<0x00>'], vocab['<0xFF>'], vocab['\u2581']])
      .toEqual([0, 1, 2, 3, 258, 259]);
    expect(Object.keys(vocab).length).toBe(1000);
  });

  it('encodes the golden texts and 200 random strings exactly as the Python reference', () => {
    const cases = [...golden.tokenizer, ...golden.tokenizer_fuzz].filter((c) => !SPECIAL_TEXT.test(c.text));
    expect(cases.length).toBeGreaterThan(200);
    for (const c of cases) {
      expect(tokenizer.encode(c.text, { add_special_tokens: false }).ids, JSON.stringify(c.text)).toEqual(c.ids);
    }
  });

  it('decodes back to the golden text, bytes fused and the leading space stripped', () => {
    for (const c of golden.tokenizer.filter((g) => g.ids.length > 0)) {
      expect(tokenizer.decode(c.ids, { skip_special_tokens: true })).toBe(c.decoded);
    }
    expect(golden.tokenizer.find((c) => c.text.startsWith('emoji'))!.decoded).toBe('emoji \u{1F600}\u{1F44D}\u{1F3FD}');
  });

  it('keeps world words whole and digits and box punctuation single', () => {
    const pieces = (t: string) => tokenizer.tokenize(t, { add_special_tokens: false });
    expect(pieces('the purple triangle')).toEqual(['\u2581the', '\u2581purple', '\u2581triangle']);
    expect(pieces('{<34><100>}').filter((p: string) => p !== '\u2581')).toEqual(['{', '<', '3', '4', '>', '<', '1', '0', '0', '>', '}']);
  });
});

describe('the 32,000-id tokenizer of the full-size rehearsal (make_official_fixture.py --full)', () => {
  // widened by joining learned pieces; the Python reference encodes with the same merge ranks
  const script = `
import json, sys
from models.tools.minigptv2.tokenizer import Tokenizer, read_tokenizer, tokenizer_json, widen
path = sys.argv[1]
open(path, 'w').write(json.dumps(tokenizer_json(*widen(*read_tokenizer('models/tools/tokenizer.json'), 32000)), ensure_ascii=False))
tok = Tokenizer(path)
print(json.dumps([tok.encode(t) for t in json.loads(sys.stdin.read())]))`;
  const texts = [...golden.tokenizer, ...golden.tokenizer_fuzz].map((c) => c.text).filter((t) => !SPECIAL_TEXT.test(t));
  texts.push('the circle, the circles? refresh, resh, a circle,ving', 'please describe this image in detail');
  const dir = mkdtempSync(join(tmpdir(), 'tok32k-'));
  const path = join(dir, 'tokenizer.json');
  const expected = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, path], { input: JSON.stringify(texts), encoding: 'utf8' })) as number[][];
  const wideJson = JSON.parse(readFileSync(path, 'utf8'));
  const wide = new Tokenizer(wideJson, {});
  rmSync(dir, { recursive: true, force: true });

  it('has 32,000 ids in the LLaMA layout and uses the added pieces', () => {
    const vocab = wideJson.model.vocab as Record<string, number>;
    expect(Object.keys(vocab).length).toBe(32000);
    expect([vocab['<unk>'], vocab['<s>'], vocab['</s>'], Math.max(...Object.values(vocab))]).toEqual([0, 1, 2, 31999]);
    expect(wide.encode('hello', { add_special_tokens: true }).ids[0]).toBe(1);
    expect(expected.flat().some((id) => id >= 1000)).toBe(true);
    expect(Math.max(...expected.flat())).toBeLessThan(32000);
  });

  it('encodes as the Python reference does, and decodes back', () => {
    texts.forEach((text, i) => {
      expect(wide.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text)).toEqual(expected[i]);
    });
    expect(wide.decode(expected.at(-1)!, { skip_special_tokens: true })).toBe('please describe this image in detail');
  });
});
