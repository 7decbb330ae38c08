// A worker's last frames outlive it: WorkerLink.afterEnd() waits for the link to be read to
// its end, so a response the worker finished just before it exited reaches its client instead
// of being failed as if the worker had died holding it. The worker here is a real process
// writing on a real link (fd 3, as the pool spawns workers) and exiting; the test process is
// kept from reading anything until it has, so the frame is certainly still unread when the
// exit is acted on.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { WorkerLink, type ExchangeSink, type LinkEvents } from '../../src/ipc/link.js';
import { FLAG_END, Kind, encodeFrame, encodeHead } from '../../src/ipc/protocol.js';

const ignore = (): void => {};

function linkEvents(done: string[]): LinkEvents {
  return {
    onReady: ignore,
    onLog: ignore,
    onLoadError: ignore,
    onStats: ignore,
    onExchangeDone: (id) => done.push(`done ${id}`),
    onReclaimed: ignore,
    onProtocolError: (error) => done.push(`protocol error: ${error.message}`),
  };
}

/** A process that writes `bytes` on fd 3 and exits at once; resolves with its link. */
function writeAndExit(bytes: Buffer): { link: Socket; exited: Promise<unknown> } {
  const script =
    'const fs = require("node:fs");' +
    `fs.writeSync(3, Buffer.from(${JSON.stringify(bytes.toString('base64'))}, "base64"));`;
  const child = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
  });
  return { link: child.stdio[3] as Socket, exited: once(child, 'exit') };
}

/** Blocks this thread, event loop included: nothing is read meanwhile. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

test('afterEnd() hands on the frames a worker wrote before it exited, then calls back', async (t: TestContext) => {
  t.plan(3);
  const seen: string[] = [];
  const sink: ExchangeSink = {
    onHead: (status, _headers, body, end) => seen.push(`head ${status} ${body} ${end}`),
    onData: ignore,
    onSendFile: ignore,
    onAppError: ignore,
    onFail: () => seen.push('failed'),
  };
  const head = encodeHead('200 OK', ['Content-Length', '2'], Buffer.from('ok'));
  const { link: socket, exited } = writeAndExit(encodeFrame(7, Kind.HEAD, FLAG_END, head));
  const link = new WorkerLink(socket, linkEvents(seen));
  link.open(7, sink);
  // The child writes its frame and exits while this process reads nothing; then, before the
  // event loop runs again (so with the frame still unread), the link is asked to settle.
  blockFor(1500);
  const settled = new Promise<void>((resolve) =>
    link.afterEnd(5000, () => {
      seen.push('after end');
      resolve();
    }),
  );
  await settled;
  await exited;
  t.assert.deepStrictEqual(seen, ['done 7', 'head 200 OK ok true', 'after end']);
  link.close();
  // Once the link has ended, it calls back at once.
  let again = false;
  link.afterEnd(5000, () => {
    again = true;
  });
  t.assert.strictEqual(again, true);
  t.assert.strictEqual(link.inFlight, 0);
});

test('afterEnd() calls back after its limit when the link does not end', async (t: TestContext) => {
  t.plan(2);
  // A process the worker forked can keep the link open after the worker itself exited.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  const link = new WorkerLink(child.stdio[3] as Socket, linkEvents([]));
  const started = Date.now();
  await new Promise<void>((resolve) => link.afterEnd(300, resolve));
  const waited = Date.now() - started;
  t.assert.ok(waited >= 290, `called back after ${waited} ms`);
  t.assert.ok(waited < 3000, `called back after ${waited} ms`);
  link.close();
});
