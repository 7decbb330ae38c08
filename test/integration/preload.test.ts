// --preload: the app is imported once per generation, in a zygote the workers are forked from;
// recycled workers are forked again without an import, a reload imports the new code in a new
// zygote, and an app that cannot be imported stops the server as without --preload.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { alive, APPS, runCask, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

const APP = `import os

with open(os.environ["IMPORTS"], "a") as out:
    out.write("%d\\n" % os.getpid())


def application(environ, start_response):
    body = ("%d %d" % (os.getpid(), os.getppid())).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
`;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cask-preload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('--preload: one import per generation, workers forked from it, recycled and reloaded', async (t) => {
  const dir = tempDir(t);
  const imports = join(dir, 'imports.txt');
  writeFileSync(join(dir, 'counted.py'), APP);
  const server = await startCask(
    ['counted:application', '--chdir', dir, '--preload', '-w', '2', '--max-requests', '5'],
    { env: { IMPORTS: imports } },
  );
  t.after(() => server.stop('SIGKILL'));
  const importers = (): number[] => readFileSync(imports, 'utf8').trim().split('\n').map(Number);
  const [zygote] = importers();
  assert.equal(importers().length, 1, 'one import for both workers');

  // Requests until max-requests has replaced the workers (each replacement is ready before
  // its predecessor stops taking requests, so how many that takes depends on the machine).
  const seen = new Map<number, number>();
  await until(
    async () => {
      const [pid, ppid] = (await get(server.port, '/')).body.toString().split(' ').map(Number);
      seen.set(pid as number, ppid as number);
      return seen.size > 3;
    },
    20_000,
    'max-requests to replace the workers',
  );
  assert.deepEqual(
    new Set(seen.values()),
    new Set([zygote]),
    'every worker forked from the zygote',
  );
  assert.notEqual(zygote, server.proc.pid);
  assert.equal(importers().length, 1, 'replacements are forked, not imported again');

  server.proc.kill('SIGHUP');
  await server.waitFor('Reload complete: generation 2 serves');
  assert.equal(importers().length, 2, 'a reload imports the new code once, in a new zygote');
  const second = importers()[1] as number;
  const [, ppid] = (await get(server.port, '/')).body.toString().split(' ').map(Number);
  assert.equal(ppid, second);
  await until(() => !alive(zygote as number), 10_000, 'the old zygote to end');

  assert.equal(await server.stop(), 0);
  await until(() => !alive(second), 10_000, 'the zygote to end with the server');
});

test('--preload: an app that cannot be imported stops the server with exit 4', async () => {
  const server = runCask([
    'serve',
    'broken_import:application',
    '--chdir',
    APPS,
    '--preload',
    '-w',
    '2',
    '-b',
    '127.0.0.1:0',
  ]);
  assert.equal(await server.exited, 4);
  assert.match(
    server.stderr(),
    /The application could not be loaded \(CASK_APP_LOAD\):\nCannot load the app 'broken_import:application':\nTraceback/,
  );
});
