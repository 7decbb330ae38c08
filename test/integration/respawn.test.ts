// After start-up, a replacement worker that cannot import the app (the code changed on disk)
// is retried with an exponential backoff while /readyz says no worker is ready; once the
// code imports again, the server serves again. It never exits for it. The same holds for a
// worker whose process cannot be made at all (no descriptor left, a bad interpreter path).
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminPort } from '../helpers/admin.js';
import { APPS, onPath, startCask } from '../helpers/cask.js';
import { get, parseResponses } from '../helpers/http.js';
import { until } from '../helpers/load.js';

const FRAGILE = `import os
if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "broken")):
    raise RuntimeError("cannot start now")

def application(environ, start_response):
    if environ["PATH_INFO"] == "/die":
        os._exit(9)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"up"]
`;

test('a replacement that cannot import the app is retried with backoff and the server recovers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-respawn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'fragile.py'), FRAGILE);
  const server = await startCask(
    ['fragile:application', '--chdir', dir, '--admin-bind', '127.0.0.1:0'],
    {
      env: { PYTHONDONTWRITEBYTECODE: '1' },
    },
  );
  t.after(() => server.stop());
  const admin = adminPort(server);

  writeFileSync(join(dir, 'broken'), '');
  assert.equal((await get(server.port, '/die')).status, 502);
  await server.waitFor('starting a new one in 100 ms');
  await server.waitFor(/A new worker could not load the app:[\s\S]*RuntimeError: cannot start now/);
  await server.waitFor('starting a new one in 200 ms');
  await server.waitFor('starting a new one in 400 ms');
  const unready = await get(admin, '/readyz');
  assert.equal(unready.status, 503);
  assert.equal(
    (JSON.parse(unready.body.toString()) as { status: string }).status,
    'no worker ready',
  );

  unlinkSync(join(dir, 'broken'));
  await until(async () => (await get(admin, '/readyz')).status === 200, 15_000, 'ready again');
  assert.equal((await get(server.port, '/')).body.toString(), 'up');
  assert.equal(server.proc.exitCode, null, 'the server never exited');
});

// A worker whose process cannot be made is a worker that failed to start: the front says why,
// serves on with the workers it has, and retries with the same backoff until it works. Node
// reports some of these failures as an event (EMFILE: no descriptor left for the pipes) and
// throws others at once (ENOTDIR: a directory on the interpreter's path became a file).

/** How many descriptors the front may have open, in the EMFILE test. */
const FD_LIMIT = 64;

/** One keep-alive connection, asked one request at a time: it needs no new descriptor. */
function keepAlive(port: number): { ask: (path: string) => Promise<number>; close: () => void } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let seen: Buffer = Buffer.alloc(0);
  let waiting: { resolve: (status: number) => void; reject: (error: Error) => void } | undefined;
  socket.on('data', (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const { responses, rest } = parseResponses(seen);
    const first = responses[0];
    if (first === undefined) return;
    seen = rest;
    const asked = waiting;
    waiting = undefined;
    asked?.resolve(first.status);
  });
  socket.on('close', () => waiting?.reject(new Error('The connection closed before a response')));
  return {
    ask: (path) =>
      new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      }),
    close: () => socket.destroy(),
  };
}

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

test('a replacement that cannot be spawned for want of descriptors (EMFILE) is retried while the old worker serves on', async (t) => {
  if (!existsSync('/proc/self/fd')) {
    t.skip('needs /proc to count the front’s descriptors');
    return;
  }
  // `sh -c` lowers the limit and then becomes the front itself (exec), with the same pid.
  const server = await startCask(['hello:application', '--chdir', APPS, '--max-requests', '3'], {
    launcher: ['sh', '-c', `ulimit -n ${FD_LIMIT} && exec "$@"`, 'sh'],
  });
  const held: Socket[] = [];
  t.after(async () => {
    for (const socket of held) socket.destroy();
    await server.stop();
  });
  const pid = server.proc.pid as number;
  const client = keepAlive(server.port);
  t.after(() => client.close());
  assert.equal(await client.ask('/'), 200);
  // Idle connections until three descriptors are left: too few for a worker's three pipes.
  const spare = FD_LIMIT - openFds(pid) - 3;
  for (let i = 0; i < spare; i++) {
    const socket = connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    held.push(socket);
  }
  await until(() => openFds(pid) >= FD_LIMIT - 3, 5000, 'the front to hold the idle connections');

  // The third request retires the worker; its replacement cannot be spawned.
  assert.equal(await client.ask('/'), 200);
  assert.equal(await client.ask('/'), 200);
  await server.waitFor(
    /\[worker 2 pid \?\] \[ERROR\] The worker could not be started \(spawn \S+ EMFILE\); trying again in 100 ms/,
  );
  await server.waitFor(/could not be started \(spawn \S+ EMFILE\); trying again in 200 ms/);
  assert.equal(await client.ask('/'), 200, 'the retiring worker serves on');

  // Descriptors free again: a later retry starts the replacement, which takes over.
  for (const socket of held.splice(0)) socket.destroy();
  await server.waitFor('Stopping the worker: its replacement is ready', 15_000);
  assert.equal(await client.ask('/'), 200);
  assert.equal((await get(server.port, '/')).status, 200);
  assert.equal(server.proc.exitCode, null, 'the front never exited');
});

for (const preload of [false, true]) {
  test(`a reload whose interpreter path became a file (ENOTDIR)${preload ? ', with --preload,' : ''} fails and the old generation serves on`, async (t) => {
    const python = onPath('python3');
    if (python === undefined) {
      t.skip('no python3 on PATH');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'cask-enotdir-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const bin = join(dir, 'py', 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(python, join(bin, 'python3'));
    const server = await startCask([
      'hello:application',
      '--chdir',
      APPS,
      '--python',
      join(bin, 'python3'),
      ...(preload ? ['--preload'] : []),
    ]);
    t.after(() => server.stop());

    rmSync(bin, { recursive: true });
    writeFileSync(bin, '');
    server.proc.kill('SIGHUP');
    await server.waitFor(
      /Reload failed, generation 1 keeps serving: a new worker could not be started \(spawn \S+python3 ENOTDIR\)/,
    );
    assert.equal((await get(server.port, '/')).status, 200);

    // Put right, the next reload works.
    unlinkSync(bin);
    mkdirSync(bin);
    symlinkSync(python, join(bin, 'python3'));
    server.proc.kill('SIGHUP');
    await server.waitFor('Reload complete: generation 3 serves');
    assert.equal((await get(server.port, '/')).status, 200);
    assert.equal(server.proc.exitCode, null, 'the front never exited');
  });
}
