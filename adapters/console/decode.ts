import type { CommandSpec } from '../../src/bot/types.ts';

/** A typed line: a command with its raw option values, or a console-only action. */
export type ConsoleLine =
  | { kind: 'command'; command: string; args: Record<string, string> }
  | { kind: 'image'; path: string }
  | { kind: 'quit' }
  | { kind: 'empty' };

/**
 * `/name rest` → the command with `rest` as its first option (every command has at most one besides the image);
 * free text → `chat`. `/image PATH` and `/quit` belong to the console itself.
 */
export function decodeLine(line: string, commands: readonly CommandSpec[]): ConsoleLine {
  const text = line.trim();
  if (text === '') return { kind: 'empty' };
  const isCommand = text.startsWith('/');
  const head = isCommand ? (text.slice(1).split(/\s+/)[0] ?? '') : 'chat';
  const rest = isCommand ? text.slice(1 + head.length).trim() : text;
  const name = head.toLowerCase();
  if (isCommand && name === 'image') return { kind: 'image', path: rest };
  if (isCommand && (name === 'quit' || name === 'exit')) return { kind: 'quit' };
  const spec = commands.find((c) => c.name === name);
  const first = spec?.options.find((o) => o.type !== 'image');
  const args: Record<string, string> = first && rest !== '' ? { [first.name]: rest } : {};
  return { kind: 'command', command: name, args };
}
