// Source of requests/valid/*.http + *.json (run generate.ts after editing): requests without a
// body, here, and with one, in cases-valid-bodies.ts. `bytes` is latin1: one character per
// byte, written with explicit escapes so every CR and LF is visible. Expected values are
// written by hand, never computed by the parser under test.

export interface ExpectedRequest {
  method: string;
  target: string;
  headers: [string, string][];
  versionMinor?: 0 | 1;
  host?: string; // default: the value of a "Host" entry of `headers`, else ''
  contentLength?: number; // default -1
  chunked?: boolean;
  keepAlive?: boolean; // default true
  expectContinue?: boolean;
  upgrade?: boolean; // default false
  body?: string; // default ''
}

export interface ValidCase {
  name: string;
  bytes: string;
  requests: ExpectedRequest[];
}

const browserHeaders: [string, string][] = [
  ['Host', 'shop.example.com'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'],
  ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
  ['Accept-Language', 'en-US,en;q=0.5'],
  ['Accept-Encoding', 'gzip, deflate, br'],
  ['Connection', 'keep-alive'],
];
const fields = (list: [string, string][]): string =>
  list.map(([n, v]) => `${n}: ${v}\r\n`).join('');
const many: [string, string][] = [['Host', 'h']];
for (let i = 1; i < 32; i++) many.push([`X-Field-${i}`, `value ${i}`]);
const longTarget = `/${'a'.repeat(1024 - 'GET / HTTP/1.1'.length)}`;
const cookie = `s=${'c'.repeat(1024 - 'Cookie: s='.length)}`;

export const headCases: ValidCase[] = [
  {
    name: 'simple-get',
    bytes: 'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n',
    requests: [{ method: 'GET', target: '/', headers: [['Host', 'example.com']] }],
  },
  {
    name: 'browser-get',
    bytes: `GET /products/42?color=red&size=m HTTP/1.1\r\n${fields(browserHeaders)}\r\n`,
    requests: [{ method: 'GET', target: '/products/42?color=red&size=m', headers: browserHeaders }],
  },
  {
    name: 'http10-without-host',
    bytes: 'GET /old HTTP/1.0\r\n\r\n',
    requests: [{ method: 'GET', target: '/old', versionMinor: 0, headers: [], keepAlive: false }],
  },
  {
    name: 'http10-keep-alive',
    bytes:
      'GET /a HTTP/1.0\r\nHost: a.test\r\nConnection: Keep-Alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: '/a',
        versionMinor: 0,
        headers: [
          ['Host', 'a.test'],
          ['Connection', 'Keep-Alive'],
        ],
      },
      { method: 'GET', target: '/b', versionMinor: 0, headers: [], keepAlive: false },
    ],
  },
  {
    name: 'http11-connection-close',
    bytes: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Connection', 'close'],
        ],
        keepAlive: false,
      },
    ],
  },
  {
    name: 'connection-option-list',
    bytes: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade ,, CLOSE\r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Connection', 'upgrade ,, CLOSE'],
        ],
        keepAlive: false,
      },
    ],
  },
  {
    name: 'pipelined-gets',
    bytes:
      'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /3 HTTP/1.1\r\nHost: a\r\n\r\n',
    requests: [
      { method: 'GET', target: '/1', headers: [['Host', 'a']] },
      { method: 'GET', target: '/2', headers: [['Host', 'a']] },
      { method: 'HEAD', target: '/3', headers: [['Host', 'a']] },
    ],
  },
  {
    name: 'leading-empty-lines',
    bytes: '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
    requests: [{ method: 'GET', target: '/', headers: [['Host', 'a']] }],
  },
  {
    name: 'absolute-form-target',
    bytes: 'GET http://Example.com:8080/p?q=1 HTTP/1.1\r\nHost: ignored.test\r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: 'http://Example.com:8080/p?q=1',
        headers: [['Host', 'ignored.test']],
        host: 'Example.com:8080',
      },
    ],
  },
  {
    name: 'absolute-form-https-no-path',
    bytes: 'GET HTTPS://[::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: 'HTTPS://[::1]:8443',
        headers: [['Host', '[::1]:8443']],
        host: '[::1]:8443',
      },
    ],
  },
  {
    name: 'asterisk-form-options',
    bytes: 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
    requests: [{ method: 'OPTIONS', target: '*', headers: [['Host', 'a']] }],
  },
  {
    name: 'request-line-at-limit',
    bytes: `GET ${longTarget} HTTP/1.1\r\nHost: a\r\n\r\n`,
    requests: [{ method: 'GET', target: longTarget, headers: [['Host', 'a']] }],
  },
  {
    name: 'large-header-at-limit',
    bytes: `GET / HTTP/1.1\r\nHost: a\r\nCookie: ${cookie}\r\n\r\n`,
    requests: [
      {
        method: 'GET',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['Cookie', cookie],
        ],
      },
    ],
  },
  {
    name: 'header-count-at-limit',
    bytes: `GET / HTTP/1.1\r\n${fields(many)}\r\n`,
    requests: [{ method: 'GET', target: '/', headers: many }],
  },
  {
    name: 'ows-trimmed-from-values',
    bytes:
      'GET / HTTP/1.1\r\nHost:a\r\nX-Padded: \t value  with  inner  space \t \r\nX-Empty:\r\nX-Blank:   \r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: '/',
        headers: [
          ['Host', 'a'],
          ['X-Padded', 'value  with  inner  space'],
          ['X-Empty', ''],
          ['X-Blank', ''],
        ],
      },
    ],
  },
  {
    name: 'obs-text-in-value-and-target',
    bytes: 'GET /caf\xc3\xa9?q=%20 HTTP/1.1\r\nHost: a\r\nX-Name: Ren\xe9\r\n\r\n',
    requests: [
      {
        method: 'GET',
        target: '/caf\xc3\xa9?q=%20',
        headers: [
          ['Host', 'a'],
          ['X-Name', 'Ren\xe9'],
        ],
      },
    ],
  },
  {
    name: 'unusual-token-method-and-names',
    bytes:
      "M-SEARCH /x HTTP/1.1\r\nHost: a\r\nX-!#$%&'*+.^_`|~: tchars\r\nhOsT-Like: v\r\n\r\nget / HTTP/1.1\r\nHOST: b\r\n\r\n",
    requests: [
      {
        method: 'M-SEARCH',
        target: '/x',
        headers: [
          ['Host', 'a'],
          ["X-!#$%&'*+.^_`|~", 'tchars'],
          ['hOsT-Like', 'v'],
        ],
      },
      { method: 'get', target: '/', headers: [['HOST', 'b']], host: 'b' },
    ],
  },
  {
    name: 'empty-host-with-port-and-ipv6',
    bytes: 'GET /1 HTTP/1.1\r\nHost:\r\n\r\nGET /2 HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n',
    requests: [
      { method: 'GET', target: '/1', headers: [['Host', '']] },
      { method: 'GET', target: '/2', headers: [['Host', '[2001:db8::1]:8080']] },
    ],
  },
];
