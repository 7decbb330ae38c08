// The net-hop floor's pure parts: its request-head splitter, its frames to the Python process
// and the answers back, and which scenarios the bench runs it in.
import { test, type TestContext } from 'node:test';
import {
  ANSWER_SIZE,
  FRAME_HEADER,
  encodeFrame,
  readAnswers,
  splitHeads,
} from '../../bench/launchers/net-hop.mjs';
import { SCENARIOS } from '../../src/bench/scenarios.js';
import { findServer, runsScenario } from '../../src/bench/servers.js';

const GET = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const CLOSE = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';

test('`splitHeads()` returns each complete head and carries an unfinished one over', (t: TestContext) => {
  t.plan(3);
  const first = splitHeads('', Buffer.from(GET + GET.slice(0, 20)));
  t.assert.deepStrictEqual(first, {
    heads: [GET.slice(0, -4)],
    close: false,
    rest: GET.slice(0, 20),
    tail: 0,
  });
  t.assert.deepStrictEqual(splitHeads(first.rest, Buffer.from(GET.slice(20))), {
    heads: [GET.slice(0, -4)],
    close: false,
    rest: '',
    tail: 0,
  });
  t.assert.deepStrictEqual(splitHeads('', Buffer.from('GET / HTTP/1.1\r\n')).heads, []);
});

test('`splitHeads()` stops at a head that asks to close, in any case', (t: TestContext) => {
  t.plan(3);
  t.assert.deepStrictEqual(splitHeads('', Buffer.from(GET + CLOSE + GET)), {
    heads: [GET.slice(0, -4), CLOSE.slice(0, -4)],
    close: true,
    rest: '',
    tail: GET.length,
  });
  const shouted = CLOSE.replace('Connection: close', 'CONNECTION:CLOSE');
  t.assert.strictEqual(splitHeads('', Buffer.from(shouted)).close, true);
  const mention = 'GET / HTTP/1.1\r\nX-Connection: close\r\nReferer: /connection:close\r\n\r\n';
  t.assert.strictEqual(splitHeads('', Buffer.from(mention)).close, false);
});

test('a request frame is the id, the length and the head, big-endian', (t: TestContext) => {
  t.plan(1);
  const frame = encodeFrame(0x01020304, 'GET / \xe9');
  t.assert.deepStrictEqual(
    [...frame],
    [1, 2, 3, 4, 0, 0, 0, 7, ...Buffer.from('GET / \xe9', 'latin1')],
  );
});

test('`readAnswers()` reads whole 4-byte ids across reads and keeps a partial one', (t: TestContext) => {
  t.plan(4);
  t.assert.strictEqual(FRAME_HEADER, 8);
  t.assert.strictEqual(ANSWER_SIZE, 4);
  const bytes = Buffer.from([0, 0, 0, 7, 0, 0, 1, 0, 0xff, 0xff]);
  const first = readAnswers(Buffer.alloc(0), bytes);
  t.assert.deepStrictEqual(
    [first.ids, [...first.rest]],
    [
      [7, 256],
      [0xff, 0xff],
    ],
  );
  const second = readAnswers(first.rest, Buffer.from([0xff, 0xfe]));
  t.assert.deepStrictEqual([second.ids, second.rest.length], [[0xfffffffe], 0]);
});

test('the net-hop row runs the connection scenarios, with the bench’s Python', (t: TestContext) => {
  t.plan(3);
  const def = findServer('net-hop');
  if (def === undefined) throw new Error('no net-hop server');
  const ceiling = SCENARIOS.filter((s) => s.ceiling === true).map((s) => s.name);
  const runs = SCENARIOS.filter((s) => runsScenario(def, s)).map((s) => s.name);
  t.assert.deepStrictEqual(runs, ceiling);
  const launch = def.launch({
    port: 9001, workers: 1, threads: 4, python: '/opt/py/bin/python3', repoRoot: '/repo',
    appsDir: '/repo/bench/apps', launchersDir: '/repo/bench/launchers', tmpDir: '/tmp/x', env: {},
  }); // prettier-ignore
  t.assert.deepStrictEqual(launch.argv, [
    process.execPath,
    '/repo/bench/launchers/net-hop.mjs',
    '9001',
    '/opt/py/bin/python3',
  ]);
  t.assert.strictEqual(launch.stopSignal, 'SIGTERM');
});
