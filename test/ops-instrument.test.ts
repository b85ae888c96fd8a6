import { describe, expect, it } from 'vitest';
import type { BotCore, BotReply } from '../src/bot/types.ts';
import { instrument } from '../src/ops/instrument.ts';
import { BotMetrics } from '../src/ops/metrics.ts';

const timings = { preprocessMs: 3, visionMs: 40, prefillMs: 20, decodeMs: 500, firstTokenMs: 70, tokens: 10, prefillTokens: 30 };

function coreAnswering(replies: BotReply[]): BotCore & { queueLength(): number } {
  return {
    commands: () => [],
    handle: async () => replies.shift()!,
    queueLength: () => 2,
  };
}

const request = (command: string) => ({ key: { platform: 'test', workspace: 'w', channel: 'c' }, user: { id: 'u' }, command, args: {} });

describe('metrics around the framework', () => {
  it('GIVEN answers, a cached follow-up and a refusal THEN the scrape counts each by command and outcome', async () => {
    const metrics = new BotMetrics();
    const core = instrument(
      coreAnswering([
        { kind: 'answer', text: 'a', timings, visionCached: false },
        { kind: 'answer', text: 'b', timings, visionCached: true },
        { kind: 'user-error', text: 'no image' },
      ]),
      metrics,
    );
    const limits = { imageBytes: 1 << 20 };
    await core.handle(request('refer'), {}, limits);
    await core.handle(request('refer'), {}, limits);
    await core.handle(request('vqa'), {}, limits);
    const text = await metrics.registry.metrics();
    expect(text).toContain('minigpt_requests_total{command="refer",outcome="answer"} 2');
    expect(text).toContain('minigpt_requests_total{command="vqa",outcome="user-error"} 1');
    expect(text).toContain('minigpt_conversation_cache_hits_total 1');
    expect(text).toContain('minigpt_vision_seconds_count 1');
    expect(text).toContain('minigpt_time_to_first_token_seconds_count 2');
    expect(text).toContain('minigpt_decode_tokens_per_second_sum 40');
    expect(text).toContain('minigpt_queue_length 2');
  });
});
