// Private to src/websocket: whether an HTTP/1.1 request head asks to become a WebSocket, and
// whether it asks properly (RFC 6455 §4.2.1). Pure: a head in, a decision out.
//
//   Upgrade has the token `websocket`   no  ─▶ none: an ordinary request
//   and Connection the token `upgrade`
//          │ yes
//   GET, HTTP/1.1, no body               no  ─▶ refuse 400
//   Sec-WebSocket-Key: 16 bytes, base64  no  ─▶ refuse 400
//   Sec-WebSocket-Version: 13            no  ─▶ refuse 426 with `Sec-WebSocket-Version: 13`
//          │ yes                                (RFC 6455 §4.4: the version we speak)
//   websocket: the key, the subprotocols offered
//
// A refusal is answered by the transport itself, whatever the app: the request is not a
// WebSocket handshake any server could accept.

import type { RequestInfo } from '../exchange.js';

export type Handshake =
  | { readonly kind: 'none' }
  | { readonly kind: 'refuse'; readonly status: 400 | 426; readonly reason: string }
  | { readonly kind: 'websocket'; readonly subprotocols: readonly string[] };

const NONE: Handshake = { kind: 'none' };
/** 16 random bytes in base64: 22 characters and `==` (RFC 6455 §4.1, item 7). */
const KEY = /^[+/0-9A-Za-z]{21}[AQgw]==$/;

function hasToken(value: string, token: string): boolean {
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** Reads `head` (flat header list, names as sent); `http10` for an HTTP/1.0 request. */
export function readHandshake(head: RequestInfo, http10: boolean): Handshake {
  let upgrade = '';
  let connection = '';
  let key: string | undefined;
  let version: string | undefined;
  let protocols = '';
  const headers = head.headers;
  for (let i = 0; i < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    const value = headers[i + 1] as string;
    if (name === 'upgrade') upgrade += `,${value}`;
    else if (name === 'connection') connection += `,${value}`;
    else if (name === 'sec-websocket-key') key = key === undefined ? value : '';
    else if (name === 'sec-websocket-version') version = value;
    else if (name === 'sec-websocket-protocol') protocols += `,${value}`;
  }
  if (!hasToken(upgrade, 'websocket') || !hasToken(connection, 'upgrade')) return NONE;
  if (head.method !== 'GET' || http10)
    return {
      kind: 'refuse',
      status: 400,
      reason: 'a WebSocket handshake must be GET over HTTP/1.1',
    };
  if (head.contentLength > 0 || head.chunked)
    return { kind: 'refuse', status: 400, reason: 'a WebSocket handshake has no body' };
  if (key === undefined || !KEY.test(key))
    return { kind: 'refuse', status: 400, reason: 'missing or malformed Sec-WebSocket-Key' };
  if (version?.trim() !== '13')
    return {
      kind: 'refuse',
      status: 426,
      reason: `unsupported Sec-WebSocket-Version: ${version ?? 'none'}`,
    };
  const subprotocols = protocols
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return { kind: 'websocket', subprotocols };
}

/** The whole refusal, closing the connection: 426 names the version we speak. */
export function refusal(status: 400 | 426, date: string): Buffer {
  const reason = status === 426 ? 'Upgrade Required' : 'Bad Request';
  const version = status === 426 ? 'Sec-WebSocket-Version: 13\r\n' : '';
  return Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\nDate: ${date}\r\n${version}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    'latin1',
  );
}
