// Reads of a client socket (HTTP/1.x, or a web server speaking uwsgi, SCGI or FastCGI) into one
// buffer the front owns, instead of a fresh buffer from Node for every read.
//
// Why: Node's default read path gives every read of a socket a new 64 KiB buffer: memory glibc
// has often just given back to the system, which the kernel must fault in and clear before it
// can copy into it, and external memory that V8 counts towards starting a full mark-compact of
// the front's small heap. On a 10 MB upload that was about a quarter of the front's CPU (one
// full collection per three uploads); on a small request it is an allocation, a reallocation
// and an ArrayBuffer per read, then the stream's push and 'data' event (docs/performance.md,
// "Reads into the front's own buffer").
//
// One buffer serves every connection: libuv reads a socket into it and calls back at once, on
// the one JavaScript thread, so a read is consumed or copied before the next read (of any
// socket) lands. What a read becomes:
//
// - all body that the owner consumes during the call (`consumesNow`: the rest of a body
//   bound for a temporary file or a copy in memory): a view of the shared buffer, no copy;
// - any other read, while the owner takes reads itself: a copy of its own, handed over
//   directly, as the 'data' event would have;
// - while the stream is paused or holds bytes (put back by a sniffer), or once the owner has
//   let another protocol take the socket (a WebSocket, HTTP/2): a copy pushed through the
//   socket's stream, as Node would have pushed it, so ordering, back-pressure and the new
//   owner's 'data' listeners stay as they were.
//
// A socket switched this way stays switched for its life (Node cannot take the buffer back
// from the handle). Only plain sockets are switched (TCP and Unix): a TLS socket's handle
// decrypts into buffers of its own. If this Node does not have the slots that its `onread`
// option fills, nothing is switched and sockets are read as Node reads them.

import type { Socket } from 'node:net';
import type { ClientSocket } from '../net/client-socket.js';

/** Size of the shared read buffer: a read takes up to this much of what the client sent. */
export const SHARED_READ_BUFFER = 256 * 1024;

/** Who a switched socket's reads go to. */
export interface SharedReadOwner {
  /** False once another protocol owns the socket: reads then go through its stream. */
  readonly takesReads: boolean;
  /** Whether the `n` bytes just read are all body that the owner consumes during the call. */
  consumesNow(n: number): boolean;
  /** A read: a view valid only during the call when consumesNow() said so, else a copy. */
  onRead(bytes: Buffer): void;
}

interface UserBufferHandle {
  useUserBuffer?: (buffer: Buffer) => void;
}

interface SocketInternals {
  _handle: UserBufferHandle | null;
  encrypted?: boolean;
  [key: symbol]: unknown;
}

/** The owner of a switched socket, kept on the socket so that one function serves them all. */
const READ_OWNER = Symbol('cask.sharedReadOwner');

interface SwitchedSocket extends Socket {
  [READ_OWNER]: SharedReadOwner;
}

let shared: Buffer | undefined;
let keys: { buffer: symbol; callback: symbol } | null | undefined;

/**
 * The per-socket slots Node's `onread` option fills (net.Socket's constructor sets all three on
 * every socket, to null unless `onread` is given), found by description once. Null when this
 * Node does not have them.
 */
function onreadKeys(socket: Socket): { buffer: symbol; callback: symbol } | null {
  if (keys !== undefined) return keys;
  const symbols = Object.getOwnPropertySymbols(socket);
  const buffer = symbols.find((s) => s.description === 'kBuffer');
  const callback = symbols.find((s) => s.description === 'kBufferCb');
  const generator = symbols.find((s) => s.description === 'kBufferGen');
  keys =
    buffer !== undefined && callback !== undefined && generator !== undefined
      ? { buffer, callback }
      : null;
  return keys;
}

/**
 * Node calls this, as a method of the socket, for every read with its byte count (the bytes
 * are in the shared buffer); false stops reading (back-pressure). One function for every
 * socket: a closure each would cost an idle connection about a hundred bytes more.
 */
function sharedRead(this: SwitchedSocket, n: number): boolean {
  const owner = this[READ_OWNER];
  const direct = this.readableFlowing === true && this.readableLength === 0 && owner.takesReads;
  const copy = deliverSharedRead(direct ? owner : undefined, n);
  return copy === undefined || this.push(copy);
}

/**
 * The `n` bytes just read into the shared buffer, for `owner` (undefined when they must go
 * elsewhere): a view when the owner consumes them during the call, else a copy of their own,
 * given to the owner. Returns the copy when there is no owner, for the caller to pass on
 * (through the socket's stream, or as a BareSocket's 'data'); else undefined. The one place
 * that decides when a view of the shared buffer may leave this module.
 */
export function deliverSharedRead(
  owner: SharedReadOwner | undefined,
  n: number,
): Buffer | undefined {
  const buffer = shared as Buffer;
  if (owner !== undefined && owner.consumesNow(n)) {
    owner.onRead(buffer.subarray(0, n));
    return undefined;
  }
  const copy = Buffer.allocUnsafe(n);
  buffer.copy(copy, 0, 0, n);
  if (owner === undefined) return copy;
  owner.onRead(copy);
  return undefined;
}

/**
 * From the next read on, `socket` reads into the shared buffer and its reads go to `owner` as
 * described above. Returns false, changing nothing, for a socket that cannot be switched (TLS,
 * no handle, already switched, a Node without the slots); it is then read as before. A
 * BareSocket (src/net/bare-socket.ts) reads into the shared buffer from the start: it is only
 * told its owner.
 */
export function readIntoSharedBuffer(socket: ClientSocket, owner: SharedReadOwner): boolean {
  const bare = socket as Partial<{ readInto(owner: SharedReadOwner): void }>;
  if (typeof bare.readInto === 'function') {
    bare.readInto(owner);
    return true;
  }
  const internals = socket as unknown as SocketInternals;
  const handle = internals._handle;
  if (internals.encrypted === true || handle === null || socket.destroyed) return false;
  if (typeof handle.useUserBuffer !== 'function') return false;
  const slots = onreadKeys(socket as unknown as Socket);
  if (slots === null || internals[slots.buffer]) return false;
  const buffer = sharedReadBuffer();
  (socket as unknown as SwitchedSocket)[READ_OWNER] = owner;
  internals[slots.buffer] = buffer;
  internals[slots.callback] = sharedRead;
  handle.useUserBuffer(buffer);
  return true;
}

/** The one buffer every switched socket reads into (a BareSocket's handle too). */
export function sharedReadBuffer(): Buffer {
  return (shared ??= Buffer.allocUnsafeSlow(SHARED_READ_BUFFER));
}

/** The owner of a socket whose reads all go through its stream, as Node would push them. */
const STREAM_ONLY: SharedReadOwner = {
  takesReads: false,
  consumesNow: () => false,
  onRead: () => {},
};

/**
 * The `onread` option that makes a new net.Socket on a handle already reading into the shared
 * buffer (a BareSocket's, handed over to HTTP/2 or WebSocket) go on reading into it, each read
 * copied and pushed through the socket's stream. Node's documented `onread` option sets the
 * handle's buffer again (the same one) and calls `callback` for every read; the owner that
 * sharedRead() finds on the socket is set with markStreamOnly() once the socket exists.
 */
export function streamOnlyOnread(): { buffer: Buffer; callback: (n: number) => boolean } {
  return { buffer: sharedReadBuffer(), callback: sharedRead as (n: number) => boolean };
}

/** See streamOnlyOnread(). */
export function markStreamOnly(socket: Socket): void {
  (socket as SwitchedSocket)[READ_OWNER] = STREAM_ONLY;
}
