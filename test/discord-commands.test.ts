import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { commandDifferences, commandsPayload } from '../adapters/discord/commands.ts';
import * as discordCommand from '../app/cli/commands/discord.ts';
import { createRegistry } from '../src/bot/registry.ts';
import { PLUGINS } from '../plugins/index.ts';
import { FakeDiscord } from './fakes/discord/index.ts';
import { captureOutput } from './helpers/capture-output.ts';

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['bin/minigpt-bot.js', ...args], { env: { ...process.env, ...env }, timeout: 60_000 });

// Discord's application-command schema: names, lengths and option types a CHAT_INPUT command may have.
const NAME = /^[-_\p{Ll}\p{N}]{1,32}$/u;
const Type = { String: 3, Number: 10, Attachment: 11 } as const;

const payload = commandsPayload(createRegistry(PLUGINS).commands());
const slash = payload.filter((c) => c.type === 1) as RESTPostAPIChatInputApplicationCommandsJSONBody[];

describe('slash command payload', () => {
  it('has the nine commands, each valid by Discord’s schema, image commands taking an attachment', () => {
    expect(slash.map((c) => c.name)).toEqual(['vqa', 'caption', 'ground', 'refer', 'identify', 'detect', 'chat', 'reset', 'help']);
    for (const command of slash) {
      expect(command.name).toMatch(NAME);
      expect(command.description.length).toBeGreaterThan(0);
      expect(command.description.length).toBeLessThanOrEqual(100);
      const options = command.options ?? [];
      expect(options.length).toBeLessThanOrEqual(25);
      expect(new Set(options.map((o) => o.name)).size).toBe(options.length);
      const firstOptional = options.findIndex((o) => !o.required);
      if (firstOptional >= 0) expect(options.slice(firstOptional).every((o) => !o.required)).toBe(true);
      for (const option of options) {
        expect(option.name).toMatch(NAME);
        expect(option.description.length).toBeGreaterThan(0);
        expect(option.description.length).toBeLessThanOrEqual(100);
        expect(Object.values(Type)).toContain(option.type);
        // Typed text is capped by Discord itself; numbers and attachments have no length.
        expect((option as { max_length?: number }).max_length).toBe(option.type === Type.String ? 1000 : undefined);
      }
      const image = options.find((o) => o.name === 'image');
      if (['reset', 'help'].includes(command.name)) expect(image).toBeUndefined();
      else expect(image).toMatchObject({ type: Type.Attachment, required: false });
    }
    const refer = slash.find((c) => c.name === 'refer')!;
    expect(refer.options![0]).toMatchObject({ name: 'phrase', type: Type.String, required: true });
  });

  it('adds the message menu command "Ask about this image", which Discord wants without a description', () => {
    expect(payload).toHaveLength(10);
    expect(payload[9]).toEqual({ type: 3, name: 'Ask about this image', contexts: [0, 1], integration_types: [0] });
  });

  it('is what `discord commands --json` prints', async () => {
    const { stdout } = await cli(['discord', 'commands', '--json']);
    expect(JSON.parse(stdout)).toEqual(JSON.parse(JSON.stringify(payload)));
  });

  it('compares equal to the commands as Discord returns them, and notices a changed description', () => {
    const asStored = slash.map((c) => ({
      ...c,
      id: '1',
      application_id: '2',
      version: '3',
      default_member_permissions: null,
      options: c.options?.map(({ required, ...o }) => (required ? { ...o, required } : o)),
    }));
    const menu = { ...payload[9]!, id: '4', application_id: '2', version: '3', description: '' };
    expect(commandDifferences([...asStored, menu], payload)).toEqual([]);
    const unlimited = asStored.map((c) => ({ ...c, options: c.options?.map((o) => ({ ...o, max_length: undefined })) }));
    expect(commandDifferences([...unlimited, menu], payload)).toContain('/vqa changed');
    const edited = asStored.map((c) => (c.name === 'vqa' ? { ...c, description: 'old text' } : c));
    expect(commandDifferences([...edited.filter((c) => c.name !== 'help'), menu], payload)).toEqual(['/vqa changed', '/help is new']);
  });
});

describe('`discord register` against a local Discord', () => {
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = await FakeDiscord.start();
  });
  afterAll(async () => {
    await fake.close();
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });
  const env = () => ({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl });
  const puts = () => fake.requests.filter((r) => r.method === 'PUT');

  /** Runs the subcommand in this process (one real CLI run above is enough) and returns its exit code and output. */
  async function register(args: string[], vars: Record<string, string>) {
    for (const [name, value] of Object.entries(vars)) vi.stubEnv(name, value);
    try {
      return await captureOutput(() => discordCommand.run(['register', ...args]));
    } finally {
      vi.unstubAllEnvs();
    }
  }

  it('overwrites the commands once from the command line, then skips when nothing changed', async () => {
    const first = await cli(['discord', 'register'], env());
    expect(first.stdout).toMatch(/Registered 10 commands globally/);
    expect(puts()).toHaveLength(1);
    expect(puts()[0]!.path).toBe(`/applications/${fake.application.id}/commands`);
    expect(puts()[0]!.body).toEqual(JSON.parse(JSON.stringify(payload)));

    const second = await register([], env());
    expect(second).toMatchObject({ code: 0, stdout: expect.stringMatching(/already up to date/) });
    expect(puts()).toHaveLength(1);
  });

  it('registers per guild with --guild, and refuses a missing token or a bad guild id', async () => {
    expect((await register(['--guild', fake.guild.id], env())).code).toBe(0);
    expect(puts().at(-1)!.path).toBe(`/applications/${fake.application.id}/guilds/${fake.guild.id}/commands`);
    expect(await register([], { DISCORD_TOKEN: '' })).toMatchObject({ code: 2, stderr: expect.stringMatching(/DISCORD_TOKEN/) });
    expect(await register(['--guild', 'abc'], env())).toMatchObject({ code: 2, stderr: expect.stringMatching(/usage/) });
  });

  it('reports a rejected token in one line', async () => {
    expect(await register([], { ...env(), DISCORD_TOKEN: 'wrong' })).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^minigpt-bot discord register: Discord refused: .*Unauthorized$/),
    });
  });
});
