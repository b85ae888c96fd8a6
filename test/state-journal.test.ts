import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ANSWER_AGAIN_WITHIN_MS, answerLeftovers, Journal } from '../adapters/kit/journal.ts';
import type { BotReply, BotRequest, PendingRequest } from '../src/bot/types.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';
import { drawScene } from './helpers/scene.ts';

const LOST: BotReply = { kind: 'error', text: 'lost' };
const warnings: object[] = [];
const errors: object[] = [];
const log = {
  warn: (fields: object) => void warnings.push(fields),
  error: (fields: object) => void errors.push(fields),
};

function request(text: string, image?: Uint8Array): BotRequest {
  const key = { platform: 'slack', workspace: 'T1', channel: 'C1', thread: '1.2' };
  const withImage = image ? { image: { bytes: image, name: 'a.png' } } : {};
  return { key, user: { id: 'U1' }, command: 'chat', args: { text }, ...withImage };
}

describe('the request journal in the state file', () => {
  const stores: SqliteConversationStore[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    warnings.length = 0;
    errors.length = 0;
  });

  function open(path: string): SqliteConversationStore {
    const store = new SqliteConversationStore(path);
    stores.push(store);
    return store;
  }

  it('keeps an accepted request, its image and where its user waits across a reopen, until it is done', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'bot.sqlite');
    const png = drawScene(3).png;
    const journal = new Journal(open(path).journal(), 'slack', log);
    const ticket = journal.accept(request('what is it?', png), { channel: 'C1', threadTs: '1.2' });
    ticket.moved({ ts: '1.3' });
    journal.accept(request('elsewhere'), { channel: 'C2' });
    stores[0]!.close();
    stores.length = 0;

    const reopened = new Journal(open(path).journal(), 'slack', log);
    const pending = reopened.pending();
    expect(pending.map((p) => p.request.args.text)).toEqual(['what is it?', 'elsewhere']);
    expect(pending[0]!.place).toEqual({ channel: 'C1', threadTs: '1.2', ts: '1.3' });
    expect(Buffer.from(pending[0]!.request.image!.bytes).equals(Buffer.from(png))).toBe(true);
    expect(pending[1]!.request.image).toBeUndefined();
    expect(new Journal(stores[0]!.journal(), 'discord', log).pending()).toEqual([]);
  });

  it('answers fresh leftovers, tells old ones they were lost, and keeps those that reached no one', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'bot.sqlite');
    // No retries while the test runs: what reached no one would be retried after an hour.
    const journal = new Journal(open(path).journal(), 'slack', log, [3_600_000]);
    journal.accept(request('fresh'), { channel: 'C1' });
    journal.accept(request('unreachable'), { channel: 'gone' });
    const ran: string[] = [];
    const delivered: [string, string][] = [];
    const run = async (r: BotRequest): Promise<BotReply> => {
      ran.push(String(r.args.text));
      return { kind: 'answer', text: `answer to ${String(r.args.text)}` };
    };
    const deliver = async (entry: PendingRequest, reply: BotReply) => {
      if (entry.place.channel === 'gone') return false;
      delivered.push([String(entry.request.args.text), reply.text]);
      return true;
    };
    journal.deliverWith(deliver);
    await answerLeftovers(journal, run, LOST);
    expect(ran).toEqual(['fresh', 'unreachable']);
    expect(delivered).toEqual([['fresh', 'answer to fresh']]);
    expect(journal.pending().map((p) => p.request.args.text)).toEqual(['unreachable']);

    // Past the window it is not run again; it is told it was lost, and dropped even when that fails too.
    journal.accept(request('old'), { channel: 'C1' });
    await answerLeftovers(journal, run, LOST, Date.now() + ANSWER_AGAIN_WITHIN_MS + 1);
    expect(ran).toEqual(['fresh', 'unreachable']);
    expect(delivered).toEqual([['fresh', 'answer to fresh'], ['old', 'lost']]);
    expect(journal.pending()).toEqual([]);
    expect(warnings).toHaveLength(2);
    journal.stop();
  });

  it('tells a request killed during its image download that it was lost, and runs it once the image is in', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'bot.sqlite');
    const journal = new Journal(open(path).journal(), 'discord', log);
    journal.hold(request('still downloading'), { channel: 'C1' });
    journal.hold(request('downloaded'), { channel: 'C1' }).ready(request('downloaded', drawScene(4).png));
    const ran: string[] = [];
    const delivered: string[] = [];
    const run = async (r: BotRequest): Promise<BotReply> => {
      ran.push(`${String(r.args.text)} with ${r.image ? 'its image' : 'no image'}`);
      return { kind: 'answer', text: 'an answer' };
    };
    const deliver = async (entry: PendingRequest, reply: BotReply) => {
      delivered.push(`${String(entry.request.args.text)}: ${reply.text}`);
      return true;
    };
    journal.deliverWith(deliver);
    await answerLeftovers(journal, run, LOST);
    expect(ran).toEqual(['downloaded with its image']);
    expect(delivered.sort()).toEqual(['downloaded: an answer', 'still downloading: lost']);
    expect(journal.pending()).toEqual([]);
  });

  it('answers requests all the same when the state file cannot be written', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'bot.sqlite');
    const store = open(path);
    const journal = new Journal(store.journal(), 'slack', log);
    store.close();
    stores.length = 0;
    const ticket = journal.accept(request('on a closed file'), { channel: 'C1' });
    ticket.done();
    expect(warnings.map((w) => (w as { step: string }).step)).toEqual(['add', 'remove']);
  });

  it('delivers an answer that reached no one again while running, until it arrives', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'bot.sqlite');
    const journal = new Journal(open(path).journal(), 'slack', log, [10, 10, 10]);
    const tries: string[] = [];
    let arrived = (): void => undefined;
    const arrival = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    journal.deliverWith(async (entry, reply) => {
      tries.push(`${String(entry.place.ts)}: ${reply.text}`);
      if (tries.length < 3) return false;
      setImmediate(arrived);
      return true;
    });
    const ticket = journal.accept(request('what is it?'), { channel: 'C1', threadTs: '1.2' });
    ticket.moved({ ts: '1.3' });
    ticket.undelivered({ kind: 'answer', text: 'a red circle' });
    expect(journal.pending()).toHaveLength(1);
    await arrival;
    expect(tries).toEqual(['1.3: a red circle', '1.3: a red circle', '1.3: a red circle']);
    expect(journal.pending()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('drops an answer with one error line when every retry failed', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'bot.sqlite');
    const dropped = new Promise<object>((resolve) => {
      const journal = new Journal(open(path).journal(), 'discord', { warn: () => undefined, error: resolve }, [10, 10]);
      journal.deliverWith(async () => false);
      journal.accept(request('never'), { channel: 'C1' }).undelivered({ kind: 'answer', text: 'lost in transit' });
    });
    expect(await dropped).toEqual(expect.objectContaining({ tries: 2 }));
    expect(new Journal(stores[0]!.journal(), 'discord', log).pending()).toEqual([]);
  });

  it('keeps an undelivered answer journaled for the next start once stopped', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'journal-')), 'bot.sqlite');
    const tried: string[] = [];
    const stopped = new Journal(open(path).journal(), 'discord', log, [10]);
    stopped.deliverWith(async (entry) => {
      tried.push(String(entry.request.args.text));
      return true;
    });
    stopped.accept(request('kept'), { channel: 'C1' }).undelivered({ kind: 'answer', text: 'later' });
    stopped.stop();
    // A journal still running, its retry due after the stopped one's: once it has tried, the other would have too.
    const running = new Journal(undefined, 'discord', log, [10]);
    await new Promise<void>((resolve) => {
      running.deliverWith(async () => {
        resolve();
        return true;
      });
      running.accept(request('clock'), { channel: 'C1' }).undelivered({ kind: 'answer', text: 'now' });
    });
    expect(tried).toEqual([]);
    expect(stopped.pending().map((p) => p.request.args.text)).toEqual(['kept']);
  });
});
