// Connection floods against a real cask (issue #5): more connections than --max-connections,
// and idle keep-alive connections by the thousand, bounded in count and time, on loopback; and
// a FastCGI peer that floods records the front must answer while it reads none of the answers.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test, type TestContext } from 'node:test';
import {
  encodeBeginRequest,
  encodeFastCgiRequest,
  encodePairs,
  encodeRecord,
  recordHeader,
  RecordType,
  Role,
} from '../../src/cgi/fastcgi.js';
import { fastClient, horde, rss, sleep, until } from '../helpers/attacks.js';
import { APPS, startCask, type RunningCask } from '../helpers/cask.js';
import { get, parseResponses } from '../helpers/http.js';

const MiB = 1024 * 1024;

test('a flood past --max-connections is refused with 503 and counted, and service resumes', async (t) => {
  const server = await startCask([
    'hello:application', '--chdir', APPS, '--max-connections', '300', '--header-timeout', '1.5',
  ]); // prettier-ignore
  t.after(() => server.stop());
  const pid = server.proc.pid as number;
  await fastClient(server.port, 10, '/');
  const base = rss(pid);
  // 400 connections that send nothing: 300 fill the front, 100 are turned away.
  const attack = await horde(server.port, 400);
  t.after(() => attack.stop());
  assert.ok(await until(() => attack.closed() >= 100, 5000), `${attack.closed()} closed`);
  const refused = attack.attackers.filter((a) => a.received().length > 0);
  const during = await get(server.port, '/', {}, { ms: 5000 });
  const peak = rss(pid) - base;
  assert.equal(refused.length, 100);
  for (const a of refused) {
    const [answer] = parseResponses(a.received()).responses;
    assert.equal(answer?.status, 503);
    assert.equal(answer?.headers['retry-after'], '1');
  }
  assert.equal(
    during.status,
    503,
    'a client that comes while the front is full is refused cleanly too',
  );
  await server.waitFor(
    /Connection limit reached, refusing connections: 300 open, \d+ refused since the last warning \(CASK_CONNECTION_LIMIT\)/,
  );
  // The silent 300 are closed at header-timeout; then everyone is served again.
  assert.ok(await until(() => attack.closed() === 400, 8000), `${attack.closed()} of 400 closed`);
  assert.deepEqual(await fastClient(server.port, 10, '/'), Array(10).fill(200));
  t.diagnostic(`front RSS grew by ${(peak / MiB).toFixed(1)} MiB`);
  assert.ok(peak < 32 * MiB, `the front grew by ${peak} bytes`);
});

test('2000 idle keep-alive connections are held cheaply, closed at --keep-alive (5 s), and a fast client is served meanwhile', async (t) => {
  const server = await startCask([
    'hello:application',
    '--chdir',
    APPS,
    '--threads',
    '4',
    '--max-queue',
    '4096',
  ]);
  t.after(() => server.stop());
  const pid = server.proc.pid as number;
  await fastClient(server.port, 10, '/');
  const base = rss(pid);
  const idle = await horde(server.port, 2000, (a) =>
    a.socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n'),
  );
  t.after(() => idle.stop());
  const answered = (): number =>
    idle.attackers.filter((a) => a.received().includes('Hello, World!')).length;
  assert.ok(await until(() => answered() === 2000, 10_000), `${answered()} of 2000 answered`);
  const statuses = await fastClient(server.port, 20, '/');
  const openWhileServed = idle.attackers.length - idle.closed();
  const peak = rss(pid) - base;
  assert.deepEqual(statuses, Array(20).fill(200));
  assert.ok(openWhileServed > 1900, `only ${openWhileServed} idle connections were still open`);
  t.diagnostic(`front RSS grew by ${(peak / MiB).toFixed(1)} MiB`);
  assert.ok(peak < 64 * MiB, `2000 idle connections grew the front by ${peak} bytes`);
  assert.ok(await until(() => idle.closed() === 2000, 12_000), `${idle.closed()} of 2000 closed`);
});

/** The FastCGI port a cask started with `-b fastcgi://127.0.0.1:0` listens on. */
function fastCgiPort(stderr: string): number {
  return Number(/fastcgi:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
}

/** One FastCGI request on its own connection; resolves with its STDOUT once END_REQUEST came. */
function fastCgiGet(port: number, path: string, ms: number): Promise<string> {
  const params = [
    'REQUEST_METHOD', 'GET',
    'REQUEST_URI', path,
    'PATH_INFO', path.replace(/\?.*/, ''),
    'QUERY_STRING', path.includes('?') ? path.slice(path.indexOf('?') + 1) : '',
    'SERVER_NAME', 'h',
    'SERVER_PORT', '80',
    'SERVER_PROTOCOL', 'HTTP/1.1',
    'REMOTE_ADDR', '127.0.0.1',
  ]; // prettier-ignore
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no FastCGI answer to ${path} within ${ms} ms`));
    }, ms);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const raw = Buffer.concat(chunks);
      const out: Buffer[] = [];
      for (let at = 0; at + 8 <= raw.length;) {
        const length = raw.readUInt16BE(at + 4);
        const end = at + 8 + length + (raw[at + 6] as number);
        if (end > raw.length) break;
        if (raw[at + 1] === RecordType.STDOUT) out.push(raw.subarray(at + 8, at + 8 + length));
        if (raw[at + 1] === RecordType.END_REQUEST) {
          clearTimeout(timer);
          socket.destroy();
          resolve(Buffer.concat(out).toString('latin1'));
          return;
        }
        at = end;
      }
    });
    socket.write(encodeFastCgiRequest(1, params));
  });
}

/**
 * A FastCGI peer that writes `first`, then `records` over and over for `ms`, and never reads
 * what it is answered. It writes as fast as its socket takes them; the socket is returned open
 * and paused.
 */
async function floodWithoutReading(port: number, records: Buffer, ms: number, first?: Buffer) {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.pause();
  if (first !== undefined) socket.write(first);
  let repeat = records;
  while (repeat.length < 64 * 1024) repeat = Buffer.concat([repeat, records]);
  let sent = 0;
  const stop = Date.now() + ms;
  while (Date.now() < stop && !socket.destroyed) {
    sent += repeat.length;
    if (!socket.write(repeat)) {
      await Promise.race([once(socket, 'drain'), sleep(Math.max(0, stop - Date.now()))]);
    }
  }
  return { socket, sent };
}

/** Reads `socket` until request `id`'s END_REQUEST; resolves with that request's STDOUT. */
function responseTo(socket: Socket, id: number, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let held: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error(`no END_REQUEST ${id} within ${ms} ms`)), ms);
    socket.on('data', (chunk: Buffer) => {
      held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      let at = 0;
      for (; at + 8 <= held.length;) {
        const length = held.readUInt16BE(at + 4);
        const end = at + 8 + length + (held[at + 6] as number);
        if (end > held.length) break;
        if (held.readUInt16BE(at + 2) === id) {
          if (held[at + 1] === RecordType.STDOUT) out.push(held.subarray(at + 8, at + 8 + length));
          if (held[at + 1] === RecordType.END_REQUEST) {
            clearTimeout(timer);
            resolve(Buffer.concat(out).toString('latin1'));
            return;
          }
        }
        at = end;
      }
      held = held.subarray(at);
    });
    socket.resume();
  });
}

describe('FastCGI management records sent by a peer that never reads its answers', () => {
  let server: RunningCask;
  let port = 0;
  before(async () => {
    server = await startCask([
      'several:api', '--chdir', APPS, '-b', 'fastcgi://127.0.0.1:0', '-w', '1', '--threads', '4',
    ]); // prettier-ignore
    port = fastCgiPort(server.stderr());
  });
  // Before the fix the front stayed busy for half a minute and more, SIGTERM unanswered.
  after(async () => {
    if ((await Promise.race([server.stop(), sleep(5000).then(() => 'late')])) === 'late') {
      await server.stop('SIGKILL');
    }
  });

  /**
   * Floods `records` (after `first`) for half a second on one connection, then asks for `/` on
   * another: the answer must come within seconds and the front's memory stay within bounds.
   * Returns the flooding socket, still paused.
   */
  async function floodThenServe(t: TestContext, records: Buffer, first?: Buffer) {
    const pid = server.proc.pid as number;
    assert.match(await fastCgiGet(port, '/', 5000), /^Status: 200 OK/);
    const base = rss(pid);
    const flood = await floodWithoutReading(port, records, 500, first);
    t.after(() => flood.socket.destroy());
    const started = Date.now();
    const answer = await fastCgiGet(port, '/', 5000);
    const took = Date.now() - started;
    const grown = rss(pid) - base;
    assert.match(answer, /^Status: 200 OK/);
    t.diagnostic(
      `${(flood.sent / MiB).toFixed(1)} MiB sent; answered in ${took} ms; ` +
        `front RSS grew by ${(grown / MiB).toFixed(1)} MiB`,
    );
    assert.ok(took < 2000, `the next request took ${took} ms`);
    assert.ok(grown < 64 * MiB, `the front grew by ${grown} bytes`);
    return flood.socket;
  }

  /**
   * The flooding peer goes, with its answers still queued in the front: the front lets them go
   * and answers the next request within seconds.
   */
  async function servedAfterClose(t: TestContext, flood: Socket) {
    flood.destroy();
    const started = Date.now();
    assert.match(await fastCgiGet(port, '/', 5000), /^Status: 200 OK/);
    const took = Date.now() - started;
    t.diagnostic(`after the peer closed: answered in ${took} ms`);
    assert.ok(took < 2000, `the request after the peer closed took ${took} ms`);
  }

  test('UNKNOWN_TYPE answers: the front stops reading the peer and serves others', async (t) => {
    await servedAfterClose(t, await floodThenServe(t, recordHeader(11, 0, 0)));
  });

  test('GET_VALUES answers: the same', async (t) => {
    const query = encodePairs(['FCGI_MAX_CONNS', '', 'FCGI_MPXS_CONNS', '']);
    await servedAfterClose(
      t,
      await floodThenServe(t, encodeRecord(RecordType.GET_VALUES, 0, query)),
    );
  });

  test('CANT_MPX_CONN answers while a request is in the app: the same, and the request is answered once the peer reads', async (t) => {
    const params = [
      'REQUEST_METHOD', 'GET', 'REQUEST_URI', '/sleep', 'PATH_INFO', '/sleep',
      'QUERY_STRING', 's=1', 'SERVER_NAME', 'h', 'SERVER_PORT', '80',
      'SERVER_PROTOCOL', 'HTTP/1.1', 'REMOTE_ADDR', '127.0.0.1',
    ]; // prettier-ignore
    const peer = await floodThenServe(
      t,
      encodeBeginRequest(2, Role.RESPONDER, 0),
      encodeFastCgiRequest(1, params),
    );
    assert.match(await responseTo(peer, 1, 10_000), /^Status: 200 OK[^]*"app": "api"/);
    await servedAfterClose(t, peer);
  });
});
