// HTTP/2 against a real cask, over real sockets: curl with prior knowledge (h2c) and over TLS
// with ALPN, h2load for many concurrent streams, node:http2 as a client that can reset a stream,
// stop reading one, or watch for GOAWAY, and a raw socket for what no client library will send
// (a connection-specific field). Every app thread must be free whatever a stream does.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import {
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { connect, type Socket } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { sleep } from '../helpers/attacks.js';
import { APPS, onPath, startCask, type RunningCask } from '../helpers/cask.js';
import { h2session } from '../helpers/h2.js';
import { exchange, get } from '../helpers/http.js';
import { until } from '../helpers/load.js';
import { makeCerts, opensslMissing } from '../helpers/tls.js';

const MiB = 1024 * 1024;
const noCurl = onPath('curl') === undefined ? 'the curl command is not installed' : undefined;
const noH2load =
  onPath('h2load') === undefined
    ? 'h2load is not installed (Debian: apt-get install nghttp2-client)'
    : undefined;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], ms = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: ms, maxBuffer: 64 * MiB }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Answer {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function request(
  client: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = client.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface Echoed {
  environ: Record<string, string>;
  body_latin1: string;
  body_length: number;
}

const echoed = (answer: Answer): Echoed => JSON.parse(answer.body.toString('utf8')) as Echoed;

describe('HTTP/2 with the echo app', () => {
  let server: RunningCask;
  test.before(async () => {
    server = await startCask(['echo:application', '--chdir', APPS, '-w', '1', '--threads', '4']);
  });
  test.after(() => server.stop());

  test(
    'curl with prior knowledge gets HTTP/2, and the app sees SERVER_PROTOCOL HTTP/2 with HTTP_HOST from :authority',
    { skip: noCurl },
    async (t: TestContext) => {
      const url = `http://127.0.0.1:${server.port}/some/path%20x?a=1&b=2`;
      const curled = await run('curl', [
        '-sS',
        '--http2-prior-knowledge',
        '-w',
        '\n%{http_version}',
        url,
      ]);
      const [json = '', version] = curled.stdout.split('\n');
      const environ = (JSON.parse(json) as Echoed).environ;
      t.plan(7);
      t.assert.equal(version, '2');
      t.assert.equal(environ.SERVER_PROTOCOL, 'HTTP/2');
      t.assert.equal(environ.REQUEST_METHOD, 'GET');
      t.assert.equal(environ.PATH_INFO, '/some/path x');
      t.assert.equal(environ.QUERY_STRING, 'a=1&b=2');
      t.assert.equal(environ.HTTP_HOST, `127.0.0.1:${server.port}`);
      t.assert.equal(environ.SERVER_PORT, String(server.port));
    },
  );

  test(
    'an HTTP/1.1 request asking `Upgrade: h2c` is answered over HTTP/1.1',
    { skip: noCurl },
    async (t: TestContext) => {
      const curled = await run('curl', [
      '-sS', '--http2', '-o', '/dev/null', '-w', '%{http_version} %{http_code}',
      `http://127.0.0.1:${server.port}/`,
    ]); // prettier-ignore
      t.plan(1);
      t.assert.equal(curled.stdout, '1.1 200');
    },
  );

  test('a 5 MB POST reaches the app byte for byte, with and without a Content-Length', async (t: TestContext) => {
    const client = await h2session(t, server.port, 256 * MiB);
    // Printable bytes, so that the JSON report carries them one for one.
    const body = Buffer.from(randomBytes(5_000_000).map((b) => 0x20 + (b % 0x5f)));
    const sized = echoed(
      await request(
        client,
        { ':method': 'POST', ':path': '/up', 'content-length': body.length, 'content-type': 'x/y' },
        body,
      ),
    );
    const open = echoed(await request(client, { ':method': 'POST', ':path': '/up' }, body));
    t.plan(6);
    for (const report of [sized, open]) {
      t.assert.equal(report.body_length, body.length);
      t.assert.equal(sha256(Buffer.from(report.body_latin1, 'latin1')), sha256(body));
      t.assert.equal(report.environ.CONTENT_LENGTH, String(body.length));
    }
  });

  test('HEAD gets the headers and no body; cookie crumbs reach the app as one Cookie', async (t: TestContext) => {
    const client = await h2session(t, server.port, 256 * MiB);
    const head = await request(client, { ':method': 'HEAD', ':path': '/h' });
    const cookies = echoed(await request(client, { ':path': '/c', cookie: ['a=1', 'b=2'] })).environ
      .HTTP_COOKIE;
    t.plan(5);
    t.assert.equal(head.headers[':status'], 200);
    t.assert.equal(head.body.length, 0);
    t.assert.ok(Number(head.headers['content-length']) > 0);
    t.assert.equal(head.headers.server, 'Cask');
    t.assert.equal(cookies, 'a=1; b=2');
  });

  test('a request with a connection-specific field is refused on its stream, and the connection serves the next', async (t: TestContext) => {
    const frames = await rawH2(server.port, [
      headersFrame(1, [['connection', 'keep-alive']]),
      headersFrame(3, [['te', 'gzip']]),
      headersFrame(5, []),
    ]);
    t.after(() => frames.socket.destroy());
    const ends = await frames.until((seen) => seen.filter((f) => f.stream === 5).length > 0);
    const on = (id: number): string[] => ends.filter((f) => f.stream === id).map((f) => f.describe);
    t.plan(3);
    // nghttp2 resets it (PROTOCOL_ERROR) before Cask sees it; were it to pass, Cask answers 400.
    t.assert.match(on(1).join(), /RST_STREAM 1|:status 400/);
    t.assert.match(on(3).join(), /RST_STREAM 1|:status 400/);
    t.assert.match(on(5).join(), /:status 200/);
  });

  test('a POST with Expect: 100-continue reset in the same read as its HEADERS: the next stream is served', async (t: TestContext) => {
    // The stream is closed before the front sees it; sending it a 100 Continue then threw,
    // and took the whole front down.
    const post = frame(
      0x1,
      0x4,
      1,
      Buffer.concat(
        [
          [':method', 'POST'], [':scheme', 'http'], [':authority', 'a'], [':path', '/'],
          ['expect', '100-continue'], ['content-length', '5'],
        ].map(([n, v]) => literal(n as string, v as string)),
      ),
    ); // prettier-ignore
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(0x8, 0);
    const raw = await rawH2(server.port, [post, frame(0x3, 0, 1, cancel), headersFrame(3, [])]);
    t.after(() => raw.socket.destroy());
    const seen = await raw.until((s) =>
      s.some((f) => f.stream === 3 && f.describe === 'END_STREAM'),
    );
    t.plan(2);
    t.assert.match(
      seen
        .filter((f) => f.stream === 3)
        .map((f) => f.describe)
        .join(),
      /:status 200/,
    );
    const again = await h2session(t, server.port, MiB);
    t.assert.equal((await request(again, { ':path': '/after' })).headers[':status'], 200);
  });

  test('a preface that arrives a few bytes at a time is waited for, and no byte is lost', async (t: TestContext) => {
    const raw = await rawH2(server.port, [headersFrame(1, [])], { pieces: 4 });
    t.after(() => raw.socket.destroy());
    const seen = await raw.until((s) => s.some((f) => f.describe === 'END_STREAM'));
    t.plan(2);
    t.assert.match(seen.map((f) => f.describe).join(), /:status 200/);
    t.assert.equal((JSON.parse(raw.data(1)) as Echoed).environ.SERVER_PROTOCOL, 'HTTP/2');
  });
});

describe('HTTP/2 behind a PROXY protocol balancer', () => {
  test('the PROXY header comes first, then the preface; REMOTE_ADDR is the client it names', async (t: TestContext) => {
    const server = await startCask([
      'echo:application', '--chdir', APPS, '--proxy-protocol',
    ]); // prettier-ignore
    t.after(() => server.stop());
    const raw = await rawH2(server.port, [headersFrame(1, [])], {
      prefix: 'PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n',
      pieces: 2,
    });
    t.after(() => raw.socket.destroy());
    await raw.until((s) => s.some((f) => f.describe === 'END_STREAM'));
    const environ = (JSON.parse(raw.data(1)) as Echoed).environ;
    t.plan(3);
    t.assert.equal(environ.SERVER_PROTOCOL, 'HTTP/2');
    t.assert.equal(environ.REMOTE_ADDR, '203.0.113.7');
    t.assert.equal(environ.REMOTE_PORT, '40000');
  });
});

describe('HTTP/2 streams and the app threads (big_responses app, 1 worker × 2 threads)', () => {
  const THREADS = 2;

  /**
   * Both of THREADS requests of 0.2 s were answered: a thread was free to run them. While every
   * thread is held by a stream nobody reads they are never answered, and give up after 5 s.
   * The answer itself is the signal, not how fast it came: a loaded machine can take well over
   * a second for a 0.2 s request, which must not read as held threads.
   */
  async function threadsFree(port: number): Promise<boolean> {
    const answers = await Promise.all(
      Array.from({ length: THREADS }, () =>
        get(port, '/sleep?0.2', {}, { ms: 5000 }).catch(() => undefined),
      ),
    );
    return answers.every((a) => a?.status === 200);
  }

  const inflight = async (port: number): Promise<number> =>
    Number((await get(port, '/inflight')).body.toString());

  test(
    'h2load: 2000 requests on 4 connections × 50 streams, all 2xx',
    { skip: noH2load },
    async (t: TestContext) => {
      const server = await startCask([
        'hello:application',
        '--chdir',
        APPS,
        '-w',
        '2',
        '--threads',
        '4',
      ]);
      t.after(() => server.stop());
      const url = `http://127.0.0.1:${server.port}/`;
      const h2 = await run('h2load', ['-n', '2000', '-c', '4', '-m', '50', url]);
      const h1 = await run('h2load', ['--h1', '-n', '2000', '-c', '4', url]);
      const rate = (out: string): string =>
        /finished in [^,]+, ([\d.]+) req\/s/.exec(out)?.[1] ?? '?';
      t.diagnostic(
        `h2c: ${rate(h2.stdout)} req/s; HTTP/1.1 on the same port: ${rate(h1.stdout)} req/s`,
      );
      t.plan(4);
      t.assert.match(h2.stdout, /2000 succeeded, 0 failed, 0 errored/);
      t.assert.match(h2.stdout, /status codes: 2000 2xx/);
      t.assert.match(h2.stdout, /Application protocol: h2c/);
      t.assert.match(h1.stdout, /status codes: 2000 2xx/);
    },
  );

  test('a stream reset mid-response frees its thread (no spool: the app was waiting on the client)', async (t: TestContext) => {
    const server = await startCask([
      'big_responses:application', '--chdir', APPS, '-w', '1', '--threads', String(THREADS),
      '--response-spool-limit', '0',
    ]); // prettier-ignore
    t.after(() => server.stop());
    const client = await h2session(t, server.port, 256 * MiB);
    const streams: ClientHttp2Stream[] = [];
    const started: Array<Promise<unknown>> = [];
    for (let i = 0; i < THREADS; i++) {
      const stream = client.request({ ':path': '/stream' });
      stream.on('error', () => {});
      started.push(once(stream, 'response'));
      stream.pause(); // read nothing: the app fills the window and waits
      streams.push(stream);
    }
    // A stream's headers go out with the first piece its generator yields: once both have
    // arrived, both apps are in their 20 MiB generators, which cannot finish while the client
    // reads nothing, so they hold both threads.
    await Promise.all(started);
    const busy = !(await threadsFree(server.port));
    for (const stream of streams) stream.close(constants.NGHTTP2_CANCEL);
    // The worker learns of the resets asynchronously: poll, with a deadline far past what a
    // loaded machine needs, for the generators closed and the threads answering again.
    const freed = await until(
      async () => (await inflight(server.port)) === 0 && (await threadsFree(server.port)),
      20_000,
      'the threads to be freed',
    ).then(
      () => true,
      () => false,
    );
    t.plan(2);
    t.assert.ok(busy, 'the threads were held by the streams nobody read');
    t.assert.ok(freed, 'the reset streams left no thread busy');
  });

  test('a stream nobody reads beside fast ones: others are served, the thread is free, the answer arrives whole', async (t: TestContext) => {
    const server = await startCask([
      'big_responses:application', '--chdir', APPS, '-w', '1', '--threads', String(THREADS),
      '--send-timeout', '60',
    ]); // prettier-ignore
    t.after(() => server.stop());
    const digest = (await get(server.port, '/digest')).body.toString();
    const client = await h2session(t, server.port, 256 * MiB);
    const slow = client.request({ ':path': '/list' });
    const chunks: Buffer[] = [];
    slow.on('data', (chunk: Buffer) => chunks.push(chunk));
    slow.pause();
    await sleep(300);
    // The app has handed over its 20 MiB; its thread is free while the client reads nothing.
    let free = false;
    for (let i = 0; i < 10 && !free; i++) free = await threadsFree(server.port);
    const start = performance.now();
    const fast = await Promise.all(
      Array.from({ length: 50 }, () => request(client, { ':path': '/ok' })),
    );
    const took = performance.now() - start;
    const other = await get(server.port, '/ok');
    // What reached the client meanwhile: its stream's flow-control window, no more.
    const taken = slow.readableLength;
    const whole = new Promise<Buffer>((resolve) =>
      slow.on('end', () => resolve(Buffer.concat(chunks))),
    );
    slow.resume();
    const body = await whole;
    t.diagnostic(
      `50 streams beside the stalled one in ${took.toFixed(0)} ms; ${taken} bytes reached the stalled client`,
    );
    t.plan(5);
    t.assert.ok(free, 'the app thread was free while its answer waited for the client');
    t.assert.ok(
      fast.every((a) => Number(a.headers[':status']) === 200 && a.body.toString() === 'ok'),
    );
    t.assert.equal(other.status, 200);
    t.assert.ok(taken <= 1 * MiB, `${taken} bytes reached a client that read nothing`);
    t.assert.equal(sha256(body), digest);
  });

  test('60 streams nobody reads on one connection: a 61st is still served, and all 60 arrive whole', async (t: TestContext) => {
    // 2 MiB each: every stream queues its 256 KiB in memory and spools the rest, 15 MiB in
    // all on one session, past node:http2's default session memory (10 MB).
    const server = await startCask(
      ['big_responses:application', '--chdir', APPS, '-w', '1', '--threads', String(THREADS)],
      { env: { BIG_RESPONSE_SIZE: String(2 * MiB) } },
    );
    t.after(() => server.stop());
    const digest = (await get(server.port, '/digest')).body.toString();
    const client = await h2session(t, server.port, 256 * MiB);
    const bodies = Array.from({ length: 60 }, () => {
      const stream = client.request({ ':path': '/list' });
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.pause();
      return {
        stream,
        whole: new Promise<Buffer>((resolve) =>
          stream.on('close', () => resolve(Buffer.concat(chunks))),
        ),
      };
    });
    await sleep(1500);
    const fast = await request(client, { ':path': '/ok' });
    for (const { stream } of bodies) stream.resume();
    const got = await Promise.all(bodies.map((b) => b.whole));
    t.plan(2);
    t.assert.equal(fast.body.toString(), 'ok');
    t.assert.equal(got.filter((body) => sha256(body) === digest).length, 60);
  });

  test('a stream whose client takes nothing for send-timeout is reset and its thread freed', async (t: TestContext) => {
    const server = await startCask([
      'big_responses:application', '--chdir', APPS, '-w', '1', '--threads', String(THREADS),
      '--response-spool-limit', '0', '--send-timeout', '1',
    ]); // prettier-ignore
    t.after(() => server.stop());
    const client = await h2session(t, server.port, 256 * MiB);
    const stream = client.request({ ':path': '/stream' });
    stream.pause();
    const closed = new Promise<number>((resolve) =>
      stream.on('close', () => resolve(stream.rstCode)),
    );
    stream.on('error', () => {});
    const start = Date.now();
    const code = await closed;
    const after = Date.now() - start;
    // The generator is closed once the worker has heard of the reset: poll for it.
    let left = await inflight(server.port);
    await until(async () => (left = await inflight(server.port)) === 0, 15_000).catch(() => {});
    t.plan(3);
    t.assert.equal(code, constants.NGHTTP2_CANCEL);
    t.assert.ok(after >= 900 && after < 5000, `reset after ${after} ms`);
    t.assert.equal(left, 0, 'the generator was closed');
  });
});

describe('HTTP/2 limits, versions and shutdown', () => {
  test('--http2-max-streams is announced, and the limits hold per stream: 413, 431', async (t: TestContext) => {
    const server = await startCask([
      'echo:application', '--chdir', APPS, '--http2-max-streams', '7', '--max-body-size', '1k',
      '--limit-request-fields', '10',
    ]); // prettier-ignore
    t.after(() => server.stop());
    const client = await h2session(t, server.port, 256 * MiB);
    await new Promise((resolve) =>
      client.remoteSettings.maxConcurrentStreams === 7
        ? resolve(0)
        : client.once('remoteSettings', resolve),
    );
    const big = await request(client, { ':method': 'POST', ':path': '/' }, Buffer.alloc(4096, 'x'));
    const many: OutgoingHttpHeaders = { ':path': '/' };
    for (let i = 0; i < 12; i++) many[`x-${i}`] = 'v';
    const fields = await request(client, many);
    const fine = await request(client, { ':path': '/' });
    t.plan(4);
    t.assert.equal(client.remoteSettings.maxConcurrentStreams, 7);
    t.assert.equal(big.headers[':status'], 413);
    t.assert.equal(fields.headers[':status'], 431);
    t.assert.equal(fine.headers[':status'], 200);
  });

  test('an idle session is closed with GOAWAY after --keep-alive', async (t: TestContext) => {
    const server = await startCask(['hello:application', '--chdir', APPS, '--keep-alive', '1']);
    t.after(() => server.stop());
    const client = await h2session(t, server.port, 256 * MiB);
    await request(client, { ':path': '/' });
    const start = Date.now();
    const goaway = new Promise<number>((resolve) =>
      client.once('goaway', (code: number) => resolve(code)),
    );
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const code = await goaway;
    await closed;
    const after = Date.now() - start;
    t.plan(2);
    t.assert.equal(code, constants.NGHTTP2_NO_ERROR);
    t.assert.ok(after >= 900 && after < 3000, `GOAWAY after ${after} ms`);
  });

  test('--http 1 never speaks HTTP/2: the preface is a bad HTTP/1 request', async (t: TestContext) => {
    const server = await startCask(['hello:application', '--chdir', APPS, '--http', '1']);
    t.after(() => server.stop());
    const answer = await exchange(server.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', {
      waitClose: true,
      ms: 3000,
    });
    t.plan(1);
    t.assert.match(answer.raw.toString('latin1'), /^HTTP\/1\.1 (400|505) /);
  });

  test('--http 2 serves HTTP/2 and refuses HTTP/1.1 with a 505 that says why', async (t: TestContext) => {
    const server = await startCask(['hello:application', '--chdir', APPS, '--http', '2']);
    t.after(() => server.stop());
    const h1 = await exchange(server.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', {
      waitClose: true,
      ms: 3000,
    });
    const client = await h2session(t, server.port, 256 * MiB);
    const h2 = await request(client, { ':path': '/' });
    t.plan(3);
    t.assert.match(h1.raw.toString('latin1'), /^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);
    t.assert.match(h1.raw.toString('latin1'), /HTTP\/2 only/);
    t.assert.equal(h2.body.toString(), 'Hello, World!');
  });

  test('the access log shows HTTP/2 requests as HTTP/2', async (t: TestContext) => {
    const server = await startCask(['hello:application', '--chdir', APPS, '--access-log', '-']);
    t.after(() => server.stop());
    const client = await h2session(t, server.port, 256 * MiB);
    await request(client, { ':path': '/logged?x=1' });
    t.plan(1);
    await server.waitFor('"GET /logged?x=1 HTTP/2" 200', 3000).then(
      () => t.assert.ok(true),
      () => t.assert.fail(`no access log line in:\n${server.stdout()}`),
    );
  });

  test('SIGTERM: GOAWAY, the stream in flight completes, and the server exits 0', async (t: TestContext) => {
    const server = await startCask(
      ['big_responses:application', '--chdir', APPS, '--threads', '2'],
      { env: { SAY_SLEEP: '1' } },
    );
    t.after(() => server.stop());
    const client = await h2session(t, server.port, 256 * MiB);
    const goaway = new Promise<number>((resolve) =>
      client.once('goaway', (code: number) => resolve(code)),
    );
    // The stream is in flight once the app says it started: a signal sent before the front has
    // read the request would test a stream refused by the GOAWAY instead. It runs 3 s, so that
    // it is still running when the signal comes even if the log line reaches the test late.
    const inFlight = request(client, { ':path': '/sleep?3' });
    await server.waitFor('sleeping 3.0');
    server.proc.kill('SIGTERM');
    const code = await goaway;
    const answer = await inFlight;
    const exit = await server.exited;
    t.plan(4);
    t.assert.equal(code, constants.NGHTTP2_NO_ERROR);
    t.assert.equal(answer.headers[':status'], 200);
    t.assert.equal(answer.body.toString(), 'slept');
    t.assert.equal(exit, 0);
  });

  const noTls = opensslMissing() ?? noCurl;
  test(
    'over TLS, ALPN picks HTTP/2 for curl --http2 and HTTP/1.1 for --http1.1',
    { skip: noTls },
    async (t: TestContext) => {
      const certs = makeCerts(t);
      const server = await startCask([
      'echo:application', '--chdir', APPS, '--certfile', certs.cert, '--keyfile', certs.key,
    ]); // prettier-ignore
      t.after(() => server.stop());
      const url = `https://127.0.0.1:${server.port}/tls`;
      const h2 = await run('curl', [
        '-sS',
        '--http2',
        '--cacert',
        certs.ca,
        '-w',
        '\n%{http_version}',
        url,
      ]);
      const h1 = await run('curl', [
        '-sS',
        '--http1.1',
        '--cacert',
        certs.ca,
        '-o',
        '/dev/null',
        '-w',
        '%{http_version}',
        url,
      ]);
      const [json = '', version] = h2.stdout.split('\n');
      const environ = (JSON.parse(json) as Echoed).environ;
      t.plan(5);
      t.assert.equal(version, '2');
      t.assert.equal(environ.SERVER_PROTOCOL, 'HTTP/2');
      t.assert.equal(environ['wsgi.url_scheme'], 'https');
      t.assert.equal(environ.HTTPS, 'on');
      t.assert.equal(h1.stdout, '1.1');
    },
  );
});

// ── A raw HTTP/2 client, for requests that client libraries refuse to send ────────────────

/** One frame (RFC 9113 §4.1). */
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK "literal field without indexing, new name", no Huffman (RFC 7541 §6.2.2). */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  assert.ok(n.length < 127 && v.length < 127);
  return Buffer.concat([Buffer.from([0, n.length]), n, Buffer.from([v.length]), v]);
}

/** A GET on `stream` with END_HEADERS and END_STREAM, plus `extra` fields. */
function headersFrame(stream: number, extra: Array<[string, string]>): Buffer {
  const fields: Array<[string, string]> = [
    [':method', 'GET'], [':scheme', 'http'], [':authority', 'a'], [':path', '/'], ...extra,
  ]; // prettier-ignore
  return frame(0x1, 0x4 | 0x1, stream, Buffer.concat(fields.map(([n, v]) => literal(n, v))));
}

interface SeenFrame {
  stream: number;
  describe: string;
}

/**
 * Sends the preface, an empty SETTINGS and `frames`, and reads what comes back: HEADERS frames
 * are described by their :status when it is one of HPACK's static entries (RFC 7541 Appendix
 * A: 200, 204, 206, 304, 400, 404, 500), RST_STREAM and GOAWAY by their error code.
 */
async function rawH2(
  port: number,
  frames: Buffer[],
  opts: { prefix?: string; pieces?: number } = {},
): Promise<{
  socket: Socket;
  until: (done: (seen: SeenFrame[]) => boolean) => Promise<SeenFrame[]>;
  /** DATA received on a stream, as latin1. */
  data: (stream: number) => string;
}> {
  const STATIC_STATUS: Record<number, string> = {
    8: '200',
    9: '204',
    10: '206',
    11: '304',
    12: '400',
    13: '404',
    14: '500',
  };
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const seen: SeenFrame[] = [];
  const data = new Map<number, string>();
  let wrote = (): void => {};
  const written = new Promise<void>((resolve) => (wrote = resolve));
  let buffer = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 9) {
      const length = buffer.readUIntBE(0, 3);
      if (buffer.length < 9 + length) break;
      const type = buffer[3] as number;
      const flags = buffer[4] as number;
      const stream = buffer.readUInt32BE(5) & 0x7fffffff;
      const payload = buffer.subarray(9, 9 + length);
      buffer = buffer.subarray(9 + length);
      if (type === 0x1) {
        const first = (payload[0] as number) & 0x7f;
        seen.push({ stream, describe: `:status ${STATIC_STATUS[first] ?? 'other'}` });
      } else if (type === 0x0) {
        data.set(stream, (data.get(stream) ?? '') + payload.toString('latin1'));
        if ((flags & 0x1) !== 0) seen.push({ stream, describe: 'END_STREAM' });
      } else if (type === 0x3) {
        seen.push({ stream, describe: `RST_STREAM ${payload.readUInt32BE(0)}` });
      } else if (type === 0x7) {
        seen.push({ stream, describe: `GOAWAY ${payload.readUInt32BE(4)}` });
      } else if (type === 0x4 && (flags & 0x1) === 0) {
        // Acknowledge the server's SETTINGS, as a client must (RFC 9113 §6.5.3), once our own
        // preface (which must begin with our SETTINGS, §3.4) is out.
        void written.then(() => socket.write(frame(0x4, 0x1, 0, Buffer.alloc(0))));
      }
    }
    for (const wake of waiters.splice(0)) wake();
  });
  const bytes = Buffer.concat([
    Buffer.from(opts.prefix ?? '', 'latin1'),
    Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
    frame(0x4, 0, 0, Buffer.alloc(0)),
    ...frames,
  ]);
  // In `pieces` writes 50 ms apart, the first ones inside the preface: the server must wait
  // for the bytes that decide and lose none of them.
  const pieces = opts.pieces ?? 1;
  const size = Math.ceil(Math.min(bytes.length, 30) / pieces);
  for (let i = 0; i < pieces - 1; i++) {
    socket.write(bytes.subarray(i * size, (i + 1) * size));
    await sleep(50);
  }
  socket.write(bytes.subarray((pieces - 1) * size));
  wrote();
  return {
    socket,
    data: (stream) => data.get(stream) ?? '',
    async until(done) {
      // A deadline for frames that should come in milliseconds, generous for a loaded machine.
      const deadline = Date.now() + 15_000;
      while (!done(seen) && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return seen;
    },
  };
}
