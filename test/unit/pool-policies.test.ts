// The pool's small policies: recycling limits with jitter, /proc RSS parsing, the
// autoscaler's decisions, and which signal does what.
import { test, type TestContext } from 'node:test';
import { Autoscaler, UP_WINDOW_MS, type LoadSample } from '../../src/pool/autoscale.js';
import { lifetimeMs, parseVmRss, readRss, requestLimit } from '../../src/pool/limits.js';
import { SIGNAL_ACTIONS, SignalQueue } from '../../src/pool/signals.js';
import { poolOptions } from '../../src/pool/pool.js';
import { loadConfig } from '../../src/config/index.js';

test('`requestLimit()` is max-requests plus a whole jitter from 0 to N, or Infinity when off', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(requestLimit(0, 10), Infinity);
  t.assert.strictEqual(
    requestLimit(100, 10, () => 0),
    100,
  );
  t.assert.strictEqual(
    requestLimit(100, 10, () => 0.999999),
    110,
  );
  t.assert.strictEqual(
    requestLimit(100, 0, () => 0.7),
    100,
  );
});

test('`lifetimeMs()` is max-lifetime plus a jitter, in ms, or Infinity when off', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(lifetimeMs(0, 5), Infinity);
  t.assert.strictEqual(lifetimeMs(60, 0), 60_000);
  t.assert.strictEqual(
    lifetimeMs(60, 10, () => 0.5),
    65_000,
  );
});

test('`parseVmRss()` reads VmRSS in bytes and undefined without it', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(
    parseVmRss('Name:\tpython3\nVmPeak:\t  20000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n'),
    12345 * 1024,
  );
  t.assert.strictEqual(parseVmRss('Name:\tkthreadd\n'), undefined);
  t.assert.strictEqual(readRss(2 ** 22 + 12345), undefined, 'no such process');
});

function sample(fields: Partial<LoadSample>): LoadSample {
  return {
    now: 0,
    target: 1,
    queued: 0,
    inFlight: 0,
    capacity: 1,
    starting: 0,
    longestIdleMs: 0,
    ...fields,
  };
}

test('`Autoscaler` adds a worker after requests waited in most of a window, one at a time', (t: TestContext) => {
  t.plan(4);
  const scaler = new Autoscaler(1, 3, 60_000);
  t.assert.strictEqual(scaler.decide(sample({ now: 0, inFlight: 4 })), undefined);
  t.assert.strictEqual(scaler.decide(sample({ now: UP_WINDOW_MS / 2, inFlight: 4 })), undefined);
  t.assert.strictEqual(scaler.decide(sample({ now: UP_WINDOW_MS, inFlight: 4 }))?.target, 2);
  // A worker still starting: the next window does not add another yet.
  scaler.decide(
    sample({ now: UP_WINDOW_MS + 1, target: 2, inFlight: 4, capacity: 1, starting: 1 }),
  );
  t.assert.strictEqual(
    scaler.decide(sample({ now: 2 * UP_WINDOW_MS + 2, target: 2, inFlight: 4, starting: 1 })),
    undefined,
  );
});

test('`Autoscaler` never adds a worker when every thread is busy but nobody waits', (t: TestContext) => {
  t.plan(1);
  const scaler = new Autoscaler(1, 3, 60_000);
  const decisions = [0, 250, 500, 750, 1000, 1250].map((now) =>
    scaler.decide(sample({ now, target: 2, inFlight: 2, capacity: 2 })),
  );
  t.assert.deepStrictEqual(
    decisions.filter((d) => d !== undefined),
    [],
  );
});

test('`Autoscaler` stays within workers-max and retires idle workers down to workers-min', (t: TestContext) => {
  t.plan(3);
  const scaler = new Autoscaler(1, 2, 1000);
  scaler.decide(sample({ now: 0, target: 2, inFlight: 9, capacity: 2 }));
  t.assert.strictEqual(
    scaler.decide(sample({ now: UP_WINDOW_MS, target: 2, inFlight: 9, capacity: 2 })),
    undefined,
  );
  t.assert.strictEqual(
    scaler.decide(sample({ now: 5000, target: 2, capacity: 2, longestIdleMs: 1500 }))?.target,
    1,
  );
  t.assert.strictEqual(
    scaler.decide(sample({ now: 6000, target: 1, longestIdleMs: 9000 })),
    undefined,
  );
});

test('`SIGNAL_ACTIONS` maps the signals gunicorn users know', (t: TestContext) => {
  t.plan(1);
  t.assert.deepStrictEqual(
    { ...SIGNAL_ACTIONS },
    {
      SIGTERM: 'stop',
      SIGINT: 'stop',
      SIGQUIT: 'quit',
      SIGHUP: 'reload',
      SIGTTIN: 'more',
      SIGTTOU: 'fewer',
      SIGUSR1: 'reopen',
      SIGUSR2: 'upgrade',
    },
  );
});

test('`SignalQueue` hands out what was pushed, in order, to one waiting loop', async (t: TestContext) => {
  t.plan(2);
  const queue = new SignalQueue();
  const first = queue.next();
  queue.push({ signal: 'SIGHUP', action: 'reload' });
  queue.push({ signal: 'SIGTERM', action: 'stop' });
  t.assert.deepStrictEqual(await first, { signal: 'SIGHUP', action: 'reload' });
  t.assert.deepStrictEqual(await queue.next(), { signal: 'SIGTERM', action: 'stop' });
});

test('`SignalQueue` never loses an event to a wait that lost a race', async (t: TestContext) => {
  t.plan(2);
  const queue = new SignalQueue();
  const abandoned = queue.next();
  await Promise.race([abandoned, Promise.resolve('ready')]);
  const current = queue.next();
  queue.push({ signal: 'SIGTERM', action: 'stop' });
  t.assert.deepStrictEqual(await current, { signal: 'SIGTERM', action: 'stop' });
  queue.push({ signal: 'SIGHUP', action: 'reload' });
  t.assert.deepStrictEqual(await queue.next(), { signal: 'SIGHUP', action: 'reload' });
});

test('`poolOptions()` turns autoscaling on only when workers-max is above workers-min', (t: TestContext) => {
  t.plan(5);
  const fixed = poolOptions(loadConfig({ env: {}, cwd: '/', argv: ['-w', '3'] }));
  t.assert.deepStrictEqual([fixed.workers, fixed.workersMin, fixed.workersMax], [3, 3, 3]);
  const scaled = poolOptions(loadConfig({ env: {}, cwd: '/', argv: ['--workers-max', '4'] }));
  t.assert.deepStrictEqual([scaled.workers, scaled.workersMin, scaled.workersMax], [1, 1, 4]);
  t.assert.strictEqual(scaled.multiprocess, true);
  const raised = poolOptions(
    loadConfig({ env: {}, cwd: '/', argv: ['--workers-min', '2', '--workers-max', '5'] }),
  );
  t.assert.strictEqual(raised.workers, 2, 'the start is brought within the bounds');
  t.assert.throws(
    () =>
      poolOptions(
        loadConfig({ env: {}, cwd: '/', argv: ['--workers-min', '4', '--workers-max', '2'] }),
      ),
    /Invalid value for --workers-max: 2 is below --workers-min \(4\)/,
  );
});
