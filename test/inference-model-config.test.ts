import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generationConfig, parseModelInfo } from '../src/inference/model-config.ts';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';

const text = readFileSync(`${MINI_MODEL_DIR}/model.json`, 'utf8');

describe('model.json', () => {
  it('reads the mini model and maps generation defaults, with overrides on top', () => {
    const model = parseModelInfo(text);
    expect(model.vision.tokens).toBe(16);
    expect(generationConfig(model, { maxNewTokens: 7 })).toMatchObject({ maxNewTokens: 7, doSample: true, topK: 50, topP: 0.9 });
  });

  it('names every bad key in one message', () => {
    const broken = JSON.parse(text);
    delete broken.llm.vocab_size;
    broken.vision.image_size = -1;
    expect(() => parseModelInfo(JSON.stringify(broken), 'x/model.json')).toThrow(/x\/model\.json: .*vision\.image_size.*llm\.vocab_size/);
  });

  it('says when the file is not JSON', () => {
    expect(() => parseModelInfo('{ nope', 'm.json')).toThrow(/m\.json: not valid JSON/);
  });
});
