import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Everything the bot reports in Prometheus format. One registry per process (tests make their own). */
export class BotMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'minigpt_requests_total',
    help: 'Requests by command and outcome (answer, info, user-error, error).',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Read at every scrape; the framework's queue is plugged in by `instrument`. */
  queueSource: () => number = () => 0;

  readonly queueLength: Gauge = new Gauge({
    name: 'minigpt_queue_length',
    help: 'Requests waiting for the engine.',
    registers: [this.registry],
    collect: (): void => this.queueLength.set(this.queueSource()),
  });

  readonly firstToken = new Histogram({
    name: 'minigpt_time_to_first_token_seconds',
    help: 'From the start of a generation to its first token.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  readonly vision = new Histogram({
    name: 'minigpt_vision_seconds',
    help: 'Vision encoder time per image (cached images are not counted).',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });

  readonly tokensPerSecond = new Histogram({
    name: 'minigpt_decode_tokens_per_second',
    help: 'Decode speed of each generation.',
    buckets: [1, 5, 10, 25, 50, 100, 200, 400],
    registers: [this.registry],
  });

  readonly cacheHits = new Counter({
    name: 'minigpt_conversation_cache_hits_total',
    help: 'Follow-ups that reused a conversation\'s image embeddings and KV cache.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
