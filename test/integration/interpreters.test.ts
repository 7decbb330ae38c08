// The worker runs on every supported Python: the example app under CPython 3.8 and 3.13
// (from pyenv) and PyPy 3 (Debian's pypy3). Each test skips, saying why, when that
// interpreter is not installed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { onPath, startCask } from '../helpers/cask.js';
import { exchange } from '../helpers/http.js';

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
