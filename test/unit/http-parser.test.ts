// RequestParser behaviour that the conformance corpus (http-conformance.test.ts) does not show:
// the push/next/finish contract, buffering, limits hit before a line ends, and keep-alive.

import { test, type TestContext } from 'node:test';
import { ProtocolError } from '../../src/errors.js';
import {
  RequestParser,
  type ParserEvent,
  type ParserLimits,
  type RequestHead,
} from '../../src/http/parser.js';

const LIMITS: ParserLimits = {
  maxRequestLine: 1024,
  maxHeaderCount: 32,
  maxHeaderFieldSize: 1024,
  maxBodySize: 4096,
};

function parser(limits: Partial<ParserLimits> = {}): RequestParser {
  return new RequestParser({ ...LIMITS, ...limits });
}

function drain(p: RequestParser): ParserEvent[] {
  const events: ParserEvent[] = [];
  for (let e = p.next(); e !== null; e = p.next())
    events.push(e.type === 'body' ? { type: 'body', chunk: Buffer.from(e.chunk) } : e);
  return events;
}

function head(events: ParserEvent[]): RequestHead {
  const event = events.find((e) => e.type === 'head');
  if (event?.type !== 'head') throw new Error('no head event');
  return event.head;
}

/** The ProtocolError that `fn` throws (fails the test when it throws nothing or something else). */
function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('no ProtocolError thrown');
}

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function feed(p: RequestParser, text: string): RequestParser {
  p.push(bytes(text));
  return p;
}

test('`RequestParser` emits head then end for a GET, then asks for more', (t: TestContext) => {
  t.plan(4);
  const p = parser();
  p.push(bytes('GET /x?y=1 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n'));
  const first = p.next();
  t.assert.equal(first?.type, 'head');
  t.assert.deepEqual(first?.type === 'head' && first.head.headers, ['Host', 'h', 'Accept', '*/*']);
  t.assert.equal(p.next()?.type, 'end');
  t.assert.equal(p.next(), null);
});

test('`RequestParser` hands out body bytes of a whole chunk as a view, without copying', (t: TestContext) => {
  t.plan(3);
  const input = bytes('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello');
  const p = parser();
  p.push(input);
  p.next();
  const body = p.next();
  t.assert.equal(body?.type, 'body');
  t.assert.equal(body?.type === 'body' && body.chunk.buffer, input.buffer);
  t.assert.equal(body?.type === 'body' && body.chunk.toString(), 'hello');
});

test('`RequestParser` streams a Content-Length body as it arrives', (t: TestContext) => {
  t.plan(5);
  const p = parser();
  p.push(bytes('PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhel'));
  t.assert.equal(p.next()?.type, 'head');
  const part = p.next();
  t.assert.equal(part?.type === 'body' && part.chunk.toString(), 'hel');
  t.assert.equal(p.next(), null);
  p.push(bytes('loGET'));
  const rest = p.next();
  t.assert.equal(rest?.type === 'body' && rest.chunk.toString(), 'lo');
  t.assert.equal(p.next()?.type, 'end');
});

test('`RequestParser` says in `bodyAwaited` how much of a Content-Length body is still to come', (t: TestContext) => {
  t.plan(8);
  const p = parser();
  t.assert.equal(p.bodyAwaited, 0); // no request yet
  p.push(bytes('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab'));
  t.assert.equal(p.bodyAwaited, 0); // the head is held, not parsed: the body has not begun
  t.assert.equal(p.next()?.type, 'head');
  t.assert.equal(p.bodyAwaited, 8); // "ab" is held and counts as come
  p.next();
  t.assert.equal(p.bodyAwaited, 8);
  p.push(bytes('cdefghij'));
  drain(p);
  t.assert.equal(p.bodyAwaited, 0); // the body is whole
  feed(p, 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n');
  t.assert.equal(p.next()?.type, 'head');
  t.assert.equal(p.bodyAwaited, 0); // chunked: not a length the next bytes could be counted in
});

test('`RequestParser` reports what it holds in `buffered` and lets go of consumed bytes', (t: TestContext) => {
  t.plan(5);
  const p = parser();
  t.assert.equal(p.buffered, 0);
  p.push(bytes('GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HT'));
  t.assert.equal(p.buffered, 37);
  drain(p);
  t.assert.equal(p.buffered, 9);
  p.push(bytes('TP/1.1\r\nHost: h\r\n\r\n'));
  t.assert.equal(head(drain(p)).target, '/2');
  t.assert.equal(p.buffered, 0);
});

test('`RequestParser` parses a head pushed one byte at a time, and one pushed in two halves', (t: TestContext) => {
  const text = 'GET /a HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nX-Two: two\r\n\r\n';
  t.plan(2);
  const bytewise = parser();
  let events: ParserEvent[] = [];
  for (const byte of bytes(text)) {
    bytewise.push(Buffer.from([byte]));
    events = events.concat(drain(bytewise));
  }
  t.assert.deepEqual(head(events).headers, ['Host', 'h', 'X-One', '1', 'X-Two', 'two']);
  const halves = parser();
  halves.push(bytes(text.slice(0, 30)));
  events = drain(halves);
  halves.push(bytes(text.slice(30)));
  t.assert.deepEqual(head(events.concat(drain(halves))).headers, [
    'Host',
    'h',
    'X-One',
    '1',
    'X-Two',
    'two',
  ]);
});

test('`RequestParser.finish()` is quiet between messages and after stray CRLFs', (t: TestContext) => {
  t.plan(2);
  const p = parser();
  p.push(bytes('GET / HTTP/1.1\r\nHost: h\r\n\r\n\r\n'));
  drain(p);
  t.assert.doesNotThrow(() => p.finish());
  const fresh = parser();
  t.assert.doesNotThrow(() => fresh.finish());
});

for (const [where, text] of [
  ['the request line', 'GET / HT'],
  ['the header section', 'GET / HTTP/1.1\r\nHost: h\r\n'],
  ['a Content-Length body', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc'],
  [
    'a chunked body',
    'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n',
  ],
  [
    'the trailer section',
    'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n',
  ],
] as const) {
  test(`\`RequestParser.finish()\` throws a 400 when the client stops inside ${where}`, (t: TestContext) => {
    t.plan(2);
    const p = parser();
    p.push(bytes(text));
    drain(p);
    const err = protocolError(() => p.finish());
    t.assert.equal(err.status, 400);
    t.assert.match(err.message, /^Connection closed in the middle of a request: /);
  });
}

test('`RequestParser.finish()` leaves complete requests not pulled yet to next()', (t: TestContext) => {
  t.plan(3);
  const p = feed(parser(), 'GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n');
  t.assert.equal(p.next()?.type, 'head'); // the driver pulls one request, then EOF arrives
  t.assert.doesNotThrow(() => p.finish());
  t.assert.deepEqual(
    drain(p).map((e) => e.type),
    ['end', 'head', 'end'],
  );
});

test('`RequestParser.next()` throws a 400 after finish() when it reaches a request cut short', (t: TestContext) => {
  t.plan(3);
  const p = feed(parser(), 'GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHo');
  p.finish();
  t.assert.equal(p.next()?.type, 'head');
  t.assert.equal(p.next()?.type, 'end');
  t.assert.equal(protocolError(() => p.next()).status, 400);
});

test('`RequestParser` stays dead after a ProtocolError', (t: TestContext) => {
  t.plan(4);
  const p = parser();
  p.push(bytes('GET / HTTP/1.1\r\nHost : h\r\n\r\n'));
  const err = protocolError(() => p.next());
  p.push(bytes('GET / HTTP/1.1\r\nHost: h\r\n\r\n'));
  t.assert.equal(p.buffered, 0);
  t.assert.equal(
    protocolError(() => p.next()),
    err,
  );
  t.assert.equal(
    protocolError(() => p.finish()),
    err,
  );
  t.assert.equal(err.code, 'CASK_HTTP_BAD_REQUEST');
});

test('`RequestParser` rejects an endless request line before it ends (414)', (t: TestContext) => {
  t.plan(3);
  const p = parser();
  p.push(bytes(`GET /${'a'.repeat(1000)}`));
  t.assert.equal(p.next(), null);
  p.push(bytes('a'.repeat(100)));
  const err = protocolError(() => p.next());
  t.assert.equal(err.status, 414);
  t.assert.equal(err.code, 'CASK_HTTP_URI_TOO_LONG');
});

test('`RequestParser` rejects an endless header line before it ends (431)', (t: TestContext) => {
  t.plan(2);
  const p = parser();
  p.push(bytes(`GET / HTTP/1.1\r\nHost: h\r\nX: ${'v'.repeat(1100)}`));
  const err = protocolError(() => p.next());
  t.assert.equal(err.status, 431);
  t.assert.equal(err.code, 'CASK_HTTP_HEADERS_TOO_LARGE');
});

test('`RequestParser` bounds the whole head with maxHeadSize (431)', (t: TestContext) => {
  t.plan(2);
  const fields = Array.from({ length: 6 }, (_, i) => `X-${i}: ${'v'.repeat(20)}\r\n`).join('');
  const text = `GET / HTTP/1.1\r\nHost: h\r\n${fields}\r\n`;
  t.assert.equal(drain(feed(parser({ maxHeadSize: 200 }), text)).length, 2); // the head counts 171 bytes
  t.assert.equal(protocolError(() => drain(feed(parser({ maxHeadSize: 150 }), text))).status, 431);
});

test('`RequestParser` counts trailer fields against maxHeaderCount (431)', (t: TestContext) => {
  t.plan(1);
  const trailers = Array.from({ length: 4 }, (_, i) => `T-${i}: x\r\n`).join('');
  const text = `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${trailers}\r\n`;
  t.assert.equal(protocolError(() => drain(feed(parser({ maxHeaderCount: 3 }), text))).status, 431);
});

test('`RequestParser` bounds chunk extensions across a whole body (400)', (t: TestContext) => {
  t.plan(1);
  const chunk = `1;ext=${'e'.repeat(1000)}\r\nx\r\n`;
  const text = `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(17)}0\r\n\r\n`;
  t.assert.equal(protocolError(() => drain(feed(parser(), text))).status, 400);
});

test('`RequestParser` rejects a Content-Length with a sign', (t: TestContext) => {
  t.plan(2);
  const err = protocolError(() =>
    drain(feed(parser(), 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx')),
  );
  t.assert.equal(err.status, 400);
  t.assert.equal(err.message, 'Invalid Content-Length: "+1"');
});

for (const target of ['/a#frag', '/x?page=1#posts-1', '/coll/frag/#ment', 'http://h/b#c']) {
  test(`\`RequestParser\` refuses the fragment of ${target} (400) instead of cutting it off`, (t: TestContext) => {
    t.plan(6);
    const line = `DELETE ${target} HTTP/1.1`;
    const text = `${line}\r\nHost: h\r\n\r\n`;
    // Whole (the one-pass scan gives up and the line-by-line path refuses), then a byte at a time.
    const whole = protocolError(() => drain(feed(parser(), text)));
    const p = parser();
    const bytewise = protocolError(() => {
      for (const c of text) drain(feed(p, c));
    });
    for (const err of [whole, bytewise]) {
      t.assert.equal(err.status, 400);
      t.assert.equal(err.code, 'CASK_HTTP_BAD_REQUEST');
      t.assert.equal(err.message, `Fragment in a request target: ${JSON.stringify(line)}`);
    }
  });
}

test('`RequestParser` refuses a second Content-Type (400), whatever its case or value', (t: TestContext) => {
  t.plan(4);
  const text = (second: string): string =>
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n${second}\r\nContent-Length: 0\r\n\r\n`;
  const err = protocolError(() => drain(feed(parser(), text('content-type: application/json'))));
  t.assert.equal(err.status, 400);
  t.assert.equal(err.code, 'CASK_HTTP_BAD_REQUEST');
  t.assert.equal(err.message, 'Duplicate Content-Type header: "text/plain, application/json"');
  t.assert.equal(
    protocolError(() => drain(feed(parser(), text('Content-Type: text/plain')))).status,
    400,
  );
});

test('`RequestParser` keeps one Content-Type whole, commas included, and ignores one in the trailers', (t: TestContext) => {
  t.plan(2);
  const type = 'multipart/form-data; boundary="a,b"';
  const one = drain(feed(parser(), `POST / HTTP/1.1\r\nHost: h\r\nContent-Type: ${type}\r\n\r\n`));
  t.assert.deepEqual(head(one).headers, ['Host', 'h', 'Content-Type', type]);
  const trailer = `POST / HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Type: c/d\r\n\r\n`;
  t.assert.deepEqual(
    drain(feed(parser(), trailer)).map((e) => e.type),
    ['head', 'end'],
  );
});

test('`RequestParser` refuses any body when maxBodySize is 0, but not an empty one', (t: TestContext) => {
  t.plan(2);
  const text = (n: number): string =>
    `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${n}\r\n\r\n${'x'.repeat(n)}`;
  t.assert.equal(drain(feed(parser({ maxBodySize: 0 }), text(0))).length, 2);
  t.assert.equal(protocolError(() => drain(feed(parser({ maxBodySize: 0 }), text(1)))).status, 413);
});

for (const [version, connection, keepAlive] of [
  ['1.1', null, true],
  ['1.1', 'close', false],
  ['1.1', 'Keep-Alive', true],
  ['1.1', 'TE, Close', false],
  ['1.0', null, false],
  ['1.0', 'keep-alive', true],
  ['1.0', 'keep-alive, close', false],
] as const) {
  test(`\`RequestParser\` sets keepAlive ${keepAlive} for HTTP/${version} with Connection ${connection ?? 'absent'}`, (t: TestContext) => {
    t.plan(1);
    const text = `GET / HTTP/${version}\r\nHost: h\r\n${connection === null ? '' : `Connection: ${connection}\r\n`}\r\n`;
    t.assert.equal(head(drain(feed(parser(), text))).keepAlive, keepAlive);
  });
}

for (const [fields, upgrade] of [
  ['Upgrade: websocket\r\nConnection: Upgrade\r\n', true],
  ['connection: keep-alive, UPGRADE\r\nUPGRADE: h2c\r\n', true],
  ['Connection: close\r\nConnection: upgrade\r\nUpgrade: websocket\r\n', true],
  ['Upgrade: websocket\r\n', false],
  ['Connection: Upgrade\r\n', false],
  ['Upgrade: websocket\r\nConnection: upgraded, keep-alive\r\n', false],
  ['Upgrades: websocket\r\nConnection: Upgrade\r\n', false],
  ['', false],
] as const) {
  test(`\`RequestParser\` says upgrade is ${upgrade} for ${JSON.stringify(fields)}`, (t: TestContext) => {
    t.plan(1);
    const text = `GET / HTTP/1.1\r\nHost: h\r\n${fields}\r\n`;
    t.assert.equal(head(drain(feed(parser(), text))).upgrade, upgrade);
  });
}

test('`RequestParser` ignores expectations other than 100-continue', (t: TestContext) => {
  t.plan(1);
  const text =
    'POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue-please\r\nContent-Length: 1\r\n\r\nx';
  t.assert.equal(head(drain(feed(parser(), text))).expectContinue, false);
});

test('`RequestParser` emits the end of a bodiless request at once, with no body event', (t: TestContext) => {
  t.plan(1);
  const events = drain(
    feed(parser(), 'DELETE /r HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n'),
  );
  t.assert.deepEqual(
    events.map((e) => e.type),
    ['head', 'end'],
  );
});

test('`RequestParser` parses a thousand pipelined requests from one buffer, in order', (t: TestContext) => {
  t.plan(2);
  let text = '';
  for (let i = 0; i < 1000; i++) text += `GET /${i} HTTP/1.1\r\nHost: h\r\n\r\n`;
  const heads = drain(feed(parser(), text)).filter((e) => e.type === 'head');
  t.assert.equal(heads.length, 1000);
  t.assert.equal(heads[999]?.type === 'head' && heads[999].head.target, '/999');
});

test('`RequestParser` rejects a negative limit with a RangeError', (t: TestContext) => {
  t.plan(1);
  t.assert.throws(() => parser({ maxBodySize: -1 }), {
    name: 'RangeError',
    message: 'Parser limit must be a non-negative safe integer: maxBodySize = -1',
  });
});
