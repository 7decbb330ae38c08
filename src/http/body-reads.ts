// Reads of a client socket into one buffer the front owns, for a connection that is sending a
// large request body, instead of a fresh buffer from Node for every read.
//
// Why: a body past `--body-memory-limit` is written to a temporary file as it comes, so each
// read is done with as soon as the call that received it returns. Node's default read path
// still gives every read a new 64 KiB ArrayBuffer: malloc'd memory the kernel must fault in
// and clear before the read can fill it, and external memory that V8 counts towards starting
// a full mark-compact of the front's small heap (about one per three 10 MB uploads). Reading
// into a buffer that is used again takes both away, and a larger buffer takes fewer reads
// (docs/performance.md, "Uploads read into the front's own buffer").
//
// One buffer serves every connection: libuv reads a socket into it and calls back at once,
// on the one JavaScript thread, so a read is consumed before the next one (of any socket)
// lands. That is also the rule for the bytes: a view of the buffer is handed on only when the
// owner says the whole read is body it consumes during the call (`consumesNow`); any other
// read (a head, pipelined bytes, the end of a body and what follows it, anything while the
// stream is paused or holds bytes) is copied and pushed through the socket's stream as Node
// would have pushed it, so every 'data' listener, ordering and back-pressure stay as they
// were.
//
// A socket switched this way stays switched for its life (Node cannot take the buffer back
// from the handle). Only plain TCP sockets are switched: a TLS socket's handle decrypts into
// buffers of its own.

import type { Socket } from 'node:net';

/** Size of the shared read buffer: a read takes up to this much of what the client sent. */
export const BODY_READ_BUFFER = 256 * 1024;

/** What a switched socket's reads go to. */
export interface BodyReadOwner {
  /** Whether `n` bytes just read are all body that the owner consumes before returning. */
  consumesNow(n: number): boolean;
  /** Takes a view that is valid only during the call. */
  onBody(view: Buffer): void;
}

interface UserBufferHandle {
  useUserBuffer?: (buffer: Buffer) => void;
}

interface SocketInternals {
  _handle: UserBufferHandle | null;
  encrypted?: boolean;
  [key: symbol]: unknown;
}

let shared: Buffer | undefined;
let keys: { buffer: symbol; callback: symbol } | null | undefined;

/**
 * The per-socket slots Node's `onread` option fills (net.Socket's constructor sets all three on
 * every socket, to null unless `onread` is given), found by description once. Null when this
 * Node does not have them, and no socket is switched.
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
 * From the next read on, `socket` reads into the shared buffer and hands whole-body reads to
 * `owner` as views (see above). Returns false, changing nothing, for a socket that cannot be
 * switched (TLS, no handle, a Node without the slots); it is then read as before.
 */
export function readBodiesInPlace(socket: Socket, owner: BodyReadOwner): boolean {
  const internals = socket as unknown as SocketInternals;
  const handle = internals._handle;
  if (internals.encrypted === true || handle === null || socket.destroyed) return false;
  if (typeof handle.useUserBuffer !== 'function') return false;
  const slots = onreadKeys(socket);
  if (slots === null || internals[slots.buffer]) return false;
  const buffer = (shared ??= Buffer.allocUnsafeSlow(BODY_READ_BUFFER));
  internals[slots.buffer] = buffer;
  internals[slots.callback] = (n: number): boolean => {
    if (socket.readableFlowing === true && socket.readableLength === 0 && owner.consumesNow(n)) {
      owner.onBody(buffer.subarray(0, n));
      return true;
    }
    const copy = Buffer.allocUnsafe(n);
    buffer.copy(copy, 0, 0, n);
    return socket.push(copy);
  };
  handle.useUserBuffer(buffer);
  return true;
}
