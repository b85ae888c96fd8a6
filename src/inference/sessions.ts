import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { providerUnavailable } from './execution-provider.ts';
import { KEEP_FP16, planFp16Weights } from './weight-memory.ts';

export type Device = 'cpu' | 'webgpu' | 'cuda';

export interface SessionOptions {
  device?: Device;
  threads?: number;
}

/** The model directory's three graphs, by role. */
export const SESSION_FILES = {
  vision: 'vision.onnx',
  embedTokens: 'embed_tokens.onnx',
  decoder: 'decoder.onnx',
} as const;
export type SessionName = keyof typeof SESSION_FILES;

export type Feeds = Record<string, ort.Tensor>;

function describeFeeds(feeds: Feeds): string {
  return Object.entries(feeds)
    .map(([name, t]) => `${name}: ${t.type}[${t.dims.join(',')}]`)
    .join(', ');
}

/** The sessions, created once in parallel and shared by every request. */
export class ModelSessions {
  private constructor(
    private readonly sessions: Record<SessionName, ort.InferenceSession>,
    /** The execution provider actually in use (after any fallback to CPU). */
    readonly device: Device,
  ) {}

  /** Opens the graphs on `device`; when that provider is missing, says so once (via `warn`) and uses the CPU. */
  static async create(modelDir: string, options: SessionOptions = {}, warn: (line: string) => void = console.warn): Promise<ModelSessions> {
    const device = options.device ?? 'cpu';
    const base: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.threads ?? availableParallelism(),
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    };
    if (device !== 'cpu') {
      const reason = providerUnavailable(device) ?? (await providerProblem(modelDir, device, base));
      if (!reason) return new ModelSessions(await openAll(modelDir, () => ({ ...base, executionProviders: [device] })), device);
      warn(`inference: execution provider '${device}' is not available (${reason}); running on the CPU`);
    }
    const fp16 = await planFp16Weights(modelDir, SESSION_FILES);
    if (fp16.keep.length > 0) {
      const gb = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);
      warn(`inference: widened to fp32 this model's weights would take ${gb(fp16.widenedBytes)} of ${gb(totalmem())} GiB; `
        + `${fp16.keep.map((n) => SESSION_FILES[n]).join(', ')} keep fp16 weights and widen each as it is used (slower; an int8 or int4 export is faster on a CPU)`);
    }
    const cpu = { ...base, executionProviders: ['cpu'] };
    return new ModelSessions(await openAll(modelDir, (name) => (fp16.keep.includes(name) ? { ...cpu, ...KEEP_FP16 } : cpu)), 'cpu');
  }

  /**
   * Runs one graph after checking the feeds: every missing input is named in one error, shapes on failure.
   * `fetches` names the outputs wanted; a tensor there is a pre-allocated output the graph writes into.
   */
  async run(name: SessionName, feeds: Feeds, fetches?: ort.InferenceSession.FetchesType): Promise<ort.InferenceSession.OnnxValueMapType> {
    const session = this.sessions[name];
    const missing = session.inputNames.filter((n) => !(n in feeds));
    if (missing.length > 0) throw new Error(`${SESSION_FILES[name]}: missing inputs ${missing.join(', ')}`);
    try {
      return await (fetches ? session.run(feeds, fetches) : session.run(feeds));
    } catch (err) {
      throw new Error(`${SESSION_FILES[name]} failed with ${describeFeeds(feeds)}: ${(err as Error).message}`);
    }
  }

  inputNames(name: SessionName): readonly string[] {
    return this.sessions[name].inputNames;
  }

  /** An input's element type and shape as the graph declares them (named dimensions as strings). */
  inputInfo(name: SessionName, input: string): { type: string; shape: readonly (number | string)[] } | undefined {
    const meta = this.sessions[name].inputMetadata.find((m) => m.name === input);
    return meta?.isTensor ? { type: meta.type, shape: meta.shape } : undefined;
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}

/** Tries the provider on the smallest graph first, so a failure is reported once rather than per session. */
async function providerProblem(modelDir: string, device: Device, base: ort.InferenceSession.SessionOptions): Promise<string | undefined> {
  try {
    const probe = await ort.InferenceSession.create(join(modelDir, SESSION_FILES.embedTokens), { ...base, executionProviders: [device], logSeverityLevel: 4 });
    await probe.release();
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

async function openAll(
  modelDir: string,
  options: (name: SessionName) => ort.InferenceSession.SessionOptions,
): Promise<Record<SessionName, ort.InferenceSession>> {
  const names = Object.keys(SESSION_FILES) as SessionName[];
  const sessions = await Promise.all(names.map((n) => ort.InferenceSession.create(join(modelDir, SESSION_FILES[n]), options(n))));
  return Object.fromEntries(names.map((n, i) => [n, sessions[i]!])) as Record<SessionName, ort.InferenceSession>;
}
