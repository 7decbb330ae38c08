// A finished response whose worker has another request queued may wait on the link for the
// next one's answer, to leave in the same write (python/cask_worker/runner.py, send_end), but
// never past a millisecond-scale deadline: a quick answer queued in front of a slow request
// reaches its client while the slow one is still running. Real front, real worker, one thread.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { APPS, startCask } from '../helpers/cask.js';

/** A connected client socket. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** When the whole response to the one request sent on `socket` has come (the server closes). */
function answered(socket: Socket): Promise<{ text: string; at: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () =>
      resolve({ text: Buffer.concat(chunks).toString('latin1'), at: Date.now() }),
    );
  });
}

test('a quick answer queued before a slow request is not held until the slow one ends', async () => {
  const server = await startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    '1',
    '--threads',
    '1',
    '--prefetch',
    '2',
  ]);
  try {
    const sockets = await Promise.all([open(server.port), open(server.port), open(server.port)]);
    const done = sockets.map(answered);
    // Written in one turn, so the front reads them in one turn and passes all three to the
    // worker in one write: the one thread runs the first (15 ms, under the pool's stall
    // threshold, so nothing is taken back), then the quick one while the slow one is queued.
    const paths = ['/sleep?0.015', '/sleep?0', '/sleep?3'];
    const sent = Date.now();
    sockets.forEach((socket, i) =>
      socket.write(`GET ${paths[i]} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    const [first, quick, slow] = await Promise.all(done);
    for (const answer of [first, quick, slow]) assert.match(answer!.text, /^HTTP\/1\.1 200 /);
    // The quick answer came long before the slow one, not with it.
    assert.ok(quick!.at - sent < 2000, `the quick answer took ${quick!.at - sent} ms`);
    assert.ok(
      slow!.at - quick!.at > 1000,
      `the quick answer came ${slow!.at - quick!.at} ms before the slow one`,
    );
  } finally {
    await server.stop();
  }
});
