// Properties of RequestParser checked on generated input (fast-check): garbage only ever
// yields ProtocolError, the way bytes are split never changes the outcome (which also pits
// the whole-head fast path against the line-by-line path), and valid requests built from
// arbitrary tokens come back out as they went in.

import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { ProtocolError } from '../../src/errors.js';
import { RequestParser, type ParserLimits } from '../../src/http/parser.js';

const LIMITS: ParserLimits = {
  maxRequestLine: 256,
  maxHeaderCount: 16,
  maxHeaderFieldSize: 256,
  maxBodySize: 1024,
};

interface Outcome {
  messages: unknown[];
  status: number | null;
  events: number;
}

/** Feeds `chunks`, drains events after each, then finish(); anything but ProtocolError escapes. */
function run(chunks: Buffer[]): Outcome {
  const p = new RequestParser(LIMITS);
  const messages: unknown[] = [];
  let body: Buffer[] = [];
  let events = 0;
  try {
    for (const chunk of chunks) {
      p.push(chunk);
      for (let e = p.next(); e !== null; e = p.next()) {
        events++;
        if (e.type === 'head') messages.push(e.head);
        else if (e.type === 'body') body.push(Buffer.from(e.chunk));
        else {
          messages.push(Buffer.concat(body).toString('latin1'));
          body = [];
        }
      }
    }
    p.finish();
  } catch (err) {
    if (err instanceof ProtocolError) return { messages, status: err.status, events };
    throw err;
  }
  return { messages, status: null, events };
}

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

const seedRequests = [
  'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc',
  'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nT: v\r\n\r\n',
  'GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
];

/** Arbitrary bytes, and valid requests with a few bytes replaced, inserted or deleted. */
const hostileBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  fc
    .tuple(
      fc.array(fc.constantFrom(...seedRequests), { minLength: 1, maxLength: 3 }),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.integer({ min: 0, max: 255 }),
          fc.constantFrom('set', 'insert', 'delete'),
        ),
        {
          maxLength: 4,
        },
      ),
    )
    .map(([requests, edits]) => {
      const bytes = [...Buffer.from(requests.join(''), 'latin1')];
      for (const [at, value, how] of edits) {
        const i = at % (bytes.length + 1);
        if (how === 'insert') bytes.splice(i, 0, value);
        else if (i < bytes.length) {
          if (how === 'set') bytes[i] = value;
          else bytes.splice(i, 1);
        }
      }
      return Buffer.from(bytes);
    }),
);

test('`RequestParser` throws nothing but ProtocolError on arbitrary bytes, and always returns', () => {
  fc.assert(
    fc.property(hostileBytes, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
      const outcome = run(split(bytes, cuts));
      // Each head consumes at least a request-line and each body event at least a byte.
      return outcome.events <= 2 * bytes.length + 2;
    }),
    { numRuns: 2000 },
  );
});

test('`RequestParser` gives the same outcome however arbitrary bytes are split', () => {
  fc.assert(
    fc.property(hostileBytes, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
      const whole = run([bytes]);
      const pieces = run(split(bytes, cuts));
      const bytewise = run(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)));
      const same = (a: Outcome, b: Outcome): boolean =>
        a.status === b.status && isDeepStrictEqual(a.messages, b.messages);
      return same(whole, pieces) && same(whole, bytewise);
    }),
    { numRuns: 1000 },
  );
});

// Names the generator leaves out: the fields that frame the message or that the parser
// refuses to see twice (Host, Content-Type), which it places itself or not at all.
const FRAMING = [
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
  'content-type',
];
const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const fieldValue = fc.stringMatching(
  /^([\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]{0,30}[\x21-\x7e\x80-\xff])?)?$/,
);

const validRequest = fc
  .record({
    method: token.filter((m) => m !== 'CONNECT'),
    // Any visible byte but "#": a request-target has no fragment (RFC 9112 §3.2).
    target: fc.stringMatching(/^\/[\x21\x22\x24-\x7e\x80-\xff]{0,40}$/),
    minor: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>,
    host: fc.stringMatching(/^[a-z0-9.-]{1,20}(:[0-9]{1,5})?$/),
    fields: fc.array(
      fc.tuple(
        token.filter((n) => !FRAMING.includes(n.toLowerCase())),
        fieldValue,
      ),
      { maxLength: 8 },
    ),
    hostAt: fc.nat(),
    connection: fc.constantFrom(null, 'close', 'keep-alive'),
    body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    framing: fc.constantFrom('length', 'chunked'),
    chunkCuts: fc.array(fc.nat(), { maxLength: 4 }),
  })
  .map((r) => {
    const chunked = r.framing === 'chunked' && r.minor === 1;
    const fields = [...r.fields];
    fields.splice(r.hostAt % (fields.length + 1), 0, ['Host', r.host]);
    if (r.connection !== null) fields.push(['Connection', r.connection]);
    if (chunked) fields.push(['Transfer-Encoding', 'chunked']);
    else if (r.body.length > 0) fields.push(['Content-Length', String(r.body.length)]);
    const wire = `${r.method} ${r.target} HTTP/1.${r.minor}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
    const framed: Buffer[] = [Buffer.from(wire, 'latin1')];
    if (chunked) {
      for (const piece of split(r.body, r.chunkCuts)) {
        if (piece.length > 0)
          framed.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
      }
      framed.push(Buffer.from('0\r\n\r\n'));
    } else framed.push(r.body);
    const head = {
      method: r.method,
      target: r.target,
      protocol: r.minor === 1 ? 'HTTP/1.1' : 'HTTP/1.0',
      versionMinor: r.minor,
      headers: fields.flat(),
      contentLength: chunked ? -1 : r.body.length > 0 ? r.body.length : -1,
      chunked,
      keepAlive: r.minor === 1 ? r.connection !== 'close' : r.connection === 'keep-alive',
      expectContinue: false,
      upgrade: false,
      host: r.host,
    };
    return { bytes: Buffer.concat(framed), expected: [head, r.body.toString('latin1')] };
  });

test('`RequestParser` returns valid pipelined requests built from arbitrary tokens as they were sent', () => {
  fc.assert(
    fc.property(
      fc.array(validRequest, { minLength: 1, maxLength: 3 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (requests, cuts) => {
        const outcome = run(split(Buffer.concat(requests.map((r) => r.bytes)), cuts));
        const expected = requests.flatMap((r) => r.expected);
        return outcome.status === null && isDeepStrictEqual(outcome.messages, expected);
      },
    ),
    { numRuns: 1000 },
  );
});
