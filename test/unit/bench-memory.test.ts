// Memory in the benchmark lab: reading /proc's smaps_rollup and limits, when the mid-load
// reading is taken, raising a descriptor limit, the idle connections of idle-10k (against
// the raw-net server on port 0), and the report's memory and idle tables.
import type net from 'node:net';
import { test, type TestContext } from 'node:test';
import { createServer } from '../../bench/launchers/raw-net.mjs';
import { parseFdLimit, prlimitArgs } from '../../src/bench/fd-limit.js';
import { runIdle } from '../../src/bench/load/idle.js';
import { mergeResults, splitSpec } from '../../src/bench/load/merge.js';
import type { IdleSpec, LoadResult } from '../../src/bench/load/spec.js';
import { idleFdNeed, snapshotAtMs } from '../../src/bench/memory.js';
import { headlineTable, idleTable, memoryTable } from '../../src/bench/report/tables.js';
import { findScenario, IDLE_CONNECTIONS, SCENARIOS } from '../../src/bench/scenarios.js';
import { memorySnapshot, parseSmapsRollup } from '../../src/bench/sample.js';
import { SERVERS, runsScenario } from '../../src/bench/servers.js';
import { fixtureCell, fixtureReport, fixtureScenario } from '../helpers/bench-fixture.js';

const ROLLUP = `55966b611000-7ffcdb358000 ---p 00000000 00:00 0                          [rollup]
Rss:               21672 kB
Pss:                9229 kB
Pss_Dirty:          8116 kB
Shared_Clean:       1200 kB
`;

test('`parseSmapsRollup()` reads Rss and Pss in bytes', (t: TestContext) => {
  t.plan(2);
  t.assert.deepStrictEqual(parseSmapsRollup(ROLLUP), { rss: 21672 * 1024, pss: 9229 * 1024 });
  t.assert.ok(Number.isNaN(parseSmapsRollup('Rss: 1 kB\n').pss));
});

test('`memorySnapshot()` gives this process as the root, with RSS and PSS', (t: TestContext) => {
  t.plan(4);
  const [self] = memorySnapshot(process.pid);
  t.assert.strictEqual(self?.pid, process.pid);
  t.assert.strictEqual(self?.root, true);
  t.assert.ok((self?.rss ?? 0) > 1e6, String(self?.rss));
  t.assert.ok((self?.pss ?? 0) > 0 && (self?.pss ?? 0) <= (self?.rss ?? 0), String(self?.pss));
});

test('`parseFdLimit()` and `prlimitArgs()` raise only a short soft limit', (t: TestContext) => {
  t.plan(5);
  const limits = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
`;
  t.assert.deepStrictEqual(parseFdLimit(limits), { soft: 1024, hard: 524288 });
  t.assert.deepStrictEqual(
    parseFdLimit(limits.replace('524288', 'unlimited'))?.hard,
    Number.POSITIVE_INFINITY,
  );
  t.assert.deepStrictEqual(prlimitArgs(42, 10_256, { soft: 1024, hard: 524288 }), [
    '--pid',
    '42',
    '--nofile=10256:524288',
  ]);
  t.assert.deepStrictEqual(prlimitArgs(42, 10_256, { soft: 1024, hard: 4096 })?.[2], '--nofile=10256:10256');
  t.assert.strictEqual(prlimitArgs(42, 10_256, { soft: 20_000, hard: 20_000 }), null);
}); // prettier-ignore

test('`snapshotAtMs()` reads memory in the middle of the measured window', (t: TestContext) => {
  t.plan(4);
  const ctx = {
    host: '127.0.0.1', port: 1, durationMs: 1000, warmupMs: 400, timeoutMs: 10_000, workers: 1,
    threads: 4, connections: undefined, rate: undefined, path: null, headers: [],
  }; // prettier-ignore
  const hello = findScenario('hello')?.build(ctx);
  t.assert.strictEqual(hello && snapshotAtMs(hello, false), 900);
  // wrk warms up in a run of its own, whole seconds long.
  t.assert.strictEqual(hello && snapshotAtMs(hello, true), 1500);
  const idle = findScenario('idle-10k')?.build(ctx);
  t.assert.strictEqual(idle && snapshotAtMs(idle, false), null);
  t.assert.strictEqual(idleFdNeed(10_000), 10_256);
});

test('idle-10k asks 10,000 connections of the servers that can hold them', (t: TestContext) => {
  t.plan(5);
  const sc = findScenario('idle-10k');
  t.assert.strictEqual(IDLE_CONNECTIONS, 10_000);
  t.assert.deepStrictEqual(sc?.caskArgs, ['--keep-alive', '30']);
  const taking = SERVERS.filter((d) => sc !== undefined && runsScenario(d, sc));
  t.assert.ok(taking.some((d) => d.name === 'raw-net') && taking.some((d) => d.name === 'cask'));
  const refusing = taking.filter((d) => d.holdsIdle !== undefined).map((d) => d.name);
  t.assert.deepStrictEqual(refusing.sort(), [
    'gunicorn-gevent', 'gunicorn-gthread', 'gunicorn-sync', 'mod_wsgi', 'uwsgi', 'waitress', 'werkzeug', 'wsgiref',
  ]); // prettier-ignore
  t.assert.ok(SCENARIOS.filter((s) => s.kind === 'idle').every((s) => s.ceiling === true));
});

async function rawNet(t: TestContext): Promise<number> {
  const srv = createServer();
  const sockets = new Set<net.Socket>();
  srv.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return (srv.address() as net.AddressInfo).port;
}

function idleSpec(port: number, over: Partial<IdleSpec> = {}): IdleSpec {
  return {
    kind: 'idle', host: '127.0.0.1', port, timeoutMs: 2000, seed: 1, connections: 200, concurrency: 20,
    rampLimitMs: 10_000, holdMs: 200,
    requests: [{ tag: 'all', method: 'GET', path: '/', headers: [], bodyBytes: 0, weight: 1 }],
    ...over,
  }; // prettier-ignore
}

test('`runIdle()` opens the connections, has each answered once, and holds them', async (t: TestContext) => {
  t.plan(4);
  const r = await runIdle(idleSpec(await rawNet(t)));
  t.assert.deepStrictEqual(
    [r.idle?.target, r.idle?.opened, r.idle?.answered, r.idle?.held, r.idle?.closedByServer],
    [200, 200, 200, 200, 0],
  );
  t.assert.deepStrictEqual(r.idle?.errors, {});
  const holdMs = Number(BigInt(r.windowEndNs) - BigInt(r.windowStartNs)) / 1e6;
  t.assert.ok(holdMs >= 190 && holdMs < 1000, String(holdMs));
  t.assert.strictEqual(r.kind, 'idle');
});

test('`runIdle()` counts connections a server closes after answering as not held', async (t: TestContext) => {
  t.plan(2);
  // Connection: close in the request: raw-net answers and closes, as a server that does not
  // keep connections would.
  const spec = idleSpec(await rawNet(t), { connections: 30 });
  const first = spec.requests[0] as IdleSpec['requests'][number];
  spec.requests = [{ ...first, headers: [['Connection', 'close']] }];
  const r = await runIdle(spec);
  t.assert.strictEqual(r.idle?.held, 0);
  t.assert.strictEqual(r.idle?.closedByServer, 30);
});

test('`splitSpec()` shares idle connections and `mergeResults()` adds them back', (t: TestContext) => {
  t.plan(2);
  const spec = idleSpec(1, { connections: 10_000, concurrency: 50 });
  const parts = [0, 1].map((i) => splitSpec(spec, i, 2) as IdleSpec);
  t.assert.deepStrictEqual(parts.map((p) => [p.connections, p.concurrency]), [[5000, 25], [5000, 25]]); // prettier-ignore
  const result = (held: number): LoadResult => ({
    kind: 'idle', windowStartNs: '1', windowEndNs: '2', ok: held, sent: held, statuses: {}, errors: {},
    retries: 0, connections: held, bytesIn: 0, latency: {},
    idle: { target: 5000, opened: 5000, answered: 5000, held, closedByServer: 5000 - held, rampMs: held / 10, errors: {} },
  }); // prettier-ignore
  t.assert.deepStrictEqual(mergeResults([result(5000), result(4000)]).idle, {
    target: 10_000, opened: 10_000, answered: 10_000, held: 9000, closedByServer: 1000, rampMs: 500, errors: {},
  }); // prettier-ignore
});

const MB = 1024 * 1024;

test('`memoryTable()` splits the front from its workers, with RSS and PSS of each', (t: TestContext) => {
  t.plan(2);
  const processes = [
    { pid: 10, ppid: 1, name: 'node', rss: 80 * MB, pss: 40 * MB, root: true },
    { pid: 11, ppid: 10, name: 'python3', rss: 20 * MB, pss: 15 * MB, root: false },
  ];
  const report = fixtureReport(
    ['cask', 'waitress'],
    [fixtureScenario('hello')],
    [
      fixtureCell('cask', 'hello', [20_000], {
        rss: { peak: 110 * MB, avg: 100 * MB, rootPeak: 88 * MB },
        memory: { atMs: 900, processes },
      }),
      fixtureCell('waitress', 'hello', [12_000], {
        rss: { peak: 30 * MB, avg: 28 * MB, rootPeak: 30 * MB },
        memory: { atMs: 900, processes: [{ ...(processes[0] as (typeof processes)[number]), name: 'python3', rss: 29 * MB, pss: 20 * MB }] },
      }),
    ],
  ); // prettier-ignore
  const table = memoryTable(report, 'hello');
  t.assert.deepStrictEqual(table?.rows, [
    ['cask', '2', '110', '88', '20', '80 / 40', '20 / 15'],
    ['waitress', '1', '30', '30', '—', '29 / 20', '—'],
  ]);
  t.assert.strictEqual(memoryTable(report, 'cpu'), null);
});

test('`idleTable()` gives what each server held and its front memory per connection', (t: TestContext) => {
  t.plan(3);
  const sc = fixtureScenario('idle-10k', 'idle', { ceiling: true });
  const idle = (held: number) => ({
    target: 10_000, opened: 10_000, answered: 10_000, held, closedByServer: 10_000 - held, rampMs: 2000, errors: {},
  }); // prettier-ignore
  const report = fixtureReport(
    ['cask', 'cheroot'],
    [sc],
    [
      fixtureCell('cask', 'idle-10k', [0], {
        rss: { peak: 130 * MB, avg: 120 * MB, rootPeak: 110 * MB, rootBefore: 60 * MB },
        idle: idle(10_000),
      }),
      fixtureCell('cheroot', 'idle-10k', [0], {
        rss: { peak: 25 * MB, avg: 24 * MB, rootPeak: 25 * MB, rootBefore: 23 * MB },
        idle: idle(10),
      }),
    ],
  ); // prettier-ignore
  const rows = idleTable(report, sc).rows;
  t.assert.deepStrictEqual(rows[0], ['cask', '10,000', '10,000', '10,000', '0', '2.0', '60', '110', '5.1', '130', '0']);
  t.assert.strictEqual(rows[1]?.[8], '—');
  t.assert.deepStrictEqual(headlineTable(report).rows, [['cask', '110'], ['cheroot', '25 (held 10)']]);
}); // prettier-ignore
