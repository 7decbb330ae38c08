// The HTTP/1.1 transport. One client connection: feeds the sans-IO parser, buffers each request
// body, hands complete requests to the handler one at a time (pipelined requests wait in the
// parser, in order), and decides keep-alive, timeouts and closing.
//
// States and the deadline each one runs against. No state owns a timer: the front's sweep
// (front.ts) calls tick() about four times per shortest timeout, and tick() compares the
// clock with the deadline of the current state (the rules as a table).
//
//   state    | what is awaited                 | deadline (0 disables)      | when it passes
//   ---------+---------------------------------+----------------------------+------------------
//   proxy    | the PROXY header (--proxy-proto)| accept + header-timeout    | closed, no answer
//   idle     | the first byte of a request     | keep-alive after a response| closed, no answer
//            |                                 | accept + header-timeout    |   (nothing to answer)
//   reading  | the rest of the head            | first byte + header-timeout| 408, closed
//   reading  | the body (head already parsed)  | body start + header-timeout| 408, closed
//            |                                 |   + bytes so far / body-min-rate
//   in-app   | the response (worker's timeout) | send-timeout without the   | dropped, app told
//   flushing | output to drain below the mark  |   client taking a byte     |   the client is gone
//   closing  | our answer to leave user space  | send-timeout without the   | dropped
//            |                                 |   client taking a byte     |
//   closing  | the peer's FIN after our answer | answer flushed + LINGER_MS | destroyed
//   closed   | —                               |                            |
//
//   proxy ─header─▶ idle ─bytes─▶ reading ─end of request─▶ in-app ─response done─┐
//                    ▲                                                            │
//                    └───────── keep-alive, nothing buffered ◀── flushing ◀───────┘
//                                                  (pipelined bytes: reading)
//   Any state ─bad request─▶ canned 4xx/5xx ─▶ closing. A client that half-closes still gets
//   the answers to every request it sent whole; then the connection closes. After answering a
//   request that asked to close, with nothing received after it, the connection does not wait
//   for the peer's FIN: it is closed once the answer has left user space (close()).

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { CaskError, ProtocolError } from '../errors.js';
import type { Exchange, ListenerInfo, RequestHandler, TlsInfo } from '../exchange.js';
import type { AllowList } from '../net/allow-ips.js';
import { asNetSocket, type ClientSocket } from '../net/client-socket.js';
import { ProxyHeaderReader } from '../net/proxy-protocol.js';
import { readTlsInfo } from '../net/tls.js';
import { BodySpool, type RequestBody } from './body.js';
import { readIntoSharedBuffer, type SharedReadOwner } from './shared-reads.js';
import { cannedResponse } from './canned.js';
import {
  type ParserPool,
  type RequestParser,
  type ParserLimits,
  type RequestHead,
} from './parser.js';
import { ResponseWriter } from './response.js';
import type { SpoolPolicy } from './response-spool.js';
import { refusal, type WebSocketUpgrades } from '../websocket/index.js';
import { httpDate } from './serialize.js';

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
/** Pipelined input held while a response is pending, before we stop reading the socket. */
const PIPELINE_HIGH_WATER = 64 * 1024;
/**
 * Output a client has not taken yet, past which the next pipelined request waits: a client
 * that pipelines without reading must not make us buffer its answers without bound. A web
 * server's connection (src/cgi/connection.ts) stops reading past the same mark.
 */
export const OUTPUT_HIGH_WATER = 64 * 1024;
/** After our last answer, read and discard for this long so the answer is not lost to a reset. */
export const LINGER_MS = 2000;

export interface ConnectionOptions {
  limits: ParserLimits;
  /** Idle time allowed between requests; 0 closes the connection after each response. */
  keepAliveMs: number;
  /** Time to receive a whole request head: from the connection's start for its first request,
   *  from the first byte for the next ones. Also the allowance before body-min-rate applies. */
  headerTimeoutMs: number;
  /** Least average rate of a request body, in bytes per second, after the allowance. */
  bodyMinRate: number;
  /** How long a client may take none of the response it is sent before it is dropped. */
  sendTimeoutMs: number;
  bodyMemoryLimit: number;
  /** Bytes all request bodies being received may hold in memory together (body.ts); 0: no
   *  limit but bodyMemoryLimit. */
  bodyMemoryTotal: number;
  /** Bytes of a response that may wait in a temporary file for a slow client, with its app
   *  credited (response-spool.ts); 0 turns the spool off. */
  responseSpoolLimit: number;
  /** Bytes all responses together may keep in temporary files with their apps credited. */
  responseSpoolTotal: number;
  /** Bytes all responses together may hold in memory (response-spool.ts, SpoolLedger). */
  responseSpoolMemory: number;
  serverHeader: string;
}

/**
 * What the front's registry holds, whatever the protocol: an HTTP/1.1 Connection, an HTTP/2
 * session, or a connection whose first bytes are still awaited (src/http2/). The sweep ticks
 * each; shutdown asks each to finish what is in progress and close; `size` counts against
 * max-connections.
 */
export interface FrontConnection {
  /** The front's sweep: act on whatever deadline has passed. */
  tick(now: number): void;
  /** Server shutdown: close now if idle, else once the requests in progress are answered. */
  shutdown(): void;
  /** Nothing in progress: no request being read, run or answered. */
  readonly idle: boolean;
  /** What it speaks, for the open-connections gauge: http/1.1, h2, websocket, uwsgi, scgi,
   * fastcgi, or `sniffing` while the first bytes are awaited. */
  readonly protocol: string;
  /** Where it is in its life, for the same gauge (idle, reading, in-app, flushing, closing,
   * proxy for HTTP/1.x and the web-server protocols; idle, active, closing for HTTP/2 and
   * WebSocket; reading while sniffing). */
  readonly phase: string;
  /** Streams open on a multiplexed connection (HTTP/2); absent for the others. */
  readonly openStreams?: number;
}

/** What every connection of a front shares. */
export interface ConnectionContext {
  readonly options: ConnectionOptions;
  readonly handler: RequestHandler;
  /** Live connections; a connection removes itself when its socket closes. */
  readonly registry: Set<FrontConnection>;
  /** Parsers lent to connections while they read a request (ParserPool). */
  readonly parsers: ParserPool;
  /** Peers whose proxy headers and PROXY protocol header are believed. */
  readonly allow: AllowList;
  /** Every connection must start with a PROXY protocol header (v1 or v2). */
  readonly proxyProtocol: boolean;
  /** The response spool's limits, shared ledger included; undefined when it is off. */
  readonly spool: SpoolPolicy | undefined;
  /** Switches requests that ask for it to WebSocket (src/websocket/); none if undefined. */
  readonly websockets?: WebSocketUpgrades | undefined;
  /**
   * Offered a new connection's first bytes (when no PROXY header comes first); returns true
   * when it takes the socket and those bytes over (a client starting with the HTTP/2 preface,
   * src/http2/), and the Connection lets go of it. Costs a byte compare or two per connection.
   */
  readonly takeover?: (
    socket: ClientSocket,
    first: Buffer,
    acceptedAt: number,
    listener: ListenerInfo,
  ) => boolean;
}

function ignoreError(): void {}

/** The Connection that owns a socket, for the listeners every socket shares. */
const OWNER = Symbol('cask.connection');
type OwnedSocket = ClientSocket & {
  [OWNER]?: Connection;
};

type State = 'proxy' | 'idle' | 'reading' | 'in-app' | 'flushing' | 'closing' | 'closed';

interface StreamHandle {
  writeQueueSize?: number;
  /** Under TLS, the TCP handle the TLS layer writes into: its queue is the one that moves as
   *  the client reads (the TLS handle's own count stays put until a whole write is done). */
  _parent?: StreamHandle;
}

export class Connection implements FrontConnection, SharedReadOwner {
  /** Taken from the front's pool when bytes come, given back when idle (ParserPool). */
  private parser: RequestParser | undefined;
  private readonly opts: ConnectionOptions;
  private readonly handler: RequestHandler;
  private state: State;
  private proxyReader: ProxyHeaderReader | undefined;
  private head: RequestHead | undefined;
  private spool: BodySpool | undefined;
  private exchange: Exchange | undefined;
  /** When the current state's wait ends (ms since the epoch); 0 for never. */
  private deadline = 0;
  /** Bytes received on the connection, and the count when the current body began. */
  private received = 0;
  private bodyBase = 0;
  private bodyStart = 0;
  // Output progress seen by the last tick (send-timeout).
  private sentSince = 0;
  private lastPending = 0;
  private lastQueued = 0;
  /** The server is shutting down: no more requests after the one in progress. */
  private closing = false;
  /** The client half-closed: answer what it sent whole, then close. */
  private eof = false;
  /** The request being answered asked for the connection to close after it. */
  private clientCloses = false;
  /** On close, wait for the client's end once our answer has left (see close()). */
  private lingers = true;
  /** Deadline of the first request's head, counted from accept; 0 for none. */
  private firstDeadline = 0;
  /** Requests answered; the first one's head timeout counts from the connection's start. */
  private served = 0;
  private remoteAddr: string;
  private remotePort: string;
  private trusted: boolean;
  /** The TLS facts, read once: every request on the connection shares them. */
  private readonly tls: TlsInfo | undefined;
  private readonly acceptedAt: number;

  /**
   * @param acceptedAt when the socket was accepted (the first head timeout counts from it), if
   *   its first bytes were read before it was known to be HTTP/1.x (src/http2/sniff.ts)
   */
  constructor(
    private readonly socket: ClientSocket,
    private readonly context: ConnectionContext,
    private readonly listener: ListenerInfo,
    acceptedAt = Date.now(),
  ) {
    this.acceptedAt = acceptedAt;
    this.opts = context.options;
    this.handler = context.handler;
    this.remoteAddr = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort === undefined ? '' : String(socket.remotePort);
    this.trusted = context.allow.trustsPeer(this.remoteAddr);
    this.tls = (socket as Partial<TLSSocket>).encrypted
      ? readTlsInfo(socket as unknown as TLSSocket)
      : undefined;
    context.registry.add(this);
    socket.setNoDelay(true);
    // Reads land in the front's one buffer and come to onRead() (shared-reads.ts); a socket
    // that cannot be switched (TLS) keeps its 'data' events.
    readIntoSharedBuffer(socket, this);
    // The socket's listeners are shared by every socket and find their Connection on it: a
    // closure (and its context) per connection and event would cost about 300 bytes for each
    // idle keep-alive connection held. A socket whose first bytes went to the HTTP/2 sniffer
    // and came back (a request starting with `P`, src/http2/sniff.ts) has them already.
    const owned = socket as OwnedSocket;
    const listening = owned[OWNER] !== undefined;
    owned[OWNER] = this;
    if (!listening) {
      socket.on('data', Connection.socketData);
      socket.on('end', Connection.socketEnd);
      // Errors end in 'close', which does the cleaning up.
      socket.on('error', ignoreError);
      socket.on('close', Connection.socketClosed);
    }
    const now = acceptedAt;
    const { headerTimeoutMs, keepAliveMs } = this.opts;
    this.firstDeadline = headerTimeoutMs > 0 ? now + headerTimeoutMs : 0;
    // Waiting for the first byte: the head timeout if there is one, else the idle timeout.
    this.deadline =
      this.firstDeadline !== 0 ? this.firstDeadline : keepAliveMs > 0 ? now + keepAliveMs : 0;
    if (context.proxyProtocol) {
      this.state = 'proxy';
      if (!this.trusted) {
        this.refuse(
          new ProtocolError(
            'CASK_PROXY_PROTOCOL',
            `PROXY protocol header from a peer not in forwarded-allow-ips: ${this.remoteAddr}`,
          ),
        );
        return;
      }
      this.proxyReader = new ProxyHeaderReader();
    } else {
      this.state = 'idle';
    }
  }

  private static socketData(this: OwnedSocket, chunk: Buffer): void {
    this[OWNER]?.onData(chunk);
  }

  private static socketEnd(this: OwnedSocket): void {
    this[OWNER]?.onEnd();
  }

  private static socketClosed(this: OwnedSocket): void {
    this[OWNER]?.onClose();
  }

  private static socketFinished(this: OwnedSocket): void {
    this[OWNER]?.onFinish();
  }

  /** Server shutdown: close now if idle, else after the response in progress. */
  shutdown(): void {
    this.closing = true;
    if (this.idle) this.close();
  }

  readonly protocol = 'http/1.1';

  /** The state in the table above, for the open-connections gauge (src/admin). */
  get phase(): string {
    return this.state;
  }

  get idle(): boolean {
    return (this.state === 'idle' || this.state === 'proxy') && (this.parser?.buffered ?? 0) === 0;
  }

  /** The front's sweep: act on the current state's deadline (see the table above). */
  tick(now: number): void {
    switch (this.state) {
      case 'proxy':
      case 'idle':
        if (this.deadline !== 0 && now >= this.deadline) this.close();
        return;
      case 'reading':
        if (this.head === undefined) {
          if (this.deadline !== 0 && now >= this.deadline) {
            this.timeout(`Request head not received within ${this.opts.headerTimeoutMs} ms`);
          }
        } else if (this.opts.bodyMinRate > 0) {
          const bytes = this.received - this.bodyBase;
          const allowed = this.opts.headerTimeoutMs + (bytes * 1000) / this.opts.bodyMinRate;
          if (now - this.bodyStart > allowed) {
            this.timeout(
              `Request body slower than ${this.opts.bodyMinRate} bytes/s: ${bytes} bytes in ${now - this.bodyStart} ms`,
            );
          }
        }
        return;
      case 'in-app':
      case 'flushing':
        this.checkSend(now);
        return;
      case 'closing':
        // Still writing our last answer: the client is held to the send timeout, as while
        // flushing; the linger starts only once the answer has left (close()).
        if (this.deadline === 0) this.checkSend(now);
        else if (now >= this.deadline) this.socket.destroy();
        return;
      default:
        return;
    }
  }

  private checkSend(now: number): void {
    const limit = this.opts.sendTimeoutMs;
    if (limit <= 0) return;
    const pending = this.socket.writableLength;
    // Bytes still queued in libuv: it moves while a large write is partly taken by the kernel.
    const handle = (this.socket as unknown as { _handle?: StreamHandle })._handle;
    const queued = handle?._parent?.writeQueueSize ?? handle?.writeQueueSize ?? 0;
    if (pending === 0 || pending !== this.lastPending || queued !== this.lastQueued) {
      this.lastPending = pending;
      this.lastQueued = queued;
      this.sentSince = now;
      return;
    }
    if (now - this.sentSince < limit) return;
    this.handler.refused(
      408,
      new CaskError(
        'CASK_SEND_TIMEOUT',
        `Client read nothing for ${limit} ms: ${pending} bytes pending`,
      ),
      this.remoteAddr,
    );
    // Nothing more can reach a client that does not read: drop it, which frees the worker.
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    switch (this.state) {
      case 'proxy':
        this.onProxyBytes(chunk);
        return;
      case 'closing':
      case 'closed':
        return;
      case 'idle':
        if (
          this.received === 0 &&
          this.context.takeover?.(this.socket, chunk, this.acceptedAt, this.listener) === true
        ) {
          // Another protocol owns the socket now. This Connection's listeners stay on it,
          // inert: every event finds the state closed.
          this.state = 'closed';
          this.context.registry.delete(this);
          return;
        }
        this.received += chunk.length;
        this.reader().push(chunk);
        this.startReading();
        this.pump();
        return;
      case 'reading':
        this.received += chunk.length;
        this.reader().push(chunk);
        this.pump();
        return;
      default:
        this.received += chunk.length;
        this.reader().push(chunk);
        if (this.reader().buffered > PIPELINE_HIGH_WATER) this.socket.pause();
    }
  }

  /** SharedReadOwner: until another protocol has the socket (takeover, WebSocket). */
  get takesReads(): boolean {
    return this.state !== 'closed';
  }

  /**
   * SharedReadOwner: `n` bytes are all body of the request being read, which pump() writes to
   * the spool (copied in memory, or to the file) before onData() returns, and which the parser
   * does not hold past that.
   */
  consumesNow(n: number): boolean {
    return this.state === 'reading' && this.parser !== undefined && n <= this.parser.bodyAwaited;
  }

  /** SharedReadOwner: a read, as the 'data' event would have brought it. */
  onRead(bytes: Buffer): void {
    this.onData(bytes);
  }

  private onProxyBytes(chunk: Buffer): void {
    let result;
    try {
      result = (this.proxyReader as ProxyHeaderReader).push(chunk);
    } catch (error) {
      this.refuse(error);
      return;
    }
    if (result === null) return;
    this.proxyReader = undefined;
    const { header, rest } = result;
    if (header.kind === 'proxied') {
      this.remoteAddr = header.sourceAddress;
      this.remotePort = String(header.sourcePort);
      // Proxy headers are now judged by who the client is, not by the balancer's address.
      this.trusted = this.context.allow.has(this.remoteAddr);
    }
    // The header timeout started at accept keeps running for the first request.
    this.state = 'idle';
    if (rest.length > 0) {
      this.received += rest.length;
      this.reader().push(rest);
      this.startReading();
      this.pump();
    }
  }

  private onEnd(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.eof = true;
    if (this.state === 'proxy') {
      this.close();
      return;
    }
    try {
      this.parser?.finish();
    } catch (error) {
      this.refuse(error);
      return;
    }
    // Half-close: answer every request already sent whole, then close (RFC 9112 §9.6).
    if (this.state === 'idle') this.close();
    else if (this.state === 'reading') this.pump(); // only stray CRLFs held: pump() closes
  }

  private onClose(): void {
    const wasInApp = this.state === 'in-app';
    this.state = 'closed';
    this.context.registry.delete(this);
    this.spool?.discard();
    this.spool = undefined;
    const exchange = this.exchange;
    if (wasInApp && exchange !== undefined && !exchange.response.finished) {
      this.exchange = undefined;
      exchange.onClientGone?.();
      this.handler.completed(exchange);
    }
  }

  /** The first byte of a request is here (or was held): its head timeout starts. */
  private startReading(): void {
    this.state = 'reading';
    const timeout = this.opts.headerTimeoutMs;
    this.deadline = this.served === 0 ? this.firstDeadline : timeout > 0 ? Date.now() + timeout : 0;
  }

  private pump(): void {
    for (;;) {
      let event;
      try {
        event = this.reader().next();
      } catch (error) {
        this.refuse(error);
        return;
      }
      if (event === null) {
        // At EOF, next() returns null only between messages (else it throws a 400).
        if (this.eof) this.close();
        return;
      }
      if (event.type === 'head') {
        this.head = event.head;
        const head = event.head;
        if (head.contentLength > 0 || head.chunked) {
          // body-min-rate counts from here (tick()).
          this.bodyStart = Date.now();
          this.bodyBase = this.received - this.reader().buffered;
          this.spool = new BodySpool(this.opts.bodyMemoryLimit, head.contentLength);
          // RFC 9110 §10.1.1: a server may omit the 100 once some of the content has come.
          if (head.expectContinue && this.reader().buffered === 0) this.socket.write(CONTINUE);
        }
      } else if (event.type === 'body') {
        try {
          this.spool?.write(event.chunk);
        } catch (error) {
          this.refuse(error);
          return;
        }
      } else {
        this.dispatch();
        return;
      }
    }
  }

  private dispatch(): void {
    const head = this.head as RequestHead;
    this.clientCloses = !head.keepAlive;
    const handshake = head.upgrade
      ? this.context.websockets?.handshake(head, head.versionMinor === 0)
      : undefined;
    if (handshake?.kind === 'refuse') {
      // Not a WebSocket handshake any server could accept: answered here, whatever the app.
      this.handler.refused(
        handshake.status,
        new ProtocolError(
          'CASK_WEBSOCKET_HANDSHAKE',
          `Bad WebSocket handshake: ${handshake.reason}`,
        ),
        this.remoteAddr,
      );
      this.spool?.discard();
      this.spool = undefined;
      this.socket.write(refusal(handshake.status, httpDate()));
      this.close();
      return;
    }
    const body: RequestBody = this.spool === undefined ? { kind: 'none' } : this.spool.finish();
    this.spool = undefined;
    this.head = undefined;
    this.state = 'in-app';
    // checkSend() starts its clock when it first sees output waiting.
    this.lastPending = 0;
    const response = new ResponseWriter(
      this.socket,
      {
        versionMinor: head.versionMinor,
        isHead: head.method === 'HEAD',
        keepAlive: head.keepAlive && !this.closing && this.opts.keepAliveMs > 0,
        serverHeader: this.opts.serverHeader,
        spool: this.context.spool,
      },
      (writer) => this.onResponseDone(writer),
      (message) => this.handler.responseError(exchange, message),
    );
    const exchange: Exchange = {
      request: head,
      body,
      response,
      remoteAddr: this.remoteAddr,
      remotePort: this.remotePort,
      trusted: this.trusted,
      tls: this.tls,
      listener: this.listener,
      onClientGone: undefined,
      handlerState: undefined,
      websocket:
        handshake?.kind === 'websocket'
          ? (this.context.websockets as WebSocketUpgrades).offer(
              head,
              handshake.subprotocols,
              () => this.handOver(),
              () => this.handler.completed(exchange),
            )
          : undefined,
    };
    this.exchange = exchange;
    this.handler.handle(exchange);
  }

  private onResponseDone(writer: ResponseWriter): void {
    const exchange = this.exchange;
    if (exchange === undefined || exchange.response !== writer) return;
    this.exchange = undefined;
    this.served++;
    this.handler.completed(exchange);
    if (this.state === 'closed' || this.state === 'closing') return;
    if (!writer.keepAlive || this.closing) {
      // A client that asked to close and sent nothing after its request has nothing more to
      // send: once the answer has left, the socket is closed without waiting for its end.
      const quiet = this.clientCloses && (this.parser === undefined || this.parser.buffered === 0);
      this.close(!quiet);
      return;
    }
    if (this.socket.writableLength > OUTPUT_HIGH_WATER) {
      this.state = 'flushing';
      this.socket.pause();
      this.socket.once('drain', () => {
        if (this.state === 'flushing') this.next();
      });
      return;
    }
    this.next();
  }

  /**
   * The handler accepted a WebSocket: the socket is the session's from now on. This object
   * stays on the socket inert (every event finds the state closed), as after a takeover.
   */
  private handOver(): { socket: Socket; rest: Buffer } {
    this.state = 'closed';
    this.exchange = undefined;
    this.context.registry.delete(this);
    if (this.socket.isPaused()) this.socket.resume();
    const parser = this.parser;
    this.parser = undefined;
    const rest = parser === undefined ? Buffer.alloc(0) : parser.takeBuffered();
    return { socket: asNetSocket(this.socket), rest };
  }

  private reader(): RequestParser {
    return (this.parser ??= this.context.parsers.take());
  }

  /** Nothing held between requests: the parser goes back to the pool until bytes come. */
  private lendParser(): void {
    const parser = this.parser;
    if (parser === undefined) return;
    parser.settle();
    this.parser = undefined;
    this.context.parsers.give(parser);
  }

  /** The response is out: the next pipelined request, or wait for one. */
  private next(): void {
    if (this.socket.isPaused()) this.socket.resume();
    if (this.parser !== undefined && this.parser.buffered > 0) {
      this.startReading();
      this.pump();
    } else if (this.eof) {
      this.close();
    } else {
      this.lendParser();
      this.state = 'idle';
      this.deadline = Date.now() + this.opts.keepAliveMs;
    }
  }

  /** Part of a request came, the rest too slowly: 408 (RFC 9110 §15.5.9), then close. An idle
   *  connection that sent nothing is closed without one (tick()): there is no request to answer. */
  private timeout(message: string): void {
    this.refuse(new ProtocolError('CASK_HTTP_TIMEOUT', message));
  }

  private refuse(error: unknown): void {
    const status = error instanceof CaskError ? error.status : 400;
    this.handler.refused(status, error instanceof CaskError ? error : undefined, this.remoteAddr);
    this.spool?.discard();
    this.spool = undefined;
    if (this.state !== 'in-app') this.socket.write(cannedResponse(status, { close: true }));
    this.close();
  }

  /**
   * End our side, keep draining input for a moment so the client reads our last answer.
   *
   * The moment is counted from when the answer has left user space ('finish': every byte
   * handed to the kernel, our FIN queued behind them), not from end(): a client that reads a
   * large answer slowly may still have megabytes of it queued here, and destroying the
   * socket then would cut the answer short while the client sees a clean close. Until then
   * the send timeout applies (tick()).
   *
   * Without `linger` (the client asked to close and sent nothing more, or has ended), the
   * socket is closed once the answer has left: at once when nothing is queued in it (the
   * kernel sends what it holds, then the FIN), else on 'finish'. Under TLS always through
   * end(), which sends the close_notify alert after the data.
   */
  private close(linger = true): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    // After the client's end nothing more can come: there is nothing to linger for.
    if (this.eof) linger = false;
    this.lingers = linger;
    // Nothing more is parsed here: the parser goes back to the pool if it is as good as new,
    // else a client that opens a connection per request would cost a new parser each time.
    this.lendParser();
    const socket = this.socket;
    if (!linger && socket.writableLength === 0 && this.tls === undefined) {
      socket.destroy();
      return;
    }
    socket.end();
    socket.resume();
    if (socket.writableFinished) this.onFinish();
    else {
      this.deadline = 0;
      this.lastPending = -1; // the send timeout counts from now
      // Shared by every socket, as the constructor's listeners are: no closure per close.
      socket.once('finish', Connection.socketFinished);
    }
  }

  /** Our answer has left user space: the linger starts. */
  private onFinish(): void {
    if (this.state !== 'closing') return;
    if (this.lingers) this.deadline = Date.now() + LINGER_MS;
    else this.socket.destroy();
  }
}
