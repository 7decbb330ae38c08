// The h2 scenario of the benchmark lab: h2load's command line, its report and per-request log
// read back into the lab's numbers, and the table of legs with their ratios to HTTP/1.1.
import { test, type TestContext } from 'node:test';
import { LatencyHistogram } from '../../src/bench/histogram.js';
import {
  h2loadArgv,
  parseH2loadLog,
  parseH2loadOutput,
  type H2LoadSpec,
} from '../../src/bench/load/h2load.js';
import { legsTable } from '../../src/bench/report/tables.js';
import type { Cell, RunResult } from '../../src/bench/results.js';
import { H2_LEGS, findScenario } from '../../src/bench/scenarios.js';
import { findServer } from '../../src/bench/servers.js';

const OUTPUT = `starting benchmark...
Application protocol: h2c
finished in 3.00s, 10203.50 req/s, 398.66KB/s
requests: 20407 total, 20407 started, 20407 done, 20300 succeeded, 107 failed, 5 errored, 2 timeout
status codes: 20300 2xx, 0 3xx, 100 4xx, 7 5xx
traffic: 797.33KB (816464) total, 225.67KB (231086) headers (space savings 90.09%), 325.38KB (333190) data
`;

test('`parseH2loadOutput()` reads the protocol, the request counters, the statuses and the bytes', (t: TestContext) => {
  t.plan(1);
  t.assert.deepEqual(parseH2loadOutput(OUTPUT), {
    protocol: 'h2c',
    requests: 20407,
    succeeded: 20300,
    failed: 107,
    errored: 5,
    timeout: 2,
    statuses: { '2xx': 20300, '4xx': 100, '5xx': 7 },
    bytes: 816464,
  });
});

test('`parseH2loadOutput()` refuses output without a summary', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(() => parseH2loadOutput('connect failed\n'), /h2load printed no summary/);
});

test('`parseH2loadLog()` builds the latency of the 2xx/3xx requests and the span of all', (t: TestContext) => {
  const log = [
    '1000000\t200\t1500',
    '1000100\t200\t2500',
    '1000200\t503\t100',
    '1000300\t304\t500',
    '',
  ].join('\n');
  const { latency, firstUs, lastUs } = parseH2loadLog(log);
  t.plan(4);
  t.assert.equal(latency.count, 3);
  t.assert.equal(latency.summary().max, 2.5);
  t.assert.equal(firstUs, 1000000);
  t.assert.equal(lastUs, 1002600);
});

test('`h2loadArgv()` asks HTTP/1.1 with --h1, pins to the load CPUs, and uses https for TLS legs', (t: TestContext) => {
  const spec = (leg: (typeof H2_LEGS)[number]): H2LoadSpec => ({
    host: '127.0.0.1',
    port: 8000,
    path: '/',
    leg,
    warmupMs: 1000,
    durationMs: 2000,
    timeoutMs: 10_000,
  });
  const tools = {
    h2load: '/usr/bin/h2load',
    taskset: '/usr/bin/taskset',
    cpus: [0],
    tmpDir: '/tmp',
  };
  const [h2c, h1, h2tls] = H2_LEGS as [
    (typeof H2_LEGS)[0],
    (typeof H2_LEGS)[0],
    (typeof H2_LEGS)[0],
  ];
  t.plan(3);
  t.assert.deepEqual(h2loadArgv(spec(h2c), tools, '/tmp/log'), [
    '/usr/bin/taskset', '-c', '0', '/usr/bin/h2load', '-t', '1', '-c', '4', '-m', '25', '-D', '2',
    '--warm-up-time', '1', '-T', '10', '--log-file', '/tmp/log', 'http://127.0.0.1:8000/',
  ]); // prettier-ignore
  t.assert.deepEqual(h2loadArgv(spec(h1), { ...tools, taskset: null }, '/tmp/log').slice(0, 8), [
    '/usr/bin/h2load',
    '--h1',
    '-t',
    '1',
    '-c',
    '100',
    '-m',
    '1',
  ]);
  t.assert.equal(h2loadArgv(spec(h2tls), tools, '/tmp/log').at(-1), 'https://127.0.0.1:8000/');
});

test('the h2 scenario is opt-in, and only servers that speak HTTP/2 run it (Cask, with its TLS flags)', (t: TestContext) => {
  const h2 = findScenario('h2');
  t.plan(4);
  t.assert.equal(h2?.optIn, true);
  t.assert.deepEqual(
    h2?.legs?.map((l) => l.name),
    ['h2c', 'http/1.1', 'h2 (TLS)', 'http/1.1 (TLS)'],
  );
  t.assert.deepEqual(findServer('cask')?.http2?.tlsArgs('c.pem', 'k.pem'), [
    '--certfile', 'c.pem', '--keyfile', 'k.pem',
  ]); // prettier-ignore
  t.assert.equal(findServer('gunicorn-gthread')?.http2, undefined);
});

function legRun(leg: string, throughput: number, p99: number): RunResult {
  const h = new LatencyHistogram();
  h.recordMs(p99 / 2, 98);
  h.recordMs(p99, 2);
  const latency = { ...h.summary(), p99 };
  return {
    leg, repeat: 1, windowS: 2, requests: throughput * 2, throughput, sent: throughput * 2, errorCount: 0, errors: {},
    statuses: {}, retries: 0, closesWithoutNotice: 0, connections: 4, bytesPerS: 0, latency, latencyByTag: { all: latency },
    histogram: h.encode(), cpu: { avg: 90, peak: 95, seconds: 1.8, perRequestUs: 80 }, rss: { peak: 1, avg: 1 }, procs: 2,
    loadCpu: 30, generatorBound: false, otherCpu: 0, inFlight: 100, samples: [], inside: null,
  }; // prettier-ignore
}

test('`legsTable()` gives each HTTP/2 leg as a ratio of HTTP/1.1 over the same transport, and says why a leg was skipped', (t: TestContext) => {
  const cell: Cell = {
    server: 'cask', scenario: 'h2', status: 'ok', error: null, command: '', loadCommand: null, startupMs: 1, wallS: 1,
    runs: [legRun('h2c', 9000, 20), legRun('http/1.1', 10000, 10)], sweep: null, summary: null,
    legs: [
      { name: 'h2c', protocol: 'h2c', skipped: null },
      { name: 'http/1.1', protocol: 'http/1.1', skipped: null },
      { name: 'h2 (TLS)', protocol: '', skipped: 'no certificate for the TLS legs: openssl: not found' },
    ],
  }; // prettier-ignore
  const rows = legsTable(cell).rows;
  t.plan(4);
  t.assert.equal(rows.length, 3);
  t.assert.deepEqual(rows[0]?.slice(0, 3), ['h2c', 'h2c', '9,000']);
  t.assert.equal(rows[0]?.[6], '0.90× req/s, 2.00× p99');
  t.assert.match(rows[2]?.[7] ?? '', /^skipped: no certificate/);
});
