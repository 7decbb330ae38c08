// SIGUSR2 over HTTP/2: when the new process has taken over the listeners, the old one tells
// each of its HTTP/2 clients with GOAWAY (RFC 9113 §6.8) so that they open no new stream on a
// connection about to close: the stream in flight is answered, an idle session is closed at
// once, and a new connection is served by the new process.
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { APPS, startCask } from '../helpers/cask.js';
import { h2session } from '../helpers/h2.js';
import { stopLater, successorPid } from '../helpers/upgrade.js';

function get(client: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = client.request({ ':path': path });
    let status = 0;
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.setEncoding('latin1').on('data', (s: string) => (body += s));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
  });
}

interface Watch {
  goaway: Promise<{ code: number; lastStreamId: number }>;
  closed: Promise<void>;
}

function watch(client: ClientHttp2Session): Watch {
  return {
    goaway: new Promise((resolve) =>
      client.once('goaway', (code: number, lastStreamId: number) =>
        resolve({ code, lastStreamId }),
      ),
    ),
    closed: new Promise((resolve) => client.once('close', () => resolve())),
  };
}

test(
  'SIGUSR2 over HTTP/2: GOAWAY to the old sessions, the stream in flight answered, an idle session closed, new ones served by the new process',
  { timeout: 60_000 },
  async (t: TestContext) => {
    const dir = mkdtempSync(join(tmpdir(), 'cask-upgrade-h2-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const pidFile = join(dir, 'cask.pid');
    const server = await startCask([
    'failures:application', '--chdir', APPS, '--threads', '2', '--pid', pidFile,
  ], { env: { SAY_SLEEP: '1' } }); // prettier-ignore
    t.after(() => server.stop('SIGKILL'));
    const successor: { pid?: number } = {};
    stopLater(t, () => successor.pid);

    const busy = await h2session(t, server.port);
    const idle = await h2session(t, server.port);
    const oldWorker = (await get(busy, '/pid')).body;
    await get(idle, '/ok');
    const busyWatch = watch(busy);
    const idleWatch = watch(idle);
    // Long enough to be in flight when the new process is ready (a second or so).
    const inFlight = get(busy, '/sleep?3');
    // In flight once the app says it started: a signal sent before the old process has read
    // the request would leave the stream out of what its GOAWAY promises to process.
    await server.waitFor('sleeping 3.0');

    const old = server.proc.pid as number;
    server.proc.kill('SIGUSR2');
    const next = await successorPid(pidFile, old);
    successor.pid = next;

    const idleGoaway = await idleWatch.goaway;
    await idleWatch.closed;
    const busyGoaway = await busyWatch.goaway;
    const answered = await inFlight;
    await busyWatch.closed;
    const exit = await server.exited;

    const fresh = await h2session(t, server.port);
    const newWorker = (await get(fresh, '/pid')).body;

    t.plan(8);
    t.assert.equal(idleGoaway.code, constants.NGHTTP2_NO_ERROR);
    t.assert.equal(busyGoaway.code, constants.NGHTTP2_NO_ERROR);
    // The GOAWAY names the stream in flight as one that will be processed (RFC 9113 §6.8).
    t.assert.ok(busyGoaway.lastStreamId >= 3, `last stream id ${busyGoaway.lastStreamId}`);
    t.assert.equal(answered.status, 200);
    t.assert.equal(answered.body, 'slept 3.0');
    t.assert.equal(exit, 0, 'the old process drains and exits 0');
    t.assert.notEqual(newWorker, oldWorker, 'a new connection is served by the new workers');
    t.assert.match(server.stderr(), new RegExp(`Process ${next} serves now; this one drains`));
  },
);
