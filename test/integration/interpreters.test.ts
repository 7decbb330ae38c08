// The worker runs on every supported Python: the example app under CPython 3.8 and 3.13
// (from pyenv) and PyPy 3 (Debian's pypy3). The ASGI worker starts a request's task eagerly
// from CPython 3.12 on, so it is tested under 3.12 and 3.13 as well (its own tests, and an
// ASGI app through the front), whatever Python runs the rest of the suite. Each test skips,
// saying why, when that interpreter is not installed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { APPS, ROOT, onPath, startCask } from '../helpers/cask.js';
import { exchange, get } from '../helpers/http.js';

function pyenvPython(version: string): string | undefined {
  const root = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  if (!existsSync(root)) return undefined;
  const dir = readdirSync(root).find((d) => d === version || d.startsWith(`${version}.`));
  const bin = dir && join(root, dir, 'bin', 'python');
  return bin && existsSync(bin) ? bin : undefined;
}

const interpreters: Array<[string, string | undefined, string]> = [
  ['CPython 3.8', pyenvPython('3.8'), 'no pyenv 3.8 (pyenv install 3.8)'],
  ['CPython 3.13', pyenvPython('3.13'), 'no pyenv 3.13 (pyenv install 3.13)'],
  ['PyPy 3', onPath('pypy3'), 'pypy3 is not installed (apt-get install pypy3)'],
];

for (const [name, python, why] of interpreters) {
  test(
    `the example app serves under ${name}`,
    { skip: python === undefined ? why : false },
    async (t) => {
      const server = await startCask(['--python', python as string, '--threads', '2'], {
        timeoutMs: 60_000,
      });
      t.after(() => server.stop());
      const body = 'x'.repeat(1000);
      const x = await exchange(
        server.port,
        `POST /interp?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      const r = x.responses[0];
      assert.equal(r?.status, 200);
      assert.match(r!.body.toString(), /Hello from Cask/);
      assert.match(r!.body.toString(), /body 1000 bytes/);
    },
  );
}

/** Runs `python -m unittest MODULES` in python/, resolving with its exit code and output. */
function unittest(
  python: string,
  modules: string[],
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'unittest', ...modules], {
      cwd: join(ROOT, 'python'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

const eagerInterpreters: Array<[string, string | undefined, string]> = [
  ['CPython 3.12', pyenvPython('3.12'), 'no pyenv 3.12 (pyenv install 3.12)'],
  ['CPython 3.13', pyenvPython('3.13'), 'no pyenv 3.13 (pyenv install 3.13)'],
];

for (const [name, python, why] of eagerInterpreters) {
  test(
    `the ASGI worker's tests pass under ${name} (requests started eagerly)`,
    { skip: python === undefined ? why : false },
    async () => {
      const { code, out } = await unittest(python as string, [
        'tests.test_asgi',
        'tests.test_asgi_websocket',
      ]);
      assert.equal(code, 0, out.slice(-4000));
      assert.match(out, /^OK/m);
    },
  );
}

const python313 = pyenvPython('3.13');
test(
  'an ASGI app serves through the front under CPython 3.13',
  { skip: python313 === undefined ? 'no pyenv 3.13 (pyenv install 3.13)' : false },
  async (t) => {
    const server = await startCask(
      ['asgi_app:app', '--chdir', APPS, '--python', python313 as string],
      {
        timeoutMs: 60_000,
      },
    );
    t.after(() => server.stop());
    // Pipelined on one connection: the two GETs come with no body and start eagerly; the
    // POST has one, so its REQUEST frame comes without END and its task is scheduled, then
    // reads the body, which the client sends in a second write.
    const body = 'y'.repeat(5000);
    const x = await exchange(
      server.port,
      [
        'GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /scope?q=1 HTTP/1.1\r\nHost: h\r\n\r\n' +
          `POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        body,
      ],
      { expect: 3 },
    );
    assert.deepEqual(
      x.responses.map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal(x.responses[0]?.body.toString(), 'Hello from ASGI');
    const scope = JSON.parse(x.responses[1]!.body.toString()) as Record<string, unknown>;
    assert.equal(scope.query_string, 'q=1');
    assert.equal(scope.http_version, '1.1');
    assert.equal(x.responses[2]?.body.toString(), body);
  },
);

test(
  'under CPython 3.13, a request that blocks the loop in its eager first step is named when its worker is aborted',
  { skip: python313 === undefined ? 'no pyenv 3.13 (pyenv install 3.13)' : false },
  async (t) => {
    const server = await startCask(
      [
        'asgi_app:app',
        '--chdir',
        APPS,
        '--python',
        python313 as string,
        '--timeout',
        '1',
        '--timeout-grace',
        '1',
      ],
      { timeoutMs: 60_000 },
    );
    t.after(() => server.stop());
    // /block sleeps in the app's first step, which runs inside the worker's read of the
    // link: the task object does not exist yet when the front's SIGABRT comes.
    const blocked = await get(server.port, '/block?4', {}, { ms: 10_000 });
    assert.equal(blocked.status, 504);
    await server.waitFor('Taking the worker out of service', 10_000);
    await server.waitFor(/Request GET \/block\?4 still running in its first step/, 10_000);
    assert.equal((await get(server.port, '/', {}, { ms: 10_000 })).status, 200);
  },
);
