// The httperf scenario's pure parts: httperf's command line, reading its summary, whether a
// rate was held, the sweep's summary, and the report's tables.
import { test, type TestContext } from 'node:test';
import {
  httperfArgv,
  httperfBehind,
  httperfConns,
  httperfLagMs,
  httperfRates,
  httperfVerdict,
  parseHttperf,
  type HttperfOutput,
} from '../../src/bench/load/httperf.js';
import { renderMarkdown } from '../../src/bench/report/markdown.js';
import { headlineTable, httperfMatrix, httperfTable } from '../../src/bench/report/tables.js';
import type { Cell, HttperfStep } from '../../src/bench/results.js';
import { findScenario } from '../../src/bench/scenarios.js';
import { resolveOptions, parseBenchArgs } from '../../src/bench/options.js';
import { failedStep, summarizeHttperf, summarizeHttperfStep } from '../../src/bench/summarize.js';
import { fixtureReport, fixtureScenario } from '../helpers/bench-fixture.js';

/** httperf 0.9.0's output for 2,000 connections at 2,000 req/s against the raw-net server. */
const OUTPUT = `httperf --timeout=5 --client=0/1 --server=127.0.0.1 --port=18779 --uri=/ --rate=2000 --send-buffer=4096 --recv-buffer=16384 --num-conns=2000 --num-calls=1
Maximum connect burst length: 331

Total: connections 2000 requests 2000 replies 2000 test-duration 1.192 s

Connection rate: 1678.6 conn/s (0.6 ms/conn, <=751 concurrent connections)
Connection time [ms]: min 0.1 avg 97.7 max 390.8 median 66.5 stddev 109.7
Connection time [ms]: connect 17.4
Connection length [replies/conn]: 1.000

Request rate: 1678.6 req/s (0.6 ms/req)
Request size [B]: 62.0

Reply rate [replies/s]: min 0.0 avg 0.0 max 0.0 stddev 0.0 (0 samples)
Reply time [ms]: response 80.2 transfer 0.0
Reply size [B]: header 65.0 content 13.0 footer 0.0 (total 78.0)
Reply status: 1xx=0 2xx=2000 3xx=0 4xx=0 5xx=0

CPU time [s]: user 0.01 system 0.17 (user 0.6% system 14.3% total 14.9%)
Net I/O: 229.5 KB/s (1.9*10^6 bps)

Errors: total 0 client-timo 0 socket-timo 0 connrefused 0 connreset 0
Errors: fd-unavail 0 addrunavail 0 ftab-full 0 other 0
`;

function output(over: Partial<HttperfOutput>): HttperfOutput {
  return { ...parseHttperf(OUTPUT), ...over };
}

test('`parseHttperf()` reads the totals, connection times, status and errors', (t: TestContext) => {
  t.plan(10);
  const out = parseHttperf(OUTPUT);
  t.assert.deepStrictEqual(
    [out.connections, out.requests, out.replies, out.durationS],
    [2000, 2000, 2000, 1.192],
  );
  t.assert.deepStrictEqual(out.connectionTime, {
    min: 0.1,
    avg: 97.7,
    max: 390.8,
    median: 66.5,
    stddev: 109.7,
  });
  t.assert.strictEqual(out.connectMs, 17.4);
  t.assert.strictEqual(out.concurrent, 751);
  t.assert.strictEqual(out.requestRate, 1678.6);
  t.assert.strictEqual(out.status['2xx'], 2000);
  t.assert.deepStrictEqual([out.errorTotal, out.errors], [0, {}]);
  t.assert.deepStrictEqual([out.cpuUserS, out.cpuSystemS, out.cpuPct], [0.01, 0.17, 14.9]);
  // A connect burst of 331 at 2,000/s: httperf was 165 ms late, more than the 100 ms allowed.
  t.assert.deepStrictEqual(
    [
      out.burst,
      httperfLagMs(2000, out),
      httperfBehind(2000, out),
      httperfBehind(2000, { burst: 1 }),
    ],
    [331, 165, true, false],
  );
  const failing = OUTPUT.replace('Errors: total 0', 'Errors: total 7').replace(
    'fd-unavail 0',
    'fd-unavail 7',
  );
  t.assert.deepStrictEqual(parseHttperf(failing).errors, { 'fd-unavail': 7 });
});

test('`parseHttperf()` refuses output without a summary', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(() => parseHttperf('httperf: connection refused\n'), /printed no summary/);
});

test('`httperfVerdict()` holds a rate only with every reply, no error, within 3% of it', (t: TestContext) => {
  t.plan(6);
  const on = { replies: 2000, durationS: 1.0, errorTotal: 0, errors: {} };
  t.assert.deepStrictEqual(httperfVerdict(2000, 2000, output(on)), { held: true, why: '' });
  // 3% below is still held; 4% below is not.
  t.assert.strictEqual(httperfVerdict(2000, 2000, output({ ...on, durationS: 1.03 })).held, true);
  t.assert.match(
    httperfVerdict(2000, 2000, output({ ...on, durationS: 1.042 })).why,
    /^replies at 1919\/s for 2000\/s offered$/,
  );
  t.assert.match(
    httperfVerdict(2000, 2000, output({ ...on, replies: 1990, durationS: 0.995 })).why,
    /^10 of 2000 replies missing$/,
  );
  t.assert.match(
    httperfVerdict(2000, 2000, output({ ...on, errorTotal: 3, errors: { connreset: 3 } })).why,
    /^3 errors \(connreset 3\)$/,
  );
  const status = { '1xx': 0, '2xx': 1995, '3xx': 0, '4xx': 0, '5xx': 5 };
  t.assert.match(
    httperfVerdict(2000, 2000, output({ ...on, status })).why,
    /5 replies with status ≥ 400/,
  );
});

test('the sweep plan: rates 1,000 … 15,000 and N = min(10,000, 2 s × R) by default', (t: TestContext) => {
  t.plan(5);
  const opts = resolveOptions(parseBenchArgs([]).values, []);
  t.assert.deepStrictEqual(opts.httperf, {
    start: 1000,
    step: 1000,
    max: 15_000,
    conns: 10_000,
    seconds: 2,
  });
  const rates = httperfRates(opts.httperf);
  t.assert.deepStrictEqual([rates.length, rates[0], rates.at(-1)], [15, 1000, 15_000]);
  t.assert.strictEqual(httperfConns(opts.httperf, 1000), 2000);
  t.assert.strictEqual(httperfConns(opts.httperf, 15_000), 10_000);
  t.assert.throws(
    () => resolveOptions(parseBenchArgs(['--httperf-max', '500']).values, []),
    /--httperf-max must not be below --httperf-start/,
  );
});

test('`httperfArgv()` pins httperf to the load CPUs and gives the method command', (t: TestContext) => {
  t.plan(2);
  const run = { host: '127.0.0.1', port: 9001, rate: 4000, conns: 8000, timeoutS: 5, path: '/', headers: [] };
  const tools = { httperf: '/usr/bin/httperf', taskset: '/usr/bin/taskset', cpus: [0] };
  t.assert.deepStrictEqual(httperfArgv(run, tools).join(' '),
    '/usr/bin/taskset -c 0 /usr/bin/httperf --server 127.0.0.1 --port 9001 --rate 4000 --num-conns 8000 --timeout 5');
  const own = httperfArgv({ ...run, path: '/api?x=1', headers: [['Cookie', 'a=b']] }, { ...tools, taskset: null });
  t.assert.deepStrictEqual(own.slice(-4), ['--uri', '/api?x=1', '--add-header', 'Cookie: a=b\\n']);
}); // prettier-ignore

function step(rate: number, held: boolean, avg = 1): HttperfStep {
  const out = output({
    replies: held ? rate : rate - 10,
    durationS: 1,
    requestRate: rate,
    burst: 1,
    connectionTime: { min: 0.1, avg, max: avg * 10, median: avg, stddev: 0 },
  });
  return summarizeHttperfStep(rate, rate, out, [
    { t: 0, at: 0, cpu: 50, rss: 30e6, procs: 1, loadCpu: 20, otherCpu: 0 },
  ]);
}

test('`summarizeHttperf()` stands for the highest rate held, with its connection times', (t: TestContext) => {
  t.plan(8);
  const s = summarizeHttperf([step(1000, true, 0.5), step(2000, true, 1.2), step(3000, false)]);
  t.assert.strictEqual(s.sustainedRate, 2000);
  t.assert.deepStrictEqual([s.latency.mean, s.latency.max], [1.2, 12]);
  t.assert.strictEqual(s.throughput.median, 2000);
  // 50% of a core for a second over 2,000 replies: 250 µs each.
  t.assert.strictEqual(s.perRequestUs, 250);
  t.assert.strictEqual(summarizeHttperf([step(1000, false)]).sustainedRate, 0);
  // httperf failing at a rate ends the sweep there and keeps what was held before it.
  const failed = failedStep(3000, 6000, 'httperf failed: killed\nmore');
  t.assert.deepStrictEqual([failed.held, failed.why], [false, 'httperf failed: killed']);
  t.assert.strictEqual(summarizeHttperf([step(1000, true), failed]).sustainedRate, 1000);
  t.assert.strictEqual(step(1000, false).why, '10 of 1000 replies missing');
});

function httperfCell(server: string, steps: HttperfStep[]): Cell {
  return {
    server, scenario: 'httperf', status: 'ok', error: null, command: '', loadCommand: null, startupMs: 0,
    wallS: 1, runs: [], sweep: null, httperf: steps, summary: summarizeHttperf(steps),
  }; // prettier-ignore
}

test('the report puts every server side by side at each rate and gives each sweep', (t: TestContext) => {
  t.plan(5);
  const sc = fixtureScenario('httperf', 'httperf', { ceiling: true });
  const report = fixtureReport(
    ['cask', 'uwsgi'],
    [sc],
    [
      httperfCell('cask', [step(1000, true, 2.4), step(2000, false)]),
      httperfCell('uwsgi', [step(1000, true, 0.3), step(2000, true, 0.4), step(3000, false)]),
    ],
  );
  const m = httperfMatrix(report, sc);
  t.assert.deepStrictEqual(m?.rows, [
    ['1,000', '2.4 / 24.0', '0.3 / 3.0'],
    ['2,000', '✗ 1,990/s', '0.4 / 4.0'],
    ['3,000', '', '✗ 2,990/s'],
    ['holds up to', '1,000', '2,000'],
  ]);
  t.assert.strictEqual(httperfTable(report.cells[0] as Cell).rows[1]?.at(-1), 'not held: 10 of 2000 replies missing');
  t.assert.deepStrictEqual(headlineTable(report).rows, [['cask', '1,000'], ['uwsgi', '2,000']]);
  const md = renderMarkdown(report);
  t.assert.match(md, /### uwsgi — holds 2,000 req\/s/);
  t.assert.ok(findScenario('httperf')?.ceiling === true);
}); // prettier-ignore
