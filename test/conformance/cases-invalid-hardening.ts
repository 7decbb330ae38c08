// Invalid requests of the hardening issue (#5), appended after cases-invalid.ts: pipelines
// with a bad request in the middle, Expect with a body too large, and more of the shapes
// that servers have been caught accepting (smuggling, obfuscated framing, hostile Host).
// Format: see cases-invalid.ts.

import type { InvalidCase } from './cases-invalid.js';

const H = 'Host: a\r\n';
const ok = (path: string): string => `GET ${path} HTTP/1.1\r\n${H}\r\n`;
const post = (fieldLines: string, rest = ''): string =>
  `POST / HTTP/1.1\r\n${H}${fieldLines}\r\n${rest}`;
const chunked = (body: string): string => post('Transfer-Encoding: chunked\r\n', body);
const get = (fieldLines: string): string => `GET / HTTP/1.1\r\n${fieldLines}\r\n`;
const target = (t: string): string => `GET ${t} HTTP/1.1\r\n${H}\r\n`;
const trailers = Array.from({ length: 33 }, (_, i) => `X-T${i}: v\r\n`).join('');

// One case per line reads as a table, so prettier leaves it alone.
// prettier-ignore
export const hardeningInvalidCases: InvalidCase[] = [
  // Pipelines with a bad request in the middle: the ones before are answered, the bad one is
  // refused, and nothing after it is read.
  { name: 'pipeline-smuggling-shape-in-middle', bytes: `${ok('/1')}${post('Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')}${ok('/3')}`, status: 400, why: 'CL and TE on the second of three', completeBefore: 1 },
  { name: 'pipeline-bare-lf-in-middle', bytes: `${ok('/1')}GET /2 HTTP/1.1\nHost: a\r\n\r\n${ok('/3')}`, status: 400, why: 'bare LF on the second of three', completeBefore: 1 },
  { name: 'pipeline-bad-chunk-in-middle', bytes: `${chunked('2\r\nok\r\n0\r\n\r\n')}${chunked('0x2\r\nok\r\n0\r\n\r\n')}${ok('/3')}`, status: 400, why: '0x chunk size on the second of three', completeBefore: 1 },
  { name: 'pipeline-oversize-field-in-middle', bytes: `${ok('/1')}${ok('/2')}${get(`${H}X-Big: ${'b'.repeat(1030)}\r\n`)}${ok('/4')}`, status: 431, why: 'field too long on the third of four', completeBefore: 2 },
  { name: 'pipeline-missing-host-in-middle', bytes: `${ok('/1')}GET /2 HTTP/1.1\r\n\r\n${ok('/3')}`, status: 400, why: 'no Host on the second of three', completeBefore: 1 },
  // Expect (RFC 9110 §10.1.1): a body that would be refused is refused before it is sent.
  { name: 'expect-100-continue-body-too-large', bytes: post('Expect: 100-continue\r\nContent-Length: 5000\r\n'), status: 413, why: 'refused at once, without a 100 Continue' },
  { name: 'expect-100-continue-with-cl-and-te', bytes: post('Expect: 100-continue\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), status: 400, why: 'smuggling shape, whatever the expectation' },
  // Transfer-Encoding and Content-Length obfuscations.
  { name: 'te-chunked-nul-suffix', bytes: post('Transfer-Encoding: chunked\x00\r\n', '0\r\n\r\n'), status: 400, why: 'NUL in a value' },
  { name: 'te-misspelt-chunk', bytes: post('Transfer-Encoding: chunk\r\n', '0\r\n\r\n'), status: 400, why: '"chunk" is not chunked: no length' },
  { name: 'te-comma-only', bytes: post('Transfer-Encoding: ,\r\n', '0\r\n\r\n'), status: 400, why: 'no coding at all' },
  { name: 'te-empty', bytes: post('Transfer-Encoding:\r\n', '0\r\n\r\n'), status: 400, why: 'empty framing header' },
  { name: 'te-chunked-and-cl-in-http10', bytes: 'POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', status: 400, why: 'TE in HTTP/1.0, and CL beside it' },
  { name: 'cl-trailing-letter', bytes: post('Content-Length: 5a\r\n', 'hello'), status: 400, why: 'Content-Length = 1*DIGIT' },
  { name: 'cl-decimal-point', bytes: post('Content-Length: 5.0\r\n', 'hello'), status: 400, why: 'Content-Length = 1*DIGIT' },
  { name: 'cl-inner-tab', bytes: post('Content-Length: 1\t0\r\n', '0123456789'), status: 400, why: 'whitespace inside the number' },
  { name: 'cl-duplicate-one-empty', bytes: post('Content-Length: 5\r\nContent-Length:\r\n', 'hello'), status: 400, why: 'empty value beside a real one' },
  // Chunked coding.
  { name: 'chunk-size-uppercase-0x', bytes: chunked('0X5\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'no 0X in chunk-size' },
  { name: 'chunk-size-underscore', bytes: chunked('1_0\r\n0123456789abcdef\r\n0\r\n\r\n'), status: 400, why: 'not a hex digit' },
  { name: 'chunk-size-bare-cr', bytes: chunked('5\rhello\r\n0\r\n\r\n'), status: 400, why: 'bare CR ends no line (§2.2)' },
  { name: 'chunk-size-fifteen-f', bytes: chunked('fffffffffffffff\r\nhello\r\n0\r\n\r\n'), status: 413, why: 'a size far over the body limit' },
  { name: 'chunk-extension-bare-lf', bytes: chunked('5;a=b\nhello\r\n0\r\n\r\n'), status: 400, why: 'bare LF ends no line' },
  { name: 'chunk-extension-bare-cr-in-quotes', bytes: chunked('5;a="b\rc"\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'CR is not qdtext' },
  { name: 'chunked-no-last-chunk', bytes: chunked('5\r\nhello\r\n'), status: 400, why: 'EOF before the last chunk' },
  { name: 'chunked-no-final-crlf', bytes: chunked('5\r\nhello\r\n0\r\n'), status: 400, why: 'EOF before the CRLF that ends the trailer section' },
  { name: 'trailer-without-colon', bytes: chunked('0\r\nX-T value\r\n\r\n'), status: 400, why: 'a trailer field needs a colon' },
  { name: 'trailer-space-before-colon', bytes: chunked('0\r\nX-T : v\r\n\r\n'), status: 400, why: 'whitespace before colon (§5.1)' },
  { name: 'trailer-bare-lf', bytes: chunked('0\r\nX-T: v\n\r\n'), status: 400, why: 'bare LF refused (strict)' },
  { name: 'too-many-trailer-fields', bytes: chunked(`0\r\n${trailers}\r\n`), status: 431, why: '33 trailer fields > maxHeaderCount' },
  // Field names and values.
  { name: 'nul-in-field-name', bytes: get(`${H}X-A\x00: v\r\n`), status: 400, why: 'NUL is not a tchar' },
  { name: 'space-in-field-name', bytes: get(`${H}X A: v\r\n`), status: 400, why: 'SP is not a tchar' },
  { name: 'obs-text-in-field-name', bytes: get(`${H}X-\xe9: v\r\n`), status: 400, why: 'obs-text is not a tchar' },
  { name: 'vertical-tab-in-value', bytes: get(`${H}X-A: a\x0bb\r\n`), status: 400, why: 'VT is a CTL' },
  { name: 'form-feed-before-colon', bytes: get('Host\x0c: a\r\n'), status: 400, why: 'FF is neither tchar nor OWS' },
  { name: 'obs-fold-with-tab', bytes: get(`${H}X-A: a\r\n\tfolded\r\n`), status: 400, why: 'obs-fold refused (§5.2)' },
  { name: 'field-name-with-colon-prefix', bytes: get(`${H}:authority: a\r\n`), status: 400, why: 'HTTP/2 pseudo-header spelling' },
  // Host (RFC 9112 §3.2, RFC 3986 §3.2.2).
  { name: 'host-with-letter-port', bytes: get('Host: a:b\r\n'), status: 400, why: 'port = *DIGIT' },
  { name: 'host-with-two-colons', bytes: get('Host: a:1:2\r\n'), status: 400, why: 'one port at most' },
  { name: 'host-ipv6-unbracketed', bytes: get('Host: ::1\r\n'), status: 400, why: 'an IPv6 address needs brackets' },
  { name: 'host-ipv6-unclosed-bracket', bytes: get('Host: [::1\r\n'), status: 400, why: 'IP-literal = "[" ... "]"' },
  { name: 'host-bracketed-not-ipv6', bytes: get('Host: [a.b]\r\n'), status: 400, why: 'IP-literal holds an IPv6 address' },
  { name: 'host-with-slash', bytes: get('Host: a/b\r\n'), status: 400, why: 'a path in Host' },
  { name: 'host-with-backslash', bytes: get('Host: a\\b\r\n'), status: 400, why: 'backslash in Host' },
  { name: 'host-bad-percent-escape', bytes: get('Host: a%zz\r\n'), status: 400, why: 'pct-encoded = "%" HEXDIG HEXDIG' },
  { name: 'host-list', bytes: get('Host: a, b\r\n'), status: 400, why: 'Host is a single value' },
  { name: 'host-empty-then-another', bytes: get('Host:\r\nHost: a\r\n'), status: 400, why: 'two Host lines, one empty' },
  { name: 'host-missing-after-absolute-form', bytes: 'GET http://a/ HTTP/1.1\r\n\r\n', status: 400, why: 'HTTP/1.1 needs Host even with an absolute-form target (§3.2)' },
  // Request-line.
  { name: 'authority-form-with-get', bytes: target('a:80'), status: 400, why: 'authority-form is for CONNECT (§3.2.3)' },
  { name: 'absolute-form-ftp', bytes: target('ftp://a/'), status: 400, why: 'only http and https' },
  { name: 'absolute-form-bad-port', bytes: target('http://a:b/'), status: 400, why: 'port = *DIGIT' },
  { name: 'target-with-nul', bytes: target('/a\x00b'), status: 400, why: 'NUL in the target' },
  { name: 'target-with-fragment-space', bytes: `GET /a #b HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'a space splits the request-line' },
  { name: 'method-with-slash', bytes: `GE/T / HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'method is a token' },
  { name: 'version-leading-zero', bytes: `GET / HTTP/01.1\r\n${H}\r\n`, status: 400, why: 'DIGIT "." DIGIT' },
  { name: 'version-no-minor', bytes: `GET / HTTP/1\r\n${H}\r\n`, status: 400, why: 'DIGIT "." DIGIT' },
  { name: 'proxy-v1-header-on-plain-listener', bytes: `PROXY TCP4 192.0.2.1 192.0.2.2 4711 80\r\n${ok('/')}`, status: 400, why: 'a PROXY header where none was asked for' },
  { name: 'proxy-v2-header-on-plain-listener', bytes: `\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x01\xc0\x00\x02\x02\x12\x67\x00\x50${ok('/')}`, status: 400, why: 'a PROXY v2 signature is not HTTP' },  // Fragments (RFC 9112 §3.2): no form of request-target has one. Refused, not cut off: cut, a
  // DELETE of /coll/frag/#ment would delete /coll/frag/.
  { name: 'target-with-fragment', bytes: target('/a#frag'), status: 400, why: 'no fragment in a request-target (§3.2)' },
  { name: 'target-query-with-fragment', bytes: target('/x?page=1#posts-1'), status: 400, why: 'no fragment after the query either' },
  { name: 'target-empty-fragment', bytes: target('/a#'), status: 400, why: 'an empty fragment is still a fragment' },
  { name: 'target-fragment-on-delete', bytes: `DELETE /coll/frag/#ment HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'cut at "#", it would name the whole collection' },
  { name: 'absolute-form-with-fragment', bytes: target('http://a/b#c'), status: 400, why: 'absolute-URI has no fragment (§3.2.2)' },
  { name: 'pipeline-fragment-in-middle', bytes: `${ok('/1')}${ok('/2#x')}${ok('/3')}`, status: 400, why: 'a fragment on the second of three', completeBefore: 1 },  // Content-Type is not a list (RFC 9110 §5.3, §8.3): joined with a comma, two make a media
  // type neither sender meant, and an app and a proxy may each pick a different one.
  { name: 'content-type-twice', bytes: post('Content-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: 2\r\n', '{}'), status: 400, why: 'two Content-Type lines (RFC 9110 §5.3)' },
  { name: 'content-type-twice-identical', bytes: post('Content-Type: text/plain\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n', 'hi'), status: 400, why: 'not a list, even with the same value' },
  { name: 'content-type-twice-other-case', bytes: post('Content-Type: text/plain\r\ncontent-type: application/json\r\nContent-Length: 2\r\n', '{}'), status: 400, why: 'field names are case-insensitive' },
  { name: 'content-type-empty-then-another', bytes: post('Content-Type:\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n', 'hi'), status: 400, why: 'an empty line still counts' },
  { name: 'content-type-twice-on-get', bytes: get(`${H}Content-Type: a/b\r\nContent-Type: c/d\r\n`), status: 400, why: 'refused without a body too' },
];
