// A worker that dies with requests prefetched behind the one it was running: those it cannot
// have started and that may be sent twice (idempotent methods, RFC 9110 §9.2.2) go to another
// worker; the one it was running and the others get 502.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { adminPort, metricSum, scrapeMetrics } from '../helpers/admin.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { get, parseResponses, type ParsedResponse } from '../helpers/http.js';

/** The failures app on `workers` workers of one thread each, holding up to 4 more each. */
function start(workers: number): Promise<RunningCask> {
  return startCask([
    'failures:application',
    '--chdir',
    APPS,
    '-w',
    String(workers),
    '--threads',
    '1',
    '--prefetch',
    '4',
    '--admin-bind',
    '127.0.0.1:0',
  ]);
}

/**
 * Sends every request at once, each on a connection of its own opened beforehand: they reach
 * the front in the same turn of its event loop, so the pool hands them all to the worker
 * before its stall check (20 ms) could call it stuck and keep the later ones in the front.
 */
async function together(port: number, requests: string[]): Promise<ParsedResponse[]> {
  const sockets: Socket[] = requests.map(() => connect(port, '127.0.0.1'));
  await Promise.all(sockets.map((s) => once(s, 'connect')));
  return Promise.all(
    sockets.map((socket, i) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.write(requests[i] as string);
      return once(socket, 'close').then(() => {
        const parsed = parseResponses(Buffer.concat(chunks)).responses[0];
        assert.ok(parsed !== undefined, `no response to ${requests[i]}`);
        return parsed;
      });
    }),
  );
}

const request = (method: string, path: string, body = ''): string =>
  `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n` +
  `Content-Length: ${body.length}\r\n\r\n${body}`;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('requests a dying worker had not started: GET and DELETE go to its replacement, POST gets 502', async (t) => {
  const server = await start(1);
  t.after(() => server.stop());
  const first = (await get(server.port, '/pid')).body.toString();
  const dying = get(server.port, '/die-after?0.6', {}, { ms: 15_000 });
  await pause(150);
  // The one thread runs /die-after; these wait inside the same worker.
  const [again, posted, deleted] = await together(server.port, [
    request('GET', '/pid'),
    request('POST', '/pid', 'hello'),
    request('DELETE', '/pid'),
  ]);
  assert.equal((await dying).status, 502);
  assert.equal(again?.status, 200);
  assert.notEqual(again?.body.toString(), first, 'served by the replacement worker');
  assert.equal(posted?.status, 502, 'a POST is never sent twice');
  assert.equal(deleted?.status, 200);
  assert.equal(deleted?.body.toString(), again?.body.toString());
  await server.waitFor('2 requests the worker had not started sent to another worker');
  const metrics = await scrapeMetrics(adminPort(server));
  assert.equal(metricSum(metrics, 'cask_reclaimed_total'), 2);
});
