import { test, type TestContext } from 'node:test';
import { CANNED_STATUSES, cannedResponse } from '../../src/http/canned.js';
import { RequestParser } from '../../src/http/parser.js';

/** Splits a response into status line, fields (lower-cased names) and body. */
function parse(response: Buffer): {
  statusLine: string;
  fields: Map<string, string>;
  body: string;
} {
  const text = response.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const fields = new Map(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 2)]),
  );
  return { statusLine, fields, body: text.slice(end + 4) };
}

test('`cannedResponse()` knows every status the server sends on its own', (t: TestContext) => {
  t.plan(1);
  t.assert.deepEqual(
    [...CANNED_STATUSES].sort(),
    [400, 404, 408, 413, 414, 431, 500, 501, 502, 503, 504, 505],
  );
});

for (const status of CANNED_STATUSES) {
  test(`\`cannedResponse()\` builds a complete, closing ${status} response`, (t: TestContext) => {
    t.plan(7);
    const { statusLine, fields, body } = parse(cannedResponse(status, { close: true }));
    t.assert.match(statusLine, new RegExp(`^HTTP/1\\.1 ${status} [A-Z]`));
    t.assert.equal(body, `${statusLine.slice(9)}\n`);
    t.assert.equal(fields.get('content-length'), String(Buffer.byteLength(body)));
    t.assert.equal(fields.get('content-type'), 'text/plain; charset=utf-8');
    t.assert.equal(fields.get('connection'), 'close');
    t.assert.match(fields.get('date') ?? '', / GMT$/);
    t.assert.equal(fields.get('retry-after'), status === 503 ? '1' : undefined);
  });
}

for (const status of [500, 502, 503, 504] as const) {
  test(`\`cannedResponse()\` has a keep-alive variant of ${status}`, (t: TestContext) => {
    t.plan(2);
    const { fields, body } = parse(cannedResponse(status, { close: false }));
    t.assert.equal(fields.get('connection'), 'keep-alive');
    t.assert.equal(fields.get('content-length'), String(body.length));
  });
}

test('`cannedResponse()` refuses a keep-alive variant of a connection-level error', (t: TestContext) => {
  t.plan(2);
  t.assert.throws(() => cannedResponse(400, { close: false }), {
    name: 'RangeError',
    message: 'A canned 400 response must close the connection: close = false',
  });
  t.assert.throws(() => cannedResponse(418), {
    name: 'RangeError',
    message: 'No canned response for status: 418',
  });
});

test('`cannedResponse()` leaves out the body of an answer to HEAD but keeps its length', (t: TestContext) => {
  t.plan(2);
  const { fields, body } = parse(cannedResponse(503, { close: false, head: true }));
  t.assert.equal(body, '');
  t.assert.equal(fields.get('content-length'), '24');
});

test('`cannedResponse()` returns the same prebuilt Buffer within a second', (t: TestContext) => {
  t.plan(2);
  const a = cannedResponse(400);
  t.assert.equal(cannedResponse(400, { close: true }), a);
  t.assert.notEqual(cannedResponse(503, { close: true }), cannedResponse(503, { close: false }));
});

test('`cannedResponse()` output is itself well-formed HTTP/1.1 (our own parser reads its head)', (t: TestContext) => {
  // A response head has the same field syntax as a request head: swap the status line for a
  // request-line and let the strict parser check every field line.
  t.plan(CANNED_STATUSES.length);
  for (const status of CANNED_STATUSES) {
    const text = cannedResponse(status).toString('latin1');
    const asRequest = `GET / HTTP/1.1\r\nHost: h${text.slice(text.indexOf('\r\n'), text.indexOf('\r\n\r\n') + 4)}`;
    const parser = new RequestParser({
      maxRequestLine: 100,
      maxHeaderCount: 10,
      maxHeaderFieldSize: 200,
      maxBodySize: 100,
    });
    parser.push(Buffer.from(asRequest, 'latin1'));
    t.assert.equal(parser.next()?.type, 'head');
  }
});
