import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BotMetrics } from './metrics.ts';

/** A named part of the bot that can say whether it is working (the model, each adapter). */
export interface HealthCheck {
  name: string;
  ok(): boolean;
}

export interface HealthServerOptions {
  port: number;
  /** Loopback unless the operator opens it up (the metrics name commands and users' outcomes). */
  host: string;
  metrics: BotMetrics;
  checks: () => readonly HealthCheck[];
}

/** `/healthz` (200 when every check passes, 503 otherwise, JSON either way) and `/metrics` (Prometheus). */
export async function startHealthServer(options: HealthServerOptions): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      const checks = options.checks().map((c) => ({ name: c.name, ok: c.ok() }));
      const healthy = checks.every((c) => c.ok);
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: healthy ? 'ok' : 'unhealthy', checks }));
      return;
    }
    if (path === '/metrics') {
      options.metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
          res.end(body);
        })
        .catch(() => res.writeHead(500).end());
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
