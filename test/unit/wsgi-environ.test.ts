// The CGI variables buildEnviron() derives from a parsed head: the path of the asterisk form
// and when CONTENT_LENGTH is present. Proxy headers are tested in proxies.test.ts; the whole
// environ against a real server in test/integration/requests.test.ts and the corpus replay.

import { test, type TestContext } from 'node:test';
import { RequestParser, type RequestHead } from '../../src/http/parser.js';
import { buildEnviron, type EnvironContext } from '../../src/wsgi/environ.js';

const CTX: EnvironContext = {
  scheme: 'http',
  serverName: '127.0.0.1',
  serverPort: '8000',
  remoteAddr: '10.0.0.2',
  remotePort: '5555',
  rootPath: '',
  trustForwarded: false,
  isTrustedProxy: () => false,
};

/** The head the parser makes of `text`, so each case is what the front really sees. */
function parse(text: string): RequestHead {
  const parser = new RequestParser({
    maxRequestLine: 1024,
    maxHeaderCount: 32,
    maxHeaderFieldSize: 1024,
    maxBodySize: 4096,
  });
  parser.push(Buffer.from(text, 'latin1'));
  const event = parser.next();
  if (event?.type !== 'head') throw new Error(`No head in ${JSON.stringify(text)}`);
  return event.head;
}

function environ(
  text: string,
  bodyLength = -1,
  ctx: Partial<EnvironContext> = {},
): Map<string, string> {
  const pairs = buildEnviron(parse(text), bodyLength, { ...CTX, ...ctx });
  const env = new Map<string, string>();
  for (let i = 0; i < pairs.length; i += 2) env.set(pairs[i] as string, pairs[i + 1] as string);
  return env;
}

test('`buildEnviron()` leaves PATH_INFO empty for `OPTIONS *` and keeps the asterisk in RAW_URI and REQUEST_URI', (t: TestContext) => {
  t.plan(5);
  const env = environ('OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n');
  t.assert.equal(env.get('PATH_INFO'), '');
  t.assert.equal(env.get('SCRIPT_NAME'), '');
  t.assert.equal(env.get('QUERY_STRING'), '');
  t.assert.equal(env.get('RAW_URI'), '*');
  t.assert.equal(env.get('REQUEST_URI'), '*');
});

test('`buildEnviron()` gives `OPTIONS *` no path under --root-path either', (t: TestContext) => {
  t.plan(3);
  const env = environ('OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n', -1, { rootPath: '/app' });
  t.assert.equal(env.get('PATH_INFO'), '');
  t.assert.equal(env.get('SCRIPT_NAME'), '/app');
  t.assert.equal(env.get('REQUEST_URI'), '*');
});

for (const [framing, fields, bodyLength, want] of [
  ['no framing, GET', '', -1, undefined],
  ['no framing, POST', '', -1, undefined],
  ['Content-Length: 0 on a GET', 'Content-Length: 0\r\n', -1, '0'],
  ['Content-Length: 0 on a POST', 'Content-Length: 0\r\n', -1, '0'],
  ['an empty chunked body', 'Transfer-Encoding: chunked\r\n', 0, '0'],
  ['a chunked body', 'Transfer-Encoding: chunked\r\n', 12, '12'],
  ['Content-Length: 5', 'Content-Length: 5\r\n', 5, '5'],
] as const) {
  const does = want === undefined ? 'leaves CONTENT_LENGTH out' : `sets CONTENT_LENGTH to ${want}`;
  test(`\`buildEnviron()\` ${does} for ${framing}`, (t: TestContext) => {
    t.plan(1);
    const method = framing.endsWith('GET') ? 'GET' : 'POST';
    const env = environ(`${method} / HTTP/1.1\r\nHost: h\r\n${fields}\r\n`, bodyLength);
    t.assert.equal(env.get('CONTENT_LENGTH'), want);
  });
}
