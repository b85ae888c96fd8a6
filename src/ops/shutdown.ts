import { settleWithin } from './in-flight.ts';
import { message } from '../bot/messages.ts';
import type { BotCore, BotReply } from '../bot/types.ts';

/** What a request gets when the bot stops before it is answered, or when it arrives during the stop. */
const RESTARTING: BotReply = { kind: 'info', text: message('restarting'), error: 'restarting' };

/** Extra time an adapter gets, past the grace period, to post the last replies before it disconnects. */
const LAST_REPLIES_MS = 10_000;

interface InFlight {
  work: Promise<unknown>;
  cancel(): void;
}

/**
 * Sits between the adapters and the framework and knows every request in progress, so a shutdown can wait for
 * them and, past its grace period, answer the rest itself ("restarting, please ask again") through the adapter's
 * normal reply path. A cancelled request's late text is dropped so it cannot overwrite that message.
 */
export class ShutdownGate {
  private closing = false;
  private readonly inFlight = new Set<InFlight>();

  wrap(core: BotCore & { queueLength(): number }): BotCore & { queueLength(): number } {
    return {
      queueLength: () => core.queueLength(),
      commands: () => core.commands(),
      handle: async (request, stream, limits) => {
        if (this.closing) return RESTARTING;
        let cancelled = false;
        const work = core.handle(
          request,
          {
            onText: (text) => void (cancelled || stream.onText?.(text)),
            onQueued: (position) => void (cancelled || stream.onQueued?.(position)),
          },
          limits,
        );
        let cancel!: () => void;
        const cancelledReply = new Promise<BotReply>((resolve) => {
          cancel = () => {
            cancelled = true;
            resolve(RESTARTING);
          };
        });
        const entry: InFlight = { work, cancel };
        this.inFlight.add(entry);
        try {
          return await Promise.race([work, cancelledReply]);
        } finally {
          this.inFlight.delete(entry);
        }
      },
    };
  }

  /** Requests in progress now. */
  get running(): number {
    return this.inFlight.size;
  }

  /**
   * Takes no new requests (they are told the bot is restarting), waits up to `graceMs` for those in progress,
   * then answers the rest with the restarting message. Resolves with how many were cancelled.
   */
  async settle(graceMs: number): Promise<number> {
    this.closing = true;
    await settleWithin([...this.inFlight].map((r) => r.work), graceMs);
    const left = [...this.inFlight];
    for (const request of left) request.cancel();
    return left.length;
  }
}

export interface ShutdownSteps {
  gate: ShutdownGate;
  /** Each adapter stops taking events at once and disconnects once its replies are posted (or `graceMs` passed). */
  adapters: readonly { stop(graceMs?: number): Promise<void> }[];
  graceMs: number;
  /** Abandons the generations still running when the grace period is over. */
  abortEngine(): Promise<void>;
  /** What remains once every reply is out: the queue, the engine, the health server, the state file. */
  closeRest(): Promise<void>;
  log: { info(fields: object, message?: string): void; warn(fields: object, message?: string): void };
}

/**
 * SIGTERM's order: stop taking new work, let running answers finish within the grace period, cancel the rest
 * with a message to their users, let the adapters post the last replies, then flush state.
 */
export async function shutDownGracefully(steps: ShutdownSteps): Promise<void> {
  const running = steps.gate.running;
  steps.log.info({ running, graceSeconds: steps.graceMs / 1000 }, 'shutting down');
  const stopping = steps.adapters.map((a) => a.stop(steps.graceMs + LAST_REPLIES_MS));
  const cancelled = await steps.gate.settle(steps.graceMs);
  if (cancelled > 0) {
    steps.log.warn({ cancelled }, 'shutdown: grace period over; answers in progress cancelled and their users told');
    await steps.abortEngine();
  }
  await Promise.allSettled(stopping);
  await steps.closeRest();
  steps.log.info({ finished: running - cancelled, cancelled }, 'shut down');
}
