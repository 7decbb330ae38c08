// Response-body credit over a real socket pair: the front sends WINDOW in steps of at least
// GRANT_STEP (one frame per quarter window, not one per chunk the client took), and sends
// nothing for an exchange that has ended.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { FrameDecoder } from '../../src/ipc/framer.js';
import { GRANT_STEP, WorkerLink, type ExchangeSink, type LinkEvents } from '../../src/ipc/link.js';
import {
  FLAG_END,
  INITIAL_WINDOW,
  Kind,
  decodeWindow,
  encodeFrame,
} from '../../src/ipc/protocol.js';
import { until } from '../helpers/load.js';

const ignore = (): void => {};
const events: LinkEvents = {
  onReady: ignore,
  onLog: ignore,
  onLoadError: ignore,
  onStats: ignore,
  onExchangeDone: ignore,
  onReclaimed: ignore,
  onProtocolError: ignore,
};
const sink: ExchangeSink = {
  onHead: ignore,
  onData: ignore,
  onSendFile: ignore,
  onAppError: ignore,
  onFail: ignore,
};

/** A WorkerLink on one end of a TCP pair on 127.0.0.1, and the WINDOW frames (id, bytes)
 * that reach the other end, where the worker would be. */
async function linkPair(): Promise<{
  link: WorkerLink;
  worker: Socket;
  windows: Array<[number, number]>;
  close: () => void;
}> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as { port: number };
  const worker = connect(address.port, '127.0.0.1');
  const [front] = (await once(server, 'connection')) as [Socket];
  const windows: Array<[number, number]> = [];
  const decoder = new FrameDecoder();
  worker.on('data', (chunk: Buffer) => {
    for (const f of decoder.push(chunk))
      if (f.kind === Kind.WINDOW) windows.push([f.id, decodeWindow(f.payload)]);
  });
  return {
    link: new WorkerLink(front, events),
    worker,
    windows,
    close: () => {
      worker.destroy();
      front.destroy();
      server.close();
    },
  };
}

/** Time for a frame that should not be sent to show up, were it sent. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

test('credit goes back in steps of GRANT_STEP, each step the sum of what was taken', async (t) => {
  const pair = await linkPair();
  t.after(pair.close);
  assert.ok(GRANT_STEP > 0 && GRANT_STEP < INITIAL_WINDOW);
  pair.link.open(1, sink);
  // A client taking a 64 KiB chunk at a time, as the socket drains.
  const chunk = 64 * 1024;
  for (let taken = 0; taken < 2 * GRANT_STEP + chunk; taken += chunk) pair.link.grant(1, chunk);
  // The frames cross a real socket: wait for them, then a little more for any extra one.
  await until(() => pair.windows.length >= 2, 10_000, 'two WINDOW frames');
  await settle();
  assert.deepEqual(pair.windows, [
    [1, GRANT_STEP],
    [1, GRANT_STEP],
  ]);
  // A single grant of at least a step goes at once.
  pair.windows.length = 0;
  pair.link.grant(1, GRANT_STEP * 3);
  await until(() => pair.windows.length >= 1, 10_000, 'a WINDOW frame');
  await settle();
  // The 64 KiB left over from before travel with it: nothing is lost, only delayed.
  assert.deepEqual(pair.windows, [[1, GRANT_STEP * 3 + chunk]]);
});

test('credit owed to an exchange that ended is dropped, not sent', async (t) => {
  const pair = await linkPair();
  t.after(pair.close);
  let ended = false;
  pair.link.open(2, { ...sink, onData: (_chunk, end) => (ended ||= end) });
  pair.link.grant(2, GRANT_STEP - 1);
  // The worker ends the response; then the client drains the rest.
  pair.worker.write(encodeFrame(2, Kind.DATA, FLAG_END, Buffer.from('end')));
  // The frame crosses a real socket: the grant below must come after the link has read it.
  await until(() => ended, 10_000, 'the last DATA frame read by the link');
  pair.link.grant(2, GRANT_STEP);
  await settle();
  assert.deepEqual(pair.windows, []);
});
