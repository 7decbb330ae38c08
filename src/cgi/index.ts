// The transports for a web server in front: the uwsgi, SCGI and FastCGI protocols, as nginx's
// `uwsgi_pass`, `scgi_pass` and `fastcgi_pass` (and Apache's mod_proxy_uwsgi, mod_proxy_scgi,
// mod_proxy_fcgi) speak them on a `-b uwsgi://…`, `-b scgi://…` or `-b fastcgi://…` listener.
// docs/web-server-protocols.md describes each wire format as implemented.
//
//   socket ──accept()──▶ peer in forwarded-allow-ips (or a Unix socket)? ──no──▶ closed unread
//                                  │ yes
//                                  ▼
//   WebServerConnection (connection.ts): decoder (uwsgi.ts | scgi.ts | fastcgi.ts), sans-IO
//        ──variables──▶ request.ts ──RequestInfo + `cgi`──▶ Exchange ──▶ the front's handler
//        ◀── close-delimited.ts (uwsgi, SCGI) | fastcgi-response.ts (FastCGI) ◀── ResponseSink
//
// Only the web server may connect: it is believed about the client (REMOTE_ADDR, HTTPS,
// SCRIPT_NAME, …), so a listener that let anyone in would let anyone claim any client address.

import { ProtocolError } from '../errors.js';
import type { ListenerInfo, RequestHandler } from '../exchange.js';
import type { FrontConnection } from '../http/connection.js';
import type { FrontOptions, SocketTransport } from '../http/front.js';
import type { ClientSocket } from '../net/client-socket.js';
import type { SpoolLedger } from '../http/response-spool.js';
import type { WebServerProtocol } from '../net/bind.js';
import {
  PROTOCOLS,
  WebServerConnection,
  overloadAnswer,
  type WebServerContext,
} from './connection.js';

export type { WebServerContext } from './connection.js';

export interface WebServerLogger {
  warn(message: string): void;
}

/** A refused peer is logged at most this often, with the count since the last time. */
const WARN_EVERY_MS = 10_000;

export class WebServerTransport implements SocketTransport {
  private warnedAt = 0;
  private refusedSince = 0;
  private toldAboutScriptName = false;
  private readonly context: WebServerContext;

  constructor(
    readonly protocol: WebServerProtocol,
    context: Omit<WebServerContext, 'scriptIsWholePath'>,
    private readonly logger: WebServerLogger,
  ) {
    this.context = { ...context, scriptIsWholePath: () => this.scriptIsWholePath() };
  }

  /** A socket the front admitted on a listener of this protocol. */
  accept(socket: ClientSocket, listener: ListenerInfo): void {
    const peer = socket.remoteAddress ?? '';
    if (!this.context.allow.trustsPeer(peer)) {
      this.refusePeer(socket, peer);
      return;
    }
    new WebServerConnection(socket, PROTOCOLS[this.protocol], this.context, listener);
  }

  /** What a connection over max-connections is told: a 503 in this protocol. */
  overloaded(): Buffer {
    return overloadAnswer(this.protocol);
  }

  private refusePeer(socket: ClientSocket, peer: string): void {
    const title = PROTOCOLS[this.protocol].title;
    const error = new ProtocolError(
      'CASK_CGI_PEER',
      `${title} connection from a peer not in forwarded-allow-ips: ${peer}`,
    );
    this.context.handler.refused(error.status, error, peer);
    this.refusedSince++;
    const now = Date.now();
    if (now - this.warnedAt >= WARN_EVERY_MS) {
      const more =
        this.refusedSince > 1 ? ` (${this.refusedSince} refused since the last warning)` : '';
      this.logger.warn(`${error.message}${more} (${error.code})`);
      this.warnedAt = now;
      this.refusedSince = 0;
    }
    // Not a byte is read or written: whoever it is learns nothing from us.
    socket.on('error', () => {});
    socket.destroy();
  }

  private scriptIsWholePath(): void {
    if (this.toldAboutScriptName) return;
    this.toldAboutScriptName = true;
    this.logger.warn(
      `${PROTOCOLS[this.protocol].title} requests come with SCRIPT_NAME set to the whole path and no PATH_INFO ` +
        "(nginx's stock fastcgi_params), so the app sees every request at its root: add " +
        '`fastcgi_param SCRIPT_NAME "";` after `include fastcgi_params;` (docs/deploy.md)',
    );
  }
}

/** What the transports share with the HTTP front: its connections, limits and spool. */
export interface FrontParts {
  readonly connections: Set<FrontConnection>;
  readonly spoolLedger: SpoolLedger;
}

/**
 * One transport per web-server protocol the listeners use, each sharing the front's connection
 * registry (max-connections, the sweep, shutdown), its limits and timeouts, and its response
 * spool. Returns undefined for an HTTP listener.
 */
export function webServerTransports(
  front: FrontParts,
  options: FrontOptions,
  handler: RequestHandler,
  logger: WebServerLogger,
): (protocol: WebServerProtocol | undefined) => WebServerTransport | undefined {
  const made = new Map<WebServerProtocol, WebServerTransport>();
  const spool =
    options.responseSpoolLimit > 0
      ? { limit: options.responseSpoolLimit, ledger: front.spoolLedger }
      : undefined;
  return (protocol) => {
    if (protocol === undefined) return undefined;
    let transport = made.get(protocol);
    if (transport === undefined) {
      transport = new WebServerTransport(
        protocol,
        {
          options,
          handler,
          registry: front.connections,
          allow: options.allow,
          spool,
          maxConnections: options.maxConnections > 0 ? options.maxConnections : 0x7fffffff,
        },
        logger,
      );
      made.set(protocol, transport);
    }
    return transport;
  };
}
