// The only module that knows both the exchange contract (src/exchange.ts) and the worker link:
// a request from any transport becomes frames to a worker, and the worker's frames become calls
// on the exchange's response sink, with flow-control credit handed back as the sink takes the
// bytes. Which protocol the request came in on is not known here.

import { closeSync, fstatSync } from 'node:fs';
import { CaskError, type WorkerError } from './errors.js';
import { removeBodyFile } from './http/body.js';
import { RequestMetrics, type RequestTimes } from './admin/instruments.js';
import type { Exchange, RequestHandler } from './exchange.js';
import type { WorkerLink } from './ipc/link.js';
import { kept, type Loan } from './ipc/read-loans.js';
import { WebSocketBridge } from './websocket/index.js';
import {
  FLAG_END,
  INITIAL_WINDOW,
  Kind,
  encodeEnviron,
  type ResponseHead,
  type SendFile,
  type WsAccept,
  type WsClose,
} from './ipc/protocol.js';
import type { AccessLog, Logger } from './log.js';
import type { Pool, PoolJob } from './pool/pool.js';
import type { SendfileOffload } from './static/offload.js';
import { openWithoutWaiting } from './static/open-file.js';
import type { Held, WorkerProcess } from './pool/worker.js';
import { buildEnviron } from './wsgi/environ.js';
import { addRequestIds, RequestIds } from './request-id.js';

const BODY_FRAME = 1024 * 1024;

/** Where sending a memory body stands: the worker may take `window` bytes more. */
interface BodyFeed {
  readonly link: WorkerLink;
  readonly id: number;
  /** The body itself: it outlives the exchange when the app answered before reading it all. */
  readonly body: { readonly chunks: Buffer[]; readonly length: number };
  window: number;
  /** The chunk being sent, and how far into it. */
  chunk: number;
  offset: number;
  /** Bytes sent so far. */
  sent: number;
}

export interface GatewayOptions {
  rootPath: string;
  /** Whether an address named by a proxy header is itself a trusted proxy (forwarded-allow-ips). */
  isTrustedProxy: (address: string) => boolean;
  /** `cask dev`: whether this exchange may see the app's error page (src/dev/hosts.ts). */
  errorPages?: ((exchange: Exchange) => boolean) | undefined;
  /** Serves the file of an app's X-Sendfile / X-Accel-Redirect header (`--sendfile-root`). */
  offload?: SendfileOffload | undefined;
  /** Where the request counters and latency histograms go (made here when not given). */
  metrics?: RequestMetrics;
}

export interface GatewayCounters {
  requests: number;
  refused: number;
  appErrors: number;
  failed: number;
}

/** The methods RFC 9110 §9.2.2 defines as idempotent: a request with one of them may be
 *  sent again when the outcome of the first attempt is unknown. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);

class GatewayJob implements PoolJob, RequestTimes {
  /** performance.now() when the pool handed the request to a worker; -1 while queued. */
  dispatchedAt = -1;
  /** performance.now() when the worker's final frame came (or the front gave up); -1 before. */
  doneAt = -1;
  /** The pool's (PoolJob.poolHeld), declared so that every job has the same shape. */
  poolHeld: Held | undefined = undefined;
  /**
   * The exchange until it is completed (its response sent, or its client gone); then
   * undefined, and what the worker still sends for it is dropped. Letting go of it matters
   * for the collector: a job still pointed to by an object that V8 had promoted to its old
   * generation, and that died there, would keep the whole exchange (request head, response
   * writer, environ) alive through every young-generation collection until the next full
   * one, and have it promoted too (docs/performance.md, "Garbage that outlived its
   * request").
   */
  exchange: Exchange | undefined;
  /** Kept for what is said of a job whose exchange is over: log lines, /stats. */
  readonly method: string;
  readonly target: string;
  readonly client: string;

  constructor(
    private readonly gateway: Gateway,
    exchange: Exchange,
    private readonly environ: Buffer,
    /** performance.now() when the gateway took the request. */
    readonly startedAt: number,
    /** X-Request-Id as the app sees it. */
    readonly requestId: string,
  ) {
    this.exchange = exchange;
    this.method = exchange.request.method;
    this.target = exchange.request.target;
    this.client = exchange.remoteAddr;
  }

  /** The exchange is over for the client: see `exchange`. */
  release(): void {
    this.exchange = undefined;
  }

  /** The app's head named a file that the front sends instead of the app's body. */
  private offloaded = false;
  /** A worker sent something of a response for it (head, body, file, error). */
  private answered = false;

  /**
   * PoolJob.replayable: nothing of a response came, the client still waits, and the method is
   * one RFC 9110 §9.2.2 calls idempotent; a WebSocket handshake is never sent again.
   */
  replayable(): boolean {
    return (
      !this.answered &&
      this.exchange !== undefined &&
      this.ws === undefined &&
      IDEMPOTENT_METHODS.has(this.method)
    );
  }

  dispatch(worker: WorkerProcess, id: number): void {
    // Dispatched at once, from inside handle(): no time was spent queued, and a clock read
    // (~50 ns here) is saved on the hot path.
    this.dispatchedAt = this.gateway.submitting === this ? this.startedAt : performance.now();
    const exchange = this.exchange;
    // The pool never dispatches a job whose client is gone (cancel() takes it out first).
    if (exchange === undefined) return;
    const body = exchange.body;
    const link = worker.link;
    if (exchange.websocket !== undefined && worker.interface === 'asgi') {
      // A WebSocket handshake for an ASGI app: the app answers it (src/websocket/bridge.ts).
      // A WSGI app gets it as the plain GET it also is, and its answer is no switch.
      this.untimed = true;
      this.ws = new WebSocketBridge(this, link, id);
      this.ws.start(this.environ);
      return;
    }
    if (body.kind === 'none') {
      link.send(id, Kind.REQUEST, FLAG_END, this.environ);
      return;
    }
    link.send(id, Kind.REQUEST, 0, this.environ);
    if (body.kind === 'file') {
      link.send(id, Kind.BODY_FILE, FLAG_END, Buffer.from(body.path, 'utf8'));
      return;
    }
    if (body.length === 0) {
      link.send(id, Kind.BODY, FLAG_END);
      return;
    }
    // A body in memory goes within the request window; the worker's CREDIT frames widen it
    // (docs/protocol.md, "Flow control"). A request given back by RECLAIM starts over here.
    this.feed = { link, id, body, window: INITIAL_WINDOW, chunk: 0, offset: 0, sent: 0 };
    this.sendBody();
  }

  /** The part of a memory body still to send to the worker holding the request. */
  private feed: BodyFeed | undefined;
  /** Set when the request became a WebSocket exchange with an ASGI worker. */
  ws: WebSocketBridge | undefined;
  /** A WebSocket lives as long as its client wants: the request timeout does not apply. */
  untimed = false;

  /** Credit for the app's WebSocket messages (BridgeHost). */
  grant(bytes: number): void {
    if (bytes > 0) this.gateway.pool.grant(this, bytes);
  }

  onWsAccept(accept: WsAccept): void {
    this.ws?.accept(accept);
  }

  onWsSend(data: Buffer, binary: boolean): void {
    this.ws?.send(data, binary);
  }

  onWsClose(close: WsClose, end: boolean): void {
    if (end) this.doneAt = performance.now();
    this.ws?.close(close, end);
  }

  goingAway(): boolean {
    return this.ws?.goingAway() ?? false;
  }

  onCredit(bytes: number): void {
    if (this.ws !== undefined) {
      this.ws.credit(bytes);
      return;
    }
    if (this.feed === undefined) return;
    this.feed.window += bytes;
    this.sendBody();
  }

  private sendBody(): void {
    const feed = this.feed as BodyFeed;
    const body = feed.body;
    while (feed.window > 0 && feed.sent < body.length) {
      const chunk = body.chunks[feed.chunk] as Buffer;
      const n = Math.min(BODY_FRAME, chunk.length - feed.offset, feed.window);
      feed.sent += n;
      feed.window -= n;
      const end = feed.sent === body.length;
      feed.link.send(
        feed.id,
        Kind.BODY,
        end ? FLAG_END : 0,
        chunk.subarray(feed.offset, feed.offset + n),
      );
      feed.offset += n;
      if (feed.offset === chunk.length) {
        feed.chunk++;
        feed.offset = 0;
      }
    }
    if (feed.sent === body.length) this.feed = undefined;
  }

  describe(): string {
    return `${this.method} ${this.target} from ${this.client || 'a local socket'}`;
  }

  private readonly flushed = (bytes: number): void => {
    if (bytes > 0) this.gateway.pool.grant(this, bytes);
  };

  /** Loans are passed on to responses that take them; others get copies (onHead, onData). */
  readonly borrows = true;

  onHead(status: string, headers: string[], body: Buffer, end: boolean, loan?: Loan): void {
    this.answered = true;
    if (end) this.doneAt = performance.now();
    const offload = this.gateway.options.offload;
    if (offload !== undefined && offload.wants(headers)) {
      // The app's body is not sent: it is credited at once, and a body still to come is not
      // waited for, so the app's thread is free as soon as its headers are here.
      this.offloaded = true;
      this.flushed(body.length);
      if (!end) this.gateway.pool.cancel(this);
      if (this.exchange !== undefined) offload.serve(this.exchange, status, headers);
      return;
    }
    // A response for an exchange that is over has nobody to go to (as a finished writer would
    // drop it).
    if (this.exchange === undefined) return;
    const response = this.exchange.response;
    if (response.borrows === true) response.head(status, headers, body, end, this.flushed, loan);
    else response.head(status, headers, kept(body, loan), end, this.flushed);
  }

  onData(chunk: Buffer, end: boolean, loan?: Loan): void {
    this.answered = true;
    if (end) this.doneAt = performance.now();
    if (this.offloaded) {
      this.flushed(chunk.length);
      return;
    }
    if (this.exchange === undefined) return;
    const response = this.exchange.response;
    if (response.borrows === true) response.data(chunk, end, this.flushed, loan);
    else response.data(kept(chunk, loan), end, this.flushed);
  }

  onSendFile(file: SendFile, end: boolean): void {
    this.answered = true;
    if (this.offloaded) return;
    if (end) this.doneAt = performance.now();
    const exchange = this.exchange;
    if (exchange === undefined) return;
    let fd: number;
    try {
      // A regular file only: ASGI's pathsend takes any path, a FIFO included.
      fd = openWithoutWaiting(file.path);
      if (!fstatSync(fd).isFile()) {
        closeSync(fd);
        throw new Error(`not a regular file: ${file.path}`);
      }
    } catch (error) {
      this.gateway.logger.error(
        `Cannot open the file the app returned: ${(error as Error).message}`,
      );
      exchange.response.fail(500);
      return;
    }
    exchange.response.file(fd, file.offset, file.length, end, closeSync);
  }

  /** The development error page the worker sent ahead of its ERROR (`cask dev` only). */
  private page: ResponseHead | undefined;

  onErrorPage(page: ResponseHead): void {
    this.answered = true;
    this.page = page;
  }

  onAppError(text: string): void {
    this.answered = true;
    this.doneAt = performance.now();
    this.gateway.counters.appErrors++;
    this.gateway.logger.error(
      `Error handling request ${this.method} ${this.target}\n${text.trimEnd()}`,
    );
    if (this.ws?.accepted === true) {
      this.ws.fail();
      return;
    }
    const exchange = this.exchange;
    if (exchange === undefined) return;
    const page = this.page;
    if (page !== undefined && this.gateway.mayShowErrorPage(exchange)) {
      exchange.response.head(page.status, page.headers, page.body, true);
      return;
    }
    exchange.response.fail(500);
  }

  onFail(error: WorkerError): void {
    if (this.dispatchedAt >= 0) this.doneAt = performance.now();
    this.gateway.counters.failed++;
    this.gateway.logger.error(`${error.message}: ${this.method} ${this.target} (${error.status})`);
    if (this.ws?.accepted === true) {
      this.ws.fail();
      return;
    }
    this.exchange?.response.fail(error.status);
  }
}

export class Gateway implements RequestHandler {
  readonly counters: GatewayCounters = { requests: 0, refused: 0, appErrors: 0, failed: 0 };
  readonly metrics: RequestMetrics;
  /** The job being submitted to the pool right now (its dispatch() then needs no clock read). */
  submitting: GatewayJob | undefined;
  private readonly ids = new RequestIds();

  constructor(
    readonly pool: Pool,
    readonly logger: Logger,
    private readonly accessLog: AccessLog | undefined,
    readonly options: GatewayOptions,
  ) {
    this.metrics = options.metrics ?? new RequestMetrics();
  }

  handle(exchange: Exchange): void {
    const startedAt = performance.now();
    this.counters.requests++;
    let environ: Buffer;
    let requestId: string;
    try {
      const bodyLength = exchange.body.kind === 'none' ? -1 : exchange.body.length;
      const pairs = buildEnviron(exchange.request, bodyLength, {
        scheme: exchange.listener.scheme,
        serverName: exchange.listener.serverName,
        serverPort: exchange.listener.serverPort,
        remoteAddr: exchange.remoteAddr,
        remotePort: exchange.remotePort,
        rootPath: this.options.rootPath,
        trustForwarded: exchange.trusted,
        isTrustedProxy: this.options.isTrustedProxy,
        tls: exchange.tls,
      });
      requestId = addRequestIds(
        pairs,
        exchange.request.headers,
        exchange.trusted,
        this.ids,
        performance.timeOrigin + startedAt,
      );
      environ = encodeEnviron(pairs);
    } catch (error) {
      const status = error instanceof CaskError ? error.status : 400;
      this.refused(status, error instanceof CaskError ? error : undefined, exchange.remoteAddr);
      exchange.response.fail(status, true);
      return;
    }
    const job = new GatewayJob(this, exchange, environ, startedAt, requestId);
    exchange.handlerState = job;
    exchange.onClientGone = () => this.pool.cancel(job);
    this.submitting = job;
    this.pool.submit(job);
    this.submitting = undefined;
  }

  /** Only `cask dev` sets `errorPages`; `cask serve` never shows an error page. */
  mayShowErrorPage(exchange: Exchange): boolean {
    return this.options.errorPages?.(exchange) === true;
  }

  refused(status: number, error: CaskError | undefined, remoteAddr: string): void {
    this.counters.refused++;
    this.metrics.refusedWith(error?.code ?? 'CASK_HTTP_BAD_REQUEST');
    if (error?.code === 'CASK_BODY_SPOOL') {
      // The server's fault, not the client's: said at every occurrence, as a full disk is.
      this.logger.error(
        `${error.message} (CASK_BODY_SPOOL): answered ${status} to ${remoteAddr || 'a local socket'}`,
      );
      return;
    }
    if (this.logger.enabled(10)) {
      this.logger.debug(
        `Refused a request from ${remoteAddr || 'a local socket'} with ${status}: ${error?.message ?? 'bad request'}`,
      );
    }
  }

  responseError(exchange: Exchange, message: string): void {
    this.logger.error(`${message}: ${exchange.request.method} ${exchange.request.target}`);
  }

  completed(exchange: Exchange): void {
    const job = exchange.handlerState as GatewayJob | undefined;
    const now = performance.now();
    // An accepted WebSocket is logged when it closes, as 101 with the bytes of its messages.
    const ws = job?.ws?.accepted === true ? job.ws : undefined;
    const status = ws === undefined ? exchange.response.status : 101;
    this.metrics.completed(exchange.request.method, status, job, now);
    if (exchange.body.kind === 'file') removeBodyFile(exchange.body.path);
    job?.release();
    if (this.accessLog === undefined) return;
    const head = exchange.request;
    let referer = '';
    let userAgent = '';
    for (let i = 0; i < head.headers.length; i += 2) {
      const name = (head.headers[i] as string).toLowerCase();
      if (name === 'referer') referer = head.headers[i + 1] as string;
      else if (name === 'user-agent') userAgent = head.headers[i + 1] as string;
    }
    this.accessLog.write({
      remoteAddr: exchange.remoteAddr || '-',
      method: head.method,
      target: head.target,
      protocol: head.protocol,
      status,
      bytes: ws === undefined ? exchange.response.bytesSent : ws.bytesSent,
      referer,
      userAgent,
      headers: head.headers,
      requestId: job?.requestId ?? '',
      durationUs: job === undefined ? -1 : (now - job.startedAt) * 1000,
    });
  }
}
