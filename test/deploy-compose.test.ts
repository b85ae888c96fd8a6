import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..');

/** A folder holding the compose file and `env` as its .env, as a user's checkout does. */
function project(env: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'minigpt-compose-'));
  copyFileSync(join(ROOT, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
  writeFileSync(join(dir, '.env'), env);
  return dir;
}

const ENV_EXAMPLE = readFileSync(join(ROOT, '.env.example'), 'utf8');

/** `docker-compose config` (Debian's docker-compose, installed by .ci/run) resolves and validates the file. */
function resolvedCompose(): any {
  return parse(execFileSync('docker-compose', ['config'], { cwd: project(ENV_EXAMPLE), encoding: 'utf8' }));
}

/**
 * The services `docker compose [--profile P]... up` starts, by the compose spec's rule: a service runs when it has
 * no profiles or one of them is active; the active profiles are the --profile flags, else COMPOSE_PROFILES (here
 * from .env). Debian's docker-compose applies the same rule but shows it only with a Docker daemon running.
 */
function started(compose: any, flags: string[]): string[] {
  const fromEnv = /^COMPOSE_PROFILES=(.*)$/m.exec(ENV_EXAMPLE)?.[1]?.split(',') ?? [];
  const active = flags.length > 0 ? flags : fromEnv;
  const runs = ([, service]: [string, any]) => !service.profiles || service.profiles.some((p: string) => active.includes(p));
  return Object.entries(compose.services).filter(runs).map(([name]) => name).sort();
}

describe('docker compose deployment', () => {
  const compose = resolvedCompose();

  it('GIVEN the compose file THEN docker-compose accepts it with the CPU bot and the CUDA profile', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['bot', 'bot-cuda', 'gateway', 'redis', 'worker', 'worker-cuda']);
    expect(compose.services.bot.profiles).toEqual(['bot']);
    expect(compose.services['bot-cuda'].profiles).toEqual(['cuda']);
    expect(compose.services['bot-cuda'].deploy.resources.reservations.devices[0].capabilities).toEqual(['gpu']);
  });

  it('GIVEN the .env from .env.example THEN a plain up runs the bot alone and each profile runs its own set without it', () => {
    expect(started(compose, [])).toEqual(['bot']);
    expect(started(compose, ['scale'])).toEqual(['gateway', 'redis', 'worker']);
    expect(started(compose, ['scale-cuda'])).toEqual(['gateway', 'redis', 'worker-cuda']);
    expect(started(compose, ['cuda'])).toEqual(['bot-cuda']);
  });

  it('GIVEN an .env without COMPOSE_PROFILES THEN docker-compose refuses the file and names the line to add', () => {
    const dir = project(ENV_EXAMPLE.replace(/^COMPOSE_PROFILES=.*$/m, ''));
    const checked = spawnSync('docker-compose', ['config'], { cwd: dir, encoding: 'utf8' });
    expect(checked.status).toBe(1);
    expect(checked.stderr).toContain('add COMPOSE_PROFILES=bot to .env');
  });

  it('GIVEN either bot service THEN it restarts, keeps state and models in volumes, and is health-checked', () => {
    for (const service of [compose.services.bot, compose.services['bot-cuda']]) {
      expect(service.restart).toBe('unless-stopped');
      expect(service.volumes.map((v: any) => (typeof v === 'string' ? v : `${v.source}:${v.target}`))).toEqual(
        expect.arrayContaining([expect.stringMatching(/state:\/data\/state/), expect.stringMatching(/models:\/models/)]),
      );
      expect(service.healthcheck.test.join(' ')).toContain('/healthz');
      expect(Object.keys(service.environment)).toEqual(expect.arrayContaining(['DISCORD_TOKEN', 'SLACK_BOT_TOKEN'])); // from .env
    }
  });

  it('GIVEN the scale profile THEN Redis keeps an append-only file and the gateway and workers reach it', () => {
    const { redis, gateway, worker } = compose.services;
    for (const service of [redis, gateway, worker]) expect(service.profiles).toContain('scale');
    expect(redis.command).toEqual(['redis-server', '--appendonly', 'yes']);
    expect(redis.volumes).toEqual([expect.stringMatching(/^redis:\/data/)]);
    expect(gateway.command).toEqual(['gateway']);
    expect(worker.command).toEqual(['worker']);
    for (const service of [gateway, worker, compose.services['worker-cuda']]) {
      expect(service.entrypoint).toEqual(['node', 'bin/minigpt-bot.js']);
      expect(service.environment.REDIS_URL).toBe('redis://redis:6379');
    }
    expect(gateway.healthcheck.test.join(' ')).toContain('/healthz');
    expect(worker.deploy.replicas).toBe(2);
    expect(compose.services['worker-cuda'].environment.MINIGPT_DEVICE).toBe('cuda');
  });

  it('GIVEN the Dockerfile THEN every path it copies exists and it runs as a non-root user', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(copied.length).toBeGreaterThan(5);
    for (const path of copied) expect(existsSync(join(ROOT, path)), path).toBe(true);
    expect(dockerfile).toMatch(/^USER bot$/m);
    expect(dockerfile).toContain('npm ci --omit=dev');
  });
});
