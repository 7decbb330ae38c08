// Valid requests of the hardening issue (#5), appended after cases-valid-bodies.ts: headers
// with "_" (kept by the parser, dropped from the environ), Expect with and without a body and
// with the body sent early, whitespace that framing headers may carry, trailers that try to
// reframe the message, and Host forms at the edge of the grammar. Format: see cases-valid.ts.

import type { ValidCase } from './cases-valid.js';

const get = (target: string, fields: [string, string][]): string =>
  `GET ${target} HTTP/1.1\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
const ten = Array.from({ length: 10 }, (_, i) => i + 1);

export const hardeningCases: ValidCase[] = [
  {
    name: 'underscore-header-beside-its-dashed-twin',
    bytes: get('/', [
      ['Host', 'a'],
      ['X_User', 'spoof'],
      ['X-User', 'real'],
      ['X_Other', 'dropped too'],
    ]),
    requests: [
      {
        method: 'GET',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['X_User', 'spoof'],
          ['X-User', 'real'],
          ['X_Other', 'dropped too'],
        ],
      },
    ],
  },
  {
    name: 'underscore-framing-headers-do-not-frame',
    bytes:
      'POST / HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\nTransfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Content_Length', '5'],
          ['Transfer_Encoding', 'chunked'],
          ['Content-Length', '3'],
        ],
        contentLength: 3,
        body: 'abc',
      },
    ],
  },
  {
    name: 'expect-100-continue-without-body',
    bytes: 'GET /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: '/e',
        headers: [
          ['Host', 'a'],
          ['Expect', '100-continue'],
        ],
        expectContinue: true,
      },
    ],
  },
  {
    name: 'expect-100-continue-chunked-body-sent-early',
    bytes:
      'POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nearl\r\n1\r\ny\r\n0\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/e',
        headers: [
          ['Host', 'a'],
          ['Expect', '100-continue'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunked: true,
        expectContinue: true,
        body: 'early',
      },
    ],
  },
  {
    name: 'expect-100-continue-then-pipelined-get',
    bytes:
      'PUT /1 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nokGET /2 HTTP/1.1\r\nHost: a\r\n\r\n',
    requests: [
      {
        method: 'PUT',
        target: '/1',
        headers: [
          ['Host', 'a'],
          ['Expect', '100-continue'],
          ['Content-Length', '2'],
        ],
        contentLength: 2,
        expectContinue: true,
        body: 'ok',
      },
      { method: 'GET', target: '/2', headers: [['Host', 'a']] },
    ],
  },
  {
    name: 'expect-other-than-100-continue-ignored',
    bytes: 'POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Expect', '200-ok'],
          ['Content-Length', '1'],
        ],
        contentLength: 1,
        body: 'x',
      },
    ],
  },
  {
    name: 'transfer-encoding-case-and-ows',
    bytes:
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \t CHUNKED \t\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'CHUNKED'],
        ],
        chunked: true,
        body: 'abc',
      },
    ],
  },
  {
    name: 'content-length-with-ows',
    bytes: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  \t5 \t\r\n\r\nhello',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Content-Length', '5'],
        ],
        contentLength: 5,
        body: 'hello',
      },
    ],
  },
  {
    name: 'chunk-size-bws-before-extension',
    bytes:
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \t;a=b\r\nhello\r\n0 ;z\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunked: true,
        body: 'hello',
      },
    ],
  },
  {
    name: 'trailer-framing-fields-are-dropped',
    bytes:
      'POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nContent-Length: 40\r\nTransfer-Encoding: gzip\r\nHost: evil\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/t',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunked: true,
        body: 'hi',
      },
      { method: 'GET', target: '/next', headers: [['Host', 'a']] },
    ],
  },
  {
    name: 'host-edge-forms',
    bytes:
      get('/1', [['Host', 'a:']]) +
      get('/2', [['Host', '192.0.2.1:8080']]) +
      get('/3', [['Host', 'xn--bcher-kva.example']]) +
      get('/4', [['Host', "a-b.c_d~e!$&'()*+,;=%41"]]),
    requests: [
      { method: 'GET', target: '/1', headers: [['Host', 'a:']] },
      { method: 'GET', target: '/2', headers: [['Host', '192.0.2.1:8080']] },
      { method: 'GET', target: '/3', headers: [['Host', 'xn--bcher-kva.example']] },
      { method: 'GET', target: '/4', headers: [['Host', "a-b.c_d~e!$&'()*+,;=%41"]] },
    ],
  },
  {
    name: 'absolute-form-then-origin-form',
    bytes:
      'GET http://real.test/x?y HTTP/1.1\r\nHost: other.test\r\n\r\nGET /z HTTP/1.1\r\nHost: other.test\r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: 'http://real.test/x?y',
        headers: [['Host', 'other.test']],
        host: 'real.test',
      },
      { method: 'GET', target: '/z', headers: [['Host', 'other.test']] },
    ],
  },
  {
    name: 'ten-pipelined-requests',
    bytes: ten.map((i) => get(`/${i}`, [['Host', 'a']])).join(''),
    requests: ten.map((i) => ({ method: 'GET', target: `/${i}`, headers: [['Host', 'a']] })),
  },
  {
    name: 'eight-leading-empty-lines',
    bytes: `${'\r\n'.repeat(8)}GET / HTTP/1.1\r\nHost: a\r\n\r\n`,
    requests: [{ method: 'GET', target: '/', headers: [['Host', 'a']] }],
  },
  {
    name: 'http10-keep-alive-post-then-close',
    bytes:
      'POST /a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nabGET /b HTTP/1.0\r\nConnection: close\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/a',
        versionMinor: 0,
        headers: [
          ['Connection', 'keep-alive'],
          ['Content-Length', '2'],
        ],
        contentLength: 2,
        body: 'ab',
      },
      {
        method: 'GET',
        target: '/b',
        versionMinor: 0,
        headers: [['Connection', 'close']],
        keepAlive: false,
      },
    ],
  },
  {
    // `upgrade` is true only for a request with both an Upgrade field and the upgrade option
    // in Connection, and only such a request is checked for a WebSocket handshake; with a
    // protocol the server does not switch to, it is served as an ordinary request.
    name: 'upgrade-asked-and-not',
    bytes:
      'GET /ws HTTP/1.1\r\nHost: a\r\nupgrade: example/1\r\nConnection: keep-alive, Upgrade\r\n\r\n' +
      'GET /b HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: '/ws',
        headers: [
          ['Host', 'a'],
          ['upgrade', 'example/1'],
          ['Connection', 'keep-alive, Upgrade'],
        ],
        upgrade: true,
      },
      {
        method: 'GET',
        target: '/b',
        headers: [
          ['Host', 'a'],
          ['Upgrade', 'websocket'],
        ],
      },
    ],
  },
];
