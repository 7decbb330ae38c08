// Request bodies are read whole by the front before a worker is taken, so a slow upload never
// holds a Python thread. Small bodies stay in memory; past `memoryLimit` they go to a
// temporary file that the worker reads directly (docs/protocol.md, BODY_FILE).

import { closeSync, openSync, unlink, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type RequestBody =
  | { kind: 'none' }
  | { kind: 'memory'; chunks: Buffer[]; length: number }
  | { kind: 'file'; path: string; length: number };

let spoolCounter = 0;

export class BodySpool {
  private chunks: Buffer[] = [];
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
    if (this.fd === undefined && this.length <= this.memoryLimit) {
      this.chunks.push(Buffer.from(chunk));
      return;
    }
    if (this.fd === undefined) this.spill();
    // Synchronous writes to a local temp file take microseconds and keep the order of the
    // connection's events simple; the page cache absorbs them.
    writeSync(this.fd as number, chunk);
  }

  finish(): RequestBody {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
      return { kind: 'file', path: this.path as string, length: this.length };
    }
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
  }

  private spill(): void {
    this.path = join(this.dir, `cask-body-${process.pid}-${++spoolCounter}`);
    this.fd = openSync(this.path, 'wx', 0o600);
    for (const chunk of this.chunks) writeSync(this.fd, chunk);
    this.chunks = [];
  }
}

export function removeBodyFile(path: string): void {
  unlink(path, () => {});
}
