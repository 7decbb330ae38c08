// A client connection on the TCP handle libuv gives Node, without a net.Socket: what the
// front needs of a socket (src/net/client-socket.ts) and nothing more, for HTTP/1.x and for
// a web server's uwsgi, SCGI or FastCGI connections.
//
// Why: a net.Socket is a Duplex stream, and Node builds one for every accepted connection (its
// readable and writable states, its listeners, the stream's bookkeeping on every write and
// read). Measured on the same loopback load, a server that answers each new connection on the
// bare handle spends about half the CPU per connection of the same server on net.Socket
// (`bench/cpu-cost.sh 4 close`: raw-handle against raw-net), and a connection-per-request
// exchange through Cask's front is mostly that (docs/performance.md, "A front on bare
// handles").
//
// How it behaves, where Cask relies on it as on a net.Socket:
//
// - Writes go straight to the handle (`writeBuffer`, or one `writev` for what a cork held).
//   A write's callback runs once, never inside write(): after the kernel took the bytes, or
//   with an error once the socket is destroyed (a lent buffer's release depends on it).
//   `writableLength` counts the bytes not yet taken; write() returns false at 16 KiB queued,
//   and 'drain' follows once the queue is empty, as for a net.Socket.
// - end() shuts the write side down after what is queued; 'finish' comes once that is done.
//   resetAndDestroy() closes with a reset instead (a response cut short, for nginx).
//   Half-open: the read side goes on until the client's end ('end'). Once both sides are done
//   the socket is destroyed, and 'close' follows the handle's close.
// - Reads land in the front's one shared buffer (src/http/shared-reads.ts) and go to the
//   owner set with readInto() (the Connection), as a view when it consumes them during the
//   call, else as a copy; without an owner, as 'data' events. pause() stops reading at once.
// - toNetSocket() hands the connection to a new net.Socket on the same handle, for the
//   protocols that need Node's streams (HTTP/2 with prior knowledge, WebSocket). This object
//   then stands for it in the front's tables: its 'close', its byte counts, destroy().
//
// It rests on what Node does not document: the TCP handle's methods, the listening handle's
// `onconnection` slot, and the internal bindings for write and shutdown requests
// (`stream_wrap`) and libuv's error numbers (`uv`). bareSocketsAvailable() checks that the
// bindings have what is used here; where they do not, and with `--client-sockets node`,
// listeners hand out net.Sockets as before. test/unit/bare-socket.test.ts holds each rule
// above to a real socket; test/integration/connection-close.test.ts runs the front's closing
// rules both ways.

import { EventEmitter } from 'node:events';
import { Socket, type Server } from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { ClientSocket, ConvertibleSocket } from './client-socket.js';
import {
  deliverSharedRead,
  markStreamOnly,
  sharedReadBuffer,
  streamOnlyOnread,
  type SharedReadOwner,
} from '../http/shared-reads.js';

/** A net.Socket's default: write() asks the caller to wait past this many bytes queued. */
const HIGH_WATER = 16 * 1024;

/** The TCP handle of an accepted connection, as far as it is used here. */
export interface TcpHandle {
  /** Must stay a function: the binding asserts it. */
  onread: (this: TcpHandle) => void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteRequest, data: Uint8Array): number;
  writeLatin1String(req: WriteRequest, data: string): number;
  writev(req: WriteRequest, chunks: Uint8Array[], allBuffers: true): number;
  shutdown(req: ShutdownRequest): number;
  close(callback: () => void): void;
  /** Closes with RST (uv_tcp_close_reset); non-zero when it cannot. */
  reset(callback: () => void): number;
  getpeername(out: { address?: string; port?: number }): number;
  setNoDelay(noDelay: boolean): number;
  useUserBuffer(buffer: Uint8Array): void;
  readonly writeQueueSize: number;
  [OWNER]?: BareSocket;
}

interface WriteRequest {
  handle: TcpHandle;
  oncomplete: (this: WriteRequest, status: number) => void;
  async: boolean;
  /** What libuv writes from, kept alive until it is done. */
  buffer: unknown;
  socket: BareSocket;
  size: number;
  callback: WriteCallback | WriteCallback[] | undefined;
  done: boolean;
}

interface ShutdownRequest {
  handle: TcpHandle;
  oncomplete: (this: ShutdownRequest, status: number) => void;
}

type WriteCallback = (error?: Error | null) => void;

interface Bindings {
  WriteWrap: new () => WriteRequest;
  ShutdownWrap: new () => ShutdownRequest;
  state: Int32Array;
  readBytes: number;
  lastWriteAsync: number;
  eof: number;
  canceled: number;
  notConnected: number;
}

const OWNER = Symbol('cask.bareSocket');

let bindings: Bindings | null | undefined;

/** Node's internal bindings this module uses, or null when this Node lacks any of them. */
function load(): Bindings | null {
  if (bindings !== undefined) return bindings;
  bindings = null;
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> })
      .binding;
    const stream = binding('stream_wrap');
    const uv = binding('uv');
    const state = stream.streamBaseState;
    const found = {
      WriteWrap: stream.WriteWrap,
      ShutdownWrap: stream.ShutdownWrap,
      state,
      readBytes: stream.kReadBytesOrError,
      lastWriteAsync: stream.kLastWriteWasAsync,
      eof: uv.UV_EOF,
      canceled: uv.UV_ECANCELED,
      notConnected: uv.UV_ENOTCONN,
    };
    const complete =
      typeof found.WriteWrap === 'function' &&
      typeof found.ShutdownWrap === 'function' &&
      state instanceof Int32Array &&
      [found.readBytes, found.lastWriteAsync, found.eof, found.canceled, found.notConnected].every(
        (n) => typeof n === 'number',
      );
    if (complete) bindings = found as unknown as Bindings;
  } catch {
    // No process.binding, or not these: listeners keep net.Socket.
  }
  return bindings;
}

/** Whether this Node has what a BareSocket needs. */
export function bareSocketsAvailable(): boolean {
  return load() !== null;
}

/** Whether `handle` is an accepted TCP connection's handle a BareSocket can take. */
export function isTcpHandle(handle: unknown): handle is TcpHandle {
  const h = handle as Partial<TcpHandle> | null | undefined;
  return (
    typeof h?.writeBuffer === 'function' &&
    typeof h.writev === 'function' &&
    typeof h.useUserBuffer === 'function' &&
    typeof h.getpeername === 'function' &&
    typeof h.setNoDelay === 'function' &&
    typeof h.reset === 'function'
  );
}

function errnoError(status: number, syscall: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(status);
  const error = new Error(`${syscall} ${code}`) as NodeJS.ErrnoException;
  error.errno = status;
  error.code = code;
  error.syscall = syscall;
  return error;
}

function destroyedError(): NodeJS.ErrnoException {
  const error = new Error(
    'Cannot call write after a stream was destroyed',
  ) as NodeJS.ErrnoException;
  error.code = 'ERR_STREAM_DESTROYED';
  return error;
}

function endedError(): NodeJS.ErrnoException {
  const error = new Error('write after end') as NodeJS.ErrnoException;
  error.code = 'ERR_STREAM_WRITE_AFTER_END';
  return error;
}

// Callbacks of writes done at once, and sockets that may owe a 'drain', run on the next tick:
// one tick for all of them, rather than one per write.
const later: Array<WriteCallback | WriteCallback[]> = [];
const laterErrors: Array<Error | null> = [];
const drainChecks: BareSocket[] = [];
let scheduled = false;

function runLater(): void {
  scheduled = false;
  // Callbacks may write, and add to these lists: run until they are empty. Each batch is
  // taken out before it runs, so that a callback that throws cannot make another run twice.
  while (later.length > 0 || drainChecks.length > 0) {
    const callbacks = later.splice(0);
    const errors = laterErrors.splice(0);
    for (let i = 0; i < callbacks.length; i++) {
      const callback = callbacks[i] as WriteCallback | WriteCallback[];
      const error = errors[i] as Error | null;
      if (typeof callback === 'function') callback(error);
      else for (const each of callback) each(error);
    }
    for (const socket of drainChecks.splice(0)) socket.drainIfEmpty();
  }
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  process.nextTick(runLater);
}

function callLater(callback: WriteCallback | WriteCallback[], error: Error | null): void {
  later.push(callback);
  laterErrors.push(error);
  schedule();
}

function onWriteComplete(this: WriteRequest, status: number): void {
  this.socket.completed(this, status, false);
}

function onShutdownComplete(this: ShutdownRequest, status: number): void {
  this.handle[OWNER]?.shutdownDone(status);
}

function ignoreRead(): void {}

function onHandleRead(this: TcpHandle): void {
  this[OWNER]?.read((bindings as Bindings).state[(bindings as Bindings).readBytes] as number);
}

export class BareSocket extends EventEmitter implements ClientSocket, ConvertibleSocket {
  destroyed = false;
  writableLength = 0;
  writableCorked = 0;
  writableNeedDrain = false;
  readonly writableHighWaterMark = HIGH_WATER;
  writableFinished = false;
  private ownBytesRead = 0;
  private ownBytesWritten = 0;
  /** end() was called: nothing more may be written. */
  private ending = false;
  /** The client's end was read. */
  private readEnded = false;
  private paused = false;
  private noDelay = false;
  private owner: SharedReadOwner | undefined;
  /** What cork() held, and the callbacks of those writes. */
  private corkedChunks: Uint8Array[] = [];
  private corkedCallbacks: WriteCallback[] = [];
  /**
   * Writes libuv has not finished, whose callbacks are owed if the socket is destroyed: those
   * from `inFlightHead` on, oldest first. libuv completes a stream's writes in the order they
   * were made, so the one completed is the oldest, and taking it is moving the head; the array
   * is cut down once the head has passed half of it. (Searching the list for each completed
   * write made a peer that let thousands queue cost the front quadratic time.)
   */
  private inFlight: WriteRequest[] = [];
  private inFlightHead = 0;
  private peer: { address?: string; port?: number } | undefined;
  /** The net.Socket this connection was handed to (toNetSocket()). */
  private handedTo: Socket | undefined;

  constructor(readonly _handle: TcpHandle) {
    super();
    const b = load();
    if (b === null) throw new Error('This Node lacks the bindings a bare socket needs');
    _handle[OWNER] = this;
    _handle.onread = onHandleRead;
    _handle.useUserBuffer(sharedReadBuffer());
    this.setNoDelay(true);
    const status = _handle.readStart();
    if (status !== 0) this.destroy(errnoError(status, 'read'));
  }

  get remoteAddress(): string | undefined {
    return this.peerName().address;
  }

  get remotePort(): number | undefined {
    return this.peerName().port;
  }

  // Once handed over, the net.Socket's counts are the handle's, which include this object's.
  get bytesRead(): number {
    return this.handedTo?.bytesRead ?? this.ownBytesRead;
  }

  get bytesWritten(): number {
    return this.handedTo?.bytesWritten ?? this.ownBytesWritten;
  }

  private peerName(): { address?: string; port?: number } {
    if (this.peer === undefined) {
      const out: { address?: string; port?: number } = {};
      if (!this.destroyed && this._handle.getpeername(out) === 0) this.peer = out;
      else return out;
    }
    return this.peer;
  }

  /** Reads go to `owner` from now on (src/http/shared-reads.ts), not to 'data' listeners. */
  readInto(owner: SharedReadOwner): void {
    this.owner = owner;
  }

  setNoDelay(noDelay = true): this {
    if (noDelay !== this.noDelay && !this.destroyed) {
      this.noDelay = noDelay;
      this._handle.setNoDelay(noDelay);
    }
    return this;
  }

  write(
    data: Uint8Array | string,
    encoding?: BufferEncoding | WriteCallback,
    cb?: WriteCallback,
  ): boolean {
    let callback = cb;
    let charset: BufferEncoding | undefined;
    if (typeof encoding === 'function') callback = encoding;
    else charset = encoding;
    if (this.handedTo !== undefined) {
      return this.handedTo.write(data, charset ?? 'utf8', callback);
    }
    if (this.destroyed || this.ending) {
      if (callback !== undefined)
        callLater(callback, this.destroyed ? destroyedError() : endedError());
      return false;
    }
    const bytes =
      typeof data !== 'string'
        ? data
        : charset === 'latin1' || charset === 'binary'
          ? data
          : Buffer.from(data, charset ?? 'utf8');
    const size = bytes.length;
    this.writableLength += size;
    this.ownBytesWritten += size;
    if (this.writableCorked > 0) {
      this.corkedChunks.push(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
      if (callback !== undefined) this.corkedCallbacks.push(callback);
    } else {
      this.send(bytes, size, callback);
    }
    const more = this.writableLength < HIGH_WATER;
    if (!more) this.writableNeedDrain = true;
    return more;
  }

  /** Hands `bytes` (a buffer, a latin1 string, or a cork's list) to the handle. */
  private send(
    bytes: Uint8Array | string | Uint8Array[],
    size: number,
    callback: WriteCallback | WriteCallback[] | undefined,
  ): void {
    const b = bindings as Bindings;
    const req = new b.WriteWrap();
    req.handle = this._handle;
    req.oncomplete = onWriteComplete;
    req.async = false;
    req.buffer = null;
    req.socket = this;
    req.size = size;
    req.callback = callback;
    req.done = false;
    const status = Array.isArray(bytes)
      ? this._handle.writev(req, bytes, true)
      : typeof bytes === 'string'
        ? this._handle.writeLatin1String(req, bytes)
        : this._handle.writeBuffer(req, bytes);
    if (status !== 0) {
      this.completed(req, status, true);
      return;
    }
    req.async = b.state[b.lastWriteAsync] !== 0;
    if (req.async) {
      req.buffer = bytes;
      this.inFlight.push(req);
    } else {
      this.completed(req, 0, true);
    }
  }

  /**
   * A write is done (`now`: inside write(), so its callback waits for the next tick). An error
   * other than the cancellation of a destroyed socket's writes destroys the socket.
   */
  completed(req: WriteRequest, status: number, now: boolean): void {
    if (req.done) return;
    req.done = true;
    req.buffer = null;
    if (!now) this.forget(req);
    this.writableLength -= req.size;
    const error =
      status < 0 ? (this.destroyed ? destroyedError() : errnoError(status, 'write')) : null;
    if (req.callback !== undefined) {
      if (now) callLater(req.callback, error);
      else if (typeof req.callback === 'function') req.callback(error);
      else for (const each of req.callback) each(error);
    }
    if (error !== null && !this.destroyed) {
      this.destroy(error);
      return;
    }
    if (this.writableNeedDrain && this.writableLength === 0) {
      if (now) {
        drainChecks.push(this);
        schedule();
      } else this.drainIfEmpty();
    }
  }

  /** Takes a completed write out of the writes in flight: the oldest, but any is found. */
  private forget(req: WriteRequest): void {
    const list = this.inFlight;
    let head = this.inFlightHead;
    if (list[head] !== req) {
      // Out of order, which libuv does not do: the slow way, still correct.
      const at = list.indexOf(req, head);
      if (at >= 0) list.splice(at, 1);
      return;
    }
    head++;
    if (head === list.length) {
      list.length = 0;
      head = 0;
    } else if (head >= 64 && head * 2 >= list.length) {
      list.splice(0, head);
      head = 0;
    }
    this.inFlightHead = head;
  }

  /** 'drain', if a write asked to wait and everything has been written since. */
  drainIfEmpty(): void {
    if (!this.writableNeedDrain || this.writableLength !== 0 || this.destroyed) return;
    this.writableNeedDrain = false;
    this.emit('drain');
  }

  cork(): void {
    if (this.handedTo !== undefined) this.handedTo.cork();
    else this.writableCorked++;
  }

  uncork(): void {
    if (this.handedTo !== undefined) {
      this.handedTo.uncork();
      return;
    }
    if (this.writableCorked === 0) return;
    this.writableCorked--;
    if (this.writableCorked === 0) this.flushCork();
  }

  private flushCork(): void {
    const chunks = this.corkedChunks;
    if (chunks.length === 0) return;
    const callbacks = this.corkedCallbacks;
    this.corkedChunks = [];
    this.corkedCallbacks = [];
    let size = 0;
    for (const chunk of chunks) size += chunk.length;
    const callback =
      callbacks.length === 0 ? undefined : callbacks.length === 1 ? callbacks[0] : callbacks;
    if (this.destroyed) {
      if (callback !== undefined) callLater(callback, destroyedError());
      return;
    }
    this.send(chunks.length === 1 ? (chunks[0] as Uint8Array) : chunks, size, callback);
  }

  end(data?: Uint8Array | string): this {
    if (this.handedTo !== undefined) {
      if (data === undefined) this.handedTo.end();
      else this.handedTo.end(data);
      return this;
    }
    if (data !== undefined) this.write(data);
    if (this.ending || this.destroyed) return this;
    if (this.writableCorked > 0) {
      this.writableCorked = 0;
      this.flushCork();
    }
    this.ending = true;
    // libuv shuts the write side down once the writes queued before it are done.
    const b = bindings as Bindings;
    const req = new b.ShutdownWrap();
    req.handle = this._handle;
    req.oncomplete = onShutdownComplete;
    const status = this._handle.shutdown(req);
    // Done at once, or the peer is gone already (ENOTCONN, nothing to shut): 'finish' on
    // the next tick, as from libuv.
    if (status === 1 || status === b.notConnected) process.nextTick(() => this.shutdownDone(0));
    else if (status !== 0) this.destroy(errnoError(status, 'shutdown'));
    return this;
  }

  /** The write side is shut down: 'finish', then destroy if the read side is done too. */
  shutdownDone(status: number): void {
    if (this.destroyed) return;
    const b = bindings as Bindings;
    if (status < 0 && status !== b.canceled && status !== b.notConnected) {
      this.destroy(errnoError(status, 'shutdown'));
      return;
    }
    this.writableFinished = true;
    this.emit('finish');
    if (this.readEnded) this.destroy();
  }

  destroySoon(): void {
    if (this.handedTo !== undefined) {
      this.handedTo.destroySoon();
      return;
    }
    if (!this.ending) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  destroy(error?: Error): this {
    if (this.handedTo !== undefined) {
      this.handedTo.destroy(error);
      return this;
    }
    return this.closeHandle(error, false);
  }

  resetAndDestroy(): this {
    if (this.handedTo !== undefined) {
      this.handedTo.resetAndDestroy();
      return this;
    }
    return this.closeHandle(undefined, true);
  }

  /** Closes the handle (with a reset: RST instead of FIN); 'close' follows. */
  private closeHandle(error: Error | undefined, reset: boolean): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    const corked = this.corkedCallbacks;
    this.corkedChunks = [];
    this.corkedCallbacks = [];
    if (corked.length > 0) callLater(corked, destroyedError());
    if (error !== undefined) process.nextTick(() => this.emit('error', error));
    const handle = this._handle;
    handle.onread = ignoreRead;
    handle.readStop();
    // libuv cancels the writes still queued as it closes the handle; their callbacks run
    // first, and anything still owed is settled here.
    const closed = (): void => {
      const owed = this.inFlight.slice(this.inFlightHead);
      this.inFlight = [];
      this.inFlightHead = 0;
      for (const req of owed) this.completed(req, -1, false);
      handle[OWNER] = undefined;
      this.emit('close', error !== undefined);
    };
    // A reset is refused after a shutdown (libuv): the socket then closes as usual.
    if (!reset || handle.reset(closed) !== 0) handle.close(closed);
    return this;
  }

  pause(): this {
    if (this.handedTo !== undefined) this.handedTo.pause();
    else if (!this.paused) {
      this.paused = true;
      if (!this.destroyed && !this.readEnded) this._handle.readStop();
    }
    return this;
  }

  resume(): this {
    if (this.handedTo !== undefined) this.handedTo.resume();
    else if (this.paused) {
      this.paused = false;
      if (!this.destroyed && !this.readEnded) {
        const status = this._handle.readStart();
        if (status !== 0) this.destroy(errnoError(status, 'read'));
      }
    }
    return this;
  }

  isPaused(): boolean {
    return this.handedTo !== undefined ? this.handedTo.isPaused() : this.paused;
  }

  /** A read of `n` bytes into the shared buffer, the client's end (UV_EOF), or an error. */
  read(n: number): void {
    if (this.destroyed) return;
    if (n > 0) {
      this.ownBytesRead += n;
      const owner = this.owner?.takesReads === true ? this.owner : undefined;
      const copy = deliverSharedRead(owner, n);
      if (copy !== undefined) this.emit('data', copy);
      return;
    }
    if (n === 0) return;
    if (n === (bindings as Bindings).eof) {
      this.readEnded = true;
      this._handle.readStop();
      this.emit('end');
      if (this.writableFinished && !this.destroyed) this.destroy();
      return;
    }
    this.destroy(errnoError(n, 'read'));
  }

  /**
   * Hands the connection to a new net.Socket on the same handle (HTTP/2, WebSocket), which
   * reads into the shared buffer as a switched socket does, through its stream. What this
   * object had queued stays queued in the handle, ahead of what the new socket writes. From
   * now on this object forwards to it, and its 'close' is this object's.
   */
  toNetSocket(): Socket {
    if (this.handedTo !== undefined) return this.handedTo;
    if (this.writableCorked > 0) {
      this.writableCorked = 0;
      this.flushCork();
    }
    const handle = this._handle;
    handle.readStop();
    handle[OWNER] = undefined;
    const options = {
      handle,
      allowHalfOpen: true,
      onread: streamOnlyOnread(),
      pauseOnCreate: this.paused || this.destroyed,
    };
    const socket = new Socket(options as unknown as ConstructorParameters<typeof Socket>[0]);
    markStreamOnly(socket);
    this.handedTo = socket;
    socket.once('close', (hadError: boolean) => {
      this.destroyed = true;
      this.emit('close', hadError);
    });
    return socket;
  }
}

/**
 * Makes the connections `server` accepts come to `onSocket` as BareSockets instead of as
 * net.Sockets through its 'connection' event. For a plain TCP server already listening;
 * returns false, changing nothing, when this Node lacks the bindings or the server has no
 * listening handle to take them from. What a BareSocket cannot take goes on Node's own way,
 * so the caller keeps its 'connection' listener: a failed accept becomes the server's
 * 'error' as in Node, and a connection whose handle is not the TCP handle this module knows
 * (a Node whose internals changed under the same names) becomes a net.Socket rather than
 * being dropped.
 */
export function acceptBare(server: Server, onSocket: (socket: BareSocket) => void): boolean {
  if (load() === null) return false;
  const listening = (server as unknown as { _handle?: { onconnection?: unknown } | null })._handle;
  if (listening === undefined || listening === null) return false;
  const nodeAccept = listening.onconnection;
  if (typeof nodeAccept !== 'function') return false;
  listening.onconnection = function (this: unknown, status: number, client: unknown): void {
    if (status === 0 && isTcpHandle(client)) onSocket(new BareSocket(client));
    else (nodeAccept as (status: number, client: unknown) => void).call(this, status, client);
  };
  return true;
}
