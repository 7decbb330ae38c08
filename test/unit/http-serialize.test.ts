import { mock, test, type TestContext } from 'node:test';
import { CaskError } from '../../src/errors.js';
import {
  CRLF,
  LAST_CHUNK,
  chunkHeader,
  dateHeaderLine,
  httpDate,
  serializeHead,
} from '../../src/http/serialize.js';

test('`serializeHead()` writes the status line, the fields in order, the extra lines and a blank line', (t: TestContext) => {
  t.plan(1);
  const head = serializeHead(
    1,
    '200 OK',
    ['Content-Type', 'text/plain', 'X-Latin', 'caf\xe9'],
    'Date: D\r\n',
  );
  t.assert.deepEqual(
    head,
    Buffer.from(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Latin: caf\xe9\r\nDate: D\r\n\r\n',
      'latin1',
    ),
  );
});

test('`serializeHead()` writes HTTP/1.0, an empty reason and a bare status code', (t: TestContext) => {
  t.plan(3);
  t.assert.equal(
    serializeHead(0, '404 Not Found', [], '').toString('latin1'),
    'HTTP/1.0 404 Not Found\r\n\r\n',
  );
  t.assert.equal(serializeHead(1, '204 ', [], '').toString('latin1'), 'HTTP/1.1 204 \r\n\r\n');
  t.assert.equal(serializeHead(1, '204', [], '').toString('latin1'), 'HTTP/1.1 204 \r\n\r\n');
});

for (const [what, status, headers] of [
  ['a status with CRLF', '200 OK\r\nX-Evil: 1', []],
  ['a status that is not 3 digits', '2000 OK', []],
  ['a header value with CRLF', '200 OK', ['Location', '/a\r\nSet-Cookie: x=1']],
  ['a header value with a bare LF', '200 OK', ['X-A', 'a\nb']],
  ['a header value with NUL', '200 OK', ['X-A', 'a\0b']],
  ['a header value outside latin1', '200 OK', ['X-A', 'snow \u2603']],
  ['a header name with a space', '200 OK', ['X A', 'v']],
  ['a header name with a colon', '200 OK', ['X-A:', 'v']],
  ['an empty header name', '200 OK', ['', 'v']],
  ['an odd header list', '200 OK', ['X-A']],
] as const) {
  test(`\`serializeHead()\` refuses ${what}`, (t: TestContext) => {
    t.plan(1);
    t.assert.throws(
      () => serializeHead(1, status, [...headers], ''),
      (err: unknown) =>
        err instanceof CaskError && err.code === 'CASK_APP_ERROR' && err.status === 500,
    );
  });
}

test('`chunkHeader()` frames a chunk size in hex with CRLF', (t: TestContext) => {
  t.plan(4);
  t.assert.equal(chunkHeader(1).toString(), '1\r\n');
  t.assert.equal(chunkHeader(255).toString(), 'ff\r\n');
  t.assert.equal(chunkHeader(65536).toString(), '10000\r\n');
  t.assert.equal(
    Buffer.concat([chunkHeader(5), Buffer.from('hello'), CRLF, LAST_CHUNK]).toString(),
    '5\r\nhello\r\n0\r\n\r\n',
  );
});

test('`chunkHeader()` refuses a size of 0, which would end the body', (t: TestContext) => {
  t.plan(2);
  t.assert.throws(() => chunkHeader(0), {
    name: 'RangeError',
    message: 'Chunk size must be a positive integer: 0',
  });
  t.assert.throws(() => chunkHeader(1.5), RangeError);
});

test('`httpDate()` gives an IMF-fixdate and formats it again only when the second changes', (t: TestContext) => {
  t.plan(5);
  mock.timers.enable({ apis: ['Date'], now: Date.UTC(1994, 10, 6, 8, 49, 37, 100) });
  t.after(() => mock.timers.reset());
  const first = httpDate();
  t.assert.equal(first, 'Sun, 06 Nov 1994 08:49:37 GMT');
  mock.timers.tick(800);
  t.assert.equal(httpDate(), first);
  mock.timers.tick(200);
  t.assert.equal(httpDate(), 'Sun, 06 Nov 1994 08:49:38 GMT');
  t.assert.equal(dateHeaderLine(), 'Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n');
  t.assert.match(httpDate(), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
});
