// Private to src/http2: which protocol a cleartext connection speaks, told from its first bytes,
// and the few prebuilt answers for connections that are not served. Pure: bytes in, a verdict
// out, no socket.
//
// RFC 9113 §3.3 ("prior knowledge"): a client that knows the server speaks HTTP/2 starts the
// connection with the 24-byte preface below, then its SETTINGS frame. No HTTP/1.x request can
// start with it: "PRI" is not a method anyone sends, and the version "HTTP/2.0" is not 1.x. So
// the first bytes decide, and as soon as one of them differs from the preface the connection is
// HTTP/1.x (most connections are told apart by their first byte: 'G', 'P'OST… only "P" waits).
//
//   P R I   *   H T T P / 2 . 0 \r \n \r \n S M \r \n \r \n
//   └──────────── 24 bytes, RFC 9113 §3.4 ─────────────────┘

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export type Sniffed = 'h2' | 'http1' | 'more';

/**
 * 'h2' once `bytes` start with the whole preface, 'http1' as soon as a byte differs from it,
 * 'more' while every byte so far matches but the preface is not complete.
 */
export function sniffPreface(bytes: Buffer): Sniffed {
  const n = Math.min(bytes.length, PREFACE.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== PREFACE[i]) return 'http1';
  return n === PREFACE.length ? 'h2' : 'more';
}

const H2_ONLY_BODY =
  'This server speaks HTTP/2 only (--http 2): connect with HTTP/2 prior knowledge ' +
  '(curl --http2-prior-knowledge), or over TLS with ALPN h2.\n';

/**
 * The answer to an HTTP/1.x request on a server that serves HTTP/2 only: a 505 that says what
 * to do instead (RFC 9110 §15.6.6 asks for a representation saying why and which protocols
 * are supported), then the connection closes.
 */
export const H2_ONLY_RESPONSE = Buffer.from(
  'HTTP/1.1 505 HTTP Version Not Supported\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(H2_ONLY_BODY)}\r\n` +
    'Connection: close\r\n' +
    '\r\n' +
    H2_ONLY_BODY,
  'latin1',
);

const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
/** RFC 9113 §7: the stream was refused before any application processing. */
export const REFUSED_STREAM = 0x7;

/** One frame: a 9-byte header (length, type, flags, stream 0) and its payload (RFC 9113 §4.1). */
function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  return Buffer.concat([head, payload]);
}

/**
 * What an HTTP/2 client gets when it connects past `max-connections`: the server's preface (an
 * empty SETTINGS frame, RFC 9113 §3.4) and a GOAWAY with last-stream-id 0 and REFUSED_STREAM,
 * so that it knows no request was processed and may retry elsewhere (§6.8), with the reason as
 * debug data. The HTTP/1.1 503 would be noise to an HTTP/2 client.
 */
export const H2_REFUSAL = ((): Buffer => {
  const reason = Buffer.from('connection limit reached', 'latin1');
  const goaway = Buffer.alloc(8 + reason.length);
  goaway.writeUInt32BE(0, 0);
  goaway.writeUInt32BE(REFUSED_STREAM, 4);
  reason.copy(goaway, 8);
  return Buffer.concat([frame(FRAME_SETTINGS, Buffer.alloc(0)), frame(FRAME_GOAWAY, goaway)]);
})();
