// Private to src/http2: one HTTP/2 stream as an exchange. It reads the request body whole
// (memory, then a temporary file, as HTTP/1.1 does), hands the exchange to the handler, and
// watches the stream's deadlines on the front's sweep (session.ts calls tick()).
//
//   state    | what is awaited                   | deadline (0 disables)        | when it passes
//   ---------+-----------------------------------+------------------------------+-----------------
//   reading  | the rest of the body (DATA frames)| stream start + header-timeout| 408, RST_STREAM
//            |                                   |   + bytes so far/body-min-rate|   (NO_ERROR)
//   in-app   | the response (worker's timeout)   | send-timeout without the     | RST_STREAM
//   flushing | the client to take what is queued |   client taking a byte       |   (CANCEL); app
//            |                                   |                              |   told client gone
//   closed   | —                                 |                              |
//
//   reading ─END_STREAM─▶ in-app ─response done─▶ flushing ─stream closed─▶ closed
//   Any state ─RST_STREAM from the client, or the session gone─▶ closed; if the response was
//   not done, `onClientGone` frees the worker's thread exactly as a disconnect does.

import { constants, type ServerHttp2Stream } from 'node:http2';
import { CaskError, ProtocolError } from '../errors.js';
import type { ClientInfo, Exchange, ListenerInfo, RequestHandler } from '../exchange.js';
import { BodySpool, type RequestBody } from '../http/body.js';
import type { SpoolPolicy } from '../http/response-spool.js';
import type { StreamRequest } from './request.js';
import { respondCanned, StreamResponse } from './response.js';

/** What every stream of a front shares. */
export interface StreamContext {
  readonly handler: RequestHandler;
  readonly headerTimeoutMs: number;
  readonly bodyMinRate: number;
  readonly sendTimeoutMs: number;
  readonly bodyMemoryLimit: number;
  /** Largest request body; 0 for no limit. */
  readonly maxBodySize: number;
  readonly serverHeader: string;
  readonly spool: SpoolPolicy | undefined;
}

type State = 'reading' | 'in-app' | 'flushing' | 'closed';

export class StreamExchange {
  private state: State;
  private body: BodySpool | undefined;
  private received = 0;
  private readonly start = Date.now();
  private exchange: Exchange | undefined;
  private response: StreamResponse | undefined;
  // Output progress seen by the last tick (send-timeout).
  private lastPending = 0;
  private sentSince = 0;

  /**
   * @param endStream the HEADERS frame ended the stream: there is no body
   * @param gone called once the stream has closed, whatever the reason
   */
  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly request: StreamRequest,
    endStream: boolean,
    private readonly context: StreamContext,
    private readonly client: ClientInfo,
    private readonly listener: ListenerInfo,
    private readonly gone: (exchange: StreamExchange) => void,
  ) {
    stream.once('close', () => this.onClose());
    if (endStream) {
      this.state = 'in-app';
      this.dispatch({ kind: 'none' });
      return;
    }
    this.state = 'reading';
    this.body = new BodySpool(context.bodyMemoryLimit, request.contentLength);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('end', () => this.onEnd());
    // RFC 9110 §10.1.1: the client waits for this before its body (RFC 9113 §8.1: a HEADERS
    // frame with :status 100 ahead of the response). Not on a stream the client has reset in
    // the same read as its HEADERS: it is closed already, and Node throws for it.
    if (request.expectContinue && !stream.closed && !stream.destroyed) {
      stream.additionalHeaders({ ':status': 100 });
    }
  }

  /** The front's sweep: act on the current state's deadline (see the table above). */
  tick(now: number): void {
    const { bodyMinRate, headerTimeoutMs, sendTimeoutMs } = this.context;
    if (this.state === 'reading') {
      if (bodyMinRate <= 0) return;
      const allowed = headerTimeoutMs + (this.received * 1000) / bodyMinRate;
      if (now - this.start > allowed) {
        this.refuse(
          new ProtocolError(
            'CASK_HTTP_TIMEOUT',
            `Request body slower than ${bodyMinRate} bytes/s: ${this.received} bytes in ${now - this.start} ms`,
          ),
        );
      }
      return;
    }
    if ((this.state !== 'in-app' && this.state !== 'flushing') || sendTimeoutMs <= 0) return;
    const pending = this.stream.writableLength;
    if (pending === 0 || pending !== this.lastPending) {
      this.lastPending = pending;
      this.sentSince = now;
      return;
    }
    if (now - this.sentSince < sendTimeoutMs) return;
    this.context.handler.refused(
      408,
      new CaskError(
        'CASK_SEND_TIMEOUT',
        `HTTP/2 client read nothing of a stream for ${sendTimeoutMs} ms: ${pending} bytes pending`,
      ),
      this.client.remoteAddr,
    );
    // Only this stream: the client's other streams are not at fault. Its closing tells the
    // app the client is gone, which frees the worker's thread.
    this.stream.close(constants.NGHTTP2_CANCEL);
  }

  private onData(chunk: Buffer): void {
    if (this.state !== 'reading') return;
    this.received += chunk.length;
    const max = this.context.maxBodySize;
    if (max > 0 && this.received > max) {
      this.refuse(
        new ProtocolError(
          'CASK_HTTP_BODY_TOO_LARGE',
          `Request body larger than max-body-size: more than ${max} bytes`,
        ),
      );
      return;
    }
    try {
      (this.body as BodySpool).write(chunk);
    } catch (error) {
      this.refuse(error as CaskError);
    }
  }

  private onEnd(): void {
    if (this.state !== 'reading') return;
    const body = (this.body as BodySpool).finish();
    this.body = undefined;
    this.state = 'in-app';
    this.dispatch(body);
  }

  private dispatch(body: RequestBody): void {
    const { handler, serverHeader, spool } = this.context;
    const response = new StreamResponse(
      this.stream,
      { isHead: this.request.method === 'HEAD', serverHeader, spool },
      (done) => this.onResponseDone(done),
      (message) => handler.responseError(exchange, message),
    );
    const exchange: Exchange = {
      request: this.request,
      body,
      response,
      remoteAddr: this.client.remoteAddr,
      remotePort: this.client.remotePort,
      trusted: this.client.trusted,
      tls: this.client.tls,
      listener: this.listener,
      onClientGone: undefined,
      handlerState: undefined,
    };
    this.response = response;
    this.exchange = exchange;
    handler.handle(exchange);
  }

  private onResponseDone(response: StreamResponse): void {
    const exchange = this.exchange;
    if (exchange === undefined || this.response !== response) return;
    this.exchange = undefined;
    if (this.state === 'in-app') this.state = 'flushing';
    this.lastPending = 0;
    this.context.handler.completed(exchange);
  }

  /** A request refused while its body was coming: the canned answer, then RST_STREAM(NO_ERROR)
   *  asks the client to stop sending (RFC 9113 §8.1). */
  private refuse(error: CaskError): void {
    this.context.handler.refused(error.status, error, this.client.remoteAddr);
    this.body?.discard();
    this.body = undefined;
    this.state = 'flushing';
    respondCanned(
      this.stream,
      error.status,
      this.context.serverHeader,
      this.request.method === 'HEAD',
    );
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_NO_ERROR);
  }

  private onClose(): void {
    const wasInApp = this.state === 'in-app';
    this.state = 'closed';
    this.body?.discard();
    this.body = undefined;
    const exchange = this.exchange;
    if (wasInApp && exchange !== undefined && this.response?.finished !== true) {
      this.exchange = undefined;
      exchange.onClientGone?.();
      this.context.handler.completed(exchange);
    }
    this.gone(this);
  }
}
