// Request timeouts with real workers: the app is stopped inside its own thread while the
// worker's other requests go on; a thread blocked in C past --timeout-grace gets its worker
// replaced without failing its neighbours; what an app runs after its whole response is
// timed by the worker, with the same two limits; --max-queue-wait answers 503.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APPS, onPath, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const pythons: Array<[string, string | undefined]> = [
  ['CPython', undefined],
  ['PyPy', onPath('pypy3')],
];

for (const [name, python] of pythons) {
  const skip = name === 'PyPy' && python === undefined ? 'pypy3 is not installed' : false;
  test(
    `a request past --timeout gets 504 while another request on the same worker completes (${name})`,
    { skip },
    async (t) => {
      const args = [
        'failures:application',
        '--chdir',
        APPS,
        '-w',
        '1',
        '--threads',
        '2',
        '--timeout',
        '2',
      ];
      const server = await startCask(python === undefined ? args : [...args, '--python', python], {
        timeoutMs: 60_000,
      });
      t.after(() => server.stop());
      const pid = (await get(server.port, '/pid')).body.toString();

      const victim = get(server.port, '/busy?30', {}, { ms: 10_000 });
      await sleep(100);
      const innocent = get(server.port, '/sleep?1', {}, { ms: 10_000 });
      const [stopped, served] = await Promise.all([victim, innocent]);

      assert.equal(stopped.status, 504);
      assert.equal(served.status, 200);
      assert.equal(served.body.toString(), 'slept 1.0');
      await server.waitFor(/Request stopped after the timeout GET \/busy\?30/);
      await server.waitFor(/cask_worker.interrupt.RequestTimeout/);
      let closed = '';
      for (let i = 0; i < 40 && !closed.includes('busy-finally'); i++) {
        closed = (await get(server.port, '/closed')).body.toString();
        if (!closed.includes('busy-finally')) await sleep(50);
      }
      assert.match(closed, /busy-finally/, "the app's finally block ran");
      assert.equal(
        (await get(server.port, '/pid')).body.toString(),
        pid,
        'the same worker serves on',
      );
      assert.doesNotMatch(server.stderr(), /Worker exited/);
    },
  );
}

test('a thread blocked in C past --timeout-grace gets its worker replaced and its neighbour still completes', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '2',
    '--timeout',
    '2',
    '--timeout-grace',
    '0.2',
  ]);
  t.after(() => server.stop());
  const pid = (await get(server.port, '/pid')).body.toString();

  // The victim sleeps in one C call: RequestTimeout cannot land until it returns. It is
  // stuck 2.2 to 2.5 s in; the neighbour runs from 1.5 s to 3.2 s, inside its own timeout.
  const victim = get(server.port, '/sleep?60', {}, { ms: 15_000 });
  await sleep(1500);
  const neighbour = get(server.port, '/sleep?1.7', {}, { ms: 15_000 });
  await server.waitFor('Taking the worker out of service', 10_000);
  const meanwhile = await get(server.port, '/pid');
  const [stopped, served] = await Promise.all([victim, neighbour]);

  assert.equal(stopped.status, 504);
  assert.equal(served.status, 200, 'the neighbour finishes in the worker taken out of service');
  assert.equal(meanwhile.status, 200);
  assert.notEqual(meanwhile.body.toString(), pid, 'new requests go to the replacement');
  await server.waitFor(/Request GET \/sleep\?60 still running in thread/, 10_000);
  await server.waitFor(/Worker exited \(code 5\)/, 10_000);
  assert.match(server.stderr(), /in application/, 'the stack of the stuck thread is printed');
});

test('what an app runs after its whole response is stopped after --timeout, and its one thread serves again', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '1',
    '--timeout',
    '1',
  ]);
  t.after(() => server.stop());
  const pid = (await get(server.port, '/pid')).body.toString();

  // The front has the whole response at once and stops timing it; the worker times the 30 s
  // the app still runs after it.
  const started = Date.now();
  const answered = await get(server.port, '/busy-after-body?30', {}, { ms: 5_000 });
  assert.equal(answered.status, 200);
  assert.equal(answered.body.toString(), 'all of it');
  assert.ok(Date.now() - started < 3000, 'the response did not wait for the app to finish');
  await server.waitFor(
    /Request stopped after the timeout, its response already sent: GET \/busy-after-body\?30\n/,
    10_000,
  );
  await server.waitFor('cask_worker.interrupt.RequestTimeout');
  // One thread: only a thread given back can answer these.
  assert.match((await get(server.port, '/closed')).body.toString(), /busy-after-body-finally/);
  assert.equal((await get(server.port, '/pid')).body.toString(), pid, 'the same worker serves on');
  assert.ok(Date.now() - started < 5000, 'stopped about --timeout after the response');
  assert.doesNotMatch(server.stderr(), /Taking the worker out of service/);
});

test('a thread blocked in C after its whole response, past --timeout-grace, gets its worker replaced', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '2',
    '--timeout',
    '1',
    '--timeout-grace',
    '0.5',
    '--graceful-timeout',
    '1',
  ]);
  t.after(() => server.stop());
  const pid = (await get(server.port, '/pid')).body.toString();

  const answered = await get(server.port, '/after-body?60', {}, { ms: 5_000 });
  assert.equal(answered.body.toString(), 'all of it');
  await server.waitFor(
    /Taking the worker out of service: a thread still runs GET \/after-body\?60 [\d.]+ s after its response ended, past the 1 s timeout and its 0.5 s grace/,
    10_000,
  );
  await server.waitFor(/Stuck after its response: GET \/after-body\?60\n/);
  assert.match(server.stderr(), /in after_body/, 'the stack of the stuck thread is logged');
  let now = pid;
  for (let i = 0; i < 100 && now === pid; i++) {
    now = (await get(server.port, '/pid')).body.toString();
    if (now === pid) await sleep(50);
  }
  assert.notEqual(now, pid, 'a replacement serves new requests');
  await server.waitFor(/Worker exited/, 10_000);
});

test('a request that waits longer than --max-queue-wait gets 503 with Retry-After', async (t) => {
  const server = await startCask(
    [
      'failures:application',
      '--chdir',
      APPS,
      '-w',
      '1',
      '--threads',
      '1',
      '--prefetch',
      '0',
      '--max-queue-wait',
      '0.3',
    ],
    { env: { SAY_SLEEP: '1' } },
  );
  t.after(() => server.stop());
  const slow = get(server.port, '/sleep?1.5', {}, { ms: 10_000 });
  // The app says so once the request holds the only thread: the next one must wait.
  await server.waitFor('sleeping 1.5');
  const waiting = await get(server.port, '/ok', {}, { ms: 10_000 });
  assert.equal(waiting.status, 503);
  assert.equal(waiting.headers['retry-after'], '1');
  assert.equal((await slow).status, 200);
  await server.waitFor(/No worker was free within 0\.3 s/);
  assert.equal((await get(server.port, '/ok')).status, 200);
});
