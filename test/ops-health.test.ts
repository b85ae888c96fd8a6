import { afterEach, describe, expect, it } from 'vitest';
import { BotMetrics } from '../src/ops/metrics.ts';
import { startHealthServer, type HealthCheck } from '../src/ops/health-server.ts';

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(checks: HealthCheck[]) {
  const metrics = new BotMetrics();
  const server = await startHealthServer({ port: 0, host: '127.0.0.1', metrics, checks: () => checks });
  servers.push(server);
  return { metrics, url: server.url };
}

describe('health and metrics endpoint', () => {
  it('GIVEN every part healthy THEN /healthz answers 200 with each check', async () => {
    const { url } = await start([{ name: 'model', ok: () => true }, { name: 'discord', ok: () => true }]);
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      checks: [{ name: 'model', ok: true }, { name: 'discord', ok: true }],
    });
  });

  it('GIVEN a disconnected adapter THEN /healthz answers 503 and names it', async () => {
    const { url } = await start([{ name: 'model', ok: () => true }, { name: 'slack', ok: () => false }]);
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { name: string; ok: boolean }[] };
    expect(body.checks.find((c) => !c.ok)?.name).toBe('slack');
  });

  it('GIVEN requests served THEN /metrics reports them by command and outcome in Prometheus text', async () => {
    const { url, metrics } = await start([]);
    metrics.requests.inc({ command: 'refer', outcome: 'answer' }, 2);
    metrics.queueSource = () => 3;
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('minigpt_requests_total{command="refer",outcome="answer"} 2');
    expect(text).toContain('minigpt_queue_length 3');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('GIVEN an unknown path or method THEN it answers 404 / 405', async () => {
    const { url } = await start([]);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
