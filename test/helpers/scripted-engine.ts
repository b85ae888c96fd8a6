import sharp from 'sharp';
import type { BotEngine } from '../../src/bot/types.ts';
import type { GenerateRequest, GenerateResult } from '../../src/inference/types.ts';

type Scripted = string | { raw: string; cut: boolean };

/**
 * An engine whose answers a test chooses, for framework behaviour that must not depend on a model's quality
 * (queueing, conversations, box references). It streams the answer word by word like the real one and records
 * every request and every `forget`.
 */
export class ScriptedEngine implements BotEngine {
  readonly requests: GenerateRequest[] = [];
  readonly forgotten: string[] = [];
  /** The image bytes of every request, in order. */
  readonly images: Uint8Array[] = [];
  private readonly arrivals = new Set<() => void>();

  constructor(
    /** The answer's text, or the text and whether it stopped at the token limit. */
    private readonly answer: (request: GenerateRequest) => Scripted | Promise<Scripted>,
    /** Requests it answers at once, as a real engine's batch. */
    readonly capacity = 1,
    /** What its model directory would declare. */
    readonly model: { domain?: string } = {},
  ) {}

  async generate(request: GenerateRequest, onText?: (textSoFar: string) => void): Promise<GenerateResult> {
    this.requests.push(structuredClone({ ...request, image: new Uint8Array() }));
    this.images.push(request.image);
    for (const arrived of [...this.arrivals]) arrived();
    const scripted = await this.answer(request);
    const { raw, cut } = typeof scripted === 'string' ? { raw: scripted, cut: false } : scripted;
    const words = raw.split(/(?<= )/);
    words.forEach((_, i) => {
      onText?.(words.slice(0, i + 1).join(''));
    });
    const meta = await sharp(request.image).metadata();
    return {
      raw,
      ids: [],
      cut,
      imageSize: { width: meta.width!, height: meta.height! },
      timings: { preprocessMs: 0, visionMs: 0, prefillMs: 0, decodeMs: 0, firstTokenMs: 0, tokens: 0, prefillTokens: 0 },
      visionCached: false,
    };
  }

  /** Resolves once `count` requests in all have reached the engine; rejects after the timeout. */
  received(count: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.requests.length < count) return;
        clearTimeout(timer);
        this.arrivals.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.arrivals.delete(check);
        reject(new Error(`scripted engine: ${this.requests.length} of ${count} requests within ${timeoutMs} ms`));
      }, timeoutMs);
      this.arrivals.add(check);
      check();
    });
  }

  forget(conversation: string): void {
    this.forgotten.push(conversation);
  }
}

/** Resolves when `release` is called: lets a test hold a request mid-generation. */
export function gate(): { wait: Promise<void>; release: () => void } {
  let release!: () => void;
  const wait = new Promise<void>((resolve) => (release = resolve));
  return { wait, release };
}
