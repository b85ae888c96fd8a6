import type { BotCore } from '../bot/types.ts';
import type { BotMetrics } from './metrics.ts';

/**
 * The same BotCore, counting every request by command and outcome and recording the engine's timings, so the
 * adapters stay unaware of metrics.
 */
export function instrument(core: BotCore & { queueLength(): number }, metrics: BotMetrics): BotCore {
  metrics.queueSource = () => core.queueLength();
  return {
    commands: () => core.commands(),
    async handle(request, stream, limits) {
      const reply = await core.handle(request, stream, limits);
      metrics.requests.inc({ command: request.command, outcome: reply.kind });
      const { timings } = reply;
      if (timings) {
        metrics.firstToken.observe(timings.firstTokenMs / 1000);
        if (!reply.visionCached) metrics.vision.observe(timings.visionMs / 1000);
        if (timings.tokens > 1 && timings.decodeMs > 0) metrics.tokensPerSecond.observe(timings.tokens / (timings.decodeMs / 1000));
      }
      if (reply.visionCached) metrics.cacheHits.inc();
      return reply;
    },
  };
}
