// One client connection: feeds the sans-IO parser, buffers each request body, hands complete
// requests to the handler one at a time (pipelined requests wait in the parser, in order),
// and decides keep-alive, idle timeouts and closing.
//
//   idle ──bytes──▶ reading ──end of request──▶ in-app ──response done──▶ idle (keep-alive)
//     │                │                           │                      └─▶ closed
//     └─keep-alive─────┴─no progress (408)         └─client gone: handler told, response dropped
//       timeout: close     / bad request (4xx): canned answer, then closed

import type { Socket } from 'node:net';
import { CaskError, ProtocolError } from '../errors.js';
import { BodySpool, type RequestBody } from './body.js';
import { cannedResponse } from './canned.js';
import { RequestParser, type ParserLimits, type RequestHead } from './parser.js';
import { ResponseWriter } from './response.js';

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
/** Pipelined input held while a response is pending, before we stop reading the socket. */
const PIPELINE_HIGH_WATER = 64 * 1024;
/** After a refused request, read and discard for this long so our answer is not lost to a reset. */
const LINGER_MS = 2000;

export interface ConnectionOptions {
  limits: ParserLimits;
  keepAliveMs: number;
  /** A request being received that makes no progress for this long gets a 408. */
  readTimeoutMs: number;
  bodyMemoryLimit: number;
  serverHeader: string;
}

export interface ListenerInfo {
  scheme: 'http' | 'https';
  serverName: string;
  serverPort: string;
}

export interface HttpExchange {
  readonly head: RequestHead;
  readonly body: RequestBody;
  readonly response: ResponseWriter;
  readonly remoteAddr: string;
  readonly remotePort: string;
  readonly listener: ListenerInfo;
  /** Set by the handler: called when the client goes away before the response is done. */
  onClientGone: (() => void) | undefined;
}

export interface RequestHandler {
  handle(exchange: HttpExchange): void;
  /** A request was refused by the front (bad HTTP, timeout); for counters and logs. */
  refused(status: number, error: CaskError | undefined, remoteAddr: string): void;
  /** A response is complete (or was abandoned); for the access log. */
  completed(exchange: HttpExchange): void;
  /** The app's response broke HTTP (a wrong Content-Length, say); for the error log. */
  responseError(exchange: HttpExchange, message: string): void;
}

type State = 'idle' | 'reading' | 'in-app' | 'closed';

export class Connection {
  private readonly parser: RequestParser;
  private state: State = 'idle';
  private head: RequestHead | undefined;
  private spool: BodySpool | undefined;
  private exchange: HttpExchange | undefined;
  private timer: NodeJS.Timeout | undefined;
  private progress = 0;
  private closing = false;
  private readonly remoteAddr: string;
  private readonly remotePort: string;

  constructor(
    private readonly socket: Socket,
    private readonly opts: ConnectionOptions,
    private readonly handler: RequestHandler,
    private readonly listener: ListenerInfo,
    private readonly registry: Set<Connection>,
  ) {
    this.parser = new RequestParser(opts.limits);
    this.remoteAddr = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort === undefined ? '' : String(socket.remotePort);
    registry.add(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    this.arm(opts.keepAliveMs);
  }

  /** Server shutdown: close now if idle, else after the response in progress. */
  shutdown(): void {
    this.closing = true;
    if (this.state === 'idle' && this.parser.buffered === 0) this.close();
  }

  get idle(): boolean {
    return this.state === 'idle' && this.parser.buffered === 0;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.progress++;
    this.parser.push(chunk);
    if (this.state === 'idle') {
      this.state = 'reading';
      this.arm(this.opts.readTimeoutMs);
    }
    if (this.state === 'reading') this.pump();
    else if (this.parser.buffered > PIPELINE_HIGH_WATER) this.socket.pause();
  }

  private onEnd(): void {
    if (this.state === 'closed') return;
    try {
      this.parser.finish();
    } catch (error) {
      this.refuse(error);
      return;
    }
    // Half-close between requests: nothing more will come, so finish what is pending and close.
    this.closing = true;
    if (this.state !== 'in-app') this.close();
  }

  private onClose(): void {
    const wasInApp = this.state === 'in-app';
    this.state = 'closed';
    clearTimeout(this.timer);
    this.registry.delete(this);
    this.spool?.discard();
    this.spool = undefined;
    const exchange = this.exchange;
    if (wasInApp && exchange !== undefined && !exchange.response.finished) {
      this.exchange = undefined;
      exchange.onClientGone?.();
      this.handler.completed(exchange);
    }
  }

  private pump(): void {
    for (;;) {
      let event;
      try {
        event = this.parser.next();
      } catch (error) {
        this.refuse(error);
        return;
      }
      if (event === null) return;
      if (event.type === 'head') {
        this.head = event.head;
        const head = event.head;
        if (head.contentLength > 0 || head.chunked) {
          this.spool = new BodySpool(this.opts.bodyMemoryLimit);
          if (head.expectContinue && head.versionMinor === 1) this.socket.write(CONTINUE);
        }
      } else if (event.type === 'body') {
        this.spool?.write(event.chunk);
      } else {
        this.dispatch();
        return;
      }
    }
  }

  private dispatch(): void {
    const head = this.head as RequestHead;
    const body: RequestBody = this.spool === undefined ? { kind: 'none' } : this.spool.finish();
    this.spool = undefined;
    this.head = undefined;
    this.state = 'in-app';
    clearTimeout(this.timer);
    const response = new ResponseWriter(
      this.socket,
      {
        versionMinor: head.versionMinor,
        isHead: head.method === 'HEAD',
        keepAlive: head.keepAlive && !this.closing,
        serverHeader: this.opts.serverHeader,
      },
      (writer) => this.onResponseDone(writer),
      (message) => this.handler.responseError(exchange, message),
    );
    const exchange: HttpExchange = {
      head,
      body,
      response,
      remoteAddr: this.remoteAddr,
      remotePort: this.remotePort,
      listener: this.listener,
      onClientGone: undefined,
    };
    this.exchange = exchange;
    this.handler.handle(exchange);
  }

  private onResponseDone(writer: ResponseWriter): void {
    const exchange = this.exchange;
    if (exchange === undefined || exchange.response !== writer) return;
    this.exchange = undefined;
    this.handler.completed(exchange);
    if (this.state === 'closed') return;
    if (!writer.keepAlive || this.closing) {
      this.close();
      return;
    }
    this.state = 'idle';
    if (this.socket.isPaused()) this.socket.resume();
    if (this.parser.buffered > 0) {
      this.state = 'reading';
      this.arm(this.opts.readTimeoutMs);
      this.pump();
    } else this.arm(this.opts.keepAliveMs);
  }

  private refuse(error: unknown): void {
    const status = error instanceof CaskError ? error.status : 400;
    this.handler.refused(status, error instanceof CaskError ? error : undefined, this.remoteAddr);
    this.spool?.discard();
    this.spool = undefined;
    if (this.state !== 'in-app') this.socket.write(cannedResponse(status, { close: true }));
    this.linger();
  }

  /** End our side, keep draining input for a moment so the client reads our answer. */
  private linger(): void {
    this.state = 'closed';
    clearTimeout(this.timer);
    this.socket.end();
    this.socket.resume();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  private close(): void {
    this.state = 'closed';
    clearTimeout(this.timer);
    this.socket.end();
    // A peer that never closes its side must not hold the descriptor.
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    if (ms <= 0) return;
    const seen = this.progress;
    this.timer = setTimeout(() => this.onTimer(seen, ms), ms);
    this.timer.unref();
  }

  private onTimer(seen: number, ms: number): void {
    if (this.state === 'idle') {
      this.close();
    } else if (this.state === 'reading') {
      if (this.progress !== seen) {
        this.arm(ms);
        return;
      }
      this.refuse(new ProtocolError('CASK_HTTP_TIMEOUT', `Request not received within ${ms} ms of silence`));
    }
  }
}
