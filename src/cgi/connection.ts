// Private to src/cgi: one connection from a web server in front, whatever its protocol. It feeds
// the protocol's sans-IO decoder, buffers each request body (as the HTTP/1.1 transport does:
// a slow upload never holds a worker), hands each complete request to the handler as an
// Exchange, and answers in the protocol. What differs between uwsgi, SCGI and FastCGI is in
// the PROTOCOLS table below; everything else is the same code.
//
// States and the deadline each one runs against. As for HTTP/1.1 (src/http/connection.ts), no
// state owns a timer: the front's sweep calls tick(), which compares the clock with the
// current state's deadline, and the limits are the HTTP listener's.
//
//   state    | what is awaited                    | deadline (0 disables)          | when it passes
//   ---------+------------------------------------+--------------------------------+----------------
//   idle     | the first byte of a request        | accept + header-timeout; after | closed, no answer
//            |                                    |   a FastCGI response, keep-alive|
//   head     | the rest of the request's variables| first byte + header-timeout    | 408, closed
//   body     | the body (variables already read)  | body start + header-timeout    | 408, closed
//            |                                    |   + bytes so far / body-min-rate|
//   in-app   | the response                       | send-timeout without the web   | dropped, app told
//            |                                    |   server taking a byte          |   the client is gone
//   closing  | the peer's FIN after our answer    | LINGER_MS                      | destroyed
//   closed   | —                                  |                                |
//
//   idle ─bytes─▶ head ─variables─▶ body ─end─▶ in-app ─response done─┬─ uwsgi, SCGI ─▶ closing
//    ▲                                                                └─ FastCGI ─┐
//    └──────────────── KEEP_CONN, keep-alive > 0, not shutting down ◀─────────────┘  (else closing)
//   Any state ─refused (limits, bad bytes)─▶ the protocol's 4xx ─▶ closing. FastCGI's management
//   records and a refused second request are answered in whatever state they come. A
//   connection the web server does not keep (or has ended), with nothing received after its
//   request, does not wait for the peer's FIN: it is closed once the response has left.
//
// Back-pressure, in any state: while more than OUTPUT_HIGH_WATER bytes wait for the peer to
// take them, nothing more it sent is decoded and its socket is not read, until 'drain'. Each
// management record costs the peer a few bytes and the front an answer; a peer that sends
// them and never reads its answers would otherwise make the front queue them without bound.
// Stopped so, it fills its own socket buffers instead, and the state's deadline runs on.

import { CaskError, ProtocolError } from '../errors.js';
import type { Exchange, ListenerInfo, RequestHandler, ResponseSink } from '../exchange.js';
import { BodySpool, type RequestBody } from '../http/body.js';
import { readIntoSharedBuffer, type SharedReadOwner } from '../http/shared-reads.js';
import { cannedResponse } from '../http/canned.js';
import {
  LINGER_MS,
  OUTPUT_HIGH_WATER,
  type ConnectionOptions,
  type FrontConnection,
} from '../http/connection.js';
import type { SpoolPolicy } from '../http/response-spool.js';
import type { AllowList } from '../net/allow-ips.js';
import type { ClientSocket } from '../net/client-socket.js';
import type { WebServerProtocol } from '../net/bind.js';
import { CloseDelimitedResponse } from './close-delimited.js';
import { FastCgiDecoder, RecordType, encodeResponseEnd, streamRecords } from './fastcgi.js';
import { FastCgiResponse, cgiError } from './fastcgi-response.js';
import { cgiRequest, type CgiRequest } from './request.js';
import { ScgiDecoder } from './scgi.js';
import { UwsgiDecoder } from './uwsgi.js';
import { decoderLimits, type RequestDecoder } from './wire.js';

/** A response sink as the driver sees it: done, and whether it was cut or asked for a close. */
type Sink = ResponseSink & { readonly cut: boolean; readonly closeAfter?: boolean };

interface SinkOptions {
  id: number;
  isHead: boolean;
  spool: SpoolPolicy | undefined;
}

/** What differs between the three protocols. */
interface WireProtocol {
  /** As the logs name it. */
  readonly title: string;
  /** As the open-connections gauge names it (the `-b` scheme). */
  readonly name: WebServerProtocol;
  decoder(options: ConnectionOptions, maxConnections: number): RequestDecoder;
  sink(
    socket: ClientSocket,
    options: SinkOptions,
    done: (sink: Sink) => void,
    appError: (message: string) => void,
  ): Sink;
  /** The answer to a request refused before it reached the app; undefined: close, no answer. */
  refusal(status: number, id: number): Buffer | undefined;
}

function fastCgiAnswer(status: number, id: number): Buffer {
  return Buffer.concat([
    ...streamRecords(RecordType.STDOUT, id, cgiError(status)),
    encodeResponseEnd(id),
  ]);
}

const CLOSE_DELIMITED = {
  sink: (
    socket: ClientSocket,
    options: SinkOptions,
    done: (sink: Sink) => void,
    appError: (message: string) => void,
  ) => new CloseDelimitedResponse(socket, options, done, appError),
  refusal: (status: number) => cannedResponse(status, { close: true }),
};

export const PROTOCOLS: Readonly<Record<WebServerProtocol, WireProtocol>> = {
  uwsgi: {
    title: 'uwsgi',
    name: 'uwsgi',
    decoder: (options) => new UwsgiDecoder(decoderLimits(options.limits)),
    ...CLOSE_DELIMITED,
  },
  scgi: {
    title: 'SCGI',
    name: 'scgi',
    decoder: (options) => new ScgiDecoder(decoderLimits(options.limits)),
    ...CLOSE_DELIMITED,
  },
  fastcgi: {
    title: 'FastCGI',
    name: 'fastcgi',
    decoder: (options, maxConnections) =>
      new FastCgiDecoder({ ...decoderLimits(options.limits), maxConnections }),
    sink: (socket, options, done, appError) => new FastCgiResponse(socket, options, done, appError),
    // Before a BEGIN_REQUEST there is no request to address an answer to.
    refusal: (status, id) => (id === 0 ? undefined : fastCgiAnswer(status, id)),
  },
};

/**
 * What a connection over max-connections is told before it is closed. nginx and Apache number
 * their FastCGI requests from 1, so the FastCGI answer is addressed to request 1 unread.
 */
export function overloadAnswer(protocol: WebServerProtocol): Buffer {
  return protocol === 'fastcgi' ? fastCgiAnswer(503, 1) : cannedResponse(503, { close: true });
}

/** What every connection of one web-server listener shares. */
export interface WebServerContext {
  readonly options: ConnectionOptions;
  readonly handler: RequestHandler;
  readonly registry: Set<FrontConnection>;
  readonly allow: AllowList;
  readonly spool: SpoolPolicy | undefined;
  /** FCGI_MAX_CONNS, for a FastCGI GET_VALUES query. */
  readonly maxConnections: number;
  /** Told once about nginx's stock fastcgi_params (request.ts, `scriptIsWholePath`). */
  readonly scriptIsWholePath: () => void;
}

type State = 'idle' | 'head' | 'body' | 'in-app' | 'closing' | 'closed';

interface StreamHandle {
  writeQueueSize?: number;
}

export class WebServerConnection implements FrontConnection, SharedReadOwner {
  private readonly decoder: RequestDecoder;
  private readonly opts: ConnectionOptions;
  private readonly handler: RequestHandler;
  private state: State = 'idle';
  private deadline: number;
  private readonly firstDeadline: number;
  private served = 0;
  /** The current request, once its variables are in. */
  private request: CgiRequest | undefined;
  private keepConn = false;
  private spool: BodySpool | undefined;
  private bodyReceived = 0;
  private bodyStart = 0;
  private exchange: Exchange | undefined;
  private sink: Sink | undefined;
  private closing = false;
  private eof = false;
  /** Reading is stopped until the peer has taken what the front wrote (see the header). */
  private awaitingDrain = false;
  // Output progress seen by the last tick (send-timeout).
  private sentSince = 0;
  private lastPending = 0;
  private lastQueued = 0;
  private readonly peerAddr: string;
  private readonly peerPort: string;

  constructor(
    private readonly socket: ClientSocket,
    private readonly wire: WireProtocol,
    private readonly context: WebServerContext,
    private readonly listener: ListenerInfo,
  ) {
    this.opts = context.options;
    this.handler = context.handler;
    this.decoder = wire.decoder(this.opts, context.maxConnections);
    this.peerAddr = socket.remoteAddress ?? '';
    this.peerPort = socket.remotePort === undefined ? '' : String(socket.remotePort);
    context.registry.add(this);
    socket.setNoDelay(true);
    // Reads land in the front's one buffer and come to onRead() (src/http/shared-reads.ts).
    readIntoSharedBuffer(socket, this);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    const now = Date.now();
    const { headerTimeoutMs, keepAliveMs } = this.opts;
    this.firstDeadline = headerTimeoutMs > 0 ? now + headerTimeoutMs : 0;
    this.deadline =
      this.firstDeadline !== 0 ? this.firstDeadline : keepAliveMs > 0 ? now + keepAliveMs : 0;
  }

  /** Server shutdown: close now if idle, else after the response in progress. */
  shutdown(): void {
    this.closing = true;
    if (this.idle) this.close();
  }

  get protocol(): string {
    return this.wire.name;
  }

  /** The state in the table above, for the open-connections gauge (src/admin). */
  get phase(): string {
    return this.state;
  }

  get idle(): boolean {
    return this.state === 'idle' && this.decoder.buffered === 0;
  }

  tick(now: number): void {
    switch (this.state) {
      case 'idle':
        if (this.deadline !== 0 && now >= this.deadline) this.close();
        return;
      case 'head':
        if (this.deadline !== 0 && now >= this.deadline) {
          this.timeout(`Request variables not received within ${this.opts.headerTimeoutMs} ms`);
        }
        return;
      case 'body':
        if (this.opts.bodyMinRate > 0) {
          const bytes = this.bodyReceived;
          const allowed = this.opts.headerTimeoutMs + (bytes * 1000) / this.opts.bodyMinRate;
          if (now - this.bodyStart > allowed) {
            this.timeout(
              `Request body slower than ${this.opts.bodyMinRate} bytes/s: ${bytes} bytes in ${now - this.bodyStart} ms`,
            );
          }
        }
        return;
      case 'in-app':
        this.checkSend(now);
        return;
      case 'closing':
        if (now >= this.deadline) this.socket.destroy();
        return;
      default:
        return;
    }
  }

  /** The web server has taken nothing of the response for send-timeout: drop it (as HTTP/1.1). */
  private checkSend(now: number): void {
    const limit = this.opts.sendTimeoutMs;
    if (limit <= 0) return;
    const pending = this.socket.writableLength;
    const handle = (this.socket as unknown as { _handle?: StreamHandle })._handle;
    const queued = handle?.writeQueueSize ?? 0;
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
        `${this.wire.title} peer read nothing for ${limit} ms: ${pending} bytes pending`,
      ),
      this.clientAddr,
    );
    this.socket.destroy();
  }

  /** Who the current request is from, for the logs: the web server's client, else the peer. */
  private get clientAddr(): string {
    return this.request?.remoteAddr ?? this.peerAddr;
  }

  /** SharedReadOwner: reads come here until the connection is closed. */
  get takesReads(): boolean {
    return this.state !== 'closed';
  }

  /**
   * SharedReadOwner: `n` bytes are all body of the request being read, which pump() writes to
   * the spool (copied in memory, or to the file) before onData() returns.
   */
  consumesNow(n: number): boolean {
    return this.state === 'body' && n <= this.decoder.bodyAwaited;
  }

  /** SharedReadOwner: a read, as the 'data' event would have brought it. */
  onRead(bytes: Buffer): void {
    this.onData(bytes);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.decoder.push(chunk);
    if (this.state === 'idle') this.startReading();
    this.pump();
  }

  private onEnd(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.eof = true;
    // A request not read whole has no one left to answer it; one in the app still gets its
    // response (the web server only shut its side).
    if (this.state !== 'in-app') this.close();
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

  private startReading(): void {
    this.state = 'head';
    const timeout = this.opts.headerTimeoutMs;
    this.deadline = this.served === 0 ? this.firstDeadline : timeout > 0 ? Date.now() + timeout : 0;
  }

  private pump(): void {
    for (;;) {
      if (this.state === 'closing' || this.state === 'closed') return;
      if (this.socket.writableLength > OUTPUT_HIGH_WATER) {
        this.awaitDrain();
        return;
      }
      let event;
      try {
        event = this.decoder.next();
      } catch (error) {
        this.refuse(error);
        return;
      }
      if (event === null) return;
      switch (event.type) {
        case 'reply':
          this.socket.write(event.bytes);
          break;
        case 'head':
          if (!this.onHead(event.params, event.keepConn)) return;
          break;
        case 'body':
          if (!this.onBody(event.chunk)) return;
          break;
        case 'end':
          this.onRequestEnd();
          break;
        case 'abort':
          this.onAbort();
          return;
      }
    }
  }

  /**
   * The peer has not taken what was written to it: stop reading it, and decode what is held
   * only once it has. What the decoder holds is at most the reads that came before the pause.
   */
  private awaitDrain(): void {
    if (this.awaitingDrain) return;
    this.awaitingDrain = true;
    this.socket.pause();
    this.socket.once('drain', () => {
      this.awaitingDrain = false;
      // A connection that is closing reads on by itself (close()), or not at all.
      if (this.state === 'closing' || this.state === 'closed') return;
      this.socket.resume();
      this.pump();
    });
  }

  private onHead(params: string[], keepConn: boolean): boolean {
    try {
      this.request = cgiRequest(params, this.opts.limits);
    } catch (error) {
      this.refuse(error);
      return false;
    }
    if (this.request.scriptIsWholePath) this.context.scriptIsWholePath();
    this.keepConn = keepConn;
    this.state = 'body';
    this.bodyStart = Date.now();
    this.bodyReceived = 0;
    return true;
  }

  private onBody(chunk: Buffer): boolean {
    const request = (this.request as CgiRequest).request;
    this.bodyReceived += chunk.length;
    const { maxBodySize } = this.opts.limits;
    if (request.contentLength >= 0 && this.bodyReceived > request.contentLength) {
      this.refuse(
        new ProtocolError(
          'CASK_CGI_PROTOCOL',
          `Request body longer than its CONTENT_LENGTH: ${request.contentLength}`,
        ),
      );
      return false;
    }
    if (maxBodySize > 0 && this.bodyReceived > maxBodySize) {
      this.refuse(
        new ProtocolError(
          'CASK_HTTP_BODY_TOO_LARGE',
          `Request body too large: more than ${maxBodySize} bytes, max-body-size is ${maxBodySize}`,
        ),
      );
      return false;
    }
    this.spool ??= new BodySpool(this.opts.bodyMemoryLimit, request.contentLength);
    try {
      this.spool.write(chunk);
    } catch (error) {
      this.refuse(error);
      return false;
    }
    return true;
  }

  private onRequestEnd(): void {
    const cgi = this.request as CgiRequest;
    const declared = cgi.request.contentLength;
    if (declared > 0 && this.bodyReceived < declared) {
      this.refuse(
        new ProtocolError(
          'CASK_CGI_PROTOCOL',
          `Request body shorter than its CONTENT_LENGTH: ${this.bodyReceived} of ${declared} bytes`,
        ),
      );
      return;
    }
    const body: RequestBody = this.spool === undefined ? { kind: 'none' } : this.spool.finish();
    this.spool = undefined;
    this.state = 'in-app';
    this.lastPending = 0;
    const request = cgi.request;
    const remoteAddr = cgi.remoteAddr ?? this.peerAddr;
    const sink = this.wire.sink(
      this.socket,
      { id: this.decoder.requestId, isHead: request.method === 'HEAD', spool: this.context.spool },
      (done) => this.onResponseDone(done),
      (message) => this.handler.responseError(exchange, message),
    );
    const exchange: Exchange = {
      request,
      body,
      response: sink,
      remoteAddr,
      remotePort: cgi.remotePort ?? this.peerPort,
      // The client is the one the web server names: its X-Forwarded-* count only if it is itself
      // a trusted proxy (as after a PROXY header, src/http/connection.ts).
      trusted:
        cgi.remoteAddr === undefined
          ? this.context.allow.trustsPeer(remoteAddr)
          : this.context.allow.has(remoteAddr),
      tls: undefined,
      listener: this.listener,
      onClientGone: undefined,
      handlerState: undefined,
    };
    this.exchange = exchange;
    this.sink = sink;
    this.handler.handle(exchange);
  }

  /** FastCGI's ABORT_REQUEST: the web server's client went away. */
  private onAbort(): void {
    const exchange = this.exchange;
    if (this.state === 'in-app' && exchange !== undefined) {
      // Whatever of the response is on its way cannot be called back: the connection goes.
      this.exchange = undefined;
      exchange.onClientGone?.();
      this.handler.completed(exchange);
      this.socket.destroy();
      return;
    }
    // Not yet in the app: nothing to cancel. The request ends as the specification asks.
    this.spool?.discard();
    this.spool = undefined;
    this.socket.write(encodeResponseEnd(this.decoder.requestId));
    this.decoder.responded();
    this.request = undefined;
    this.afterResponse(false);
  }

  private onResponseDone(sink: Sink): void {
    const exchange = this.exchange;
    if (exchange === undefined || exchange.response !== sink) return;
    this.exchange = undefined;
    this.sink = undefined;
    this.served++;
    this.handler.completed(exchange);
    this.request = undefined;
    if (sink.cut || this.state === 'closed' || this.state === 'closing') return;
    this.decoder.responded();
    this.afterResponse(sink.closeAfter === true);
  }

  /** A request is answered: the next one (FastCGI keep-conn), or close. */
  private afterResponse(closeAfter: boolean): void {
    if (!this.keepConn || closeAfter || this.closing || this.eof || this.opts.keepAliveMs <= 0) {
      // The web server sends nothing more on a connection it does not keep (uwsgi and SCGI
      // carry one request each; FastCGI without KEEP_CONN), nor after its own end: with
      // nothing more here, the socket is closed once the response has left, without
      // waiting for the peer's end.
      const quiet = (!this.keepConn || this.eof) && this.decoder.buffered === 0;
      this.close(!quiet);
      return;
    }
    if (this.decoder.buffered > 0) {
      this.startReading();
      this.pump();
      return;
    }
    this.state = 'idle';
    this.deadline = Date.now() + this.opts.keepAliveMs;
  }

  private timeout(message: string): void {
    this.refuse(new ProtocolError('CASK_HTTP_TIMEOUT', message));
  }

  private refuse(error: unknown): void {
    const status = error instanceof CaskError ? error.status : 400;
    this.handler.refused(status, error instanceof CaskError ? error : undefined, this.clientAddr);
    this.spool?.discard();
    this.spool = undefined;
    if (this.state === 'in-app') {
      // Bytes that break the protocol while the app runs: the peer cannot be trusted to read
      // the rest of the response either.
      this.sink?.abort();
      this.close();
      return;
    }
    const answer = this.wire.refusal(status, this.decoder.requestId);
    if (answer !== undefined) this.socket.write(answer);
    this.close();
  }

  /**
   * End our side, and read and discard for a moment so the peer reads our last answer; or,
   * without `linger`, close once the answer has left (the peer has nothing more to send).
   */
  private close(linger = true): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    this.deadline = Date.now() + LINGER_MS;
    const socket = this.socket;
    if (!linger) {
      if (socket.writableLength === 0) socket.destroy();
      else {
        socket.end();
        socket.once('finish', () => socket.destroy());
      }
      return;
    }
    socket.end();
    socket.resume();
  }
}
