// The pure parts of the HTTP/2 transport: telling the preface from HTTP/1.x, turning a stream's
// header block into RequestInfo with HTTP/1.1's refusals, and the node:http2 limits derived
// from the settings. No socket: node:http2's own framing is tested over real ones in
// test/integration/http2.test.ts.

import { test, type TestContext } from 'node:test';
import { ProtocolError } from '../../src/errors.js';
import { H2_REFUSAL, PREFACE, sniffPreface } from '../../src/http2/preface.js';
import { readRequest, type StreamLimits } from '../../src/http2/request.js';
import { sessionOptions } from '../../src/http2/server.js';

const LIMITS: StreamLimits = {
  maxTarget: 4094,
  maxHeaderCount: 100,
  maxHeaderFieldSize: 8190,
  maxBodySize: 1024,
};

/** A GET's pseudo-headers as curl sends them, then `fields`. */
const get = (fields: string[] = [], path = '/a?b=c'): string[] => [
  ':method', 'GET', ':scheme', 'http', ':authority', 'example.com:8000', ':path', path,
  ...fields,
]; // prettier-ignore

/** The status and code readRequest() refuses `raw` with, or undefined if it accepts it. */
function refusal(raw: string[], endStream = true): string | undefined {
  try {
    readRequest(raw, endStream, LIMITS);
    return undefined;
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return `${error.status} ${error.code}`;
  }
}

test('`sniffPreface()` waits on a prefix of the preface and decides at the first differing byte', (t: TestContext) => {
  t.plan(7);
  t.assert.equal(sniffPreface(Buffer.alloc(0)), 'more');
  t.assert.equal(sniffPreface(PREFACE.subarray(0, 1)), 'more');
  t.assert.equal(sniffPreface(PREFACE.subarray(0, 23)), 'more');
  t.assert.equal(sniffPreface(PREFACE), 'h2');
  t.assert.equal(sniffPreface(Buffer.concat([PREFACE, Buffer.from([0, 0, 0, 4])])), 'h2');
  t.assert.equal(sniffPreface(Buffer.from('POST / HTTP/1.1\r\n')), 'http1');
  // An HTTP/1.x request line naming version 2.0: not the preface, the parser's 505.
  t.assert.equal(sniffPreface(Buffer.from('PRI * HTTP/2.0\r\nHost: a\r\n\r\n')), 'http1');
});

test('`H2_REFUSAL` is an empty SETTINGS frame, then GOAWAY(last stream 0, REFUSED_STREAM)', (t: TestContext) => {
  t.plan(5);
  t.assert.deepEqual([...H2_REFUSAL.subarray(0, 9)], [0, 0, 0, 4, 0, 0, 0, 0, 0]);
  const goaway = H2_REFUSAL.subarray(9);
  t.assert.equal(goaway.readUIntBE(0, 3), goaway.length - 9);
  t.assert.equal(goaway[3], 7);
  t.assert.deepEqual([goaway.readUInt32BE(9), goaway.readUInt32BE(13)], [0, 7]);
  t.assert.equal(goaway.subarray(17).toString(), 'connection limit reached');
});

test('`readRequest()` gives the method, :path as target, HTTP/2, and Host from :authority first', (t: TestContext) => {
  const request = readRequest(get(['accept', '*/*', 'user-agent', 'curl']), true, LIMITS);
  t.plan(1);
  t.assert.deepEqual(request, {
    method: 'GET',
    target: '/a?b=c',
    protocol: 'HTTP/2',
    headers: ['host', 'example.com:8000', 'accept', '*/*', 'user-agent', 'curl'],
    host: 'example.com:8000',
    contentLength: -1,
    chunked: false,
    expectContinue: false,
  });
});

test('`readRequest()` joins cookie crumbs into one Cookie field with "; " (RFC 9113 §8.2.3)', (t: TestContext) => {
  const request = readRequest(
    get(['cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2', 'cookie', 'c=3']),
    true,
    LIMITS,
  );
  t.plan(1);
  t.assert.deepEqual(request.headers, [
    'host', 'example.com:8000', 'cookie', 'a=1; b=2; c=3', 'accept', '*/*',
  ]); // prettier-ignore
});

test('`readRequest()` takes a Host field that matches :authority, or stands alone', (t: TestContext) => {
  const both = readRequest(get(['host', 'example.com:8000']), true, LIMITS);
  const hostOnly = readRequest(
    [':method', 'GET', ':scheme', 'http', ':path', '/', 'host', 'h.example'],
    true,
    LIMITS,
  );
  const none = readRequest([':method', 'GET', ':scheme', 'http', ':path', '/'], true, LIMITS);
  t.plan(4);
  t.assert.deepEqual(both.headers, ['host', 'example.com:8000']);
  t.assert.deepEqual([hostOnly.host, hostOnly.headers], ['h.example', ['host', 'h.example']]);
  t.assert.deepEqual([none.host, none.headers], ['', []]);
  t.assert.equal(refusal(get(['host', 'other.example'])), '400 CASK_HTTP_BAD_REQUEST');
});

test('`readRequest()` frames the body: a length, none, or DATA frames until END_STREAM', (t: TestContext) => {
  const sized = readRequest(get(['content-length', '5']), false, LIMITS);
  const open = readRequest(get(), false, LIMITS);
  const ended = readRequest(get(['content-length', '0']), true, LIMITS);
  t.plan(3);
  t.assert.deepEqual([sized.contentLength, sized.chunked], [5, false]);
  t.assert.deepEqual([open.contentLength, open.chunked], [-1, true]);
  t.assert.deepEqual([ended.contentLength, ended.chunked], [0, false]);
});

test('`readRequest()` notes `Expect: 100-continue`', (t: TestContext) => {
  t.plan(2);
  t.assert.equal(readRequest(get(['expect', '100-Continue']), false, LIMITS).expectContinue, true);
  t.assert.equal(readRequest(get(['expect', 'other']), false, LIMITS).expectContinue, false);
});

const REFUSED: Array<[string, string[], string]> = [
  ['connection', get(['connection', 'keep-alive']), '400 CASK_HTTP_BAD_REQUEST'],
  ['keep-alive', get(['keep-alive', 'timeout=5']), '400 CASK_HTTP_BAD_REQUEST'],
  ['proxy-connection', get(['proxy-connection', 'close']), '400 CASK_HTTP_BAD_REQUEST'],
  ['transfer-encoding', get(['transfer-encoding', 'chunked']), '400 CASK_HTTP_BAD_REQUEST'],
  ['upgrade', get(['upgrade', 'websocket']), '400 CASK_HTTP_BAD_REQUEST'],
  ['TE: gzip', get(['te', 'gzip']), '400 CASK_HTTP_BAD_REQUEST'],
  ['CONNECT', [':method', 'CONNECT', ':authority', 'example.com:443'], '501 CASK_HTTP_NOT_IMPLEMENTED'],
  ['no :path', [':method', 'GET', ':scheme', 'http'], '400 CASK_HTTP_BAD_REQUEST'],
  ['an absolute :path', get([], 'http://example.com/'), '400 CASK_HTTP_BAD_REQUEST'],
  ['a fragment', get([], '/a#b'), '400 CASK_HTTP_BAD_REQUEST'],
  ['a space in :path', get([], '/a b'), '400 CASK_HTTP_BAD_REQUEST'],
  ['* outside OPTIONS', get([], '*'), '400 CASK_HTTP_BAD_REQUEST'],
  ['a long :path', get([], `/${'a'.repeat(4094)}`), '414 CASK_HTTP_URI_TOO_LONG'],
  ['a long field', get(['x-big', 'v'.repeat(8185)]), '431 CASK_HTTP_HEADERS_TOO_LARGE'],
  ['101 fields', get(Array.from({ length: 100 }, (_, i) => [`x-${i}`, 'v']).flat()), '431 CASK_HTTP_HEADERS_TOO_LARGE'],
  ['a bad :authority', [':method', 'GET', ':authority', 'a/b', ':path', '/'], '400 CASK_HTTP_BAD_REQUEST'],
  ['two Content-Types', get(['content-type', 'a/b', 'content-type', 'c/d']), '400 CASK_HTTP_BAD_REQUEST'],
  ['a bad Content-Length', get(['content-length', '1e3']), '400 CASK_HTTP_BAD_REQUEST'],
  ['a body past max-body-size', get(['content-length', '1025']), '413 CASK_HTTP_BODY_TOO_LARGE'],
]; // prettier-ignore

for (const [what, raw, expected] of REFUSED) {
  test(`\`readRequest()\` refuses ${what} with ${expected}`, (t: TestContext) => {
    t.plan(1);
    t.assert.equal(refusal(raw, false), expected);
  });
}

test('`readRequest()` accepts the limits exactly: 100 fields, a field of 8190 bytes, * for OPTIONS', (t: TestContext) => {
  t.plan(3);
  t.assert.equal(
    refusal(get(Array.from({ length: 99 }, (_, i) => [`x-${i}`, 'v']).flat())),
    undefined,
  );
  t.assert.equal(refusal(get(['x-big', 'v'.repeat(8183)])), undefined);
  t.assert.equal(refusal([':method', 'OPTIONS', ':scheme', 'http', ':path', '*']), undefined);
});

test('`sessionOptions()` maps limit-request-fields and -field-size to the header list limits', (t: TestContext) => {
  t.plan(2);
  t.assert.deepEqual(
    sessionOptions({ maxStreams: 100, maxHeaderCount: 100, maxHeaderFieldSize: 8190 }),
    {
      settings: { maxConcurrentStreams: 100, maxHeaderListSize: 104 * (8190 + 32) },
      maxHeaderListPairs: 208,
      maxSessionMemory: 10 + 25,
    },
  );
  t.assert.equal(
    sessionOptions({ maxStreams: 8, maxHeaderCount: 10, maxHeaderFieldSize: 0 }).settings
      .maxHeaderListSize,
    2 ** 32 - 1,
  );
});
