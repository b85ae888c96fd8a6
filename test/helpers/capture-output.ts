import { vi } from 'vitest';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command-line entry point in this process, with what it prints through console captured. */
export async function captureOutput(run: () => Promise<number>): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
  try {
    const code = await run();
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    vi.restoreAllMocks();
  }
}
