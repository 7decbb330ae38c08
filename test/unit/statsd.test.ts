import { test, type TestContext } from 'node:test';
import { Histogram } from '../../src/admin/instruments.js';
import {
  MAX_DATAGRAM,
  StatsdLines,
  normalPrefix,
  pack,
  parseStatsdHost,
  sampleRate,
  type StatsdReading,
} from '../../src/admin/statsd.js';

function reading(over: Partial<StatsdReading> = {}): StatsdReading {
  return {
    requests: 0,
    statusCodes: new Float64Array(600),
    duration: new Histogram(),
    workers: 2,
    logs: [0, 0, 0],
    appErrors: 0,
    ...over,
  };
}

test('`parseStatsdHost()` takes HOST:PORT and [IPv6]:PORT and refuses the rest', (t: TestContext) => {
  t.plan(5);
  t.assert.deepEqual(parseStatsdHost('localhost:8125'), { host: 'localhost', port: 8125 });
  t.assert.deepEqual(parseStatsdHost('[::1]:9125'), { host: '::1', port: 9125 });
  t.assert.throws(() => parseStatsdHost('localhost'), /HOST:PORT/);
  t.assert.throws(() => parseStatsdHost('localhost:70000'), /HOST:PORT/);
  t.assert.throws(() => parseStatsdHost('unix:/run/statsd.sock'), /Unix/);
});

test('`normalPrefix()` adds one dot as gunicorn does', (t: TestContext) => {
  t.plan(3);
  t.assert.equal(normalPrefix(''), '');
  t.assert.equal(normalPrefix('app'), 'app.');
  t.assert.equal(normalPrefix('app..'), 'app.');
});

test('`StatsdLines.next()` sends the gauge first, then the differences under gunicorn names', (t: TestContext) => {
  t.plan(2);
  const lines = new StatsdLines('svc');
  const codes = new Float64Array(600);
  const duration = new Histogram();
  const logs = [0, 0, 0];
  t.assert.deepEqual(lines.next(reading({ statusCodes: codes, duration, logs })), [
    'svc.gunicorn.workers:2|g',
  ]);
  codes[200] = 3;
  codes[404] = 1;
  for (const s of [0.002, 0.002, 0.003, 0.004]) duration.observe(s);
  logs[0] = 2;
  logs[2] = 1;
  t.assert.deepEqual(
    lines.next(reading({ requests: 4, statusCodes: codes, duration, logs, appErrors: 1 })),
    [
      'svc.gunicorn.workers:2|g',
      'svc.gunicorn.requests:4|c',
      'svc.gunicorn.request.status.200:3|c',
      'svc.gunicorn.request.status.404:1|c',
      // 2 ms twice in (1, 2.5] ms; 3 and 4 ms in (2.5, 5] ms: the middles, each weighted.
      'svc.gunicorn.request.duration:1.75|ms|@0.5',
      'svc.gunicorn.request.duration:3.75|ms|@0.5',
      'svc.gunicorn.log.warning:2|c',
      'svc.gunicorn.log.critical:1|c',
      'svc.gunicorn.log.exception:1|c',
    ],
  );
});

test('`StatsdLines.next()` sends the exact mean when one bucket holds every request', (t: TestContext) => {
  t.plan(1);
  const lines = new StatsdLines('');
  const duration = new Histogram();
  lines.next(reading({ duration }));
  duration.observe(0.003);
  duration.observe(0.004);
  duration.observe(0.0035);
  t.assert.deepEqual(lines.next(reading({ requests: 3, duration })), [
    'gunicorn.workers:2|g',
    'gunicorn.requests:3|c',
    'gunicorn.request.duration:3.5|ms|@0.333333333333',
  ]);
});

test('`sampleRate()` never makes 1/rate fall below the count', (t: TestContext) => {
  t.plan(1);
  let bad = 0;
  for (let n = 2; n < 100_000; n++) if (1 / Number(sampleRate(n)) < n) bad++;
  t.assert.equal(bad, 0);
});

test('`pack()` fills datagrams up to the size and never splits a line', (t: TestContext) => {
  t.plan(4);
  const lines = Array.from({ length: 200 }, (_, i) => `gunicorn.request.status.${200 + i}:1|c`);
  const datagrams = pack(lines);
  t.assert.ok(datagrams.every((d) => d.length <= MAX_DATAGRAM));
  t.assert.ok(datagrams.length <= Math.ceil((lines.join('\n').length + 1) / MAX_DATAGRAM) + 1);
  t.assert.deepEqual(
    datagrams.flatMap((d) => d.toString().split('\n')),
    lines,
  );
  t.assert.deepEqual(pack(['x'.repeat(MAX_DATAGRAM + 1), 'a:1|c']), [Buffer.from('a:1|c')]);
});
