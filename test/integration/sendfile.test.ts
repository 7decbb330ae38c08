// X-Sendfile and X-Accel-Redirect from the app (`--sendfile-root`) against a real cask: the
// front sends the file with the static rules, the header never reaches the client, paths
// outside the root are refused with a 500 and a logged error, and the app's thread is free as
// soon as its headers are sent.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { sleep } from '../helpers/attacks.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';

const REPORT = 'quarterly numbers\n'.repeat(500);

describe('X-Sendfile against cask', () => {
  let server: RunningCask;
  let root: string;
  let files: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'cask-sendfile-'));
    files = join(root, 'private');
    mkdirSync(join(files, 'reports'), { recursive: true });
    writeFileSync(join(files, 'reports', 'q1.txt'), REPORT);
    writeFileSync(join(files, 'report.pdf'), '%PDF-1.4 tiny\n');
    writeFileSync(join(root, 'elsewhere.txt'), 'SECRET\n');
    symlinkSync(join(root, 'elsewhere.txt'), join(files, 'escape.txt'));
    server = await startCask([
      'assets_app:application', '--chdir', APPS, '--threads', '1', '--sendfile-root', files,
    ]); // prettier-ignore
  });
  after(async () => {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const sendfile = (path: string, extra = ''): string =>
    `/sendfile?path=${encodeURIComponent(path)}${extra}`;

  test('X-Sendfile is replaced by the file, with validators, and never reaches the client', async (t: TestContext) => {
    t.plan(7);
    const r = await get(server.port, sendfile(join(files, 'reports', 'q1.txt')));
    t.assert.strictEqual(r.status, 200);
    t.assert.strictEqual(r.body.toString(), REPORT);
    t.assert.strictEqual(r.headers['x-sendfile'], undefined);
    t.assert.strictEqual(r.headers['content-length'], String(REPORT.length));
    t.assert.strictEqual(r.headers['content-type'], 'text/plain; charset=utf-8');
    t.assert.strictEqual(r.headers['content-disposition'], 'attachment');
    t.assert.ok(r.headers.etag && r.headers['last-modified']);
  });

  test("the app's Content-Type and ETag are kept", async (t: TestContext) => {
    t.plan(3);
    const r = await get(
      server.port,
      sendfile(join(files, 'report.pdf'), '&type=application/pdf&etag=%22app-1%22'),
    );
    t.assert.strictEqual(r.headers['content-type'], 'application/pdf');
    t.assert.strictEqual(r.headers.etag, '"app-1"');
    const again = await get(server.port, sendfile(join(files, 'report.pdf'), '&etag=%22app-1%22'), {
      'If-None-Match': '"app-1"',
    });
    t.assert.strictEqual(again.status, 304);
  });

  test('conditional and Range rules apply to the file', async (t: TestContext) => {
    t.plan(5);
    const path = sendfile(join(files, 'reports', 'q1.txt'));
    const etag = (await get(server.port, path)).headers.etag as string;
    t.assert.strictEqual((await get(server.port, path, { 'If-None-Match': etag })).status, 304);
    const part = await get(server.port, path, { Range: 'bytes=0-7' });
    t.assert.strictEqual(part.status, 206);
    t.assert.strictEqual(part.body.toString(), 'quarterl');
    t.assert.strictEqual(part.headers['content-range'], `bytes 0-7/${REPORT.length}`);
    t.assert.strictEqual((await get(server.port, path, { Range: 'bytes=999999-' })).status, 416);
  });

  test('X-Accel-Redirect is a URL path under the root', async (t: TestContext) => {
    t.plan(3);
    const r = await get(server.port, '/accel?uri=/reports/q1.txt');
    t.assert.strictEqual(r.status, 200);
    t.assert.strictEqual(r.body.toString(), REPORT);
    t.assert.strictEqual(r.headers['x-accel-redirect'], undefined);
  });

  // Functions: the directories exist only once before() has run.
  const OUTSIDE: Array<[string, () => string]> = [
    ['an absolute path outside the root', () => sendfile(join(root, 'elsewhere.txt'))],
    ['a path that climbs out with ..', () => sendfile(`${files}/../elsewhere.txt`)],
    ['a symlink that leads out', () => sendfile(join(files, 'escape.txt'))],
    ['a relative path', () => sendfile('reports/q1.txt')],
    ['X-Accel-Redirect climbing out', () => '/accel?uri=/%2e%2e/elsewhere.txt'],
    ['a directory', () => sendfile(join(files, 'reports'))],
  ];
  for (const [what, target] of OUTSIDE) {
    test(`${what} is a 500 with CASK_SENDFILE in the log`, async (t: TestContext) => {
      t.plan(3);
      const before = server.stderr().split('CASK_SENDFILE').length;
      const r = await get(server.port, target());
      t.assert.strictEqual(r.status, 500);
      t.assert.ok(!r.body.toString().includes('SECRET'));
      const logged = (): boolean => server.stderr().split('CASK_SENDFILE').length > before;
      // The log line can reach the test after the response: wait for it, for longer than a
      // loaded machine needs.
      for (const deadline = Date.now() + 10_000; !logged() && Date.now() < deadline;) await sleep(20);
      t.assert.ok(logged(), server.stderr());
    });
  }

  test('a missing file inside the root is a 404', async (t: TestContext) => {
    t.plan(1);
    t.assert.strictEqual((await get(server.port, sendfile(join(files, 'nope.txt')))).status, 404);
  });

  test("the app's thread is free as soon as its headers are sent", async (t: TestContext) => {
    t.plan(3);
    // The app would take 5 s to yield its (ignored) body; with one thread, a second request
    // is answered at once only if the first one's thread was let go.
    const start = Date.now();
    const first = await get(server.port, sendfile(join(files, 'report.pdf'), '&stream=1'));
    t.assert.strictEqual(first.body.toString(), '%PDF-1.4 tiny\n');
    const second = await get(server.port, '/text?size=10');
    t.assert.strictEqual(second.status, 200);
    t.assert.ok(Date.now() - start < 2500, `took ${Date.now() - start} ms`);
  });
});

test('without --sendfile-root the header passes through for a proxy in front', async (t: TestContext) => {
  t.plan(2);
  const server = await startCask(['assets_app:application', '--chdir', APPS]);
  t.after(() => server.stop());
  const r = await get(server.port, '/accel?uri=/protected/x.pdf');
  t.assert.strictEqual(r.headers['x-accel-redirect'], '/protected/x.pdf');
  t.assert.strictEqual(r.body.length, 0);
});
