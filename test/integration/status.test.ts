// `cask status` and `cask top` against a running server, over its admin listener.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { adminPort } from '../helpers/admin.js';
import { APPS, BIN, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';

function cask(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('cask status shows the workers and the request each thread runs; cask top refreshes it', async (t) => {
  const server = await startCask(
    ['failures:application', '--chdir', APPS, '-w', '2', '--admin-bind', '127.0.0.1:0'],
    {
      env: { CASK_ADMIN_TOKEN: 'tok' },
    },
  );
  t.after(() => server.stop());
  const admin = adminPort(server);
  const slow = get(server.port, '/sleep?2');
  await until(
    async () =>
      (await get(admin, '/stats', { Authorization: 'Bearer tok' })).body
        .toString()
        .includes('/sleep?2'),
    5000,
    'the slow request in /stats',
  );
  // Found through the same options as cask serve: --admin-bind and CASK_ADMIN_TOKEN.
  const status = await cask(['status', '--admin-bind', `127.0.0.1:${admin}`], {
    CASK_ADMIN_TOKEN: 'tok',
  });
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /workers 2\/2/);
  assert.match(status.out, /GET \/sleep\?2 \(\d/);
  assert.equal(
    status.out.split('\n').filter((l) => /^\d+\s+\d+\s+1\s+ready/.test(l)).length,
    2,
    status.out,
  );

  const json = await cask(['status', '--url', `http://127.0.0.1:${admin}`, '--json'], {
    CASK_ADMIN_TOKEN: 'tok',
  });
  assert.equal(json.code, 0, json.err);
  assert.equal((JSON.parse(json.out) as { workers: unknown[] }).workers.length, 2);

  const top = await cask(
    ['top', '--url', `http://127.0.0.1:${admin}`, '--count', '2', '--interval', '0.3'],
    {
      CASK_ADMIN_TOKEN: 'tok',
    },
  );
  assert.equal(top.code, 0, top.err);
  assert.equal(top.out.split('RUNNING NOW').length - 1, 2, 'two screens');
  assert.equal((await slow).status, 200);

  const refused = await cask(['status', '--url', `http://127.0.0.1:${admin}`], {
    CASK_ADMIN_TOKEN: '',
  });
  assert.equal(refused.code, 1);
  assert.match(refused.err, /answered 401/);
});
