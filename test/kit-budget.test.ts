import { describe, expect, it } from 'vitest';
import { CallBudget } from '../adapters/kit/budget.ts';
import { deliver, LiveReply } from '../adapters/kit/live-reply.ts';

describe('a shared call budget', () => {
  it('serves urgent callers (final answers) before progress edits already waiting in the lane', async () => {
    const budget = new CallBudget(30);
    const order: string[] = [];
    const take = (name: string, urgent = false) => budget.take('lane', { urgent }).then(() => order.push(name));
    await Promise.all([take('first'), take('progress 1'), take('progress 2'), take('final', true)]);
    expect(order).toEqual(['first', 'final', 'progress 1', 'progress 2']);
  });

  it('gives a slot up when its caller leaves the line', async () => {
    const budget = new CallBudget(30);
    await budget.take('lane');
    const leaving = new AbortController();
    const left = budget.take('lane', { signal: leaving.signal });
    expect(budget.waiting('lane')).toBe(1);
    leaving.abort();
    expect(await left).toBe(false);
    expect(budget.waiting('lane')).toBe(0);
  });
});

describe('a live reply', () => {
  it('sends only the newest text when updates come faster than the budget allows', async () => {
    const shown: string[] = [];
    const live = new LiveReply({
      budget: new CallBudget(50),
      lane: 'c',
      show: async (t) => void shown.push(t),
      onError: () => {},
    });
    live.update('position 1');
    for (let tries = 0; shown.length === 0 && tries < 100; tries++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 2; i <= 20; i++) live.update(`position ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 120));
    await live.finish();
    expect(shown).toEqual(['position 1', 'position 20']);
  });
});

describe('delivering a final answer', () => {
  const failing = (code: string) => () =>
    Promise.reject(Object.assign(new Error('refused'), { data: { error: code } }));

  it('falls back to a new message, then to an apology that names the reason', async () => {
    const apologies: string[] = [];
    const onError = () => {};
    expect(await deliver({ edit: async () => {}, post: failing('x'), apologise: failing('y'), onError })).toBe(
      'edited',
    );
    expect(
      await deliver({ edit: failing('message_not_found'), post: async () => {}, apologise: failing('y'), onError }),
    ).toBe('posted');
    const told = await deliver({
      edit: failing('message_not_found'),
      post: failing('channel_not_found'),
      apologise: async (reason) => void apologies.push(reason),
      onError,
    });
    expect([told, apologies]).toEqual(['apologised', ['channel_not_found']]);
    expect(await deliver({ post: failing('a'), apologise: failing('b'), onError })).toBe('lost');
  });
});
