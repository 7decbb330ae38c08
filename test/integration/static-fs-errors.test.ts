// Paths the file system cannot look up, or must not open, against a real cask over real
// sockets (src/static/route.ts, file-table.ts, offload.ts). A stat that fails with ENOTDIR,
// ENAMETOOLONG or ELOOP is a missing file: the mount at `/` passes the request to the app,
// another mount answers 404. A FIFO is never opened in a way that waits for a writer: under a
// static mount it is a 404 (as is a socket), named by X-Sendfile a 500 with CASK_SENDFILE. After each, the
// front still serves.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { until } from '../helpers/attacks.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { get, type ParsedResponse } from '../helpers/http.js';

/** A request that gives up after 3 s: a front held by a blocking open never answers. */
const ask = (server: RunningCask, path: string, headers: Record<string, string> = {}) =>
  get(server.port, path, headers, { ms: 3000 });

interface Scene {
  /** A directory of its own under the system's temporary one, with `file.txt`. */
  root: string;
  server?: RunningCask;
  fifos: string[];
}

/**
 * The test's directory, and one clean-up for all it makes, in this order: a front stuck
 * opening a FIFO for reading is let go (a writer opening the FIFO completes that open), so
 * that the server can stop; then the directory is removed.
 */
function scene(t: TestContext): Scene {
  const root = mkdtempSync(join(tmpdir(), 'cask-static-fs-'));
  writeFileSync(join(root, 'file.txt'), 'a file\n');
  const made: Scene = { root, fifos: [] };
  t.after(async () => {
    for (const path of made.fifos) {
      try {
        closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // ENXIO: nobody has the FIFO open for reading, so nothing is stuck on it.
      }
    }
    await made.server?.stop();
    rmSync(root, { recursive: true, force: true });
  });
  return made;
}

/** Starts cask with one worker for `app`, serving from the scene's directory as `args` say. */
async function start(made: Scene, app: string, args: string[]): Promise<RunningCask> {
  made.server = await startCask([app, '--chdir', APPS, '-w', '1', ...args]);
  return made.server;
}

function fifo(made: Scene, path: string): void {
  execFileSync('mkfifo', [path]);
  made.fifos.push(path);
}

async function servesOn(t: TestContext, server: RunningCask, path: string, body: string) {
  const r: ParsedResponse = await ask(server, path);
  t.assert.strictEqual(r.body.toString(), body);
  t.assert.strictEqual(server.proc.exitCode, null, server.stderr());
}

test('the mount at / passes paths the file system cannot stat to the app, and serves on', async (t: TestContext) => {
  const made = scene(t);
  const { root } = made;
  symlinkSync('loop', join(root, 'loop')); // ELOOP
  mkdirSync(join(root, 'looping'));
  symlinkSync('index.html', join(root, 'looping', 'index.html')); // ELOOP on the index
  const server = await start(made, 'hello:application', ['--static', `/=${root}`]);
  for (const path of ['/file.txt/more', `/${'a'.repeat(300)}`, '/loop', '/looping/']) {
    const r = await ask(server, path);
    t.assert.strictEqual(r.status, 200, `${path}: ${server.stderr()}`);
    t.assert.strictEqual(r.body.toString(), 'Hello, World!', path);
  }
  await servesOn(t, server, '/file.txt', 'a file\n');
});

test('a held file whose directory became a file is a 404 under /static, and serves on', async (t: TestContext) => {
  const made = scene(t);
  const { root } = made;
  mkdirSync(join(root, 'dir'));
  writeFileSync(join(root, 'dir', 'held.txt'), 'held\n');
  const server = await start(made, 'hello:application', [
    '--static',
    `/static=${root}`,
    '--static-cache-valid',
    '0',
  ]);
  t.assert.strictEqual((await ask(server, '/static/dir/held.txt')).body.toString(), 'held\n');
  // The file table holds dir/held.txt open; its next stat of the path fails with ENOTDIR.
  rmSync(join(root, 'dir'), { recursive: true });
  writeFileSync(join(root, 'dir'), 'now a file\n');
  t.assert.strictEqual((await ask(server, '/static/dir/held.txt')).status, 404);
  await servesOn(t, server, '/static/file.txt', 'a file\n');
});

test('a name too long for its precompressed sibling is served as it is, and serves on', async (t: TestContext) => {
  const made = scene(t);
  const { root } = made;
  // 254 bytes: the longest name but one, so `NAME.gz` is past NAME_MAX (ENAMETOOLONG).
  const long = `${'b'.repeat(250)}.txt`;
  writeFileSync(join(root, long), 'long\n');
  const server = await start(made, 'hello:application', ['--static', `/static=${root}`]);
  const r = await ask(server, `/static/${long}`, { 'Accept-Encoding': 'gzip, br' });
  t.assert.strictEqual(r.status, 200, server.stderr());
  t.assert.strictEqual(r.body.toString(), 'long\n');
  t.assert.strictEqual(r.headers['content-encoding'], undefined);
  await servesOn(t, server, '/static/file.txt', 'a file\n');
});

test('a FIFO or a socket under a static mount is a 404 (and passed to the app under /), not a hung front', async (t: TestContext) => {
  const made = scene(t);
  const { root } = made;
  fifo(made, join(root, 'pipe'));
  mkdirSync(join(root, 'dir'));
  fifo(made, join(root, 'dir', 'index.html'));
  // A socket's path cannot be opened at all (ENXIO): a missing file as well.
  const listener = createServer().listen(join(root, 'sock'));
  t.after(() => listener.close());
  await once(listener, 'listening');
  const server = await start(made, 'hello:application', [
    '--static',
    `/static=${root}`,
    '--static',
    `/=${root}`,
  ]);
  t.assert.strictEqual((await ask(server, '/static/pipe')).status, 404);
  t.assert.strictEqual((await ask(server, '/static/dir/')).status, 404);
  t.assert.strictEqual((await ask(server, '/static/sock')).status, 404);
  t.assert.strictEqual((await ask(server, '/pipe')).body.toString(), 'Hello, World!');
  t.assert.strictEqual((await ask(server, '/dir/')).body.toString(), 'Hello, World!');
  await servesOn(t, server, '/static/file.txt', 'a file\n');
});

test('X-Sendfile naming a FIFO is a 500 with CASK_SENDFILE, not a hung front', async (t: TestContext) => {
  const made = scene(t);
  const { root } = made;
  fifo(made, join(root, 'pipe'));
  const server = await start(made, 'assets_app:application', ['--sendfile-root', root]);
  const r = await ask(server, `/sendfile?path=${encodeURIComponent(join(root, 'pipe'))}`);
  t.assert.strictEqual(r.status, 500);
  // The log line can reach the test after the response.
  await until(() => server.stderr().includes('CASK_SENDFILE'), 5000);
  t.assert.match(server.stderr(), /CASK_SENDFILE.*pipe.* is not a file inside --sendfile-root/);
  const sent = `/sendfile?path=${encodeURIComponent(join(root, 'file.txt'))}`;
  await servesOn(t, server, sent, 'a file\n');
});
