import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { start, type WebAdapter } from '../adapters/web/index.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import type { Box } from '../src/grounding/types.ts';
import { Engine } from '../src/inference/engine.ts';
import { DEFAULT_MODEL_DIR } from '../src/inference/model-dir.ts';
import { createLog } from '../src/log.ts';
import { PALETTE } from '../src/render/palette.ts';
import { findDrawnBox } from './helpers/drawn-boxes.ts';
import { drawScene } from './helpers/scene.ts';

const ROOT = join(import.meta.dirname, '..');
/** Where the screenshot is kept for people to look at (out/ is not committed). */
const SCREENSHOT = join(ROOT, 'out', 'web-sandbox.png');

/** Debian's chromium, which .ci/run installs: a machine without it fails here rather than skipping the page. */
function chromium(): string {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install chromium (see .ci/run)');
  }
}

function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (r: Box) => (r[2] - r[0]) * (r[3] - r[1]);
  return (w * h) / (area(a) + area(b) - w * h);
}

const CHROMIUM = chromium();

// The sandbox page in a real headless browser, as a newcomer uses it, answered by the trained default model.
describe('GIVEN the sandbox page in a browser', () => {
  let engine: Engine;
  let server: WebAdapter;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const scene = drawScene(3);
  const target = scene.objects[0]!;
  const other = scene.objects[1]!;

  beforeAll(async () => {
    engine = await Engine.load(DEFAULT_MODEL_DIR);
    const bot = createBot({ engine, plugins: PLUGINS });
    const settings = { enabled: true, port: 0, host: '127.0.0.1', imageHosts: [] };
    server = await start(
      bot,
      settings,
      { apiKeys: [] },
      { model: engine.model.name, imageMegabytes: 20 },
      createLog('silent'),
    );
    const asRoot = process.getuid?.() === 0;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: asRoot ? ['--no-sandbox'] : [],
    });
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready=true]', { timeout: 10_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await engine?.close();
  });

  /** The bot's answers shown in the conversation, final ones only. */
  const answers = (): Promise<string[]> =>
    page.$$eval('#messages li.answer .text', (els) => els.map((e) => e.textContent ?? ''));
  const waitForAnswers = (n: number) =>
    page.waitForFunction(
      (count) => document.querySelectorAll('#messages li.answer').length >= count,
      { timeout: 60_000 },
      n,
    );

  test('WHEN a scene is picked and /refer run THEN the box lies over the object; hovering lights both', async () => {
    const buttons = await page.$$eval('#commands button', (els) => els.map((e) => e.textContent));
    expect(buttons).toEqual(expect.arrayContaining(['/refer', '/identify', '/detect', '/caption', '/reset', '/help']));

    const file = join(mkdtempSync(join(tmpdir(), 'minigpt-web-')), 'scene.png');
    writeFileSync(file, scene.png);
    const input = await page.$('input#file');
    await input!.uploadFile(file);
    await page.waitForSelector('#stage:not([hidden])');

    await page.click('#commands button[data-command=refer]');
    await page.type('#text', `the ${target.colour} ${target.shape}`);
    await page.keyboard.press('Enter');
    await waitForAnswers(1);
    await page.waitForSelector('#overlay rect.box');
    expect((await answers())[0]).toMatch(/^#1\b.* red box at/);

    // the drawn box, read back from the screen's pixels, lies over the object
    const shot = await (await page.$('#stage'))!.screenshot({ type: 'png' });
    const { width: shown, natural } = await page.$eval('img#picture', (img) => ({
      width: img.getBoundingClientRect().width,
      natural: img.naturalWidth,
    }));
    const onScreen = findDrawnBox(new Uint8Array(shot), PALETTE[0]!.rgb, 40, 4);
    expect(onScreen).not.toBeNull();
    const inImage = onScreen!.map((v) => (v * natural) / shown) as Box;
    expect(iou(inImage, target.box)).toBeGreaterThan(0.5);

    await page.hover('#messages li.answer .chip');
    expect(await page.$$('#overlay .lit rect.box')).toHaveLength(1);
    await page.hover('#overlay rect.box');
    expect(await page.$eval('#messages li.answer .chip', (c) => c.classList.contains('lit'))).toBe(true);
    const download = await page.$eval('a#download', (a) => ({ hidden: a.hidden, href: a.getAttribute('href') }));
    expect(download).toEqual({ hidden: false, href: expect.stringMatching(/^data:image\/png;base64,/) });
  });

  test('WHEN a rectangle is dragged around an object THEN [identify] names it', async () => {
    const picture = await page.$eval('img#picture', (img) => {
      const r = img.getBoundingClientRect();
      return { left: r.left, top: r.top, scale: r.width / img.naturalWidth };
    });
    const at = (x: number, y: number) => [picture.left + x * picture.scale, picture.top + y * picture.scale] as const;
    const [x1, y1, x2, y2] = other.box;
    await page.mouse.move(...at(x1 - 3, y1 - 3));
    await page.mouse.down();
    await page.mouse.move(...at((x1 + x2) / 2, (y1 + y2) / 2), { steps: 4 });
    await page.mouse.move(...at(x2 + 3, y2 + 3), { steps: 4 });
    await page.mouse.up();
    await waitForAnswers(2);
    const asked = await page.$$eval('#messages li.user .text', (els) => els.map((e) => e.textContent));
    expect(asked.at(-1)).toMatch(/^\/identify \d+,\d+,\d+,\d+$/);
    expect((await answers())[1]).toContain(other.shape);
    mkdirSync(join(ROOT, 'out'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  test("WHEN the page is reloaded THEN the conversation is still there; another's direct chat is theirs", async () => {
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    expect(await answers()).toHaveLength(2);
    expect(await page.$eval('#stage', (s) => (s as HTMLElement).hidden)).toBe(false);

    await page.select('#user', 'bob');
    expect(await answers()).toHaveLength(0);
    expect(await page.$eval('#stage', (s) => (s as HTMLElement).hidden)).toBe(true);
    await page.click('#commands button[data-command=caption]');
    await page.waitForSelector('#messages li.user-error');
    expect(await page.$eval('#messages li.user-error .text', (e) => e.textContent)).toMatch(/needs an image/);

    await page.select('#user', 'alice');
    expect(await answers()).toHaveLength(2);
  });

  test('WHEN two users talk in the shared channel THEN the second points at the box the first got', async () => {
    await page.click('input[name=place][value=shared]');
    expect(await answers()).toHaveLength(0);
    const file = join(mkdtempSync(join(tmpdir(), 'minigpt-web-')), 'scene.png');
    writeFileSync(file, scene.png);
    await (await page.$('input#file'))!.uploadFile(file);
    await page.waitForSelector('#stage:not([hidden])');
    await page.type('#text', `[refer] the ${other.colour} ${other.shape}`);
    await page.keyboard.press('Enter');
    await waitForAnswers(1);

    // #1 is the shared conversation's box: in a conversation of bob's own there would be none
    await page.select('#user', 'bob');
    expect(await answers()).toHaveLength(1);
    await page.type('#text', '[identify] #1');
    await page.keyboard.press('Enter');
    await waitForAnswers(2);
    const said = await page.$$eval('#messages li.user .who', (els) => els.map((e) => e.textContent));
    expect(said).toEqual(['alice:', 'bob:']);
    expect((await answers())[1]).toContain(other.shape);

    // alice started the shared conversation: bob may not clear it, she may
    await page.click('#commands button[data-command=reset]');
    await page.waitForSelector('#messages li.user-error');
    expect(await page.$eval('#messages li.user-error .text', (e) => e.textContent)).toMatch(/^Only the person who started/);
    expect(await page.$eval('#stage', (s) => (s as HTMLElement).hidden)).toBe(false);
    await page.select('#user', 'alice');
    await page.click('#commands button[data-command=reset]');
    await page.waitForSelector('#messages li.info');
    expect(await page.$eval('#messages li.info .text', (e) => e.textContent)).toMatch(/^Conversation cleared/);
    expect(await page.$eval('#stage', (s) => (s as HTMLElement).hidden)).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  test("WHEN more than the chats' 1,000 characters are typed THEN the input keeps the first 1,000", async () => {
    await page.click('#text');
    await page.keyboard.sendCharacter('q'.repeat(1005));
    expect(await page.$eval('#text', (input) => (input as HTMLInputElement).value.length)).toBe(1000);
    await page.$eval('#text', (input) => {
      (input as HTMLInputElement).value = '';
    });
    expect(pageErrors).toEqual([]);
  });
});
