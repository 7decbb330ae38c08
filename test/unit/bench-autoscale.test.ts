// The opt-in autoscale scenario: its definition, its absence from the default matrix, and
// the process count in the Markdown report, including the idle time after the load.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LoadResult } from '../../src/bench/load/spec.js';
import { procsText } from '../../src/bench/report/markdown.js';
import type { Sample } from '../../src/bench/sample.js';
import { DEFAULT_SCENARIOS, findScenario, type LoadContext } from '../../src/bench/scenarios.js';
import { summarizeRun } from '../../src/bench/summarize.js';

const ctx: LoadContext = {
  host: '127.0.0.1',
  port: 8000,
  durationMs: 6000,
  warmupMs: 0,
  timeoutMs: 10_000,
  workers: 1,
  threads: 4,
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

test('autoscale watches the server for a while after the load', () => {
  const sc = findScenario('autoscale');
  assert.ok(sc?.observeAfterS !== undefined && sc.observeAfterS > Number(sc.caskArgs?.at(-1)));
});

test('procsText marks where the load stopped when the run was watched after it', () => {
  const samples = [
    { t: 100, procs: 2 },
    { t: 3000, procs: 3 },
    { t: 5900, procs: 3 },
    { t: 6100, procs: 3 },
    { t: 8500, procs: 2 },
  ];
  assert.equal(
    procsText({ procs: 3, procsMin: 2, windowS: 6, observedAfterS: 4, samples }),
    'min 2, max 3 processes (2 at 0.1 s, 3 at 3.0 s, load stopped at 6.0 s, 2 at 8.5 s)',
  );
  // A fixed-budget peer watched the same way: one count, nothing to list.
  assert.equal(
    procsText({
      procs: 2,
      procsMin: 2,
      windowS: 6,
      observedAfterS: 4,
      samples: samples.map((p) => ({ ...p, procs: 2 })),
    }),
    'min 2, max 2 processes',
  );
  // Without an observation period there is nothing past the window to mark.
  assert.equal(
    procsText({ procs: 3, procsMin: 2, windowS: 6, samples: samples.slice(0, 3) }),
    'min 2, max 3 processes (2 at 0.1 s, 3 at 3.0 s)',
  );
});

/** Samples 100 ms apart from `from` (performance.now() scale), procs given per sample. */
function samplesAt(from: number, procs: number[], cpu: number): Sample[] {
  return procs.map((p, i) => ({
    t: i * 100,
    at: from + i * 100,
    cpu,
    rss: 1 << 20,
    procs: p,
    loadCpu: 0,
    otherCpu: 0,
  }));
}

/** A 1 s load window starting now, with `ok` responses: the window on the monotonic clock
 * and its start on performance.now()'s scale, where the samples live. */
function oneSecondRun(ok: number): { result: LoadResult; startNs: bigint; startMs: number } {
  const startNs = process.hrtime.bigint();
  const startMs = performance.now();
  const result: LoadResult = {
    kind: 'closed',
    windowStartNs: String(startNs),
    windowEndNs: String(startNs + 1_000_000_000n),
    ok,
    sent: ok,
    statuses: { '200': ok },
    errors: {},
    retries: 0,
    connections: 1,
    bytesIn: ok * 10,
    latency: {},
  };
  return { result, startNs, startMs };
}

test('summarizeRun: samples after the window join the series and process counts, not CPU', () => {
  const { result, startMs } = oneSecondRun(100);
  // 1 s of load at 80% CPU with 5 processes, then 1 s idle at 0% that falls to 2.
  const during = samplesAt(startMs + 50, [5, 5, 5, 5, 5, 5, 5, 5, 5], 80);
  const after = samplesAt(startMs + 1150, [5, 5, 4, 3, 2, 2, 2, 2], 0);
  const input = {
    repeat: 1,
    result,
    samples: [...during, ...after],
    records: null,
    slots: null,
    loadCpus: 1,
  };

  const watched = summarizeRun({ ...input, observeAfterMs: 1000 });
  assert.equal(watched.observedAfterS, 1);
  assert.equal(watched.procs, 5);
  assert.equal(watched.procsMin, 2);
  assert.equal(watched.samples.length, during.length + after.length);
  assert.equal(watched.samples.at(-1)?.procs, 2);
  assert.ok(Math.abs(watched.cpu.avg - 80) < 1e-9, `cpu ${watched.cpu.avg}`);

  const plain = summarizeRun(input);
  assert.equal(plain.observedAfterS, undefined);
  assert.equal(plain.procsMin, 5);
  assert.equal(plain.samples.length, during.length);
});

test('summarizeRun: no slot use for a run whose process count changed in the window', () => {
  const { result, startNs, startMs } = oneSecondRun(10);
  // Requests inside the app for the whole window on one slot, relative to monotonic ms.
  const originMs = Number(startNs) / 1e6;
  const records = [{ start: originMs, end: originMs + 1000, pid: 1 }];
  const input = { repeat: 1, result, records, slots: 4, loadCpus: 1 };
  const fixed = summarizeRun({ ...input, samples: samplesAt(startMs + 50, [2, 2, 2, 2], 10) });
  assert.equal(fixed.inside?.slots, 4);
  assert.ok(fixed.inside?.utilization !== null && fixed.inside?.utilization !== undefined);
  const scaled = summarizeRun({ ...input, samples: samplesAt(startMs + 50, [2, 2, 3, 3], 10) });
  assert.equal(scaled.inside?.slots, null);
  assert.equal(scaled.inside?.utilization, null);
});
