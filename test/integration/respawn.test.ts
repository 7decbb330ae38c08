// After start-up, a replacement worker that cannot import the app (the code changed on disk)
// is retried with an exponential backoff while /readyz says no worker is ready; once the
// code imports again, the server serves again. It never exits for it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminPort } from '../helpers/admin.js';
import { startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
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
