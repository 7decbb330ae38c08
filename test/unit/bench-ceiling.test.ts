// The raw-net ceiling: its request-head scanner, which scenarios it runs, and the report's
// ratio of every server to it.
import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import {
  CLOSING_RESPONSE,
  RESPONSE,
  createServer,
  scanHeads,
} from '../../bench/launchers/raw-net.mjs';
import type { Cell } from '../../src/bench/results.js';
import { ceilingTable } from '../../src/bench/report/tables.js';
import { renderMarkdown } from '../../src/bench/report/markdown.js';
import { DEFAULT_SCENARIOS, SCENARIOS } from '../../src/bench/scenarios.js';
import { findServer, runsScenario } from '../../src/bench/servers.js';
import { fixtureCell, fixtureReport, fixtureScenario } from '../helpers/bench-fixture.js';

const GET = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const CLOSE = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('raw-net answers with a fixed 13-byte body', (t: TestContext) => {
  t.plan(2);
  const text = RESPONSE.toString('latin1');
  t.assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 13\r\n\r\nHello, World!$/);
  t.assert.strictEqual(text.split('\r\n\r\n')[1]?.length, 13);
});

test('`scanHeads()` counts complete heads and carries an unfinished one over', (t: TestContext) => {
  t.plan(4);
  t.assert.deepStrictEqual(scanHeads('', Buffer.from(GET)), {
    heads: 1,
    close: false,
    rest: '',
    tail: 0,
  });
  const first = scanHeads('', Buffer.from(GET.slice(0, 20)));
  t.assert.deepStrictEqual(first, { heads: 0, close: false, rest: GET.slice(0, 20), tail: 0 });
  t.assert.deepStrictEqual(scanHeads(first.rest, Buffer.from(GET.slice(20))), {
    heads: 1,
    close: false,
    rest: '',
    tail: 0,
  });
  // Pipelined: two heads and the start of a third in one read.
  t.assert.deepStrictEqual(scanHeads('', Buffer.from(GET + GET + 'GET /')), {
    heads: 2,
    close: false,
    rest: 'GET /',
    tail: 0,
  });
});

test('`scanHeads()` honours Connection: close, in any case, and answers nothing after it', (t: TestContext) => {
  t.plan(3);
  t.assert.deepStrictEqual(scanHeads('', Buffer.from(CLOSE)), {
    heads: 1,
    close: true,
    rest: '',
    tail: 0,
  });
  const shouted = CLOSE.replace('Connection: close', 'CONNECTION:CLOSE');
  t.assert.strictEqual(scanHeads('', Buffer.from(shouted)).close, true);
  t.assert.deepStrictEqual(scanHeads('', Buffer.from(GET + CLOSE + GET)), {
    heads: 2,
    close: true,
    rest: '',
    tail: GET.length,
  });
});

test('`scanHeads()` does not take a header value mentioning close for the header', (t: TestContext) => {
  t.plan(1);
  const head = 'GET / HTTP/1.1\r\nX-Connection: close\r\nReferer: /connection:close\r\n\r\n';
  t.assert.strictEqual(scanHeads('', Buffer.from(head)).close, false);
});

/** A raw-net server on a free port, and a client whose side stays open after the server's end. */
async function rawNetClient(
  t: TestContext,
): Promise<{ client: Socket; serverSide: Promise<unknown>; errors: string[] }> {
  const server = createServer();
  const errors: string[] = [];
  let closed: (value: unknown) => void = () => {};
  const serverSide = new Promise((resolve) => (closed = resolve));
  server.on('connection', (socket: Socket) => {
    socket.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    socket.once('close', closed);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const client = connect({
    port: (server.address() as AddressInfo).port,
    host: '127.0.0.1',
    allowHalfOpen: true,
  });
  t.after(() => client.destroy());
  await once(client, 'connect');
  return { client, serverSide, errors };
}

test('raw-net closes at once after a closing answer when nothing came after the request', async (t: TestContext) => {
  const { client, serverSide, errors } = await rawNetClient(t);
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  client.write(CLOSE);
  await once(client, 'end');
  // The client's side is still open: only a close that does not wait for it ends the server's.
  const closed = await Promise.race([serverSide.then(() => true), sleep(1000).then(() => false)]);
  t.assert.strictEqual(closed, true, 'the server waited for the client to end');
  t.assert.deepStrictEqual(Buffer.concat(chunks), CLOSING_RESPONSE);
  t.assert.deepStrictEqual(errors, []);
});

test('raw-net drops, without an error, a request that came after its closing one, and lingers', async (t: TestContext) => {
  const { client, serverSide, errors } = await rawNetClient(t);
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  // Closing on the second request unread would reset the connection: the server reads and
  // drops it, and ends only its own side until the client ends too.
  client.write(CLOSE + GET);
  await once(client, 'end');
  const closed = await Promise.race([serverSide.then(() => true), sleep(300).then(() => false)]);
  t.assert.strictEqual(closed, false, 'the server closed on unread bytes');
  client.end();
  await serverSide;
  t.assert.deepStrictEqual(Buffer.concat(chunks), CLOSING_RESPONSE);
  t.assert.deepStrictEqual(errors, []);
});

test('the raw-net row runs the connection scenarios and nothing that needs an app', (t: TestContext) => {
  const def = findServer('raw-net');
  t.assert.ok(def !== undefined);
  if (def === undefined) return;
  const runs = SCENARIOS.filter((s) => runsScenario(def, s)).map((s) => s.name);
  for (const name of ['hello', 'hello-close', 'browser', 'rate-sweep'])
    t.assert.ok(runs.includes(name), `${name} in ${runs.join(',')}`);
  for (const name of ['cpu', 'io-wait', 'upload', 'download', 'slow-readers', 'static', 'h2'])
    t.assert.ok(!runs.includes(name), `${name} not in ${runs.join(',')}`);
  const cask = findServer('cask');
  t.assert.ok(cask !== undefined && SCENARIOS.every((s) => !s.ceiling || runsScenario(cask, s)));
  t.assert.ok(DEFAULT_SCENARIOS.includes('hello-close'));
});

test('the raw-net row is started like the others, by the node running the bench', (t: TestContext) => {
  t.plan(2);
  const launch = findServer('raw-net')?.launch({
    port: 9001, workers: 1, threads: 4, python: '/usr/bin/python3', repoRoot: '/repo',
    appsDir: '/repo/bench/apps', launchersDir: '/repo/bench/launchers', tmpDir: '/tmp/x', env: {},
  }); // prettier-ignore
  t.assert.deepStrictEqual(launch?.argv, [
    process.execPath,
    '/repo/bench/launchers/raw-net.mjs',
    '9001',
  ]);
  t.assert.strictEqual(launch?.stopSignal, 'SIGTERM');
});

test('`ceilingTable()` divides each server by raw-net in the connection scenarios', (t: TestContext) => {
  t.plan(3);
  const report = fixtureReport(
    ['cask', 'raw-net', 'uwsgi', 'uvicorn'],
    [
      fixtureScenario('hello', 'closed', { ceiling: true }),
      fixtureScenario('hello-close', 'closed', { ceiling: true }),
      fixtureScenario('cpu'),
      fixtureScenario('asgi-hello'),
    ],
    [
      fixtureCell('cask', 'hello', [20000]),
      fixtureCell('raw-net', 'hello', [80000]),
      fixtureCell('uwsgi', 'hello', [16000]),
      fixtureCell('cask', 'hello-close', [7000]),
      fixtureCell('raw-net', 'hello-close', [14000]),
      fixtureCell('cask', 'cpu', [180]),
      // A server that ran none of the connection scenarios gets no row.
      fixtureCell('uvicorn', 'asgi-hello', [40000]),
    ],
  );
  const table = ceilingTable(report);
  t.assert.deepStrictEqual(table?.columns, ['server', 'hello', 'hello-close']);
  t.assert.deepStrictEqual(table?.rows, [
    ['cask', '0.25×', '0.50×'],
    ['uwsgi', '0.20×', '—'],
  ]);
  t.assert.match(renderMarkdown(report), /Against the ceiling, raw-net/);
});

test('`ceilingTable()` compares CPU per request where the generator limited either run', (t: TestContext) => {
  t.plan(3);
  // Both at the generator's 6,000 req/s: the throughput ratio would say 1.00×, while the
  // server spent 140 µs a request against the ceiling's 98.
  const bound = { generatorBound: true };
  const report = fixtureReport(
    ['cask', 'raw-net', 'net-hop'],
    [
      fixtureScenario('hello', 'closed', { ceiling: true }),
      fixtureScenario('hello-close', 'closed', { ceiling: true }),
    ],
    [
      fixtureCell('cask', 'hello', [20000], { cpu: { avg: 99, peak: 100, seconds: 1, perRequestUs: 50 } }),
      fixtureCell('raw-net', 'hello', [80000], { ...bound, cpu: { avg: 99, peak: 100, seconds: 1, perRequestUs: 12 } }),
      fixtureCell('net-hop', 'hello', [60000], { cpu: { avg: 99, peak: 100, seconds: 1, perRequestUs: 16 } }),
      fixtureCell('cask', 'hello-close', [6000], { ...bound, cpu: { avg: 90, peak: 100, seconds: 1, perRequestUs: 140 } }),
      fixtureCell('raw-net', 'hello-close', [6000], { ...bound, cpu: { avg: 60, peak: 70, seconds: 1, perRequestUs: 98 } }),
      // Not bound itself, but the ceiling was: still by CPU.
      fixtureCell('net-hop', 'hello-close', [6000], { cpu: { avg: 60, peak: 70, seconds: 1, perRequestUs: 80 } }),
    ],
  ); // prettier-ignore
  const table = ceilingTable(report);
  t.assert.deepStrictEqual(table?.rows, [
    ['cask', '0.24× by CPU', '0.70× by CPU'],
    ['net-hop', '0.75× by CPU', '1.23× by CPU'],
  ]);
  const md = renderMarkdown(report);
  t.assert.match(md, /\| cask \| 0\.24× by CPU \| 0\.70× by CPU \|/);
  t.assert.match(
    md,
    /the ratio is instead the ceiling's CPU time per request divided by the server's/,
  );
});

test('`ceilingTable()` keeps the held rate of a sweep whose generator fell behind at the top', (t: TestContext) => {
  t.plan(1);
  const sweep = (server: string, held: number, perRequestUs: number): Cell => {
    const cell = fixtureCell(server, 'httperf', [held]);
    if (cell.summary === null) throw new Error('no summary');
    cell.summary = { ...cell.summary, sustainedRate: held, generatorBound: true, perRequestUs };
    return cell;
  };
  const report = fixtureReport(
    ['cask', 'raw-net'],
    [fixtureScenario('httperf', 'httperf', { ceiling: true })],
    [sweep('cask', 5000, 140), sweep('raw-net', 9000, 100)],
  );
  t.assert.deepStrictEqual(ceilingTable(report)?.rows, [['cask', '0.56×']]);
});

test('`ceilingTable()` gives no ratio for a bound run without CPU figures', (t: TestContext) => {
  t.plan(1);
  const report = fixtureReport(
    ['cask', 'raw-net'],
    [
      fixtureScenario('hello', 'closed', { ceiling: true }),
      fixtureScenario('hello-close', 'closed', { ceiling: true }),
    ],
    [
      fixtureCell('cask', 'hello', [20000]),
      fixtureCell('raw-net', 'hello', [80000]),
      fixtureCell('cask', 'hello-close', [6000], { generatorBound: true, cpu: { avg: 0, peak: 0, seconds: 0, perRequestUs: Number.NaN } }),
      fixtureCell('raw-net', 'hello-close', [6000], { generatorBound: true }),
    ],
  ); // prettier-ignore
  t.assert.deepStrictEqual(ceilingTable(report)?.rows, [['cask', '0.25×', '—']]);
});

test('`ceilingTable()` is absent when the ceiling did not run', (t: TestContext) => {
  t.plan(1);
  const report = fixtureReport(
    ['cask'],
    [fixtureScenario('hello', 'closed', { ceiling: true })],
    [fixtureCell('cask', 'hello', [20000])],
  );
  t.assert.strictEqual(ceilingTable(report), null);
});
