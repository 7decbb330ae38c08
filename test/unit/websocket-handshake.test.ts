// readHandshake() as a table: which request heads ask to become a WebSocket, and which of
// those are refused, with what (RFC 6455 §4.2.1, §4.4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestInfo } from '../../src/exchange.js';
import { readHandshake } from '../../src/websocket/handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function head(headers: string[], method = 'GET', body = -1): RequestInfo {
  return {
    method,
    target: '/chat',
    protocol: 'HTTP/1.1',
    headers: ['Host', 'h', ...headers],
    host: 'h',
    contentLength: body,
    chunked: false,
  };
}

const upgrade = ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Key', KEY];

const cases: Array<[string, RequestInfo, boolean, string]> = [
  ['an ordinary request', head([]), false, 'none'],
  ['Upgrade without Connection: upgrade', head(['Upgrade', 'websocket']), false, 'none'],
  ['an h2c upgrade', head(['Upgrade', 'h2c', 'Connection', 'Upgrade, HTTP2-Settings']), false, 'none'],
  ['a proper handshake', head([...upgrade, 'Sec-WebSocket-Version', '13']), false, 'websocket'],
  ['tokens in lists and any case', head(['Upgrade', 'foo, WebSocket', 'Connection', 'keep-alive, UPGRADE', 'Sec-WebSocket-Key', KEY, 'Sec-WebSocket-Version', '13']), false, 'websocket'],
  ['a POST', head([...upgrade, 'Sec-WebSocket-Version', '13'], 'POST'), false, 'refuse 400'],
  ['HTTP/1.0', head([...upgrade, 'Sec-WebSocket-Version', '13']), true, 'refuse 400'],
  ['a body', head([...upgrade, 'Sec-WebSocket-Version', '13'], 'GET', 5), false, 'refuse 400'],
  ['no key', head(['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Version', '13']), false, 'refuse 400'],
  ['a key of 15 bytes', head(['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ', 'Sec-WebSocket-Version', '13']), false, 'refuse 400'],
  ['two keys', head([...upgrade, 'Sec-WebSocket-Key', KEY, 'Sec-WebSocket-Version', '13']), false, 'refuse 400'],
  ['version 8', head([...upgrade, 'Sec-WebSocket-Version', '8']), false, 'refuse 426'],
  ['no version', head(upgrade), false, 'refuse 426'],
]; // prettier-ignore

for (const [name, request, http10, expected] of cases) {
  test(`readHandshake() says ${expected} for ${name}`, () => {
    const result = readHandshake(request, http10);
    const got = result.kind === 'refuse' ? `refuse ${result.status}` : result.kind;
    assert.equal(got, expected);
  });
}

test('readHandshake() lists the offered subprotocols in order, from every header line', () => {
  const result = readHandshake(
    head([
      ...upgrade,
      'Sec-WebSocket-Version',
      '13',
      'Sec-WebSocket-Protocol',
      'chat, superchat',
      'Sec-WebSocket-Protocol',
      'v2',
    ]),
    false,
  );
  assert.deepEqual(result, { kind: 'websocket', subprotocols: ['chat', 'superchat', 'v2'] });
});
