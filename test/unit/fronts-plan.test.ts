import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { checkFronts, frontCount, frontShare, share } from '../../src/fronts/plan.js';

const config = (argv: string[]) => loadConfig({ argv, env: {}, cwd: '/tmp' });

test('`frontCount()`: a number as given; `auto` one per four CPUs, at least one, at most one per worker', () => {
  assert.equal(frontCount('3', 2, 8), 3);
  assert.equal(frontCount('auto', 2, 8), 1);
  assert.equal(frontCount('auto', 16, 8), 4);
  assert.equal(frontCount('auto', 64, 8), 8);
  assert.equal(frontCount('auto', 64, 1), 1);
});

test('`share()` gives the remainder to the first fronts, and the shares add up', () => {
  assert.deepEqual(
    [0, 1, 2].map((i) => share(8, i, 3)),
    [3, 3, 2],
  );
  for (const total of [1, 5, 7, 100]) {
    for (const count of [1, 2, 3, 4]) {
      if (total < count) continue;
      let sum = 0;
      for (let i = 0; i < count; i++) sum += share(total, i, count);
      assert.equal(sum, total, `${total} in ${count}`);
    }
  }
});

test('`frontShare()` divides workers, autoscaling bounds, connections, spool and body memory; 0 stays 0', () => {
  const c = config(['-w', '5', '--workers-max', '9', '--max-connections', '1000', '--fronts', '2']);
  assert.deepEqual(frontShare(c, 0, 2), {
    workers: 3,
    workersMin: 0,
    workersMax: 5,
    maxConnections: 500,
    responseSpoolTotal: Math.ceil(c.responseSpoolTotal / 2),
    responseSpoolMemory: Math.ceil(c.responseSpoolMemory / 2),
    bodyMemoryTotal: Math.ceil(c.bodyMemoryTotal / 2),
  });
  assert.equal(frontShare(c, 1, 2).workers, 2);
  assert.equal(
    frontShare(config(['--body-memory-total', '0', '--fronts', '2']), 0, 2).bodyMemoryTotal,
    0,
  );
  assert.equal(frontShare(c, 1, 2).workersMax, 4);
});

test('`checkFronts()` names the setting that cannot go with several fronts', () => {
  assert.throws(
    () => checkFronts(config(['-w', '2', '--fronts', '3']), 3, { dev: false, activated: false }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /--fronts 3 needs at least 3 workers, one per front \(--workers 2\)/.test(e.message),
  );
  assert.throws(
    () =>
      checkFronts(
        config(['-w', '4', '--workers-min', '1', '--workers-max', '6', '--fronts', '2']),
        2,
        { dev: false, activated: false },
      ),
    /needs at least 2 workers, one per front \(--workers-min 1\)/,
  );
  assert.throws(
    () => checkFronts(config(['-w', '2', '--fronts', '2']), 2, { dev: true, activated: false }),
    /--fronts 2 cannot go with live reload/,
  );
  assert.throws(
    () => checkFronts(config(['-w', '2', '--fronts', '2']), 2, { dev: false, activated: true }),
    /LISTEN_FDS/,
  );
  checkFronts(config(['-w', '2', '--fronts', '2']), 2, { dev: false, activated: false });
  checkFronts(config(['--reload']), 1, { dev: true, activated: false });
});

test('`--fronts` takes a number or auto, and refuses anything else with exit status 2', () => {
  assert.equal(config(['--fronts', 'auto']).fronts, 'auto');
  assert.equal(config(['--fronts', '4']).fronts, '4');
  for (const bad of ['0', '-1', 'two', '1.5', '']) {
    assert.throws(
      () => config(['--fronts', bad]),
      (e: unknown) => e instanceof ConfigError && /--fronts/.test(e.message),
      bad,
    );
  }
});
