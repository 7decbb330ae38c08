// Server hooks with gunicorn's names and arguments: a gunicorn.conf.py records every hook
// that runs, in the worker or in the front's hook process; a hook that raises is logged and
// the server goes on; on_starting that raises stops the start.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { APPS, runCask, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const HOOKS = fileURLToPath(new URL('../fixtures/hooks/', import.meta.url));

interface Record {
  hook: string;
  pid: number;
  [field: string]: unknown;
}

test('a gunicorn.conf.py hooks file records every hook, in order, with gunicorn arguments', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-hooks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'record.jsonl');
  const server = await startCask(
    [
      'failures:application',
      '--chdir',
      APPS,
      '--hooks',
      join(HOOKS, 'gunicorn.conf.py'),
      '--log-level',
      'debug',
    ],
    { env: { HOOKS_RECORD: file } },
  );
  assert.equal((await get(server.port, '/ok?x=1')).status, 200);
  server.proc.kill('SIGTTIN');
  await server.waitFor('Workers: 1 -> 2 (SIGTTIN)');
  await server.waitFor(/\[worker 2 pid \d+\] \[INFO\] Worker ready/);
  server.proc.kill('SIGHUP');
  await server.waitFor('Reload complete: generation 2 serves', 15_000);
  assert.equal(await server.stop(), 0);

  const records = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record);
  const names = records.map((r) => r.hook);
  const first = (name: string): Record => {
    const found = records.find((r) => r.hook === name);
    assert.ok(found, `${name} did not run; ran: ${names.join(', ')}`);
    return found;
  };
  assert.equal(names[0], 'on_starting');
  assert.equal(names.at(-1), 'on_exit');
  const starting = first('on_starting');
  assert.equal(starting.server_pid, server.proc.pid);
  assert.equal(starting.workers, 1, 'server.cfg carries the settings, in gunicorn spelling');
  // Master-side hooks run in one hook process; worker-side hooks in the workers.
  const master = starting.pid;
  for (const name of ['when_ready', 'on_reload', 'nworkers_changed', 'child_exit', 'on_exit']) {
    assert.equal(first(name).pid, master, name);
  }
  const postFork = first('post_fork');
  assert.notEqual(postFork.pid, master);
  assert.equal(postFork.age, 1);
  assert.equal(postFork.ppid, server.proc.pid);
  assert.equal(
    first('post_worker_init').env,
    'set by on_starting',
    'on_starting env reaches the workers',
  );
  assert.deepEqual(
    { ...first('pre_request'), pid: 0 },
    { hook: 'pre_request', pid: 0, method: 'GET', path: '/ok', query: 'x=1' },
  );
  const post = first('post_request');
  assert.equal(post.path, '/ok');
  assert.equal(post.status, '200 OK');
  assert.equal(post.status_code, 200);
  assert.equal(post.sent, 2);
  assert.deepEqual(
    { new: first('nworkers_changed').new, old: first('nworkers_changed').old },
    { new: 2, old: 1 },
  );
  assert.ok(names.indexOf('when_ready') < names.indexOf('on_reload'));
  // Reload drains generation 1 (two workers after SIGTTIN); the shutdown stops generation 2.
  assert.ok(names.filter((n) => n === 'worker_exit').length >= 3, names.join(', '));
  const exits = records.filter((r) => r.hook === 'child_exit');
  assert.ok(exits.length >= 3);
  assert.ok(
    exits.every((r) => r.exitcode === 0),
    JSON.stringify(exits),
  );
  assert.match(server.stderr(), /\[hooks\] \[INFO\] when_ready ran/);
  assert.match(server.stderr(), /\[worker 1 pid \d+\] \[DEBUG\] GET \/ok/);
});

test('a hook that raises is logged with its traceback and the server goes on', async (t) => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '--pythonpath',
    HOOKS,
    '--hooks',
    'failing_hooks',
  ]);
  t.after(() => server.stop());
  const r = await get(server.port, '/ok');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'ok');
  await server.waitFor(
    /Hook pre_request failed:\nTraceback[\s\S]*ValueError: pre_request went wrong for \/ok/,
  );
  assert.match(server.stderr(), /Hook post_fork failed:[\s\S]*RuntimeError: post_fork went wrong/);
  await server.waitFor(/Hook when_ready failed:[\s\S]*KeyError: 'when_ready went wrong'/);
});

test('an on_starting hook that raises stops the start with exit 1 and says why', async () => {
  const server = runCask([
    'serve',
    'failures:application',
    '--chdir',
    APPS,
    '--pythonpath',
    HOOKS,
    '--hooks',
    'refuse_start',
    '-b',
    '127.0.0.1:0',
  ]);
  assert.equal(await server.exited, 1);
  assert.match(server.stderr(), /RuntimeError: the database is not there/);
  assert.match(server.stderr(), /The on_starting hook failed, not starting \(CASK_HOOK_FAILED\)/);
  assert.doesNotMatch(server.stderr(), /Worker ready/);
});

test('a hooks module that cannot be imported stops the start with exit 1', async () => {
  const server = runCask([
    'serve',
    'failures:application',
    '--chdir',
    APPS,
    '--hooks',
    'no_such_hooks_module',
    '-b',
    '127.0.0.1:0',
  ]);
  assert.equal(await server.exited, 1);
  assert.match(server.stderr(), /The hooks could not be loaded, not starting \(CASK_HOOK_FAILED\)/);
  assert.match(server.stderr(), /No module named 'no_such_hooks_module'/);
});

test('a hook process whose interpreter cannot be run stops the start with exit 1, naming it', async (t) => {
  // A directory on the interpreter's path that is a file: spawn() throws ENOTDIR at once.
  const dir = mkdtempSync(join(tmpdir(), 'cask-hooks-python-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'bin'), '');
  const python = join(dir, 'bin', 'python3');
  const server = runCask([
    'serve',
    'failures:application',
    '--chdir',
    APPS,
    '--pythonpath',
    HOOKS,
    '--hooks',
    'refuse_start',
    '--python',
    python,
    '-b',
    '127.0.0.1:0',
  ]);
  assert.equal(await server.exited, 1);
  assert.match(
    server.stderr(),
    /The hooks could not be loaded, not starting \(CASK_HOOK_FAILED\):\nCannot run \S+python3: spawn \S+python3 ENOTDIR/,
  );
});
