// Private to src/http2: one HTTP/2 connection (a node:http2 session) as the front sees it — an
// entry of its registry, counted against max-connections, ticked by its sweep, asked to shut
// down. Each stream it opens becomes a StreamExchange (stream.ts).
//
//   state   | what is awaited                   | deadline (0 disables)      | when it passes
//   --------+-----------------------------------+----------------------------+------------------
//   idle    | the first stream                  | accept + header-timeout    | GOAWAY, closed
//           | the next stream                   | last stream + keep-alive   | GOAWAY, closed
//   busy    | its streams (their own deadlines) | —                          | —
//   closing | GOAWAY sent: the streams in flight | in-flight streams done     | socket destroyed
//           | to finish, then the client to     |   + LINGER_MS              |
//           | close the connection              |                            |
//
// Graceful shutdown is GOAWAY (RFC 9113 §6.8) through `session.close()`: the client learns which
// of its streams will be answered, opens no new one, and the session ends by itself once the
// last stream in flight is done.

import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { constants } from 'node:http2';
import type { Socket } from 'node:net';
import { CaskError } from '../errors.js';
import type { ClientInfo, ListenerInfo } from '../exchange.js';
import { LINGER_MS, type FrontConnection } from '../http/connection.js';
import { readRequest, type StreamLimits, type StreamRequest } from './request.js';
import { respondCanned } from './response.js';
import { StreamExchange, type StreamContext } from './stream.js';

export interface SessionContext extends StreamContext {
  readonly limits: StreamLimits;
  /** Idle time allowed between streams; 0 closes the session once its streams are done. */
  readonly keepAliveMs: number;
  /** Live connections of the front; a session removes itself when it closes. */
  readonly registry: Set<FrontConnection>;
}

export class Http2Connection implements FrontConnection {
  private readonly streams = new Set<StreamExchange>();
  /** When the idle wait ends (ms since the epoch); 0 for never. */
  private deadline: number;
  /** GOAWAY sent: once the streams are done the client has LINGER_MS to close. */
  private closing = false;
  private closed = false;

  constructor(
    private readonly session: ServerHttp2Session,
    private readonly socket: Socket,
    private readonly context: SessionContext,
    private readonly listener: ListenerInfo,
    private readonly client: ClientInfo,
    acceptedAt: number,
  ) {
    context.registry.add(this);
    // Errors end the session (node:http2 destroys it and its streams); 'close' follows.
    session.on('error', () => {});
    session.on(
      'stream',
      (stream: ServerHttp2Stream, _headers: IncomingHttpHeaders, flags: number, raw: string[]) =>
        this.onStream(stream, flags, raw),
    );
    session.once('close', () => this.onClose());
    const { headerTimeoutMs } = context;
    this.deadline =
      headerTimeoutMs > 0 ? acceptedAt + headerTimeoutMs : this.idleDeadline(acceptedAt);
  }

  get idle(): boolean {
    return this.streams.size === 0;
  }

  readonly protocol = 'h2';

  /** For the open-connections gauge: `active` while any stream is open (its requests may be
   * in any phase at once, so the session is not given one of theirs). */
  get phase(): string {
    if (this.closing || this.closed) return 'closing';
    return this.streams.size > 0 ? 'active' : 'idle';
  }

  /** Streams open on this session, for the open-streams gauge. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Server shutdown: GOAWAY now; the streams in flight finish, then the session closes. */
  shutdown(): void {
    this.goaway();
  }

  tick(now: number): void {
    if (this.closed) return;
    if (this.streams.size > 0) {
      for (const stream of this.streams) stream.tick(now);
      return;
    }
    if (this.deadline === 0 || now < this.deadline) return;
    if (this.closing)
      this.socket.destroy(); // the client did not close after GOAWAY
    else this.goaway();
  }

  private onStream(stream: ServerHttp2Stream, flags: number, raw: string[]): void {
    // A stream's errors end that stream ('close' follows); without a listener they would throw.
    stream.on('error', () => {});
    const endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    let request: StreamRequest;
    try {
      request = readRequest(raw, endStream, this.context.limits);
    } catch (error) {
      const refusal = error instanceof CaskError ? error : undefined;
      const status = refusal?.status ?? 400;
      this.context.handler.refused(status, refusal, this.client.remoteAddr);
      const head = raw[raw.indexOf(':method') + 1] === 'HEAD';
      respondCanned(stream, status, this.context.serverHeader, head);
      // The client may still be sending a body nobody will read (RFC 9113 §8.1).
      if (!endStream && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
      return;
    }
    const exchange = new StreamExchange(
      stream,
      request,
      endStream,
      this.context,
      this.client,
      this.listener,
      (done) => this.onStreamGone(done),
    );
    // The constructor may already have seen the stream close (a reset in the same read).
    if (!stream.closed && !stream.destroyed) this.streams.add(exchange);
  }

  private onStreamGone(exchange: StreamExchange): void {
    if (!this.streams.delete(exchange) || this.streams.size > 0) return;
    const now = Date.now();
    if (this.closing) this.deadline = now + LINGER_MS;
    else if (this.context.keepAliveMs <= 0) this.goaway();
    else this.deadline = this.idleDeadline(now);
  }

  private idleDeadline(now: number): number {
    return this.context.keepAliveMs > 0 ? now + this.context.keepAliveMs : 0;
  }

  private goaway(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.deadline = Date.now() + LINGER_MS;
    if (!this.session.closed && !this.session.destroyed) this.session.close();
  }

  private onClose(): void {
    this.closed = true;
    this.context.registry.delete(this);
    // node:http2 has destroyed the streams; each one's 'close' does the rest.
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
