// The HTTP front's door: every accepted socket comes here. It admits the socket as a
// Connection or, past `max-connections`, refuses it cleanly; and it runs the one sweep that
// drives every connection's timeouts, so no request arms a timer of its own.
//
// The sweep ticks four times per shortest timeout, the 2 s linger after a close included
// (so every 25 to 500 ms), and a deadline is acted on within a quarter of its length. With
// the defaults that is two passes a second over the live connections, each a switch and a
// compare per connection: tens of microseconds for ten thousand of them.

import type { Socket } from 'node:net';
import { CaskError } from '../errors.js';
import type { AllowList } from '../net/allow-ips.js';
import { cannedResponse } from './canned.js';
import { SpoolLedger } from './response-spool.js';
import {
  Connection,
  LINGER_MS,
  type ConnectionContext,
  type ConnectionOptions,
} from './connection.js';
import type { ListenerInfo, RequestHandler } from '../exchange.js';

export interface FrontOptions extends ConnectionOptions {
  /** Open connections past which new ones are refused with 503; 0 for no limit. */
  maxConnections: number;
  /** Every listener expects a PROXY protocol header first (`--proxy-protocol`). */
  proxyProtocol: boolean;
  allow: AllowList;
}

export interface FrontCounters {
  accepted: number;
  /** Connections refused because `max-connections` were open. */
  overLimit: number;
}

export interface FrontLogger {
  warn(message: string): void;
}

/** Refused sockets lingering for their 503 to be read; past this many, they are cut at once. */
const MAX_LINGERING_REFUSALS = 1024;
/** The over-limit warning is logged at most this often. */
const WARN_EVERY_MS = 10_000;

export class Front {
  readonly connections = new Set<Connection>();
  readonly counters: FrontCounters = { accepted: 0, overLimit: 0 };
  /** What the response spool holds on file right now, across every connection. */
  readonly spoolLedger: SpoolLedger;
  private readonly context: ConnectionContext;
  private readonly refusals = new Map<Socket, number>();
  private readonly timer: NodeJS.Timeout;
  private warnedAt = 0;
  private warnedCount = 0;
  private spoolWarnedAt = 0;

  constructor(
    private readonly options: FrontOptions,
    handler: RequestHandler,
    private readonly logger: FrontLogger,
  ) {
    this.spoolLedger = new SpoolLedger(options.responseSpoolTotal, () => this.spoolFull());
    this.context = {
      options,
      handler,
      registry: this.connections,
      allow: options.allow,
      proxyProtocol: options.proxyProtocol,
      spool:
        options.responseSpoolLimit > 0
          ? { limit: options.responseSpoolLimit, ledger: this.spoolLedger }
          : undefined,
    };
    this.timer = setInterval(() => this.sweep(), sweepInterval(options));
    this.timer.unref();
  }

  accept(socket: Socket, listener: ListenerInfo): void {
    const max = this.options.maxConnections;
    if (max > 0 && this.connections.size >= max) {
      this.refuse(socket);
      return;
    }
    this.counters.accepted++;
    new Connection(socket, this.context, listener);
  }

  /** Stops the sweep; connections still open no longer time out. */
  close(): void {
    clearInterval(this.timer);
  }

  /**
   * Over the limit: a canned 503 with `Retry-After`, our side closed, and the client's bytes
   * drained for a moment so the answer is not destroyed by a reset. Under a flood the
   * lingering is skipped: the point is to give back the descriptor.
   */
  private refuse(socket: Socket): void {
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
    socket.end(cannedResponse(503, { close: true }));
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
