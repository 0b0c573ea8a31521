/**
 * The dashboard of a real agent (`sonde run`, 1 s collection, real host collectors and store) in a real
 * browser (Debian chromium through playwright-core): the Alerts page, live refresh of the overview,
 * units on axes, the series browser's values, and graphs of short windows. SONDE_SCREENSHOTS=1 also
 * writes docs/screenshots/*.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { haveChromium as have, launchBrowser, SHOTS, skipWithoutChromium as skip, type TestBrowser } from '../helpers/browser.js';
import { exited, freePort, sondeSpawn, waitFor as waitUntil } from '../helpers/spawn.js';


let ctx: BrowserContext;
let dir: string;
let base: string;
let agent: ReturnType<typeof sondeSpawn> | undefined;

before(async () => {
  if (!have) return;
  dir = mkdtempSync(join(tmpdir(), 'sonde-e2e-first-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'sonde.toml'),
    [
      '[agent]',
      'interval = "1s"',
      'flush_interval = "1s"',
      `data_dir = "${join(dir, 'data')}"`,
      '[http]',
      `listen = "127.0.0.1:${port}"`,
      '[alerting]',
      'eval_interval = "1s"',
      '[[alerting.rules]]',
      'name = "cpus_present"',
      'expr = "max(cpu.count) over 10s > 0"',
      'severity = "low"',
      'description = "Fires as soon as there is data: a rule in ALARM for the page to show."',
      '[[inputs.statsd]]',
      'udp = "127.0.0.1:0"',
      '',
    ].join('\n'),
  );
  agent = sondeSpawn(['run', '-c', join(dir, 'sonde.toml')], { cwd: dir });
  await waitUntil(() => agent?.out.stdout.includes('stop with Ctrl-C') ?? false, 30_000, 'the agent');
  base = `http://127.0.0.1:${port}/`;
  browser = await launchBrowser();
  ctx = browser.ctx;
});
let browser: TestBrowser | undefined;

after(async () => {
  await browser?.close();
  if (agent) {
    agent.child.kill('SIGTERM');
    await Promise.race([exited(agent.child), new Promise((r) => setTimeout(r, 10_000))]);
    agent.child.kill('SIGKILL');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(hash: string): Promise<Page & { jsErrors: string[] }> {
  const page = (await ctx.newPage()) as Page & { jsErrors: string[] };
  page.jsErrors = [];
  page.on('pageerror', (e) => page.jsErrors.push(e.message));
  const res = await page.goto(`${base}${hash}`);
  assert.equal(res?.status(), 200);
  return page;
}

/** Polls an expression in the page until truthy (page.waitForFunction would need eval, which the CSP forbids). */
async function waitFor(page: Page, expr: string, timeoutMs = 15_000): Promise<unknown> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const v = await page.evaluate(expr);
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${expr}`);
}

test('Alerts page: every rule with its state, last change, alerts and the series behind it', { skip, timeout: 60_000 }, async () => {
  const page = await open('#/alerts');
  await waitFor(page, `document.querySelector('[data-rule="cpus_present"] .badge.state-alarm') !== null`, 20_000);
  const rules = (await page.evaluate(`[...document.querySelectorAll('[data-rule]')].map((e) => e.dataset.rule)`)) as string[];
  for (const r of ['cpus_present', 'disk_nearly_full', 'memory_pressure', 'load_above_cores', 'input_failing', 'output_failing', 'agent_heartbeat_missing']) {
    assert.ok(rules.includes(r), `${r} listed: ${rules.join(', ')}`);
  }
  assert.equal(rules[0], 'cpus_present', 'rules in ALARM first');
  const text = (await page.evaluate(`document.querySelector('[data-rule="cpus_present"]').innerText`)) as string;
  assert.match(text, /max\(cpu\.count\) over 10s > 0/);
  assert.match(text, /changed \d+s ago/);
  // the series behind the rule: a chart with data and the threshold line, and a link to the graph builder
  await waitFor(page, `Number(document.querySelector('[data-rule-chart="cpus_present"]')?.dataset.points ?? 0) > 2`);
  assert.equal(await page.evaluate(`document.querySelector('[data-rule-chart="cpus_present"]').dataset.series`), '2');
  const href = (await page.evaluate(`document.querySelector('[data-rule="cpus_present"] a[href^="#/graph"]').getAttribute('href')`)) as string;
  assert.match(decodeURIComponent(href), /"name":"cpu\.count"/);
  // the default disk rule has one alert per mount, OK on this machine unless a disk is really full
  await waitFor(page, `document.querySelectorAll('[data-rule="disk_nearly_full"] tr[data-alert]').length > 0`);
  // the nav shows how many are in alarm
  await waitFor(page, `Number(document.getElementById('alerts-count').textContent) >= 1`, 40_000);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'alerts-light.png'), fullPage: true });
  assert.deepEqual(page.jsErrors, []);
  await page.close();
});

test('overview is live by default and refreshes at the collection interval; axes carry units', { skip, timeout: 60_000 }, async () => {
  const page = await open('#/overview');
  await waitFor(page, `Number(document.querySelector('[data-panel="cpu"]')?.dataset.points ?? 0) > 0`, 20_000);
  assert.equal(await page.evaluate(`document.querySelector('[data-live]').dataset.live`), '1', 'live without asking');
  // 1 s collection: several refreshes within a few seconds, each with more points
  const before = Number(await page.evaluate(`document.querySelector('[data-panel="cpu"]').dataset.points`));
  await waitFor(page, `Number(document.getElementById('overview-grid').dataset.refreshes ?? 0) >= 3`, 10_000);
  await waitFor(page, `Number(document.querySelector('[data-panel="cpu"]').dataset.points) > ${before}`, 10_000);
  // units on the value axes: % for cpu, binary bytes for memory, bytes/s for the network
  const axis = (panel: string) => page.evaluate(`document.querySelector('[data-panel="${panel}"]').dataset.yLabels ?? ''`) as Promise<string>;
  assert.match(await axis('cpu'), /\d+%/);
  assert.match(await axis('memory'), /\d+(\.\d+)? (MiB|GiB)/);
  await waitFor(page, `/\\/s/.test(document.querySelector('[data-panel="network"]').dataset.yLabels ?? '')`, 10_000);
  // memory (used, available, swap) is one unit: one value axis, whatever the magnitudes
  assert.equal(await page.evaluate(`document.querySelectorAll('[data-panel="memory"] .u-axis').length`), 2, 'x and one y axis');
  assert.equal(await page.evaluate(`document.querySelector('[data-panel="memory"]').dataset.y2Labels`), undefined);
  // the detail panels: one line per core, per interface, pressure per resource, file handles and sockets
  const series = (panel: string) => page.evaluate(`Number(document.querySelector('[data-panel="${panel}"]')?.dataset.series ?? 0)`) as Promise<number>;
  await waitFor(page, `Number(document.querySelector('[data-panel="kernel"]')?.dataset.points ?? 0) > 0`, 15_000);
  assert.equal(await series('cpu_cores'), (await import('node:os')).availableParallelism(), 'a line per core');
  assert.ok((await series('network_ifaces')) >= 2, 'received and sent per interface (lo included)');
  assert.equal(await series('kernel'), 4);
  if (existsSync('/proc/pressure/cpu')) assert.equal(await series('pressure'), 3, 'cpu, memory and io pressure');
  assert.match(await axis('cpu_cores'), /\d+%/);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'overview-live.png'), fullPage: true });
  assert.deepEqual(page.jsErrors, []);
  await page.close();
});

test('series browser cards show the last value with its unit, counters as rates', { skip, timeout: 60_000 }, async () => {
  const page = await open('#/browser?metric=net.rx_bytes');
  await waitFor(page, `document.querySelectorAll('#cards .card .value').length > 0`);
  const vals = (await page.evaluate(`[...document.querySelectorAll('#cards .card .value')].map((e) => [e.textContent, e.dataset.unit, e.dataset.rate])`)) as string[][];
  assert.ok(vals.every(([, unit, rate]) => unit === 'bytes/s' && rate === '1'), JSON.stringify(vals));
  assert.ok(vals.some(([text]) => /^\d+(\.\d+)? (B|KiB|MiB)\/s$/.test(text ?? '')), JSON.stringify(vals));
  const p2 = await open('#/browser?metric=mem.used_percent');
  await waitFor(p2, `document.querySelectorAll('#cards .card .value').length > 0`);
  const pct = (await p2.evaluate(`document.querySelector('#cards .card .value').textContent`)) as string;
  assert.match(pct, /^\d+(\.\d+)?%$/);
  const p3 = await open('#/browser?plugin=mem');
  await waitFor(p3, `document.querySelectorAll('#cards .card .value').length > 3`);
  const cards = (await p3.evaluate(`Object.fromEntries([...document.querySelectorAll('#cards .card')].map((c) => [c.querySelector('.title').textContent, c.querySelector('.value').textContent]))`)) as Record<string, string>;
  assert.match(cards['mem.available'] ?? '', /^\d+(\.\d+)? (MiB|GiB)$/, JSON.stringify(cards));
  assert.match(cards['mem.major_faults'] ?? '', /ops\/s$/, 'a counter as its rate');
  if (SHOTS) await p3.screenshot({ path: join(SHOTS, 'browser-values.png'), fullPage: true });
  for (const p of [page, p2, p3]) {
    assert.deepEqual(p.jsErrors, []);
    await p.close();
  }
});

test('graph builder: a 15-minute window draws lines; two units get two axes, one unit one axis', { skip, timeout: 60_000 }, async () => {
  const s = (specs: unknown[]) => encodeURIComponent(JSON.stringify(specs));
  const two = [
    { name: 'cpu.usage', tags: { cpu: 'total', mode: 'user' } },
    { name: 'net.rx_bytes', tags: { iface: 'lo' }, rate: true, group_by: [], group_agg: 'sum' },
  ];
  const page = await open(`#/graph?range=15m&s=${s(two)}`);
  await waitFor(page, `Number(document.querySelector('#graph-chart, .chart[data-points]')?.dataset.points ?? 0) > 2`, 20_000);
  const chart = `document.querySelector('.chart[data-points]')`;
  assert.equal(await page.evaluate(`${chart}.dataset.series`), '2');
  assert.equal(await page.evaluate(`${chart}.querySelectorAll('.u-axis').length`), 3, 'x, % on the left, bytes/s on the right');
  assert.match((await page.evaluate(`${chart}.dataset.yLabels`)) as string, /\d+%/);
  assert.match((await page.evaluate(`${chart}.dataset.y2Labels`)) as string, /\d+(\.\d+)? (B|KiB|MiB)\/s/);
  // uPlot draws the lines on a canvas: pixels of the first series' colour are there
  const drawn = (await page.evaluate(`(() => {
    const c = ${chart}.querySelector('canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && !(d[i] === d[i + 1] && d[i + 1] === d[i + 2])) n++;
    return n;
  })()`)) as number;
  assert.ok(drawn > 200, `coloured line pixels: ${drawn}`);
  const one = [
    { name: 'mem.used', tags: {} },
    { name: 'swap.used', tags: {} },
  ];
  const p2 = await open(`#/graph?range=5m&s=${s(one)}`);
  await waitFor(p2, `Number(document.querySelector('.chart[data-points]')?.dataset.points ?? 0) > 2`, 20_000);
  assert.equal(await p2.evaluate(`document.querySelector('.chart[data-points]').querySelectorAll('.u-axis').length`), 2, 'one unit: one value axis');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'graph-short.png'), fullPage: true });
  for (const p of [page, p2]) {
    assert.deepEqual(p.jsErrors, []);
    await p.close();
  }
});
