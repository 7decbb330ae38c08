// The gateway's half of a WebSocket: between an accepted WebSocket (the transport's
// channel) and the ASGI worker holding it, over the worker link. Like gateway.ts, whose job
// creates it, it knows the exchange contract and the link, and nothing of any wire.
//
//   worker                         bridge                              transport (channel)
//   WS_ACCEPT ───────────────────▶ offer.accept() ────────────────────▶ 101, session open
//   WS_SEND ─────────────────────▶ channel.send() ──taken──▶ WINDOW (credit for the app)
//   WS_CLOSE ────────────────────▶ channel.close(code)
//   ERROR, worker died ──────────▶ channel.close(1011)
//   WS_MESSAGE ◀── while the request window is open ◀── peer.message()
//              (else queued, and the channel paused until CREDIT opens the window again)
//   WS_CLOSED ◀─────────────────────────────────────── peer.closed(code)
//
// A message goes to the worker while the window is above zero and may take it below: a
// message never waits for more credit than a window holds, and the worker holds at most a
// window and one message more. The same for the app's messages, on the worker's side.
// Both windows count each message as its payload plus WS_MESSAGE_COST, and credit comes back
// the same way: tiny or empty messages use up a window too, so neither side can be made to
// hold an unbounded number of them.

import type { Exchange, WebSocketChannel, WebSocketPeer } from '../exchange.js';
import type { WorkerLink } from '../ipc/link.js';
import {
  FLAG_BINARY,
  FLAG_END,
  INITIAL_WINDOW,
  Kind,
  WS_MESSAGE_COST,
  encodeWsClose,
  type WsAccept,
  type WsClose,
} from '../ipc/protocol.js';

export interface BridgeHost {
  /** Undefined once the exchange is over (its client gone before the app accepted). */
  readonly exchange: Exchange | undefined;
  /** Credit the app for `bytes` of its messages (payload and per-message cost) that the
   *  transport has taken. */
  grant(bytes: number): void;
}

export class WebSocketBridge implements WebSocketPeer {
  /** The app accepted and the transport switched: the status is 101 in the access log. */
  accepted = false;
  /** Bytes of the app's messages sent to the client, for the access log. */
  bytesSent = 0;
  private channel: WebSocketChannel | undefined;
  /** Bytes of client messages the worker may take now (the request window), each message
   *  counted as its payload plus WS_MESSAGE_COST. */
  private window = INITIAL_WINDOW;
  private queue: Array<[Buffer, boolean]> = [];
  private paused = false;
  /** The client's side is closed and the worker was told: nothing more goes to it. */
  private clientClosed = false;
  /** The worker's final frame came: nothing more comes from it. */
  private ended = false;

  constructor(
    private readonly host: BridgeHost,
    private readonly link: WorkerLink,
    private readonly id: number,
  ) {}

  start(environ: Buffer): void {
    this.link.send(this.id, Kind.WEBSOCKET, FLAG_END, environ);
  }

  // -- from the worker ------------------------------------------------------------------

  accept(accept: WsAccept): void {
    const offer = this.host.exchange?.websocket;
    if (offer === undefined || this.accepted) return;
    this.accepted = true;
    this.channel = offer.accept(accept.subprotocol, accept.headers, this);
  }

  send(data: Buffer, binary: boolean): void {
    const channel = this.channel;
    // The worker charged the message its payload and WS_MESSAGE_COST: both come back.
    const charged = data.length + WS_MESSAGE_COST;
    if (channel === undefined) {
      this.host.grant(charged);
      return;
    }
    this.bytesSent += data.length;
    channel.send(data, binary, () => this.host.grant(charged));
  }

  /** WS_CLOSE: the app closes (a code), or its exchange ended (END; an empty payload, 1005,
   *  when there is nothing more to close). */
  close(close: WsClose, end: boolean): void {
    if (end) this.ended = true;
    if (close.code !== 1005) this.channel?.close(close.code, close.reason);
  }

  /** The app raised or its worker died after the handshake: 1011 (RFC 6455 §7.4.1). */
  fail(): void {
    this.ended = true;
    this.channel?.close(1011, 'internal error');
  }

  credit(bytes: number): void {
    this.window += bytes;
    while (this.window > 0 && this.queue.length > 0) {
      const [data, binary] = this.queue.shift() as [Buffer, boolean];
      this.forward(data, binary);
    }
    if (this.paused && this.window > 0) {
      this.paused = false;
      this.channel?.resume();
    }
  }

  /** The worker drains past its graceful timeout: 1001 to the client, disconnect to the app. */
  goingAway(): boolean {
    if (this.channel === undefined || this.clientClosed || this.ended) return false;
    this.channel.close(1001, 'server restarting');
    this.closed(1001, 'server restarting');
    return true;
  }

  // -- from the client (WebSocketPeer) --------------------------------------------------

  message(data: Buffer, binary: boolean): void {
    if (this.clientClosed || this.ended) return;
    if (this.window > 0 && this.queue.length === 0) {
      this.forward(data, binary);
      return;
    }
    this.queue.push([data, binary]);
  }

  closed(code: number, reason: string): void {
    if (this.clientClosed) return;
    this.clientClosed = true;
    this.queue = [];
    if (!this.ended) this.link.send(this.id, Kind.WS_CLOSED, 0, encodeWsClose(code, reason));
  }

  private forward(data: Buffer, binary: boolean): void {
    // The worker credits the same amount back once the app's receive() has taken it.
    this.window -= data.length + WS_MESSAGE_COST;
    this.link.send(this.id, Kind.WS_MESSAGE, binary ? FLAG_BINARY : 0, data);
    if (this.window <= 0 && !this.paused) {
      // The app has not taken what it has: stop reading from the client until it does.
      this.paused = true;
      this.channel?.pause();
    }
  }
}
