import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../app/cli/main.ts';
import { type Captured, captureOutput } from './helpers/capture-output.ts';

/** Runs the command line in this process, capturing what it prints. */
const cli = (...args: string[]): Promise<Captured> => captureOutput(() => main(args));

const COMMANDS = [
  'ask', 'eval', 'parse', 'config', 'config check', 'discord', 'discord commands', 'discord register', 'slack',
  'slack manifest', 'gateway', 'worker', 'status',
];

describe('every subcommand reads its arguments the same way', () => {
  it.each(COMMANDS)('`%s --help` prints its usage on stdout and exits 0', async (command) => {
    const { code, stdout, stderr } = await cli(...command.split(' '), '--help');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(new RegExp(`^usage: minigpt-bot ${command.split(' ')[0]}`));
  });

  it.each(COMMANDS.filter((c) => c.includes(' ') || ['ask', 'eval', 'parse'].includes(c)))(
    '`%s --bogus` is one line with the usage, exit 2',
    async (command) => {
      const { code, stdout, stderr } = await cli(...command.split(' '), '--bogus');
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.split('\n')).toHaveLength(1);
      expect(stderr).toMatch(new RegExp(`^minigpt-bot ${command}: Unknown option '--bogus' \\(usage: minigpt-bot ${command}.*; more with --help\\)$`));
    },
  );

  it('names an unknown action of a command with actions, and lists the actions', async () => {
    const { code, stderr } = await cli('discord', 'fly');
    expect(code).toBe(2);
    expect(stderr).toBe("minigpt-bot discord: unknown action 'fly' (usage: minigpt-bot discord commands [--json] | minigpt-bot discord register [--guild ID]; more with --help)");
  });

  it('says its version, and lists the commands with --help (exit 0) or nothing (exit 2)', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(await cli('--version')).toEqual({ code: 0, stdout: `minigpt-bot ${pkg.version}`, stderr: '' });
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const name of ['ask', 'config', 'discord', 'eval', 'parse', 'slack']) expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const bare = await cli();
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/^usage: minigpt-bot <command>/);
  });

  it.each(['gateway', 'worker', 'status'])('`%s` with a configuration that does not hold says so in one line, exit 1', async (command) => {
    const dir = mkdtempSync(join(tmpdir(), 'minigpt-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'model: [\n');
    try {
      const { code, stdout, stderr } = await cli(command, '--config', file);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.split('\n')).toHaveLength(1);
      expect(stderr).toMatch(new RegExp(`^minigpt-bot ${command}: .*bad\\.yaml: not valid YAML or JSON`));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('takes one FILE at most for config check', async () => {
    const { code, stderr } = await cli('config', 'check', 'a.yaml', 'b.yaml');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^minigpt-bot config check: unexpected argument 'b\.yaml'/);
  });
});
