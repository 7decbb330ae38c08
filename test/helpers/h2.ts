// A node:http2 client session for the HTTP/2 tests: cleartext, prior knowledge.

import { connect, type ClientHttp2Session } from 'node:http2';
import type { TestContext } from 'node:test';

/**
 * A session to the server on `port`, destroyed after the test. With `window`, its connection
 * window is that large, so that a stream the test does not read never blocks the others
 * (RFC 9113 §6.9.1): each stream is then held by its own window only.
 */
export async function h2session(
  t: TestContext,
  port: number,
  window?: number,
): Promise<ClientHttp2Session> {
  const client = connect(`http://127.0.0.1:${port}`);
  client.on('error', () => {});
  t.after(() => client.destroy());
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  if (window !== undefined) client.setLocalWindowSize(window);
  return client;
}
