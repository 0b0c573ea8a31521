/**
 * The overview's service panels in a real browser (Debian chromium driven by playwright-core) against
 * the real store: the agent runs postgresql, mysql and procstat, and the store holds postgres and
 * nginx metrics of host alpha. Alpha's overview shows a panel per configured service (empty where
 * nothing was collected yet) and for nginx, whose metrics are in the store; beta, which runs no
 * service, shows none. The JSON behind the panels carries the rates the points imply.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { haveChromium as have, launchBrowser, SHOTS, skipWithoutChromium as skip, type TestBrowser } from '../helpers/browser.js';
import { startFixtureServer, type FixtureServer } from '../fixtures/dashboard/server.js';
import { overviewPanels } from '../../src/http/dashboard.js';

/** The host panels, in order (the services come after them). */
const HOST_PANELS = overviewPanels('', 0, 1).map((p) => p.id);

const TOKEN = 'e2e-services-token';

let server: FixtureServer;
let ctx: BrowserContext | undefined;
let browser: TestBrowser | undefined;

before(async () => {
  server = await startFixtureServer({ token: TOKEN, hostname: 'alpha', services: ['cpu', 'postgresql', 'mysql', 'procstat'], servicePoints: true });
  if (!have) return;
  browser = await launchBrowser(1400);
  ctx = browser.ctx;
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function open(hash: string): Promise<Page> {
  if (!ctx) throw new Error('no browser');
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as Page & { jsErrors: string[] }).jsErrors = errors;
  const res = await page.goto(`${server.url}?token=${TOKEN}${hash}`);
  assert.equal(res?.status(), 200);
  return page;
}

async function chart(page: Page, id: string): Promise<{ series: number; points: number; canvas: boolean; empty: boolean; title: string }> {
  const sel = `[data-panel="${id}"]`;
  await page.waitForSelector(`${sel}[data-points]`, { timeout: 10_000 });
  return page.evaluate<{ series: number; points: number; canvas: boolean; empty: boolean; title: string }>(`(() => {
    const el = document.querySelector(${JSON.stringify(sel)});
    return {
      series: Number(el.dataset.series), points: Number(el.dataset.points), canvas: el.querySelector('canvas') !== null,
      empty: el.querySelector('.empty') !== null, title: el.closest('section').querySelector('h2').textContent,
    };
  })()`);
}

const panelIds = (page: Page): Promise<string[]> =>
  page.evaluate<string[]>(`[...document.querySelectorAll('#overview-grid [data-panel]')].map((e) => e.dataset.panel)`);

test('overview JSON: service panels after the host panels, with the rates the counters imply', async () => {
  const res = await fetch(`${server.url}api/v1/ui/overview?host=alpha&start=-1h`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { panels: Array<{ id: string; results: Array<{ label: string | null; result: { series?: Array<{ values: Array<number | null> }> } }> }> };
  assert.deepEqual(
    body.panels.map((p) => p.id),
    [...HOST_PANELS, 'service-postgresql', 'service-mysql', 'service-nginx', 'service-procstat'],
  );
  const pg = body.panels.find((p) => p.id === 'service-postgresql');
  const commits = (pg?.results[0]?.result.series?.[0]?.values ?? []).filter((v): v is number => v !== null);
  assert.equal(pg?.results[0]?.label, 'commits/s');
  assert.ok(commits.length > 50);
  // the fixture commits 40 ± 10 transactions per second; the newest bucket is cut by the query's end
  // (now, past the fixture's last sample) and its rate is over the part inside the range (query/engine.ts),
  // so it depends on when the test runs: every other bucket is checked
  const whole = commits.slice(0, -1);
  assert.ok(whole.every((v) => v >= 29 && v <= 51), `commits/s between 30 and 50: ${whole.filter((v) => v < 29 || v > 51).join(', ')}`);
  const conns = (pg?.results[2]?.result.series?.[0]?.values ?? []).filter((v): v is number => v !== null);
  assert.ok(conns.every((v) => v >= 13 && v <= 17), `connections (12 idle + 1..5 active): ${conns.slice(0, 5).join(', ')}`);
  const beta = (await (await fetch(`${server.url}api/v1/ui/overview?host=beta&start=-1h`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { panels: Array<{ id: string }> };
  assert.deepEqual(beta.panels.map((p) => p.id), HOST_PANELS, 'beta runs no service');
});

test('browser: a panel per configured service and per service found in the store', { skip }, async () => {
  const page = await open('#/overview?host=alpha');
  const pg = await chart(page, 'service-postgresql');
  assert.equal(pg.title, 'PostgreSQL: transactions/s and connections');
  assert.equal(pg.series, 3);
  assert.ok(pg.canvas && pg.points > 100, JSON.stringify(pg));
  const nginx = await chart(page, 'service-nginx');
  assert.equal(nginx.title, 'nginx: requests/s and connections');
  assert.ok(nginx.canvas && nginx.series === 2 && nginx.points > 100, JSON.stringify(nginx));
  // configured, but nothing collected in this range: the panel is there and says so
  const mysql = await chart(page, 'service-mysql');
  assert.equal(mysql.title, 'MySQL: queries/s and connections');
  assert.ok(mysql.empty && !mysql.canvas);
  await chart(page, 'service-procstat');
  const ids = await panelIds(page);
  assert.ok(!ids.includes('service-redis'), 'no redis configured nor stored');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'overview-services.png'), fullPage: true });
  assert.deepEqual((page as Page & { jsErrors: string[] }).jsErrors, []);

  // another host: host panels only
  await page.selectOption('#host-picker', 'beta');
  const deadline = Date.now() + 10_000;
  let betaIds: string[] = [];
  while (Date.now() < deadline) {
    betaIds = await panelIds(page);
    if (!betaIds.some((i) => i.startsWith('service-')) && betaIds.includes(HOST_PANELS[HOST_PANELS.length - 1] as string)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(betaIds, HOST_PANELS);
  await page.close();
});
