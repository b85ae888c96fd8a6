// The trainer of the default model, run for a few steps on its toy configuration: what it exports must be a
// model directory the engine can open (the three graphs with the contract's names, model.json, tokenizer.json).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'trainer-smoke-'));
const out = join(dir, 'model');
let log = '';

beforeAll(async () => {
  const { stdout } = await run('/usr/bin/python3', ['-m', 'models.tools.train', '--toy', '--steps', '3', '--threads', '1',
    '--eval-per-task', '0', '--out', out], { timeout: 55_000 });
  log = stdout;
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('python3 -m models.tools.train --toy', () => {
  it('pre-trains the ViT first (stage 0), reports its steps and the exported directory', () => {
    expect(log).toMatch(/vision check, 640x256: colour [0-9.]+ shape [0-9.]+ box error [0-9.]+ grid units/);
    expect(log.indexOf('vision check')).toBeLessThan(log.indexOf('step 1 '));
    expect(log).toMatch(/trained 3 steps/);
    expect(JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'))).toMatchObject({ vision_steps: 3, steps: 3 });
    expect(log).toContain(`exported ${out}`);
  });

  it('writes a model.json with the identifiers and greedy defaults', () => {
    const cfg = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(cfg.format).toBe('minigpt-bot/1');
    expect(cfg.prompt.tasks.refer).toBe('[refer]');
    expect(cfg.generation.do_sample).toBe(false);
    const tokenizer = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
    expect(Object.keys(tokenizer.model.vocab)).toHaveLength(cfg.llm.vocab_size);
  });

  it('exports graphs that onnxruntime-node runs with the contract inputs and outputs', async () => {
    const cfg = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const { image_size: S, tokens: N } = cfg.vision;
    const { hidden_size: D, layers: L, heads: H, head_dim: HD, vocab_size: V } = cfg.llm;

    const vision = await ort.InferenceSession.create(join(out, 'vision.onnx'));
    expect(vision.inputNames).toEqual(['pixel_values']);
    const img = await vision.run({ pixel_values: new ort.Tensor('float32', new Float32Array(3 * S * S), [1, 3, S, S]) });
    expect(img.image_embeds?.dims).toEqual([1, N, D]);

    const embed = await ort.InferenceSession.create(join(out, 'embed_tokens.onnx'));
    expect(embed.inputNames).toEqual(['input_ids']);
    const emb = await embed.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from([1n, 1n, 29n]), [1, 3]) });
    expect(emb.inputs_embeds?.dims).toEqual([1, 3, D]);

    const decoder = await ort.InferenceSession.create(join(out, 'decoder.onnx'));
    const pastNames = Array.from({ length: L }, (_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]).flat();
    expect(decoder.inputNames).toEqual(['inputs_embeds', 'attention_mask', 'position_ids', ...pastNames]);
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: emb.inputs_embeds as ort.Tensor,
      attention_mask: new ort.Tensor('int64', BigInt64Array.from([1n, 1n, 1n]), [1, 3]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from([0n, 1n, 2n]), [1, 3]),
    };
    for (const name of pastNames) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, H, 0, HD]);
    const res = await decoder.run(feeds);
    expect(res.logits?.dims).toEqual([1, 3, V]);
    expect(res['present.0.key']?.dims).toEqual([1, H, 3, HD]);
    expect(Array.from(res.logits?.data as Float32Array).every(Number.isFinite)).toBe(true);
  });
});
