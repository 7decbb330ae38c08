// Binds the listening sockets (TCP on IPv4/IPv6, Unix) and hands each accepted socket on.
// With TLS on, a TCP listener is a tls.Server and hands on each socket once its handshake is
// done; a Unix socket listener stays plain (it is reached from the same host only), and so does
// a listener for a web server's protocol (`uwsgi://…`): the web server in front ends TLS and
// says so in its HTTPS variable.

import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { ListenerInfo } from '../exchange.js';
import { describeActivated, type ActivatedSocket } from './activation.js';
import { acceptBare } from './bare-socket.js';
import type { ClientSocket } from './client-socket.js';
import { formatBind, type BindAddress } from './bind.js';
import { bindListener } from './handover.js';
import type { TlsTerminator } from './tls.js';

export interface BoundListener {
  server: Server;
  info: ListenerInfo;
  /**
   * How to reach it, for the startup log: `http://127.0.0.1:8000`, `unix:/run/app.sock`, or as
   * `--bind` writes it for a web server's protocol: `uwsgi://127.0.0.1:8001`.
   */
  url: string;
  /** The address it was bound to as configured (port 0 stays 0); none for systemd's sockets. */
  bind?: BindAddress;
}

export function listen(
  bind: BindAddress,
  backlog: number,
  onSocket: (socket: ClientSocket, info: ListenerInfo) => void,
  tls?: TlsTerminator,
  clientSockets: 'bare' | 'node' = 'bare',
): Promise<BoundListener> {
  const secure = tls !== undefined && bind.kind === 'tcp' && bind.protocol === undefined;
  const scheme = secure ? 'https' : 'http';
  // Half-open: a client may send its requests and then shut its side; it still gets the answers.
  // A TLS socket takes both from the TCP socket under it.
  const server = secure
    ? createTlsServer({ ...tls.serverOptions(), noDelay: true, allowHalfOpen: true })
    : createServer({ noDelay: true, allowHalfOpen: true });
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = formatBind(bind);
      const reason =
        error.code === 'EADDRINUSE'
          ? 'the address is already in use'
          : error.code === 'EACCES'
            ? 'permission denied'
            : error.code === 'EADDRNOTAVAIL'
              ? 'no such local address'
              : error.message;
      reject(new Error(`Cannot listen on ${where}: ${reason}`));
    };
    server.once('error', onError);
    const ready = (): void => {
      server.off('error', onError);
      let info: ListenerInfo;
      let url: string;
      if (bind.kind === 'unix') {
        info = { scheme: 'http', serverName: 'localhost', serverPort: '' };
        url = formatBind(bind);
      } else {
        const address = server.address();
        const port = typeof address === 'object' && address !== null ? address.port : bind.port;
        info = { scheme, serverName: bind.host, serverPort: String(port) };
        url =
          bind.protocol === undefined
            ? `${scheme}://${formatBind({ ...bind, port })}`
            : formatBind({ ...bind, port });
      }
      const bare = clientSockets === 'bare' && bind.kind === 'tcp';
      accept(server, info, onSocket, secure ? tls : undefined, bare);
      resolve({ server, info, url, bind });
    };
    // On the socket the process this one replaces passed (SIGUSR2), or a new one.
    bindListener(server, 'main', bind, backlog, ready);
  });
}

/**
 * Hands on each accepted socket: at once, or once its TLS handshake is done. A plain TCP
 * listener (`bare`, unless `--client-sockets node`), HTTP or a web server's protocol, hands on
 * BareSockets where this Node allows (src/net/bare-socket.ts), which cost the front about a
 * third less CPU per new connection than a net.Socket. TLS and Unix sockets keep net.Socket.
 */
function accept(
  server: Server,
  info: ListenerInfo,
  onSocket: (socket: ClientSocket, info: ListenerInfo) => void,
  tls: TlsTerminator | undefined,
  bare: boolean,
): void {
  if (tls === undefined) {
    // Kept with BareSockets too: what acceptBare cannot take comes here as a net.Socket.
    server.on('connection', (socket) => onSocket(socket, info));
    if (bare) acceptBare(server, (socket) => onSocket(socket, info));
    return;
  }
  tls.attach(server as ReturnType<typeof createTlsServer>);
  server.on('secureConnection', (socket: TLSSocket) => {
    if (tls.admit(socket)) onSocket(socket, info);
  });
  server.on('tlsClientError', (error: Error, socket: TLSSocket) =>
    tls.handshakeFailed(error, socket),
  );
}

/**
 * Serves a socket bound by the service manager (systemd socket activation,
 * src/net/activation.ts): already listening, with its own backlog. TLS applies to a TCP one
 * that speaks HTTP, as for `--bind`.
 */
export function adopt(
  socket: ActivatedSocket,
  onSocket: (socket: ClientSocket, info: ListenerInfo) => void,
  tls?: TlsTerminator,
  clientSockets: 'bare' | 'node' = 'bare',
): Promise<BoundListener> {
  const secure = tls !== undefined && socket.family !== 'unix' && socket.protocol === undefined;
  const scheme = secure ? 'https' : 'http';
  const server = secure
    ? createTlsServer({ ...tls.serverOptions(), noDelay: true, allowHalfOpen: true })
    : createServer({ noDelay: true, allowHalfOpen: true });
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void =>
      reject(new Error(`Cannot listen on ${describeActivated(socket)}: ${error.message}`));
    server.once('error', onError);
    server.listen({ fd: socket.fd }, () => {
      server.off('error', onError);
      const address = server.address();
      let info: ListenerInfo;
      let url: string;
      if (typeof address === 'object' && address !== null) {
        info = { scheme, serverName: address.address, serverPort: String(address.port) };
        const bind: BindAddress = { kind: 'tcp', host: address.address, port: address.port };
        url =
          socket.protocol === undefined
            ? `${scheme}://${formatBind(bind)}`
            : formatBind({ ...bind, protocol: socket.protocol });
      } else {
        info = { scheme: 'http', serverName: 'localhost', serverPort: '' };
        url =
          socket.path === undefined
            ? `${socket.protocol ?? 'unix'}:fd${socket.fd}`
            : formatBind({ kind: 'unix', path: socket.path, protocol: socket.protocol });
      }
      const bare = clientSockets === 'bare' && socket.family === 'tcp';
      accept(server, info, onSocket, secure ? tls : undefined, bare);
      resolve({ server, info, url: `${url} (${describeActivated(socket)})` });
    });
  });
}
