import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

/**
 * A loopback port another program holds while the calling suite runs (held in its `beforeAll`, freed in its
 * `afterAll`); the function returned gives its number inside the suite's tests.
 */
export function takenPort(): () => number {
  let holder: Server | undefined;
  beforeAll(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder = server;
  });
  afterAll(() => new Promise<void>((resolve) => (holder ? holder.close(() => resolve()) : resolve())));
  return () => (holder!.address() as { port: number }).port;
}
