import type { CommandSpec } from '../../src/bot/types.ts';
import { parseText } from '../kit/grammar.ts';

/** A typed line: a command with its option values, or a console-only action. */
export type ConsoleLine =
  | { kind: 'command'; command: string; args: Record<string, string | number | undefined> }
  | { kind: 'image'; path: string }
  | { kind: 'quit' }
  | { kind: 'empty' };

const CONSOLE_ACTION = /^\/(image|quit|exit)(?:\s+|$)(.*)$/is;

/**
 * `/image PATH` and `/quit` belong to the console itself; every other line reads the way a chat mention does
 * (`/name args`, `[task] text`, plain chat).
 */
export function decodeLine(line: string, commands: readonly CommandSpec[]): ConsoleLine {
  const text = line.trim();
  if (text === '') return { kind: 'empty' };
  const action = CONSOLE_ACTION.exec(text);
  if (action?.[1]?.toLowerCase() === 'image') return { kind: 'image', path: action[2]!.trim() };
  if (action) return { kind: 'quit' };
  return { kind: 'command', ...parseText(commands, text) };
}
