/**
 * The dashboard in a real browser (Debian chromium driven by playwright-core) against the real store:
 * overview charts with data, drill-down to one series, two series in one built chart, a saved
 * dashboard that survives a server restart, and the token flow. SONDE_SCREENSHOTS=1 also writes
 * docs/screenshots/*.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { haveChromium as have, launchBrowser, SHOTS, skipWithoutChromium as skip, type TestBrowser } from '../helpers/browser.js';
import { startFixtureServer, type FixtureServer } from '../fixtures/dashboard/server.js';

const TOKEN = 'e2e-secret-token';

let server: FixtureServer;
let ctx: BrowserContext;
let browser: TestBrowser | undefined;

before(async () => {
  if (!have) return;
  server = await startFixtureServer({ token: TOKEN });
  browser = await launchBrowser();
  ctx = browser.ctx;
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(hash: string, base = server.url): Promise<Page> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as Page & { jsErrors: string[] }).jsErrors = errors;
  const res = await page.goto(`${base}?token=${TOKEN}${hash}`);
  assert.equal(res?.status(), 200);
  return page;
}

/** Polls an expression in the page until truthy (page.waitForFunction would need eval, which the CSP forbids). */
async function waitFor(page: Page, expr: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await page.evaluate(expr)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${expr}`);
}

async function points(page: Page, selector: string): Promise<{ series: number; points: number; canvas: boolean }> {
  await page.waitForSelector(`${selector}[data-points]`, { timeout: 10_000 });
  // browser-side code as strings: this file is type-checked without the DOM library
  return page.evaluate<{ series: number; points: number; canvas: boolean }>(`(() => {
    const el = document.querySelector(${JSON.stringify(selector)});
    return { series: Number(el.dataset.series), points: Number(el.dataset.points), canvas: el.querySelector('canvas') !== null };
  })()`);
}

test('without the token the page is refused; with it, API calls carry it from sessionStorage', { skip }, async () => {
  const page = await ctx.newPage();
  const res = await page.goto(server.url);
  assert.equal(res?.status(), 401);
  const p2 = await open('#/overview');
  await p2.waitForSelector('#host-label:not(:empty)');
  const stored = await p2.evaluate(`sessionStorage.getItem('sonde.token')`);
  assert.equal(stored, TOKEN);
  await page.close();
  await p2.close();
});

test('overview renders every panel with data for the chosen host', { skip }, async () => {
  const page = await open('#/overview?host=alpha');
  for (const id of ['cpu', 'memory', 'load', 'disk', 'diskio', 'network']) {
    const r = await points(page, `[data-panel="${id}"]`);
    assert.ok(r.canvas, `${id} has a canvas`);
    assert.ok(r.series >= 1 && r.points > 50, `${id}: ${JSON.stringify(r)}`);
  }
  // cpu shows the busy total plus modes (idle hidden)
  const cpu = await points(page, '[data-panel="cpu"]');
  assert.equal(cpu.series, 4);
  assert.equal(await page.evaluate(`document.querySelector('#host-picker').value`), 'alpha');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'overview-light.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.reload();
  await points(page, '[data-panel="network"]');
  const bg = await page.evaluate(`getComputedStyle(document.body).backgroundColor`);
  assert.equal(bg, 'rgb(13, 17, 23)');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'overview-dark.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual((page as Page & { jsErrors: string[] }).jsErrors, []);
  await page.close();
});

test('metric browser drills down host -> plugin -> metric -> one series', { skip }, async () => {
  const page = await open('#/browser');
  await page.waitForSelector('#name-tree a[data-name="cpu.usage"]', { state: 'attached' });
  await page.click('.card:has-text("alpha")');
  await page.waitForSelector('.card .title:text-is("cpu")');
  await page.click('.card:has(.title:text-is("cpu"))');
  await page.waitForSelector('.card .title:text-is("cpu.usage")');
  await page.click('.card:has(.title:text-is("cpu.usage"))');
  await page.waitForSelector('.card .title:text-is("cpu=total,mode=user")');
  // every series card has a sparkline with data
  const sparks = (await page.evaluate(`[...document.querySelectorAll('#cards .spark')].map((e) => Number(e.dataset.points ?? 0))`)) as number[];
  assert.equal(sparks.length, 4);
  assert.ok(sparks.every((n) => n > 0), String(sparks));
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'browser.png') });
  await page.click('.card:has(.title:text-is("cpu=total,mode=user"))');
  const r = await points(page, '#series-chart');
  assert.equal(r.series, 1);
  assert.ok(r.canvas && r.points > 100);
  assert.match(decodeURIComponent(page.url()), /series=cpu\.usage\{cpu=total,host=alpha,mode=user\}/);
  await page.close();
});

test('graph builder puts series of two hosts in one chart, state in the URL', { skip }, async () => {
  const page = await open('#/graph?range=6h');
  await page.fill('.series-row[data-index="0"] input.metric', 'cpu.usage');
  await page.fill('.series-row[data-index="0"] input.tags', 'host=alpha,cpu=total,mode=user');
  await page.press('.series-row[data-index="0"] input.tags', 'Enter');
  await waitFor(page, `Number(document.querySelector('#graph-chart')?.dataset.series) === 1`);
  await page.click('#add-series');
  await page.waitForSelector('.series-row[data-index="1"]');
  await page.fill('.series-row[data-index="1"] input.metric', 'net.rx_bytes');
  await page.fill('.series-row[data-index="1"] input.tags', 'host=beta,iface=eth0');
  await page.check('.series-row[data-index="1"] input.rate');
  await waitFor(page, `Number(document.querySelector('#graph-chart')?.dataset.series) === 2`);
  const r = await points(page, '#graph-chart');
  assert.equal(r.series, 2);
  assert.ok(r.canvas && r.points > 200, JSON.stringify(r));
  const url = new URL(page.url());
  const s = JSON.parse(new URLSearchParams(url.hash.split('?')[1]).get('s') ?? '[]') as Array<{ name: string; rate: boolean }>;
  assert.deepEqual(s.map((x) => [x.name, x.rate]), [['cpu.usage', false], ['net.rx_bytes', true]]);
  // the same URL in a fresh page shows the same chart
  const again = await ctx.newPage();
  await again.goto(page.url());
  assert.equal((await points(again, '#graph-chart')).series, 2);
  await again.close();
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'graph-builder.png') });

  // drag to zoom: the range becomes absolute from/to
  const box = (await page.evaluate(`(() => {
    const b = document.querySelector('#graph-chart .u-over').getBoundingClientRect();
    return { x: b.x, y: b.y, w: b.width, h: b.height };
  })()`)) as { x: number; y: number; w: number; h: number };
  await page.mouse.move(box.x + box.w * 0.4, box.y + box.h / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.w * 0.6, box.y + box.h / 2, { steps: 5 });
  await page.mouse.up();
  await waitFor(page, `location.hash.includes('from=')`);
  const hp = new URLSearchParams(new URL(page.url()).hash.split('?')[1]);
  const span = Number(hp.get('to')) - Number(hp.get('from'));
  assert.ok(span > 3_600_000 * 0.8 && span < 3_600_000 * 1.6, `zoomed span ${span}`);

  // save it as a dashboard (prompts answered)
  const answers = ['CPU and network', 'Team board'];
  page.on('dialog', (d) => void d.accept(answers.shift() ?? ''));
  await page.click('#add-to-dashboard');
  await page.waitForSelector('a[href*="#/dashboard?id=team-board"]');
  await page.close();
});

test('a saved dashboard survives a server restart', { skip }, async () => {
  const files = readdirSync(join(server.dataDir, 'dashboards'));
  assert.deepEqual(files, ['team-board.json']);
  const dataDir = server.dataDir;
  await server.stop();
  server = await startFixtureServer({ dataDir, token: TOKEN, fill: false });
  const page = await open('#/dashboards');
  await page.waitForSelector('#dashboard-list tr[data-id="team-board"]');
  await page.click('#dashboard-list a:has-text("Team board")');
  await page.waitForSelector('#dashboard-title:text-is("Team board")');
  const r = await points(page, '[data-panel="0"]');
  assert.equal(r.series, 2);
  assert.ok(r.points > 100);
  await page.close();
});

test('pipeline page shows plugins with rates derived between polls', { skip }, async () => {
  const m = server.metrics.forPlugin('cpu').counter('points_gathered');
  const g = server.metrics.forPlugin('graphite');
  const timer = setInterval(() => {
    m.inc(200);
    g.counter('points_written').inc(150);
    g.counter('points_dropped', { reason: 'buffer_full' }).inc(2);
  }, 100);
  g.gauge('queue_length').set(420);
  g.lastError('connect ECONNREFUSED 127.0.0.1:2003');
  try {
    const page = await open('#/pipeline');
    await page.waitForSelector('#pipeline-table tr[data-plugin="cpu"]');
    await waitFor(page, `/\\/s$/.test(document.querySelector('tr[data-plugin="cpu"] td[data-col="rate"]')?.textContent ?? '')`, 8000);
    const rate = (await page.textContent('tr[data-plugin="cpu"] td[data-col="rate"]')) ?? '';
    const n = parseFloat(rate) * (rate.includes('k/s') ? 1000 : 1);
    assert.ok(n > 500 && n < 5000, `cpu rate ${rate}`);
    const row = (await page.textContent('tr[data-plugin="graphite"]')) ?? '';
    assert.match(row, /ECONNREFUSED/);
    assert.match(row, /420/);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'pipeline.png') });
    await page.close();
  } finally {
    clearInterval(timer);
  }
});
