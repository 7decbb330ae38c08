// Private to src/websocket: one accepted WebSocket, held by the front. It is a connection of
// the front's registry like any other (it counts against max-connections, the sweep ticks it,
// shutdown closes it) and the handler's channel to the client. The `ws` library speaks
// RFC 6455 on the socket (framing, masking, fragments, UTF-8 checks, permessage-deflate,
// close handshake); this file adds the timers and the flow control.
//
//   state   | what is watched on the sweep                       | when it passes
//   --------+----------------------------------------------------+-------------------------
//   open    | ws-ping-interval since the last ping: ping again   |
//           | ws-ping-timeout without the pong                   | dropped (1006 to the app)
//           | ws-idle-timeout without a message either way       | closed with 1001
//   closing | our close frame sent: ws waits 30 s for the answer | (ws destroys the socket)
//   closed  | —                                                  |
//
// Flow control, both ways bounded: a message from the client goes to the handler at once;
// the handler pauses reading (the socket stops being read, TCP pushes back on the client)
// while the app has not taken what it was given. A message to the client is credited to the
// app once ws has handed it to the socket, so a client that does not read holds at most a
// link window of the app's messages here, and the app waits in its send().
//
// Messages to the client are corked until the end of the turn of the event loop in which they
// came (src/net/turn-cork.ts): the messages one read of the link holds for this client (a
// broadcast puts many there) leave in one writev instead of one each. ws corks around each
// frame itself, inside that cork. A message ws compresses (permessage-deflate) is written
// from zlib's callback, in a later turn, on its own.

import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { FrontConnection } from '../http/connection.js';
import { corkForTurn } from '../net/turn-cork.js';
import type { WebSocketChannel, WebSocketPeer } from '../exchange.js';

export interface SessionTimers {
  /** How often to ping; 0 never. */
  readonly pingIntervalMs: number;
  /** How long a pong may take before the connection is dropped. */
  readonly pingTimeoutMs: number;
  /** No message either way for this long closes the WebSocket (1001); 0 never. */
  readonly idleTimeoutMs: number;
}

type State = 'open' | 'closing' | 'closed';

export class WebSocketSession implements FrontConnection, WebSocketChannel {
  private state: State = 'open';
  private lastMessage: number;
  private lastPing: number;
  /** When the ping now unanswered was sent; 0 when none is. */
  private pingSentAt = 0;
  /** This session holds the socket corked until the end of this turn (turn-cork.ts). */
  corkedForTurn = false;

  constructor(
    private readonly ws: WebSocket,
    /** The socket ws speaks on, corked around the messages of a turn. */
    private readonly socket: Socket,
    private readonly registry: Set<FrontConnection>,
    private readonly timers: SessionTimers,
    private readonly peer: WebSocketPeer,
    /** Called once, after the peer heard `closed` (the transport completes the exchange). */
    private readonly ended: () => void,
  ) {
    const now = Date.now();
    this.lastMessage = now;
    this.lastPing = now;
    registry.add(this);
    ws.on('message', (data, binary) => {
      this.lastMessage = Date.now();
      this.peer.message(data as Buffer, binary);
    });
    ws.on('pong', () => {
      this.pingSentAt = 0;
    });
    // Errors (a protocol violation by the client, a reset) end in 'close', with 1002, 1006…
    ws.on('error', () => {});
    ws.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
  }

  readonly protocol = 'websocket';

  /** For the open-connections gauge: `active` while open, `closing` during the handshake. */
  get phase(): string {
    return this.state === 'open' ? 'active' : 'closing';
  }

  get idle(): boolean {
    return false;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  tick(now: number): void {
    if (this.state !== 'open') return;
    const { pingIntervalMs, pingTimeoutMs, idleTimeoutMs } = this.timers;
    if (this.pingSentAt !== 0 && now - this.pingSentAt >= pingTimeoutMs) {
      // RFC 6455 §5.5.2: a peer that does not answer a ping is gone (or too slow to matter).
      this.ws.terminate();
      return;
    }
    if (idleTimeoutMs > 0 && now - this.lastMessage >= idleTimeoutMs) {
      this.close(1001, 'idle timeout');
      return;
    }
    if (pingIntervalMs > 0 && this.pingSentAt === 0 && now - this.lastPing >= pingIntervalMs) {
      this.lastPing = now;
      this.pingSentAt = now;
      this.ws.ping();
    }
  }

  /** Server shutdown: the client is told the server is going away (1001, RFC 6455 §7.4.1). */
  shutdown(): void {
    this.close(1001, 'server shutting down');
  }

  send(data: Buffer, binary: boolean, taken: () => void): void {
    if (this.state !== 'open') {
      taken();
      return;
    }
    this.lastMessage = Date.now();
    corkForTurn(this, this.socket);
    this.ws.send(data, { binary }, () => taken());
  }

  close(code: number, reason: string): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    try {
      this.ws.close(code, reason);
    } catch {
      // A code ws will not send (the worker checks them) or a reason over 123 bytes.
      this.ws.close(1011);
    }
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  private onClose(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.registry.delete(this);
    this.peer.closed(code, reason);
    this.ended();
  }
}
