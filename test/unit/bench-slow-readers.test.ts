// The slow-readers scenarios: their load as the budget sets it, and the verdict on the fast
// client (answered share, served or blocked) that the report draws from each run.
import { test, type TestContext } from 'node:test';
import type { SlowSpec } from '../../src/bench/load/spec.js';
import { slowText } from '../../src/bench/report/markdown.js';
import type { RunResult } from '../../src/bench/results.js';
import { DEFAULT_SCENARIOS, findScenario, type LoadContext } from '../../src/bench/scenarios.js';
import { answeredShare, fastVerdict, SERVED_SHARE } from '../../src/bench/summarize.js';

function build(name: string, workers: number, threads: number): SlowSpec {
  const ctx: LoadContext = {
    host: '127.0.0.1',
    port: 8000,
    durationMs: 1500,
    warmupMs: 1000,
    timeoutMs: 10_000,
    workers,
    threads,
    connections: undefined,
    rate: undefined,
    path: null,
    headers: [],
  };
  const spec = findScenario(name)?.build(ctx);
  if (spec?.kind !== 'slow') throw new TypeError(`Scenario is not a slow load: ${name}`);
  return spec;
}

test('slow-readers asks for 4 readers per slot, half of them idle, beside one fast client', (t: TestContext) => {
  t.plan(6);
  const spec = build('slow-readers', 1, 4);
  t.assert.deepStrictEqual(
    [spec.clients, spec.idleClients, spec.readBytes, spec.readIntervalMs, spec.byteIntervalMs],
    [16, 8, 16, 1000, 0],
  );
  t.assert.strictEqual(spec.slowPath, '/stream');
  t.assert.deepStrictEqual(
    [spec.fast.connections, spec.fast.keepAlive, spec.fast.timeoutMs, spec.fast.requests[0]?.path],
    [1, true, 1000, '/'],
  );
  t.assert.strictEqual(spec.rampMs, 1000);
  t.assert.strictEqual(build('slow-readers', 2, 3).clients, 24);
  t.assert.strictEqual(build('slow-readers', 1, 1).idleClients, 2);
});

test('slow-readers runs by default; its one-piece variant only when named', (t: TestContext) => {
  t.plan(3);
  t.assert.ok(DEFAULT_SCENARIOS.includes('slow-readers'));
  t.assert.ok(!DEFAULT_SCENARIOS.includes('slow-readers-list'));
  t.assert.strictEqual(build('slow-readers-list', 1, 4).slowPath, '/list');
});

/** The counts of one run that the verdict reads. */
function counts(requests: number, sent: number, errorCount: number): RunResult {
  return {
    requests,
    sent,
    errorCount,
    slow: { completed: 0, connected: 16, errors: {} },
  } as RunResult;
}

test('`answeredShare()` counts timeouts and requests still waiting at the end as unanswered', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(answeredShare(counts(90, 100, 0)), 0.9);
  t.assert.strictEqual(answeredShare(counts(3, 3, 1)), 0.75);
  t.assert.strictEqual(answeredShare(counts(0, 0, 2)), 0);
  // Nothing asked in the window: the one request sent before it never came back.
  t.assert.strictEqual(answeredShare(counts(0, 0, 0)), 0);
});

test('`fastVerdict()` is served from 90% answered (median of the repeats), blocked below', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(SERVED_SHARE, 0.9);
  t.assert.deepStrictEqual(fastVerdict([counts(90, 100, 0), counts(100, 100, 0)]), {
    answered: 0.95,
    verdict: 'served',
  });
  t.assert.deepStrictEqual(fastVerdict([counts(0, 1, 1), counts(50, 100, 0)]), {
    answered: 0.25,
    verdict: 'blocked',
  });
  const { slow: _, ...closedRun } = counts(100, 100, 0);
  t.assert.strictEqual(fastVerdict([closedRun as RunResult]), undefined);
});

test('`slowText()` gives what a slow reader took in bytes, and reads older results', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(
    slowText({ completed: 5, connected: 200, errors: { reset: 3 } }),
    '5/200, errors 3 (reset 3)',
  );
  const readers = { clients: 16, completed: 0, connected: 16, open: 16, errors: {} };
  t.assert.strictEqual(
    slowText({ ...readers, bytesIn: 16 * 48 }),
    '0/16, 16 still connected at the end, 48 bytes received per connection',
  );
  t.assert.match(
    slowText({ completed: 9, connected: 10, open: 1, bytesIn: 10 * 262_144, errors: {} }),
    /, 256\.0 KB received per connection$/,
  );
});
