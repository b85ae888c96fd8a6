import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import WebSocket from 'ws';
import { processTree, until, type BotProcess } from '../../test/helpers/bot-process.ts';

/** The worker threads a bot runs, by the bootstrap file each starts from. */
const BOOTSTRAPS = {
  /** Draws the boxes onto answers (src/render/off-thread.ts). */
  drawing: '/annotate-bootstrap.mjs',
  /** Runs the model (src/inference/engine.ts). */
  inference: '/worker-bootstrap.mjs',
} as const;

export type BotThread = keyof typeof BOOTSTRAPS;

/** What a thread says, on its console, as it crashes. */
export const crashing = (thread: BotThread): string => `the ${thread} thread crashes now (injected)`;

/**
 * Evaluated in a worker thread: the next message it receives from the main thread (a job to draw, a question to
 * answer) crashes it with an uncaught exception, with that work in progress. (Evaluated while the thread is
 * still starting, it waits for the thread's port.)
 */
function crashOnNextMessage(thread: BotThread): string {
  const line = JSON.stringify(crashing(thread));
  return `(function arm() {
  const port = process.getBuiltinModule('node:worker_threads').parentPort;
  if (!port) return void setTimeout(arm, 10);
  port.once('message', () => {
    console.error(${line});
    throw new Error(${line});
  });
})()`;
}

/** A notification of the inspector's NodeWorker domain. */
interface Notification {
  method: string;
  params: { sessionId?: string; workerInfo?: { url: string }; message?: string };
}

/**
 * Arms `thread` through an inspector whose NodeWorker domain is enabled (`post` sends it a command): each such
 * thread it reports attached gets `crashOnNextMessage`, until `times` of them have crashed (a thread that ends
 * otherwise, as an idle drawing thread does, does not count; its successor is armed). Feed it every notification;
 * `crashed` resolves once the last of them said it crashes and ended, `armed` once the first crash is set.
 */
function crashArmer(thread: BotThread, post: (method: string, params: object) => void, times = 1) {
  const armedThreads = new Set<string>();
  const said = new Set<string>();
  let ended = 0;
  let onArmed!: () => void;
  let onCrashed!: () => void;
  const armed = new Promise<void>((resolve) => (onArmed = resolve));
  const crashed = new Promise<void>((resolve) => (onCrashed = resolve));
  const send = (sessionId: string, command: { id: number; method: string; params: object }): void =>
    post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify(command) });
  const arm = (sessionId: string): void =>
    send(sessionId, { id: 2, method: 'Runtime.evaluate', params: { expression: crashOnNextMessage(thread) } });
  const notify = ({ method, params }: Notification): void => {
    const sessionId = params.sessionId!;
    if (method === 'NodeWorker.attachedToWorker' && said.size < times) {
      if (!params.workerInfo!.url.endsWith(BOOTSTRAPS[thread])) return;
      armedThreads.add(sessionId);
      send(sessionId, { id: 1, method: 'Runtime.enable', params: {} });
      arm(sessionId);
    }
    if (method === 'NodeWorker.receivedMessageFromWorker' && armedThreads.has(sessionId)) {
      const inWorker = JSON.parse(params.message!) as {
        id?: number;
        method?: string;
        result?: { exceptionDetails?: unknown; result?: { subtype?: string } };
      };
      // A thread just started has no Node environment yet to evaluate in: asked again until it has.
      const failed = inWorker.result?.exceptionDetails !== undefined || inWorker.result?.result?.subtype === 'error';
      if (inWorker.id === 2 && failed) setTimeout(() => armedThreads.has(sessionId) && arm(sessionId), 5);
      else if (inWorker.id === 2) onArmed();
      if (inWorker.method === 'Runtime.consoleAPICalled' && params.message!.includes(crashing(thread))) said.add(sessionId);
    }
    if (method === 'NodeWorker.detachedFromWorker') {
      armedThreads.delete(sessionId);
      if (said.has(sessionId) && ++ended === times) onCrashed();
    }
  };
  /** The inspector went away with its process: the last crash may have been what ended it. */
  const gone = (): void => {
    if (said.size === times) onCrashed();
  };
  return { notify, gone, armed, crashed };
}

/**
 * Sets `thread` of this process to crash on the next message it is sent, through Node's inspector, and each
 * thread started in its place too until it crashed `times` times; the thread must be running. `crashed`
 * resolves once the last crash ended its thread. `close()` detaches.
 */
export async function crashThreadHere(
  thread: BotThread,
  times = 1,
): Promise<{ crashed: Promise<void>; close: () => void }> {
  const session = new Session();
  session.connect();
  const armer = crashArmer(thread, (method, params) => session.post(method, params), times);
  session.on('inspectorNotification', (message) => armer.notify(message as Notification));
  session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  await armer.armed;
  return { crashed: armer.crashed, close: () => session.disconnect() };
}

/**
 * The process that runs the program: tsx runs it in a child process of its own (beside which esbuild runs its
 * service), so it is the one, under the launcher, whose arguments name app/main.ts.
 */
function programPid(launcher: number): number {
  const runsMain = (pid: number): boolean => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.endsWith('app/main.ts'));
    } catch {
      return false;
    }
  };
  const program = processTree(launcher).find((pid) => pid !== launcher && runsMain(pid));
  if (program === undefined) throw new Error('the bot program is not running');
  return program;
}

/**
 * Crashes a running bot's `thread` mid-job, from outside, through Node's own inspector: SIGUSR1 opens it (on the
 * port `--inspect-port` in NODE_OPTIONS names; 0 picks a free one, printed on stderr), and the thread, once it
 * runs, is armed to crash on its next message, and so is each thread started in its place until `times` have
 * crashed. `work()` then sends requests that reach it. Resolves true once the last crash ended its thread (or the
 * process, which the last crash may end), false after `timeoutMs`.
 */
export async function crashThread(
  bot: BotProcess,
  thread: BotThread,
  work: () => Promise<void>,
  timeoutMs: number,
  times = 1,
): Promise<boolean> {
  process.kill(programPid(bot.child.pid!), 'SIGUSR1');
  const url = await until(() => /Debugger listening on (ws:\/\/\S+)/.exec(bot.err())?.[1], 'the inspector', 10_000);
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let id = 0;
  const armer = crashArmer(thread, (method, params) => void socket.send(JSON.stringify({ id: ++id, method, params })), times);
  socket.on('close', () => armer.gone());
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Partial<Notification>;
    if (message.method) armer.notify(message as Notification);
  });
  socket.send(JSON.stringify({ id: ++id, method: 'NodeWorker.enable', params: { waitForDebuggerOnStart: false } }));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  await work();
  const result = await Promise.race([armer.crashed.then(() => true), timedOut]);
  clearTimeout(timer);
  socket.close();
  return result;
}
