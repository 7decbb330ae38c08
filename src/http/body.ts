// Request bodies are read whole by the front before a worker is taken, so a slow upload never
// holds a Python thread. Small bodies stay in memory; past `memoryLimit` they go to a
// temporary file that the worker reads directly (docs/protocol.md, BODY_FILE).

import { closeSync, openSync, unlink, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaskError } from '../errors.js';

export type RequestBody =
  | { kind: 'none' }
  | { kind: 'memory'; chunks: Buffer[]; length: number }
  | { kind: 'file'; path: string; length: number };

let spoolCounter = 0;

/**
 * Small pieces of a body in memory are copied into blocks of this size rather than kept one
 * Buffer each: a Buffer costs about a hundred bytes of its own, so a client sending a body in
 * 1-byte chunks (HTTP/1.1 chunked, HTTP/2 DATA frames) made the front hold some 130 times the
 * body's size. A piece this size or larger is kept as its own copy.
 */
const BLOCK_SIZE = 16 * 1024;

/**
 * What all bodies being received may keep in memory together (--body-memory-total), and what
 * they keep now. One front per process, so this is the process's: the Front sets it at start.
 * A body counts until it leaves its spool, complete (on to a worker, whose queue is bounded),
 * discarded, or moved to its file. 0: no limit but each body's own.
 */
let memoryTotal = 0;
let memoryHeld = 0;

export function setBodyMemoryTotal(bytes: number): void {
  memoryTotal = bytes;
}

export class BodySpool {
  private chunks: Buffer[] = [];
  /** The block small pieces are being copied into, and how much of it is used. */
  private block: Buffer | undefined;
  private blockUsed = 0;
  /** Bytes of this body counted in memoryHeld. */
  private held = 0;
  private length = 0;
  private fd: number | undefined;
  private path: string | undefined;
  /** Bodies up to this many bytes stay in memory; -1 when this one goes to a file at once. */
  private readonly memoryLimit: number;

  /**
   * `declaredLength` is the length the request announced (Content-Length), or -1 when it did
   * not (chunked, an HTTP/2 stream without one). A body announced past `memoryLimit` goes to
   * its file from its first byte, as nginx does with client_body_buffer_size: held in memory
   * first, its first `memoryLimit` bytes would be copied twice, and those copies, a fresh
   * buffer per read, are what set off the front's full garbage collections on large uploads.
   */
  constructor(
    memoryLimit: number,
    declaredLength = -1,
    private readonly dir: string = tmpdir(),
  ) {
    this.memoryLimit = declaredLength > memoryLimit ? -1 : memoryLimit;
  }

  get size(): number {
    return this.length;
  }

  /** Keep a copy of `chunk` (parser output may be a view into a buffer that gets reused). */
  write(chunk: Buffer): void {
    this.length += chunk.length;
    if (
      this.fd === undefined &&
      this.length <= this.memoryLimit &&
      (memoryTotal === 0 || memoryHeld + chunk.length <= memoryTotal)
    ) {
      this.keep(chunk);
      this.held += chunk.length;
      memoryHeld += chunk.length;
      return;
    }
    try {
      if (this.fd === undefined) this.spill();
      // Synchronous writes to a local temp file take microseconds and keep the order of the
      // connection's events simple; the page cache absorbs them.
      writeSync(this.fd as number, chunk);
    } catch (error) {
      // The caller refuses the request with 500 and discard()s what was written.
      throw new CaskError(
        'CASK_BODY_SPOOL',
        `Cannot write a request body to its temporary file in ${this.dir}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  private keep(chunk: Buffer): void {
    // A body that comes in one piece, most small ones, keeps a copy from Node's shared pool as
    // before, rather than a block of its own.
    if (chunk.length >= BLOCK_SIZE || (this.chunks.length === 0 && this.block === undefined)) {
      this.closeBlock();
      this.chunks.push(Buffer.from(chunk));
      return;
    }
    if (this.block === undefined || this.blockUsed + chunk.length > this.block.length) {
      this.closeBlock();
      this.block = Buffer.allocUnsafe(BLOCK_SIZE);
    }
    chunk.copy(this.block, this.blockUsed);
    this.blockUsed += chunk.length;
  }

  /** The used part of the current block joins the chunks, in order. */
  private closeBlock(): void {
    if (this.block !== undefined && this.blockUsed > 0) {
      this.chunks.push(this.block.subarray(0, this.blockUsed));
    }
    this.block = undefined;
    this.blockUsed = 0;
  }

  finish(): RequestBody {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
      return { kind: 'file', path: this.path as string, length: this.length };
    }
    this.closeBlock();
    this.release();
    const body: RequestBody = { kind: 'memory', chunks: this.chunks, length: this.length };
    this.chunks = [];
    return body;
  }

  /** Drop whatever was stored (the request failed before it reached a worker). */
  discard(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.path !== undefined) removeBodyFile(this.path);
    this.path = undefined;
    this.chunks = [];
    this.block = undefined;
    this.blockUsed = 0;
    this.release();
  }

  /** This body's bytes no longer count against the front's total. */
  private release(): void {
    memoryHeld -= this.held;
    this.held = 0;
  }

  private spill(): void {
    const path = join(this.dir, `cask-body-${process.pid}-${++spoolCounter}`);
    this.fd = openSync(path, 'wx', 0o600);
    this.path = path;
    this.closeBlock();
    for (const chunk of this.chunks) writeSync(this.fd, chunk);
    this.chunks = [];
    this.release();
  }
}

/**
 * Why request bodies past the memory limit cannot go to `dir` (a file made and removed at
 * once), or undefined when they can. For a warning at start: such requests would get 500.
 */
export function bodyFilesUnwritable(dir: string = tmpdir()): string | undefined {
  const path = join(dir, `cask-body-${process.pid}-check`);
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    return (error as Error).message;
  }
  unlink(path, () => {});
  return undefined;
}

export function removeBodyFile(path: string): void {
  unlink(path, () => {});
}
