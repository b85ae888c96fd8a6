import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { processTree, until, type BotProcess } from '../../test/helpers/bot-process.ts';

/** What the drawing thread says, on its console, as it crashes. */
export const CRASHING = 'the drawing thread crashes now (injected)';

/**
 * Evaluated in the drawing thread: the next job it receives crashes it with an uncaught exception, while that job
 * is being drawn. (Evaluated while the thread is still starting, it waits for the thread's port.)
 */
export const CRASH_ON_NEXT_JOB = `(function arm() {
  const port = process.getBuiltinModule('node:worker_threads').parentPort;
  if (!port) return void setTimeout(arm, 10);
  port.once('message', () => {
    console.error(${JSON.stringify(CRASHING)});
    throw new Error(${JSON.stringify(CRASHING)});
  });
})()`;

/** Whether a worker the inspector attached to is the drawing thread (src/render/off-thread.ts starts it so). */
export const isDrawingThread = (info: { url: string }): boolean => info.url.endsWith('/annotate-bootstrap.mjs');

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

/** An inspector message: a reply to a command, or an event. */
interface InspectorMessage {
  method?: string;
  params?: { sessionId?: string; workerInfo?: { url: string }; message?: string };
}

/**
 * Crashes the running bot's drawing thread mid-job, from outside, through Node's own inspector: SIGUSR1 opens it
 * (on the port `--inspect-port` in NODE_OPTIONS names; 0 picks a free one, printed on stderr), every worker thread
 * is attached, and the drawing thread, once it runs, gets `CRASH_ON_NEXT_JOB`. `drawing()` then sends requests
 * whose answers are drawn. Resolves true once that thread said it crashes and ended, false after `timeoutMs` (an
 * idle drawing thread that ends on its own does not count).
 */
export async function crashDrawingThread(
  bot: BotProcess,
  drawing: () => Promise<void>,
  timeoutMs: number,
): Promise<boolean> {
  process.kill(programPid(bot.child.pid!), 'SIGUSR1');
  const url = await until(() => /Debugger listening on (ws:\/\/\S+)/.exec(bot.err())?.[1], 'the inspector', 10_000);
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let id = 0;
  const post = (method: string, params: object): void => void socket.send(JSON.stringify({ id: ++id, method, params }));
  const crashed = new Promise<boolean>((resolve) => {
    let drawingSession: string | undefined;
    let crashing = false;
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as InspectorMessage;
      const sessionId = message.params?.sessionId;
      if (message.method === 'NodeWorker.attachedToWorker' && isDrawingThread(message.params!.workerInfo!)) {
        drawingSession = sessionId;
        const commands = [
          { id: 1, method: 'Runtime.enable', params: {} },
          { id: 2, method: 'Runtime.evaluate', params: { expression: CRASH_ON_NEXT_JOB } },
        ];
        for (const command of commands) {
          post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify(command) });
        }
      }
      if (message.method === 'NodeWorker.receivedMessageFromWorker' && sessionId === drawingSession) {
        const inWorker = JSON.parse(message.params!.message!) as { method?: string };
        crashing ||= inWorker.method === 'Runtime.consoleAPICalled' && message.params!.message!.includes(CRASHING);
      }
      if (message.method === 'NodeWorker.detachedFromWorker' && sessionId === drawingSession && crashing) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  await drawing();
  const result = await crashed;
  socket.close();
  return result;
}
