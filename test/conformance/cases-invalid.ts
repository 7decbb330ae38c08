// Source of requests/invalid/*.http + *.json (run generate.ts after editing). `bytes` is
// latin1, one character per byte. `status` is what the parser must refuse the bytes with,
// whether it finds out in next() or, for a truncated message, in finish(); `completeBefore`
// counts the requests that must come out whole before the refusal (default 0).

export interface InvalidCase {
  name: string;
  bytes: string;
  status: 400 | 413 | 414 | 431 | 501 | 505;
  why: string;
  completeBefore?: number;
}

const H = 'Host: a\r\n';
const post = (fieldLines: string, rest = ''): string =>
  `POST / HTTP/1.1\r\n${H}${fieldLines}\r\n${rest}`;
const chunked = (body: string): string => post('Transfer-Encoding: chunked\r\n', body);
const get = (fieldLines: string): string => `GET / HTTP/1.1\r\n${fieldLines}\r\n`;
const tooMany = Array.from({ length: 32 }, (_, i) => `X-F${i}: v\r\n`).join('');

// One case per line reads as a table, so prettier leaves it alone.
// prettier-ignore
export const invalidCases: InvalidCase[] = [
  // Framing: Transfer-Encoding and Content-Length (RFC 9112 §6).
  { name: 'cl-and-te', bytes: post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), status: 400, why: 'TE and CL together: smuggling shape (§6.1)' },
  { name: 'te-and-cl', bytes: post('Transfer-Encoding: chunked\r\nContent-Length: 0\r\n', '0\r\n\r\n'), status: 400, why: 'TE and CL together, other order' },
  { name: 'te-twice-on-two-lines', bytes: post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), status: 400, why: 'chunked applied twice (§6.1)' },
  { name: 'te-chunked-twice-in-list', bytes: post('Transfer-Encoding: chunked, chunked\r\n', '0\r\n\r\n'), status: 400, why: 'chunked applied twice (§6.1)' },
  { name: 'te-chunked-not-last', bytes: post('Transfer-Encoding: chunked, gzip\r\n', '0\r\n\r\n'), status: 400, why: 'final coding is not chunked (§6.3 item 4)' },
  { name: 'te-chunked-not-last-across-lines', bytes: post('Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n', '0\r\n\r\n'), status: 400, why: 'the list continues on a second line' },
  { name: 'te-unknown-before-chunked', bytes: post('Transfer-Encoding: gzip, chunked\r\n', '0\r\n\r\n'), status: 501, why: 'gzip transfer coding not implemented (§6.1)' },
  { name: 'te-unknown-alone', bytes: post('Transfer-Encoding: identity\r\n', '0\r\n\r\n'), status: 400, why: 'no chunked: length cannot be determined (§6.3 item 4)' },
  { name: 'te-obfuscated-prefix', bytes: post('Transfer-Encoding: xchunked\r\n', '0\r\n\r\n'), status: 400, why: '"xchunked" is not chunked' },
  { name: 'te-obfuscated-vertical-tab', bytes: post('Transfer-Encoding:\x0bchunked\r\n', '0\r\n\r\n'), status: 400, why: 'VT is a CTL, not whitespace' },
  { name: 'te-obfuscated-quoted', bytes: post('Transfer-Encoding: "chunked"\r\n', '0\r\n\r\n'), status: 400, why: 'a coding is a token, not a quoted-string' },
  { name: 'te-obfuscated-space-before-colon', bytes: post('Transfer-Encoding : chunked\r\n', '0\r\n\r\n'), status: 400, why: 'whitespace before colon (§5.1)' },
  { name: 'te-empty-list-member', bytes: post('Transfer-Encoding: chunked,\r\n', '0\r\n\r\n'), status: 400, why: 'empty member in the framing header' },
  { name: 'te-chunked-with-parameter', bytes: post('Transfer-Encoding: chunked;q=1\r\n', '0\r\n\r\n'), status: 400, why: 'chunked has no parameters' },
  { name: 'te-in-http10', bytes: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', status: 400, why: 'TE in HTTP/1.0 (§6.1)' },
  { name: 'cl-plus-sign', bytes: post('Content-Length: +5\r\n', 'hello'), status: 400, why: 'Content-Length = 1*DIGIT' },
  { name: 'cl-minus-sign', bytes: post('Content-Length: -1\r\n'), status: 400, why: 'Content-Length = 1*DIGIT' },
  { name: 'cl-inner-space', bytes: post('Content-Length: 1 0\r\n', '0123456789'), status: 400, why: 'space inside the number' },
  { name: 'cl-list', bytes: post('Content-Length: 5, 5\r\n', 'hello'), status: 400, why: 'lists are refused, even identical' },
  { name: 'cl-duplicate-differing', bytes: post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'), status: 400, why: 'conflicting lengths (§6.3 item 5)' },
  { name: 'cl-hex', bytes: post('Content-Length: 0x5\r\n', 'hello'), status: 400, why: 'not decimal' },
  { name: 'cl-empty', bytes: post('Content-Length:\r\n'), status: 400, why: 'empty value' },
  { name: 'cl-over-body-limit', bytes: post('Content-Length: 4097\r\n'), status: 413, why: 'larger than maxBodySize' },
  { name: 'cl-over-safe-integer', bytes: post('Content-Length: 99999999999999999999999\r\n'), status: 413, why: 'larger than Number.MAX_SAFE_INTEGER' },
  // Chunked coding (RFC 9112 §7.1).
  { name: 'chunk-size-0x-prefix', bytes: chunked('0x5\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'no 0x in chunk-size' },
  { name: 'chunk-size-plus-sign', bytes: chunked('+5\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'no sign in chunk-size' },
  { name: 'chunk-size-leading-space', bytes: chunked(' 5\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'no whitespace before chunk-size' },
  { name: 'chunk-size-trailing-space', bytes: chunked('5 \r\nhello\r\n0\r\n\r\n'), status: 400, why: 'BWS only before ";"' },
  { name: 'chunk-size-overflow', bytes: chunked('10000000000000005\r\nhello\r\n0\r\n\r\n'), status: 400, why: '17 hex digits: would wrap a 64-bit size' },
  { name: 'chunk-size-missing', bytes: chunked('\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'empty chunk-size line' },
  { name: 'chunk-size-negative', bytes: chunked('-1\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'no sign in chunk-size' },
  { name: 'chunk-data-longer-than-size', bytes: chunked('3\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'no CRLF right after the chunk data' },
  { name: 'chunk-data-without-crlf', bytes: chunked('5\r\nhello0\r\n\r\n'), status: 400, why: 'CRLF after chunk data is required' },
  { name: 'chunk-data-bare-lf', bytes: chunked('5\r\nhello\n0\r\n\r\n'), status: 400, why: 'CRLF after chunk data is required' },
  { name: 'chunk-extension-without-name', bytes: chunked('5;=x\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'chunk-ext-name is a token' },
  { name: 'chunk-extension-unclosed-quote', bytes: chunked('5;a="open\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'unterminated quoted-string' },
  { name: 'chunk-extension-control-char', bytes: chunked('5;a=b\x01\r\nhello\r\n0\r\n\r\n'), status: 400, why: 'CTL in an extension' },
  { name: 'chunk-extensions-too-long', bytes: chunked(`1;x=${'a'.repeat(16 * 1024)}\r\nh\r\n0\r\n\r\n`), status: 400, why: 'extensions bounded to 16 KiB per request' },
  { name: 'chunked-over-body-limit', bytes: chunked(`800\r\n${'x'.repeat(2048)}\r\n801\r\n${'y'.repeat(2049)}\r\n0\r\n\r\n`), status: 413, why: 'de-chunked total over maxBodySize' },
  { name: 'chunked-truncated', bytes: chunked('5\r\nhel'), status: 400, why: 'EOF inside chunk data' },
  { name: 'request-hidden-in-trailer', bytes: chunked('0\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n'), status: 400, why: 'a request-line is not a trailer field' },
  { name: 'trailer-obs-fold', bytes: chunked('0\r\nX-T: a\r\n b\r\n\r\n'), status: 400, why: 'obs-fold in the trailer section (§5.2)' },
  { name: 'trailer-field-too-long', bytes: chunked(`0\r\nX-T: ${'t'.repeat(1024)}\r\n\r\n`), status: 431, why: 'trailer line longer than maxHeaderFieldSize' },
  // Line endings (RFC 9112 §2.2).
  { name: 'bare-lf-after-request-line', bytes: 'GET / HTTP/1.1\nHost: a\r\n\r\n', status: 400, why: 'bare LF refused (strict)' },
  { name: 'bare-lf-after-field', bytes: 'GET / HTTP/1.1\r\nHost: a\n\r\n', status: 400, why: 'bare LF refused (strict)' },
  { name: 'bare-lf-end-of-head', bytes: 'GET / HTTP/1.1\r\nHost: a\r\n\n', status: 400, why: 'bare LF refused (strict)' },
  { name: 'bare-lf-after-chunk-size', bytes: chunked('5\nhello\r\n0\r\n\r\n'), status: 400, why: 'bare LF refused (strict)' },
  { name: 'bare-cr-in-value', bytes: get(`${H}X-A: a\rb\r\n`), status: 400, why: 'bare CR is invalid (§2.2)' },
  { name: 'bare-cr-in-request-line', bytes: `GET /\r HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'bare CR is invalid (§2.2)' },
  { name: 'bare-cr-as-line-end', bytes: `GET / HTTP/1.1\r${H}\r\n`, status: 400, why: 'bare CR is invalid (§2.2)' },
  // Field lines (RFC 9112 §5).
  { name: 'obs-fold', bytes: get(`${H}X-A: a\r\n  folded\r\n`), status: 400, why: 'obs-fold refused (§5.2)' },
  { name: 'obs-fold-first-line', bytes: get(` Host: a\r\n`), status: 400, why: 'a head cannot start with a folded line' },
  { name: 'space-before-colon', bytes: get('Host : a\r\n'), status: 400, why: 'whitespace before colon (§5.1)' },
  { name: 'tab-before-colon', bytes: get(`${H}Content-Length\t: 0\r\n`), status: 400, why: 'whitespace before colon (§5.1)' },
  { name: 'nul-in-value', bytes: get(`${H}X-A: a\x00b\r\n`), status: 400, why: 'NUL in a value (RFC 9110 §5.5)' },
  { name: 'del-in-value', bytes: get(`${H}X-A: a\x7fb\r\n`), status: 400, why: 'DEL in a value' },
  { name: 'empty-field-name', bytes: get(`${H}: value\r\n`), status: 400, why: 'field-name is a token' },
  { name: 'field-without-colon', bytes: get(`${H}X-A value\r\n`), status: 400, why: 'no colon' },
  { name: 'non-token-field-name', bytes: get(`${H}X"A: v\r\n`), status: 400, why: 'DQUOTE is not a tchar' },
  { name: 'missing-host', bytes: 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', status: 400, why: 'HTTP/1.1 without Host (§3.2)' },
  { name: 'duplicate-host', bytes: get('Host: a\r\nHost: b\r\n'), status: 400, why: 'two Host lines (§3.2)' },
  { name: 'duplicate-host-http10', bytes: 'GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n', status: 400, why: 'two Host lines, any version (§3.2)' },
  { name: 'host-with-userinfo', bytes: get('Host: user@evil.test\r\n'), status: 400, why: 'invalid Host value (§3.2)' },
  { name: 'host-with-space', bytes: get('Host: a b\r\n'), status: 400, why: 'invalid Host value (§3.2)' },
  // Request-line (RFC 9112 §3).
  { name: 'version-http2', bytes: `GET / HTTP/2.0\r\n${H}\r\n`, status: 505, why: 'not 1.0 or 1.1' },
  { name: 'version-http12', bytes: `GET / HTTP/1.2\r\n${H}\r\n`, status: 505, why: 'not 1.0 or 1.1' },
  { name: 'version-http09', bytes: `GET / HTTP/0.9\r\n${H}\r\n`, status: 505, why: 'not 1.0 or 1.1' },
  { name: 'version-lowercase', bytes: `GET / http/1.1\r\n${H}\r\n`, status: 400, why: 'HTTP-name is case-sensitive (§2.3)' },
  { name: 'version-two-digit-major', bytes: `GET / HTTP/11.1\r\n${H}\r\n`, status: 400, why: 'DIGIT "." DIGIT' },
  { name: 'version-missing', bytes: `GET /\r\n${H}\r\n`, status: 400, why: 'HTTP/0.9-style request-line' },
  { name: 'version-trailing-space', bytes: `GET / HTTP/1.1 \r\n${H}\r\n`, status: 400, why: 'nothing after HTTP-version' },
  { name: 'method-bad-chars', bytes: `G@T / HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'method is a token' },
  { name: 'method-missing', bytes: ` / HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'method is a token' },
  { name: 'double-space-separator', bytes: `GET  / HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'exactly one SP (strict)' },
  { name: 'tab-separator', bytes: `GET\t/ HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'exactly one SP (strict)' },
  { name: 'target-with-control-char', bytes: `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'no CTL in the target' },
  { name: 'target-not-a-known-form', bytes: `GET index.html HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'neither origin, absolute nor asterisk form' },
  { name: 'asterisk-outside-options', bytes: `GET * HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'asterisk-form is for OPTIONS (§3.2.4)' },
  { name: 'absolute-form-with-userinfo', bytes: `GET http://user:pw@a/ HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'userinfo is an error (RFC 9110 §4.2.4)' },
  { name: 'absolute-form-empty-host', bytes: `GET http:///x HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'empty host (RFC 9110 §4.2.1)' },
  { name: 'connect-method', bytes: `CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n`, status: 501, why: 'no tunnels in a WSGI server' },
  { name: 'too-many-leading-empty-lines', bytes: `${'\r\n'.repeat(9)}GET / HTTP/1.1\r\n${H}\r\n`, status: 400, why: 'at most 8 are ignored' },
  // Limits.
  { name: 'request-line-too-long', bytes: `GET /${'a'.repeat(1024 - 13)} HTTP/1.1\r\n${H}\r\n`, status: 414, why: '1025 bytes > maxRequestLine' },
  { name: 'header-field-too-long', bytes: get(`${H}Cookie: s=${'c'.repeat(1024 - 9)}\r\n`), status: 431, why: '1025 bytes > maxHeaderFieldSize' },
  { name: 'too-many-header-fields', bytes: get(`${H}${tooMany}`), status: 431, why: '33 fields > maxHeaderCount' },
  // Truncation and pipelining.
  { name: 'truncated-head', bytes: `GET / HTTP/1.1\r\n${H}`, status: 400, why: 'EOF inside the head' },
  { name: 'truncated-body', bytes: post('Content-Length: 10\r\n', 'short'), status: 400, why: 'EOF inside the body' },
  { name: 'smuggled-after-valid-request', bytes: `GET /ok HTTP/1.1\r\n${H}\r\n${post('Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n')}`, status: 400, why: 'the second request of a pipeline is refused', completeBefore: 1 },
];
