import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerPoller } from '../../src/inputs/status-poll.js';
import { ServiceError } from '../../src/net/service-client.js';
import { createLogger } from '../../src/core/logger.js';
import { testContext } from '../helpers/context.js';

test('ServerPoller: counted every time, logged once per server and reason, recovery logged once', async () => {
  const logs: string[] = [];
  const ctx = testContext({ id: 'inputs.x', logger: createLogger({ write: (l) => logs.push(l) }) });
  try {
    const h = new ServerPoller(ctx, 'x');
    const fail = (reason: 'unreachable' | 'timeout') => () => Promise.reject(new ServiceError(reason, 'boom'));
    for (let i = 0; i < 3; i++) assert.deepEqual(await h.poll('a', 1, { server: 'a' }, fail('unreachable')), [{ name: 'x.up', tags: { server: 'a' }, value: 0, ts: 1, kind: 'gauge' }]);
    await h.poll('b', 1, { server: 'b' }, fail('unreachable'));
    await h.poll('a', 1, { server: 'a' }, fail('timeout'));
    const ok = await h.poll('a', 2, { server: 'a' }, async () => []);
    assert.deepEqual(ok, [{ name: 'x.up', tags: { server: 'a' }, value: 1, ts: 2, kind: 'gauge' }], 'an empty answer is still up');
    await h.poll('a', 3, { server: 'a' }, async () => []);
    const m = ctx.selfMetrics.byPlugin()[0]?.metrics ?? {};
    assert.equal(m['errors{reason=unreachable}'], 4);
    assert.equal(m['errors{reason=timeout}'], 1);
    assert.equal(m['server_polls'], 7);
    assert.deepEqual(
      logs.map((l) => l.replace(/^\S+ /, '')),
      [
        'WARN  x server not reachable server=a reason=unreachable error=boom',
        'WARN  x server not reachable server=b reason=unreachable error=boom',
        'WARN  x server timed out server=a reason=timeout error=boom',
        'INFO  x server recovered server=a after=timeout',
      ],
    );
  } finally {
    ctx.cleanup();
  }
});
