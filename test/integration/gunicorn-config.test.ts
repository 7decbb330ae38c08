// A gunicorn deployment moved over by changing one word: `cask serve` in a folder with a
// gunicorn.conf.py serves with its bind, workers, threads, environment and hooks, and warns
// about the settings it ignores.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const APP = `import os

def application(environ, start_response):
    body = "%s %s %d" % (os.environ.get("GREETING"), os.environ.get("FROM_CONF"), os.getpid())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
`;

const CONF = `import os
bind = "127.0.0.1:0"
workers = 2
worker_class = "gthread"
threads = 2
raw_env = ["GREETING=hello"]
os.environ["FROM_CONF"] = "yes"
worker_tmp_dir = "/dev/shm"
wsgi_app = "app:application"

def post_worker_init(worker):
    with open(os.environ["RECORD"], "a") as out:
        out.write("post_worker_init %d\\n" % worker.age)
`;

test('`cask serve` in a folder with a gunicorn.conf.py serves as that file says', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cask-gunicorn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'gunicorn.conf.py'), CONF);
  const record = join(dir, 'record.txt');
  const server = runCask(['serve'], { cwd: dir, env: { RECORD: record } });
  t.after(() => server.stop('SIGKILL'));
  await server.waitFor(/Ready: 2 worker/, 20_000);
  const log = server.stderr();
  assert.match(log, /Read gunicorn settings from gunicorn\.conf\.py/);
  assert.match(log, /Ignored gunicorn setting worker_tmp_dir in gunicorn\.conf\.py: "\/dev\/shm"/);
  assert.match(
    log,
    /serving app:application on http:\/\/127\.0\.0\.1:\d+ with 2 worker\(s\) x 2 thread\(s\)/,
  );
  const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]);

  const pids = new Set<string>();
  for (let i = 0; i < 20 && pids.size < 2; i++) {
    const response = await get(port, '/');
    assert.equal(response.status, 200);
    const [greeting, fromConf, pid] = response.body.toString().split(' ');
    assert.equal(greeting, 'hello', 'raw_env reaches the app');
    assert.equal(fromConf, 'yes', 'what the file put in os.environ reaches the app');
    pids.add(pid as string);
  }
  assert.equal(await server.stop(), 0);
  const hooks = readFileSync(record, 'utf8').trim().split('\n').sort();
  assert.deepEqual(hooks, ['post_worker_init 1', 'post_worker_init 2']);
});

test('`cask serve -k eventlet` stops before anything starts, saying what to use instead', async () => {
  const server = runCask(['serve', '-k', 'eventlet', '-b', '127.0.0.1:0']);
  assert.equal(await server.exited, 2);
  assert.equal(
    server.stderr(),
    'cask: Unsupported gunicorn option -k: "eventlet" (Cask has no eventlet worker: for an I/O-bound app, use more threads (--threads 32))\n',
  );
});
