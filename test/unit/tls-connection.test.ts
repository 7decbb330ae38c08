// The HTTP/1.1 transport over TLS, in-process and without Python: the front's connections on a
// tls.Server set up as the listener sets one up, with a stub handler for the gateway. What
// differs from plain TCP is checked here: the exchange carries the connection's TlsInfo, and
// send-timeout sees a client's progress through the TLS layer (with a fake socket: over real
// loopback sockets the kernel's buffers make a slow reader's pace a matter of timing).

import { EventEmitter, once } from 'node:events';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { CaskError } from '../../src/errors.js';
import type { Exchange, RequestHandler } from '../../src/exchange.js';
import { Connection } from '../../src/http/connection.js';
import { Front } from '../../src/http/front.js';
import { ParserPool } from '../../src/http/parser.js';
import { AllowList } from '../../src/net/allow-ips.js';
import { TlsTerminator, type EnabledTlsSettings } from '../../src/net/tls.js';
import { testFrontOptions } from '../helpers/front.js';
import { makeCerts, opensslMissing } from '../helpers/tls.js';

const skip = opensslMissing();

class StubHandler implements RequestHandler {
  readonly exchanges: Exchange[] = [];
  readonly refusals: Array<string | undefined> = [];
  /** Bytes of the response body, sent in one piece. */
  size = 2;
  /** Don't answer: the request stays in the app. */
  hold = false;

  handle(exchange: Exchange): void {
    this.exchanges.push(exchange);
    exchange.onClientGone = () => {};
    if (this.hold) return;
    const body = Buffer.alloc(this.size, 'k');
    exchange.response.head('200 OK', ['Content-Length', String(body.length)], body, true);
  }
  refused(_status: number, error: CaskError | undefined): void {
    this.refusals.push(error?.code);
  }
  completed(): void {}
  responseError(): void {}
}

/** A TLS front on loopback; returns its port. */
async function tlsFront(t: TestContext, handler: StubHandler, sendTimeoutMs: number) {
  const certs = makeCerts(t);
  const settings = {
    certfile: certs.cert,
    keyfile: certs.key,
    keyfilePasswordFile: null,
    caCerts: null,
    certReqs: 'none',
    ciphers: null,
    tlsMinVersion: '1.2',
    proxyProtocol: false,
  } satisfies EnabledTlsSettings;
  const terminator = new TlsTerminator(
    settings,
    ['http/1.1'],
    { debug() {}, info() {}, error() {} },
    5000,
  );
  const front = new Front(
    testFrontOptions({ sendTimeoutMs, allow: new AllowList(['127.0.0.1']) }),
    handler,
    { warn: () => {} },
  );
  const server = createServer({ ...terminator.serverOptions(), allowHalfOpen: true });
  server.on('secureConnection', (socket: TLSSocket) =>
    front.accept(socket, { scheme: 'https', serverName: '127.0.0.1', serverPort: '0' }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    front.close();
    for (const c of front.connections) c.shutdown();
    server.close();
  });
  return { port: (server.address() as { port: number }).port };
}

test('a TLS connection hands the exchange its TlsInfo', { skip }, async (t: TestContext) => {
  t.plan(2);
  const handler = new StubHandler();
  const { port } = await tlsFront(t, handler, 0);
  const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  t.after(() => socket.destroy());
  await once(socket, 'secureConnect');
  socket.write('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  socket.resume();
  await once(socket, 'close');
  t.assert.strictEqual(handler.exchanges.length, 1);
  t.assert.deepStrictEqual(
    { ...handler.exchanges[0]?.tls, cipher: '' },
    { protocol: 'TLSv1.3', cipher: '', clientVerify: 'NONE', clientSubject: '', clientIssuer: '' },
  );
});

/**
 * Just what a Connection touches of its socket. Over TLS, Node's socket has a TLS handle whose
 * write queue stays put until a whole write is done; the TCP handle under it (`_parent`) is
 * the one whose queue shrinks as the client reads.
 */
class FakeTlsSocket extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40000;
  writableLength = 0;
  readonly _handle = { writeQueueSize: 0, _parent: { writeQueueSize: 0 } };
  destroyed = false;
  setNoDelay(): this {
    return this;
  }
  write(): boolean {
    return true;
  }
  end(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  isPaused(): boolean {
    return false;
  }
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.emit('close');
    return this;
  }
}

test('send-timeout judges a TLS client by the TCP queue under the TLS layer', (t: TestContext) => {
  t.plan(4);
  const handler = new StubHandler();
  handler.hold = true;
  const socket = new FakeTlsSocket();
  const limits = {
    maxRequestLine: 1024,
    maxHeaderCount: 32,
    maxHeaderFieldSize: 1024,
    maxBodySize: 0,
  };
  const connection = new Connection(
    socket as unknown as Socket,
    {
      options: {
        limits,
        keepAliveMs: 5000,
        headerTimeoutMs: 5000,
        bodyMinRate: 0,
        sendTimeoutMs: 1000,
        bodyMemoryLimit: 1 << 20,
        bodyMemoryTotal: 0,
        responseSpoolLimit: 0,
        responseSpoolTotal: 0,
        responseSpoolMemory: 0,
        serverHeader: 'Cask',
      },
      handler,
      registry: new Set(),
      parsers: new ParserPool(limits),
      allow: new AllowList(['127.0.0.1']),
      proxyProtocol: false,
      spool: undefined,
    },
    { scheme: 'https', serverName: '127.0.0.1', serverPort: '443' },
  );
  socket.emit('data', Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
  // One large write is in progress: the TLS layer's counts never move while it lasts.
  socket.writableLength = 64 << 20;
  socket._handle.writeQueueSize = 64 << 20;
  socket._handle._parent.writeQueueSize = 60 << 20;
  const start = Date.now();
  connection.tick(start);
  // The client reads: the TCP queue shrinks a little between ticks, for 5 send-timeouts.
  for (let ms = 250; ms <= 5000; ms += 250) {
    socket._handle._parent.writeQueueSize -= 64 * 1024;
    connection.tick(start + ms);
  }
  t.assert.deepStrictEqual(handler.refusals, []);
  t.assert.strictEqual(socket.destroyed, false);
  // The client stops reading: dropped once send-timeout has passed without progress.
  for (let ms = 5250; ms <= 6500; ms += 250) connection.tick(start + ms);
  t.assert.deepStrictEqual(handler.refusals, ['CASK_SEND_TIMEOUT']);
  t.assert.strictEqual(socket.destroyed, true);
});
