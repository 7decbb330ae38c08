// What the front asks of a client connection's socket: a net.Socket, or a BareSocket
// (src/net/bare-socket.ts) on a plain TCP listener. Only what the HTTP/1.1 Connection, the
// web servers' connection (src/cgi/), their response writers, the response spool and the
// front's door use is here, so that a BareSocket can be built without Node's stream machinery
// and a net.Socket fits without change.

import type { Socket } from 'node:net';

type WriteCallback = (error?: Error | null) => void;

export interface ClientSocket {
  write(data: Uint8Array | string, callback?: WriteCallback): boolean;
  write(data: Uint8Array | string, encoding?: BufferEncoding, callback?: WriteCallback): boolean;
  end(data?: Uint8Array | string): this;
  destroy(error?: Error): this;
  /** Closes with a reset (RST) instead of a FIN: the peer sees the answer cut short. */
  resetAndDestroy(): this;
  /** Ends, then destroys once what was written has left (used while refusing). */
  destroySoon(): void;
  cork(): void;
  uncork(): void;
  pause(): this;
  resume(): this;
  isPaused(): boolean;
  setNoDelay(noDelay?: boolean): this;
  readonly destroyed: boolean;
  /** Bytes written and not yet taken by the kernel (or still held by a cork). */
  readonly writableLength: number;
  readonly writableCorked: number;
  readonly writableNeedDrain: boolean;
  readonly writableHighWaterMark: number;
  readonly writableFinished: boolean;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'close' | 'end' | 'drain' | 'finish', listener: () => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once(event: 'close' | 'end' | 'drain' | 'finish', listener: () => void): this;
  off(event: 'close' | 'end' | 'drain' | 'finish', listener: () => void): this;
}

/**
 * A client socket that can become a net.Socket, for the protocols that need Node's streams
 * (HTTP/2, WebSocket): a BareSocket hands its connection over; a net.Socket is one already.
 */
export interface ConvertibleSocket {
  toNetSocket(): Socket;
}

/** `socket` as a net.Socket: itself, or the one a BareSocket hands its connection to. */
export function asNetSocket(socket: ClientSocket): Socket {
  const convertible = socket as Partial<ConvertibleSocket>;
  return typeof convertible.toNetSocket === 'function'
    ? convertible.toNetSocket()
    : (socket as unknown as Socket);
}
