// The WebSocket upgrade of an HTTP/1.1 connection (RFC 6455 §4.2): the front's half of every
// WebSocket. The connection asks `handshake()` about each request head; for a proper one it
// puts an offer on the exchange, and when the handler accepts it, `ws` (in noServer mode)
// writes the 101 on the socket the connection hands over, with the app's subprotocol and
// headers, and the socket becomes a WebSocketSession.
//
// HTTP/2 (RFC 8441, extended CONNECT) is not offered: an HTTP/2 client opens its WebSockets
// over HTTP/1.1, as browsers do when a server does not announce SETTINGS_ENABLE_CONNECT_PROTOCOL.

import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type * as WsModule from 'ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { FrontConnection } from '../http/connection.js';
import type { RequestInfo, WebSocketChannel, WebSocketOffer, WebSocketPeer } from '../exchange.js';
import { readHandshake, type Handshake } from './handshake.js';
import { WebSocketSession, type SessionTimers } from './session.js';

export interface WebSocketOptions extends SessionTimers {
  /** Largest message accepted from a client; a larger one closes the WebSocket with 1009. */
  readonly maxMessageSize: number;
  /** Offer permessage-deflate (RFC 7692) to clients that ask for it. */
  readonly perMessageDeflate: boolean;
}

/** What the app chose, carried on the request object `ws` hands back to our callbacks. */
interface Pending {
  chosen?: string | undefined;
  extra?: readonly string[];
}

/**
 * `ws` is loaded when the first WebSocket is offered, not at start: a server whose apps never
 * take a WebSocket (every WSGI app) does not carry the library in its memory. It is a
 * CommonJS package, so it loads synchronously: the first handshake waits a few milliseconds
 * once, and `accept()` can stay synchronous.
 */
let wsModule: typeof WsModule | undefined;
function loadWs(): typeof WsModule {
  wsModule ??= createRequire(import.meta.url)('ws') as typeof WsModule;
  return wsModule;
}

/** One per front: the `ws` server that writes handshakes, and what every session shares. */
export class WebSocketUpgrades {
  private made: WebSocketServer | undefined;

  constructor(
    readonly options: WebSocketOptions,
    private readonly registry: Set<FrontConnection>,
  ) {}

  /** The `ws` server, made at the first offer. */
  private get server(): WebSocketServer {
    if (this.made !== undefined) return this.made;
    const options = this.options;
    const server = new (loadWs().WebSocketServer)({
      noServer: true,
      clientTracking: false,
      maxPayload: options.maxMessageSize,
      // Messages under 1 KiB are sent as they are: compressing them costs more than it saves.
      perMessageDeflate: options.perMessageDeflate ? { threshold: 1024 } : false,
      handleProtocols: (_offered, request) => (request as unknown as Pending).chosen ?? false,
    });
    server.on('headers', (headers: string[], request: IncomingMessage) => {
      const extra = (request as unknown as Pending).extra ?? [];
      for (let i = 0; i < extra.length; i += 2) headers.push(`${extra[i]}: ${extra[i + 1]}`);
    });
    this.made = server;
    return server;
  }

  /** Whether `head` asks to become a WebSocket, and asks properly. */
  handshake(head: RequestInfo, http10: boolean): Handshake {
    return readHandshake(head, http10);
  }

  /**
   * The offer on an exchange. `handOver` makes the connection let go of its socket and returns
   * it as a net.Socket (`ws` needs Node's streams), with the bytes it had read past the
   * request; `ended` runs once the WebSocket has closed.
   */
  offer(
    head: RequestInfo,
    subprotocols: readonly string[],
    handOver: () => { socket: Socket; rest: Buffer },
    ended: () => void,
  ): WebSocketOffer {
    // Loaded now, while the app decides: accept() then finds it ready.
    void this.server;
    return {
      subprotocols,
      accept: (subprotocol, extra, peer) => {
        const { socket, rest } = handOver();
        return this.accept(socket, head, { chosen: subprotocol, extra }, rest, peer, ended);
      },
    };
  }

  private accept(
    socket: Socket,
    head: RequestInfo,
    pending: Pending,
    rest: Buffer,
    peer: WebSocketPeer,
    ended: () => void,
  ): WebSocketChannel {
    const headers: Record<string, string> = {};
    for (let i = 0; i < head.headers.length; i += 2) {
      const name = (head.headers[i] as string).toLowerCase();
      const value = head.headers[i + 1] as string;
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const request = { method: head.method, url: head.target, headers, socket, ...pending };
    let session: WebSocketSession | undefined;
    this.server.handleUpgrade(
      request as unknown as IncomingMessage,
      socket,
      rest,
      (ws: WebSocket) => {
        session = new WebSocketSession(ws, socket, this.registry, this.options, peer, ended);
      },
    );
    if (session !== undefined) return session;
    // The client left before the app answered: ws destroyed the socket without a handshake.
    const gone: WebSocketChannel = {
      bufferedAmount: 0,
      send: (_data, _binary, taken) => taken(),
      close: () => {},
      pause: () => {},
      resume: () => {},
    };
    setImmediate(() => {
      peer.closed(1006, '');
      ended();
    });
    return gone;
  }
}
