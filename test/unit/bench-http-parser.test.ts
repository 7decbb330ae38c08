// The load generator's response parser (src/bench/load/http-parser.ts), fed plain bytes.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { ResponseParser, type ParsedResponse } from '../../src/bench/load/http-parser.js';

function parseAll(chunks: Array<string | Buffer>, eof = false): ParsedResponse[] {
  const p = new ResponseParser();
  const out: ParsedResponse[] = [];
  for (const c of chunks)
    p.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c, (r) => out.push(r));
  if (eof) p.end((r) => out.push(r));
  return out;
}

test('`ResponseParser` reads a Content-Length response in one chunk', (t: TestContext) => {
  t.plan(1);
  t.assert.deepStrictEqual(parseAll(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello']), [
    { status: 200, keepAlive: true, bodyBytes: 5 },
  ]);
});

test('`ResponseParser` reads two pipelined responses from one chunk', (t: TestContext) => {
  t.plan(2);
  const r = parseAll([
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
  ]);
  t.assert.strictEqual(r.length, 2);
  t.assert.strictEqual(r[1]?.status, 404);
});

test('`ResponseParser` decodes chunked bodies with extensions and trailers', (t: TestContext) => {
  t.plan(1);
  const wire =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n';
  t.assert.deepStrictEqual(parseAll([wire]), [{ status: 200, keepAlive: true, bodyBytes: 11 }]);
});

test('`ResponseParser` gives the same result for every split of the bytes', () => {
  const wire = Buffer.from(
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n' +
      'HTTP/1.1 201 Created\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
    'latin1',
  );
  const expected = parseAll([wire]);
  assert.equal(expected.length, 2);
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 12 }),
      (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), wire.length];
        const chunks = points.slice(1).map((end, i) => wire.subarray(points[i], end));
        assert.deepEqual(parseAll(chunks), expected);
      },
    ),
  );
});

test('`ResponseParser` survives a head delivered one byte at a time', (t: TestContext) => {
  t.plan(1);
  const wire = 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx';
  t.assert.deepStrictEqual(parseAll([...wire]), [{ status: 200, keepAlive: true, bodyBytes: 1 }]);
});

test('`ResponseParser` ends a body without length at EOF and marks the connection closed', (t: TestContext) => {
  t.plan(2);
  t.assert.deepStrictEqual(parseAll(['HTTP/1.0 200 OK\r\n\r\nabcdef'], false), []);
  t.assert.deepStrictEqual(parseAll(['HTTP/1.0 200 OK\r\n\r\nabc', 'def'], true), [
    { status: 200, keepAlive: false, bodyBytes: 6 },
  ]);
});

test('`ResponseParser` applies HTTP/1.0 and HTTP/1.1 keep-alive defaults', (t: TestContext) => {
  t.plan(3);
  t.assert.strictEqual(
    parseAll(['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'])[0]?.keepAlive,
    false,
  );
  t.assert.strictEqual(
    parseAll(['HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n'])[0]
      ?.keepAlive,
    true,
  );
  t.assert.strictEqual(
    parseAll(['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'])[0]?.keepAlive,
    false,
  );
});

test('`ResponseParser` expects no body after 204, 304 and HEAD', (t: TestContext) => {
  t.plan(2);
  t.assert.deepStrictEqual(parseAll(['HTTP/1.1 204 No Content\r\n\r\n']), [
    { status: 204, keepAlive: true, bodyBytes: 0 },
  ]);
  const p = new ResponseParser();
  const out: ParsedResponse[] = [];
  p.expectHead(true);
  p.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n'), (r) => out.push(r));
  t.assert.deepStrictEqual(out, [{ status: 200, keepAlive: true, bodyBytes: 0 }]);
});

test('`ResponseParser.end()` reports a response cut short as truncated', (t: TestContext) => {
  t.plan(3);
  const p = new ResponseParser();
  t.assert.strictEqual(p.end(() => {}).truncated, false);
  p.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), () => {});
  t.assert.strictEqual(p.inResponse, true);
  t.assert.strictEqual(p.end(() => {}).truncated, true);
});

test('`ResponseParser` rejects a bad status line, a bad chunk size and conflicting lengths', (t: TestContext) => {
  t.plan(3);
  t.assert.throws(() => parseAll(['HTTX/1.1 200 OK\r\n\r\n']), { code: 'parse' });
  t.assert.throws(() => parseAll(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']), {
    code: 'parse',
  });
  t.assert.throws(
    () => parseAll(['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n']),
    { code: 'parse' },
  );
});
