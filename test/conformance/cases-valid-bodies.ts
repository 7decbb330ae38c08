// Valid requests with a body: Content-Length, chunked, pipelined after a body, Expect (see
// cases-valid.ts for the format).

import type { ValidCase } from './cases-valid.js';

export const bodyCases: ValidCase[] = [
  {
    name: 'post-content-length',
    bytes:
      'POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 13\r\n\r\nname=Ada&x=12',
    requests: [
      {
        method: 'POST',
        target: '/form',
        headers: [
          ['Host', 'a'],
          ['Content-Type', 'application/x-www-form-urlencoded'],
          ['Content-Length', '13'],
        ],
        contentLength: 13,
        body: 'name=Ada&x=12',
      },
    ],
  },
  {
    name: 'post-content-length-zero',
    bytes: 'POST /empty HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/empty',
        headers: [
          ['Host', 'a'],
          ['Content-Length', '0'],
        ],
        contentLength: 0,
      },
    ],
  },
  {
    name: 'content-length-leading-zeros',
    bytes: 'PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello',
    requests: [
      {
        method: 'PUT',
        target: '/f',
        headers: [
          ['Host', 'a'],
          ['Content-Length', '005'],
        ],
        contentLength: 5,
        body: 'hello',
      },
    ],
  },
  {
    name: 'content-length-repeated-identically',
    bytes: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Content-Length', '3'],
          ['Content-Length', '3'],
        ],
        contentLength: 3,
        body: 'abc',
      },
    ],
  },
  {
    name: 'chunked-simple',
    bytes:
      'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/up',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunked: true,
        body: 'hello, world',
      },
    ],
  },
  {
    name: 'chunked-extensions',
    bytes:
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '4;name=value\r\nabcd\r\n' +
      '3 ; flag ; q = "a \\"quoted\\" ;x"\r\nefg\r\n' +
      '2;a;b;c=d\r\nhi\r\n' +
      '0;last=yes\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunked: true,
        body: 'abcdefghi',
      },
    ],
  },
  {
    name: 'chunked-trailers',
    bytes:
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: Digest, X-Count\r\n\r\n' +
      '3\r\nabc\r\n0\r\nDigest: sha-256=:deadbeef:\r\nX-Count:   3  \r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
          ['Trailer', 'Digest, X-Count'],
        ],
        chunked: true,
        body: 'abc',
      },
    ],
  },
  {
    name: 'chunked-hex-case-and-leading-zeros',
    bytes:
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n00A\r\n0123456789\r\nb\r\nabcdefghijk\r\n000\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'Chunked'],
        ],
        chunked: true,
        body: '0123456789abcdefghijk',
      },
    ],
  },
  {
    name: 'chunked-binary-data-with-crlf',
    bytes:
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n' +
      '\r\n\r\n0\r' +
      '\r\n' +
      '0\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunked: true,
        body: '\r\n\r\n0\r',
      },
    ],
  },
  {
    name: 'pipelined-post-then-get',
    bytes:
      'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nGET GET /g HTTP/1.1\r\nHost: a\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/p',
        headers: [
          ['Host', 'a'],
          ['Content-Length', '4'],
        ],
        contentLength: 4,
        body: 'GET ',
      },
      { method: 'GET', target: '/g', headers: [['Host', 'a']] },
    ],
  },
  {
    name: 'pipelined-chunked-then-get',
    bytes:
      'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/c',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunked: true,
        body: 'ok',
      },
      { method: 'GET', target: '/after', headers: [['Host', 'a']] },
    ],
  },
  {
    name: 'extra-crlf-after-body',
    bytes:
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n\r\n',
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Content-Length', '2'],
        ],
        contentLength: 2,
        body: 'hi',
      },
      { method: 'GET', target: '/next', headers: [['Host', 'a']] },
    ],
  },
  {
    name: 'expect-100-continue',
    bytes: 'PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-Continue\r\n\r\ndata',
    requests: [
      {
        method: 'PUT',
        target: '/big',
        headers: [
          ['Host', 'a'],
          ['Content-Length', '4'],
          ['Expect', '100-Continue'],
        ],
        contentLength: 4,
        expectContinue: true,
        body: 'data',
      },
    ],
  },
  {
    name: 'expect-100-continue-ignored-in-http10',
    bytes: 'POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok',
    requests: [
      {
        method: 'POST',
        target: '/',
        versionMinor: 0,
        headers: [
          ['Content-Length', '2'],
          ['Expect', '100-continue'],
        ],
        contentLength: 2,
        keepAlive: false,
        body: 'ok',
      },
    ],
  },
  {
    name: 'http10-post-with-body',
    bytes: 'POST /legacy HTTP/1.0\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz',
    requests: [
      {
        method: 'POST',
        target: '/legacy',
        versionMinor: 0,
        headers: [
          ['Host', 'a'],
          ['Content-Length', '3'],
        ],
        contentLength: 3,
        keepAlive: false,
        body: 'xyz',
      },
    ],
  },
  {
    name: 'chunked-body-at-limit',
    bytes: `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${'x'.repeat(2048)}\r\n800\r\n${'y'.repeat(2048)}\r\n0\r\n\r\n`,
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunked: true,
        body: 'x'.repeat(2048) + 'y'.repeat(2048),
      },
    ],
  },
  {
    name: 'content-length-at-limit',
    bytes: `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n${'z'.repeat(4096)}`,
    requests: [
      {
        method: 'POST',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Content-Length', '4096'],
        ],
        contentLength: 4096,
        body: 'z'.repeat(4096),
      },
    ],
  },
];
