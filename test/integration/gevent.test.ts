// `--worker-class gevent` behind cask, run by Debian's python3 where python3-gevent is installed
// (.ci/run installs it); each test skips, saying why, when it is missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const DEBIAN_PYTHON = '/usr/bin/python3';
const missing = ((): string | false => {
  const probe = spawnSync(DEBIAN_PYTHON, ['-c', 'import gevent']);
  return probe.status === 0 ? false : `python3-gevent is not installed for ${DEBIAN_PYTHON}`;
})();

const gevent = [
  'sse_wsgi:application',
  '--chdir',
  APPS,
  '--python',
  DEBIAN_PYTHON,
  '--worker-class',
  'gevent',
];

test(
  'a gevent worker runs requests that wait side by side, one greenlet each',
  { skip: missing },
  async (t) => {
    const server = await startCask([...gevent, '-w', '1']);
    t.after(() => server.stop());
    assert.match(server.stderr(), /Worker ready \(gevent, 1000 greenlets\)/);
    const started = Date.now();
    const all = await Promise.all(
      Array.from({ length: 100 }, () => get(server.port, '/sleep?1', {}, { ms: 20_000 })),
    );
    for (const r of all) assert.equal(r.body.toString(), 'slept 1');
    const took = Date.now() - started;
    // In threads (1 worker x 1 thread) this takes 100 s.
    assert.ok(took < 5000, `${took} ms for 100 requests of 1 s`);
  },
);

test(
  'a gevent request past --timeout gets 504, is stopped in its greenlet, and its neighbours finish',
  { skip: missing },
  async (t) => {
    // The neighbour runs 0.5 s under a 3 s timeout: it must finish, and a loaded machine can
    // add seconds to a request, which must not push it past the timeout too.
    const server = await startCask([...gevent, '-w', '1', '--timeout', '3']);
    t.after(() => server.stop());
    const pid = (await get(server.port, '/pid')).body.toString();
    const neighbour = get(server.port, '/sleep?0.5', {}, { ms: 10_000 });
    const slow = await get(server.port, '/sleep?30', {}, { ms: 10_000 });
    assert.equal(slow.status, 504);
    assert.equal((await neighbour).body.toString(), 'slept 0.5');
    await server.waitFor('sleep 30 stopped by RequestTimeout');
    assert.equal((await get(server.port, '/pid')).body.toString(), pid);
  },
);

test(
  '--worker-class gevent refuses an ASGI app: cask exits 4 saying why',
  { skip: missing },
  async (t) => {
    const server = await startCask(
      ['asgi_app:app', '--chdir', APPS, '--python', DEBIAN_PYTHON, '--worker-class', 'gevent'],
      { noWait: true },
    );
    t.after(() => server.stop());
    assert.equal(await server.exited, 4);
    assert.match(server.stderr(), /--worker-class gevent runs WSGI apps/);
  },
);
