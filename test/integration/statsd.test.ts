// `--statsd-host`: the real cask sends gunicorn's StatsD metrics to a real UDP socket.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

test("`--statsd-host` sends gunicorn's metric lines for known traffic over UDP", async (t) => {
  const collector = createSocket('udp4');
  const datagrams: string[] = [];
  collector.on('message', (msg) => datagrams.push(msg.toString()));
  await new Promise<void>((resolve) => collector.bind(0, '127.0.0.1', resolve));
  t.after(() => collector.close());
  const { port } = collector.address() as AddressInfo;
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '2',
    '--statsd-host',
    `127.0.0.1:${port}`,
    '--statsd-prefix',
    'svc',
  ]);
  t.after(() => server.stop());
  for (let i = 0; i < 5; i++) assert.equal((await get(server.port, '/ok')).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await get(server.port, '/nope')).status, 404);
  assert.equal((await get(server.port, '/raise-before')).status, 500);

  const lines = (): string[] => datagrams.flatMap((d) => d.split('\n'));
  const sum = (name: string, type: string): number =>
    lines()
      .filter((l) => l.startsWith(`${name}:`) && l.split('|')[1] === type)
      .reduce((n, l) => n + Number(l.slice(name.length + 1).split('|')[0]), 0);
  await until(() => sum('svc.gunicorn.requests', 'c') === 9, 5000);
  assert.equal(sum('svc.gunicorn.request.status.200', 'c'), 5);
  assert.equal(sum('svc.gunicorn.request.status.404', 'c'), 3);
  assert.equal(sum('svc.gunicorn.request.status.500', 'c'), 1);
  await until(() => sum('svc.gunicorn.log.exception', 'c') === 1, 5000);
  // Timer lines carry 1/count as their sample rate: the counts they stand for add up to 9.
  const timed = lines()
    .filter((l) => l.startsWith('svc.gunicorn.request.duration:'))
    .map((l) => {
      const [value, type, rate] = l.slice('svc.gunicorn.request.duration:'.length).split('|');
      assert.equal(type, 'ms');
      assert.ok(Number(value) >= 0 && Number(value) < 10_000, l);
      return rate === undefined ? 1 : Math.round(1 / Number(rate.slice(1)));
    });
  assert.equal(
    timed.reduce((a, b) => a + b, 0),
    9,
  );
  assert.ok(lines().includes('svc.gunicorn.workers:2|g'), lines().join('\n'));
  assert.ok(datagrams.every((d) => Buffer.byteLength(d) <= 1432));
});

test('`--statsd-host` with no collector listening drops silently and serves on', async (t) => {
  // A port nothing listens on: bind one, note it, close it.
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--statsd-host',
    `127.0.0.1:${port}`,
  ]);
  t.after(() => server.stop());
  for (let round = 0; round < 3; round++) {
    assert.equal((await get(server.port, '/ok')).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
  }
  assert.equal(server.proc.exitCode, null);
  assert.equal(await server.stop(), 0);
  assert.doesNotMatch(server.stderr(), /ECONNREFUSED|Error/);
});

test('`--statsd-host` whose name does not resolve: tried again at each flush, and the server serves on', async (t) => {
  // `.invalid` never resolves (RFC 2606). The failed lookup used to leave the socket taken for
  // connected, and its first send threw out of the flush timer and ended the server.
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--statsd-host',
    'collector.invalid:8125',
  ]);
  t.after(() => server.stop());
  for (let round = 0; round < 3; round++) {
    assert.equal((await get(server.port, '/ok')).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
  }
  assert.equal(server.proc.exitCode, null);
  assert.equal(await server.stop(), 0);
  assert.doesNotMatch(server.stderr(), /ERR_SOCKET|Error/);
});
