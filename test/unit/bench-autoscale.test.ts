// The opt-in autoscale scenario: its definition, its absence from the default matrix, and
// the process count in the Markdown report.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { procsText } from '../../src/bench/report/markdown.js';
import { DEFAULT_SCENARIOS, findScenario, type LoadContext } from '../../src/bench/scenarios.js';

const ctx: LoadContext = {
  host: '127.0.0.1',
  port: 8000,
  durationMs: 6000,
  warmupMs: 0,
  timeoutMs: 10_000,
  connections: undefined,
  rate: undefined,
  path: null,
  headers: [],
};

test('autoscale scenario: io_wait, closed loop of 40, Cask with min 1 / max 4 workers', () => {
  const sc = findScenario('autoscale');
  assert.ok(sc);
  assert.equal(sc.app, 'io_wait:application');
  assert.equal(sc.optIn, true);
  assert.equal(sc.ownApp, false);
  assert.deepEqual(sc.caskArgs, [
    '--workers-min',
    '1',
    '--workers-max',
    '4',
    '--idle-timeout',
    '2',
  ]);
  assert.ok(sc.warmupS + sc.durationS * sc.repeat <= 20);
  const spec = sc.build(ctx);
  assert.equal(spec.kind, 'closed');
  assert.equal(spec.kind === 'closed' && spec.connections, 40);
});

test('autoscale is opt-in: not in the default matrix', () => {
  assert.ok(!DEFAULT_SCENARIOS.includes('autoscale'));
  assert.ok(DEFAULT_SCENARIOS.includes('io-wait'));
});

test('procsText: min/max and the count over time', () => {
  const samples = [
    { t: 100, procs: 2 },
    { t: 200, procs: 2 },
    { t: 2000, procs: 3 },
    { t: 3000, procs: 5 },
  ];
  assert.equal(
    procsText({ procs: 5, procsMin: 2, samples }),
    'min 2, max 5 processes (2 at 0.1 s, 3 at 2.0 s, 5 at 3.0 s)',
  );
  assert.equal(procsText({ procs: 2, samples: [] }), 'min 2, max 2 processes');
});
