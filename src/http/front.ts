// The HTTP front's door: every accepted socket comes here. It admits the socket or, past
// `max-connections`, refuses it cleanly; and it runs the one sweep that drives every
// connection's timeouts, so no request arms a timer of its own.
//
// Which protocol an admitted socket speaks (`--http`):
//
//   socket                         | auto                     | 1          | 2
//   -------------------------------+--------------------------+------------+-------------------
//   TLS, ALPN chose h2             | HTTP/2                   | (not offered, src/net/tls.ts)
//   TLS, ALPN http/1.1 or none     | HTTP/1.1                 | HTTP/1.1   | 505, closed
//   cleartext, HTTP/2 preface      | HTTP/2 (prior knowledge) | 505 (the   | HTTP/2
//                                  |                          | parser's)  |
//   cleartext, anything else       | HTTP/1.1                 | HTTP/1.1   | 505, closed
//
// In cleartext with `auto` the first bytes are read before the protocol is known
// (src/http2/sniff.ts); with `1` the socket goes straight to its Connection, as before HTTP/2.
// `Upgrade: h2c` (RFC 7540 §3.2, dropped by RFC 9113) is not answered: such a request is served
// over HTTP/1.1, which the client must accept.
//
// The sweep ticks four times per shortest timeout, the 2 s linger after a close included
// (so every 25 to 500 ms), and a deadline is acted on within a quarter of its length. With
// the defaults that is two passes a second over the live connections, each a switch and a
// compare per connection: tens of microseconds for ten thousand of them.

import type { Socket } from 'node:net';
import { asNetSocket, type ClientSocket } from '../net/client-socket.js';
import type { TLSSocket } from 'node:tls';
import { CaskError, ProtocolError } from '../errors.js';
import type { Config } from '../config/index.js';
import { MAX_PAYLOAD } from '../ipc/protocol.js';
import type { AllowList } from '../net/allow-ips.js';
import { readTlsInfo } from '../net/tls.js';
import { cannedResponse } from './canned.js';
import { setBodyMemoryTotal } from './body.js';
import { SpoolLedger } from './response-spool.js';
import { ParserPool } from './parser.js';
import {
  Connection,
  LINGER_MS,
  type ConnectionContext,
  type ConnectionOptions,
  type FrontConnection,
} from './connection.js';
import type { ClientInfo, ListenerInfo, RequestHandler } from '../exchange.js';
import { WebSocketUpgrades, type WebSocketOptions } from '../websocket/index.js';
import {
  H2_ONLY_RESPONSE,
  H2_REFUSAL,
  Http2Transport,
  ProtocolSniffer,
  sniffPreface,
  type Handover,
} from '../http2/index.js';

/** `--http`: both versions, HTTP/1.x only, or HTTP/2 only. */
export type HttpVersions = 'auto' | '1' | '2';

export interface FrontOptions extends ConnectionOptions {
  /** Open connections past which new ones are refused with 503; 0 for no limit. */
  maxConnections: number;
  /** Every listener expects a PROXY protocol header first (`--proxy-protocol`). */
  proxyProtocol: boolean;
  allow: AllowList;
  /** Which HTTP versions are spoken (the table above); 'auto' when absent. */
  http?: HttpVersions;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of each HTTP/2 connection; 100 when absent. */
  http2MaxStreams?: number;
  /** WebSocket sessions' limits and timers; without them no request is switched. */
  websocket?: WebSocketOptions;
}

/**
 * The settings the front reads, straight from the settings table (their names and units:
 * durations in seconds, sizes in bytes). `frontOptionsOf()` is the one place they become the
 * front's own shape, in milliseconds for the timers it compares with Date.now().
 */
export type FrontSettings = Readonly<
  Pick<
    Config,
    | 'limitRequestLine'
    | 'limitRequestFields'
    | 'limitRequestFieldSize'
    | 'maxBodySize'
    | 'keepAlive'
    | 'headerTimeout'
    | 'bodyMinRate'
    | 'sendTimeout'
    | 'bodyMemoryLimit'
    | 'bodyMemoryTotal'
    | 'responseSpoolLimit'
    | 'responseSpoolTotal'
    | 'responseSpoolMemory'
    | 'serverName'
    | 'maxConnections'
    | 'proxyProtocol'
    | 'wsPingInterval'
    | 'wsPingTimeout'
    | 'wsIdleTimeout'
    | 'wsMaxMessageSize'
    | 'wsPerMessageDeflate'
    | 'http'
    | 'http2MaxStreams'
  >
>;

export function frontOptionsOf(settings: FrontSettings, allow: AllowList): FrontOptions {
  const ms = (seconds: number): number => seconds * 1000;
  return {
    limits: {
      maxRequestLine: settings.limitRequestLine,
      maxHeaderCount: settings.limitRequestFields,
      maxHeaderFieldSize: settings.limitRequestFieldSize,
      maxBodySize: settings.maxBodySize,
    },
    keepAliveMs: ms(settings.keepAlive),
    headerTimeoutMs: ms(settings.headerTimeout),
    bodyMinRate: settings.bodyMinRate,
    sendTimeoutMs: ms(settings.sendTimeout),
    bodyMemoryLimit: settings.bodyMemoryLimit,
    bodyMemoryTotal: settings.bodyMemoryTotal,
    responseSpoolLimit: settings.responseSpoolLimit,
    responseSpoolTotal: settings.responseSpoolTotal,
    responseSpoolMemory: settings.responseSpoolMemory,
    serverHeader: settings.serverName,
    maxConnections: settings.maxConnections,
    proxyProtocol: settings.proxyProtocol,
    allow,
    websocket: {
      pingIntervalMs: ms(settings.wsPingInterval),
      pingTimeoutMs: ms(settings.wsPingTimeout),
      idleTimeoutMs: ms(settings.wsIdleTimeout),
      // A message crosses the worker link in one frame.
      maxMessageSize: Math.min(settings.wsMaxMessageSize, MAX_PAYLOAD),
      perMessageDeflate: settings.wsPerMessageDeflate,
    },
    http: settings.http,
    http2MaxStreams: settings.http2MaxStreams,
  };
}

export interface FrontCounters {
  accepted: number;
  /** Connections refused because `max-connections` were open. */
  overLimit: number;
  /** Bytes read from and written to connections already closed (open ones: `sockets`). */
  closedBytesIn: number;
  closedBytesOut: number;
}

export interface FrontLogger {
  warn(message: string): void;
}

/**
 * A listener's own protocol in place of HTTP (src/cgi/: uwsgi, SCGI, FastCGI from a web server
 * in front). The front admits and counts its sockets as any other, then hands them over.
 */
export interface SocketTransport {
  accept(socket: ClientSocket, listener: ListenerInfo): void;
  /** What a socket over max-connections is told, in this protocol, before it is closed. */
  overloaded(): Buffer;
}

/** Refused sockets lingering for their 503 to be read; past this many, they are cut at once. */
const MAX_LINGERING_REFUSALS = 1024;
/** The over-limit warning is logged at most this often. */
const WARN_EVERY_MS = 10_000;

export class Front {
  readonly connections = new Set<FrontConnection>();
  readonly counters: FrontCounters = {
    accepted: 0,
    overLimit: 0,
    closedBytesIn: 0,
    closedBytesOut: 0,
  };
  /** The sockets of the open connections, whose byte counts /metrics adds up when scraped. */
  readonly sockets = new Set<ClientSocket>();
  /** What the response spool holds on file right now, across every connection. */
  readonly spoolLedger: SpoolLedger;
  private readonly context: ConnectionContext;
  /** The context of cleartext HTTP/1.1 connections under `auto`: they offer their first bytes
   *  to takeover(), which hands a client starting with the HTTP/2 preface to the sniffer. */
  private readonly sniffing: ConnectionContext;
  private readonly http: HttpVersions;
  /** The HTTP/2 transport; undefined with `--http 1`. */
  private readonly h2: Http2Transport | undefined;
  private readonly refusals = new Map<ClientSocket, number>();
  private readonly timer: NodeJS.Timeout;
  private warnedAt = 0;
  private warnedCount = 0;
  private spoolWarnedAt = 0;
  /**
   * One 'close' listener for every socket (the emitter is `this`), rather than a closure per
   * connection: a few hundred bytes less for each idle keep-alive connection held.
   */
  private readonly socketClosed = (() => {
    const { sockets, counters } = this;
    return function closed(this: ClientSocket): void {
      sockets.delete(this);
      counters.closedBytesIn += this.bytesRead;
      counters.closedBytesOut += this.bytesWritten;
    };
  })();

  constructor(
    private readonly options: FrontOptions,
    handler: RequestHandler,
    private readonly logger: FrontLogger,
  ) {
    setBodyMemoryTotal(options.bodyMemoryTotal);
    this.spoolLedger = new SpoolLedger(
      options.responseSpoolTotal,
      () => this.spoolFull(),
      options.responseSpoolMemory,
    );
    this.context = {
      options,
      handler,
      registry: this.connections,
      parsers: new ParserPool(options.limits),
      allow: options.allow,
      proxyProtocol: options.proxyProtocol,
      spool:
        options.responseSpoolLimit > 0
          ? { limit: options.responseSpoolLimit, ledger: this.spoolLedger }
          : undefined,
      websockets:
        options.websocket === undefined
          ? undefined
          : new WebSocketUpgrades(options.websocket, this.connections),
    };
    this.http = options.http ?? 'auto';
    const { limits } = options;
    this.h2 =
      this.http === '1'
        ? undefined
        : new Http2Transport(
            {
              maxStreams: options.http2MaxStreams ?? 100,
              maxHeaderCount: limits.maxHeaderCount,
              maxHeaderFieldSize: limits.maxHeaderFieldSize,
            },
            {
              handler,
              registry: this.connections,
              limits: {
                maxTarget: limits.maxRequestLine,
                maxHeaderCount: limits.maxHeaderCount,
                maxHeaderFieldSize: limits.maxHeaderFieldSize,
                maxBodySize: limits.maxBodySize,
              },
              keepAliveMs: options.keepAliveMs,
              headerTimeoutMs: options.headerTimeoutMs,
              bodyMinRate: options.bodyMinRate,
              sendTimeoutMs: options.sendTimeoutMs,
              bodyMemoryLimit: options.bodyMemoryLimit,
              maxBodySize: limits.maxBodySize,
              serverHeader: options.serverHeader,
              spool: this.context.spool,
            },
          );
    this.sniffing = {
      ...this.context,
      takeover: (socket, first, acceptedAt, listener) => {
        if (sniffPreface(first) === 'http1') return false;
        this.sniff(asNetSocket(socket), listener, acceptedAt, first);
        return true;
      },
    };
    this.timer = setInterval(() => this.sweep(), sweepInterval(options));
    this.timer.unref();
  }

  accept(socket: ClientSocket, listener: ListenerInfo, transport?: SocketTransport): void {
    const max = this.options.maxConnections;
    const tls =
      (socket as Partial<TLSSocket>).encrypted === true
        ? (socket as unknown as TLSSocket)
        : undefined;
    if (max > 0 && this.connections.size >= max) {
      this.refuse(
        socket,
        transport?.overloaded() ??
          (this.http === '2' || tls?.alpnProtocol === 'h2'
            ? H2_REFUSAL
            : cannedResponse(503, { close: true })),
      );
      return;
    }
    this.counters.accepted++;
    // Bytes are counted by the socket itself; they are read here once, when it closes, and
    // for open sockets when /metrics is scraped: nothing per request.
    this.sockets.add(socket);
    socket.on('close', this.socketClosed);
    if (transport !== undefined) {
      transport.accept(socket, listener);
      return;
    }
    const h2 = this.h2;
    if (h2 === undefined) {
      new Connection(socket, this.context, listener);
    } else if (tls !== undefined) {
      // ALPN decided during the handshake (RFC 9113 §3.2).
      if (tls.alpnProtocol === 'h2') h2.accept(tls, listener, this.client(socket), Date.now());
      else if (this.http === '2') this.refuseHttp1(socket, this.client(socket));
      else new Connection(socket, this.context, listener);
    } else if (this.http === 'auto' && !this.options.proxyProtocol) {
      // Nearly every connection is HTTP/1.x and goes straight to its Connection, which shows
      // its first bytes to takeover(). Measured over loopback, a sniffer in front of every
      // connection cost about 25 µs of CPU each (a fifth of a connection-per-request exchange,
      // ~115 µs); the takeover costs too little to tell from the noise.
      new Connection(socket, this.sniffing, listener);
    } else {
      this.sniff(asNetSocket(socket), listener, Date.now(), undefined);
    }
  }

  /** Reads a cleartext connection's first bytes (after its PROXY header) to pick its protocol. */
  private sniff(
    socket: Socket,
    listener: ListenerInfo,
    acceptedAt: number,
    first: Buffer | undefined,
  ): void {
    const h2 = this.h2 as Http2Transport;
    const handover: Handover = (sniffed, protocol, client, at) => {
      if (protocol === 'h2') h2.accept(sniffed, listener, client, at);
      else if (this.http === '2') this.refuseHttp1(sniffed, client);
      else {
        new Connection(sniffed, this.context, listener, at);
        sniffed.resume(); // the sniffer paused it to put its bytes back
      }
    };
    const { headerTimeoutMs, keepAliveMs, proxyProtocol, allow } = this.options;
    new ProtocolSniffer(
      socket,
      this.connections,
      { proxyProtocol, allow, waitMs: headerTimeoutMs > 0 ? headerTimeoutMs : keepAliveMs },
      handover,
      acceptedAt,
      first,
    );
  }

  /**
   * The server stops (past the graceful timeout, or a start that failed): stops the sweep and
   * drops every connection still open. A client that never reads would otherwise keep its
   * socket, and with it the process, alive for good, since no send-timeout runs any more.
   */
  close(): void {
    clearInterval(this.timer);
    for (const socket of this.sockets) socket.destroy();
  }

  /** Who is on the other end of a socket that carries no PROXY header. */
  private client(socket: ClientSocket): ClientInfo {
    const remoteAddr = socket.remoteAddress ?? '';
    const tls = (socket as Partial<TLSSocket>).encrypted === true;
    return {
      remoteAddr,
      remotePort: socket.remotePort === undefined ? '' : String(socket.remotePort),
      trusted: this.options.allow.trustsPeer(remoteAddr),
      tls: tls ? readTlsInfo(socket as unknown as TLSSocket) : undefined,
    };
  }

  /** HTTP/1.x on a server that speaks HTTP/2 only: a 505 that says so, then closed. */
  private refuseHttp1(socket: ClientSocket, client: ClientInfo): void {
    this.context.handler.refused(
      505,
      new ProtocolError(
        'CASK_HTTP_VERSION',
        'HTTP/1.x request on a server that speaks HTTP/2 only (http = 2)',
      ),
      client.remoteAddr,
    );
    socket.on('error', () => {});
    socket.end(H2_ONLY_RESPONSE);
    this.linger(socket, Date.now());
  }

  /**
   * Over the limit: a canned 503 with `Retry-After` (for an HTTP/2 client, a GOAWAY that
   * refuses every stream; for a web server's protocol, its own 503), our side closed, and the
   * client's bytes drained for a moment so the answer is not destroyed by a reset. Under a flood
   * the lingering is skipped: the point is to give back the descriptor.
   */
  private refuse(socket: ClientSocket, answer: Buffer): void {
    this.counters.overLimit++;
    socket.on('error', () => {});
    const now = Date.now();
    if (now - this.warnedAt >= WARN_EVERY_MS) {
      const error = new CaskError(
        'CASK_CONNECTION_LIMIT',
        `Connection limit reached, refusing connections: ${this.options.maxConnections} open, ` +
          `${this.counters.overLimit - this.warnedCount} refused since the last warning`,
      );
      this.logger.warn(`${error.message} (${error.code})`);
      this.warnedAt = now;
      this.warnedCount = this.counters.overLimit;
    }
    socket.setNoDelay(true);
    socket.end(answer);
    this.linger(socket, now);
  }

  /** Our answer is written and our side closed: read and discard for LINGER_MS, then destroy. */
  private linger(socket: ClientSocket, now: number): void {
    if (this.refusals.size >= MAX_LINGERING_REFUSALS) {
      socket.destroySoon();
      return;
    }
    socket.resume();
    this.refusals.set(socket, now + LINGER_MS);
    socket.on('close', () => this.refusals.delete(socket));
  }

  /** The response spool reached its global cap: say so, at most every WARN_EVERY_MS. */
  private spoolFull(): void {
    const now = Date.now();
    if (now - this.spoolWarnedAt < WARN_EVERY_MS) return;
    this.spoolWarnedAt = now;
    const error = new CaskError(
      'CASK_RESPONSE_SPOOL_FULL',
      `Response spool full, apps now wait for their slow clients: ` +
        `${this.spoolLedger.onFile} bytes on file in ${this.spoolLedger.files} file(s), ` +
        `response-spool-total is ${this.options.responseSpoolTotal}`,
    );
    this.logger.warn(`${error.message} (${error.code})`);
  }

  private sweep(): void {
    const now = Date.now();
    for (const connection of this.connections) connection.tick(now);
    for (const [socket, deadline] of this.refusals) {
      if (now >= deadline) socket.destroy();
    }
  }
}

/** A quarter of the shortest timeout (the linger included), at least 25 ms. */
export function sweepInterval(options: ConnectionOptions): number {
  let shortest = 4000;
  for (const ms of [
    options.keepAliveMs,
    options.headerTimeoutMs,
    options.sendTimeoutMs,
    LINGER_MS,
  ]) {
    if (ms > 0 && ms < shortest) shortest = ms;
  }
  return Math.max(25, Math.floor(shortest / 4));
}
