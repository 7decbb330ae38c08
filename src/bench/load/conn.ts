// One client connection of the load generator: a socket, a response parser and the rules
// for telling a lost response from a connection the server merely closed while idle.
// Loops (closed.ts, open.ts) own the request bookkeeping; this class only reports.
import net from 'node:net';
import { ResponseParser, type ParsedResponse } from './http-parser.js';
import { classify, type ErrorKind } from './errors.js';
import type { WireRequest } from './request.js';

export interface ConnEvents {
  response(conn: ClientConnection, r: ParsedResponse): void;
  /** The outstanding request failed. `retryable`: the connection had already served a
   * response and nothing of this one arrived, i.e. the server closed a keep-alive
   * connection just as we reused it (RFC 9112 §9.3.1 allows the client to retry). */
  failure(conn: ClientConnection, kind: ErrorKind, retryable: boolean): void;
}

/** How long a finished `Connection: close` socket may wait for the server's FIN. Letting
 * the server close first leaves TIME_WAIT on its side, not on our ephemeral ports. */
const LINGER_MS = 1000;

export class ClientConnection {
  readonly socket: net.Socket;
  readonly openedAt: number;
  connectedAt = 0;
  /** Responses completed on this connection. */
  served = 0;
  busy = false;
  /** Set once the connection must not carry another request. */
  done = false;
  private readonly parser = new ResponseParser();
  private lastError: unknown = null;
  private reported = false;

  constructor(
    host: string,
    port: number,
    now: number,
    private readonly events: ConnEvents,
  ) {
    this.openedAt = now;
    const s = net.connect({ host, port, noDelay: true });
    this.socket = s;
    s.on('connect', () => {
      this.connectedAt = performance.now();
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('end', () => this.onEnd());
    s.on('error', (err) => {
      this.lastError = err;
    });
    s.on('close', () => this.onClose());
  }

  get connected(): boolean {
    return this.connectedAt > 0;
  }

  /** Usable for another request right now. */
  get reusable(): boolean {
    return !this.done && !this.busy && !this.socket.destroyed;
  }

  send(req: WireRequest): void {
    this.busy = true;
    this.reported = false;
    this.parser.expectHead(req.isHead);
    this.socket.write(req.head);
    if (req.body !== null) this.socket.write(req.body);
  }

  /** Stop using the connection; wait briefly for the server to close it first. */
  retire(): void {
    this.done = true;
    if (this.socket.destroyed) return;
    if (this.socket.readableEnded) {
      this.socket.destroy();
      return;
    }
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  destroy(): void {
    this.done = true;
    this.busy = false;
    this.socket.destroy();
  }

  /** Fail the outstanding request (timeout) and drop the connection. */
  abort(kind: ErrorKind): void {
    if (this.busy && !this.reported) {
      this.reported = true;
      this.busy = false;
      this.done = true;
      this.socket.destroy();
      this.events.failure(this, kind, false);
    } else {
      this.destroy();
    }
  }

  private onData(chunk: Buffer): void {
    try {
      this.parser.push(chunk, (r) => this.complete(r));
    } catch {
      this.fail('parse', false);
      this.socket.destroy();
    }
  }

  private complete(r: ParsedResponse): void {
    this.served += 1;
    this.busy = false;
    if (!r.keepAlive) this.done = true;
    this.events.response(this, r);
  }

  private onEnd(): void {
    let truncated = false;
    try {
      truncated = this.parser.end((r) => this.complete(r)).truncated;
    } catch {
      truncated = true;
    }
    this.done = true;
    if (this.busy) this.fail('closed', this.served > 0 && !truncated);
  }

  private onClose(): void {
    this.done = true;
    if (this.busy) {
      const kind = this.lastError === null ? 'closed' : classify(this.lastError, this.connected);
      this.fail(kind, this.served > 0 && !this.parser.inResponse);
    }
  }

  private fail(kind: ErrorKind, retryable: boolean): void {
    if (this.reported) return;
    this.reported = true;
    this.busy = false;
    this.done = true;
    this.events.failure(this, kind, retryable);
  }
}
