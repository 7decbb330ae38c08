// How the pool sees ASGI and gevent workers: the arguments they are started with, and the
// capacity the autoscaler counts for them (their READY's slots, not --threads).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleLoad } from '../../src/pool/autoscale.js';
import { workerArgs, type WorkerSpec } from '../../src/pool/worker.js';

const spec: WorkerSpec = {
  python: 'python3',
  app: 'main:app',
  threads: 4,
  pythonpath: [],
  chdir: '/srv',
  hooks: null,
  interface: 'auto',
  workerClass: 'gthread',
  workerScheduling: 'batch',
  workerConnections: 1000,
  timeout: 0,
  timeoutGrace: 10,
  multiprocess: false,
};

test('workerArgs() lets the worker decide `auto`, and passes the slots an ASGI or gevent worker runs', () => {
  const auto = workerArgs(spec);
  assert.ok(!auto.includes('--interface'));
  assert.deepEqual(
    auto.slice(auto.indexOf('--worker-connections'), auto.indexOf('--worker-connections') + 2),
    ['--worker-connections', '1000'],
  );
  const wsgi = workerArgs({ ...spec, interface: 'wsgi' });
  assert.deepEqual(wsgi.slice(wsgi.indexOf('--interface'), wsgi.indexOf('--interface') + 2), [
    '--interface',
    'wsgi',
  ]);
  assert.ok(!wsgi.includes('--worker-connections'));
  const gevent = workerArgs({
    ...spec,
    interface: 'wsgi',
    workerClass: 'gevent',
    workerConnections: 500,
  });
  assert.ok(gevent.includes('--worker-class') && gevent.includes('gevent'));
  assert.equal(gevent[gevent.indexOf('--worker-connections') + 1], '500');
  assert.deepEqual(auto.slice(auto.indexOf('--scheduling'), auto.indexOf('--scheduling') + 2), [
    '--scheduling',
    'batch',
  ]);
  assert.ok(!workerArgs({ ...spec, workerScheduling: 'inherit' }).includes('--scheduling'));
});

test('workerArgs() passes the timeout and its grace, which the worker applies to what runs after a response, only when there is a timeout', () => {
  assert.ok(!workerArgs(spec).includes('--timeout'));
  const timed = workerArgs({ ...spec, timeout: 2.5, timeoutGrace: 1 });
  assert.deepEqual(timed.slice(timed.indexOf('--timeout'), timed.indexOf('--timeout') + 4), [
    '--timeout',
    '2.5',
    '--timeout-grace',
    '1',
  ]);
});

test('sampleLoad() counts the slots a worker announced, so an ASGI worker with 40 requests is not overloaded', () => {
  const worker = { generation: 1, state: 'ready', accepting: true, inFlight: 40, idleSince: 0 };
  const at = { now: 1000, target: 1, queued: 0, serving: 1 };
  assert.equal(sampleLoad([{ ...worker, threads: 1000 }], 1, at).capacity, 1000);
  assert.equal(sampleLoad([worker], 4, at).capacity, 4);
});
