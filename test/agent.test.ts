import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../src/agent.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { registryForConfig } from '../src/plugins.js';
import { freePort, waitFor } from './helpers/spawn.js';

async function startAgent(text: string, t: { after: (fn: () => unknown) => void }): Promise<{ agent: Agent; base: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-agent-'));
  const port = await freePort();
  // exactly the listed plugins, as these tests were written for
  const toml = `[agent]\ndata_dir = ${JSON.stringify(dir)}\ndefault_inputs = false\ndefault_outputs = false\n[http]\nlisten = "127.0.0.1:${port}"\n${text}`;
  const cfg = loadConfig({ text: toml, file: 'test.toml', registry: await registryForConfig(toml) });
  const agent = new Agent(cfg, { logger: silentLogger, version: 'test' });
  await agent.start();
  t.after(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { agent, base: `http://127.0.0.1:${port}` };
}

interface AlertsBody {
  alerts: Array<{ rule: string; state: string }>;
}

test('no rules, notifiers or contributing plugins: alerting is not loaded and the alerts API lists none', async (t) => {
  const { base } = await startAgent('[alerting]\ndefault_rules = false\n[inputs]\n[store]\nenabled = false\n[outputs]\n', t);
  const r = await fetch(`${base}/api/v1/alerts`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { alerts: [], rules: [] });
});

test('a heartbeat input with expect_within brings alerting up on its own, and its absence rule fires', { timeout: 30_000 }, async (t) => {
  const { base } = await startAgent(
    '[alerting]\neval_interval = "200ms"\n[store]\nenabled = false\n[outputs]\n[[inputs.heartbeat]]\nexpect_within = "1s"\n',
    t,
  );
  let body: AlertsBody = { alerts: [] };
  await waitFor(
    async () => {
      body = (await (await fetch(`${base}/api/v1/alerts`)).json()) as AlertsBody;
      return body.alerts.some((a) => a.rule === 'sonde_heartbeat_default' && a.state === 'ALARM');
    },
    15_000,
    'the heartbeat absence alert in ALARM',
  );
  assert.ok(body.alerts.length >= 1);
});

test('[store] worker: "auto" (default) keeps a small store on the agent thread; true, or fsync = "batch" under auto, use the worker', { timeout: 30_000 }, async (t) => {
  const cases: [string, string][] = [
    ['', 'agent'],
    ['worker = false', 'agent'],
    ['worker = true', 'worker'],
    ['fsync = "batch"', 'worker'],
  ];
  for (const [line, thread] of cases) {
    const { base } = await startAgent(`[inputs]\n[store]\n${line}\n`, t);
    const body = (await (await fetch(`${base}/api/v1/status`)).json()) as { store?: { thread?: string } };
    assert.equal(body.store?.thread, thread, `[store] ${line || '(defaults)'}`);
  }
});
