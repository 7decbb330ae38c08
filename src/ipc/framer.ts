// Incremental frame decoder. Chunks from the link are appended to one linear buffer with a read
// offset; whole frames are handed out as views and the buffer is compacted only when its
// unread tail must move, so decoding stays O(bytes) however the stream is split.

import { HEADER_SIZE, MAX_PAYLOAD, type Frame } from './protocol.js';

export class FrameTooLargeError extends RangeError {
  constructor(length: number) {
    super(`Frame payload too large: ${length} bytes (max ${MAX_PAYLOAD})`);
  }
}

export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  /** Feed one chunk and return every whole frame it completes. Payloads are copies only when
   *  the chunk had to be merged with earlier bytes; otherwise they are views into `chunk`. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let data: Buffer;
    let pos: number;
    let limit: number;
    if (this.end === this.start) {
      // Common case: nothing pending, decode straight out of the chunk without copying.
      data = chunk;
      pos = 0;
      limit = chunk.length;
    } else {
      this.append(chunk);
      data = this.buf;
      pos = this.start;
      limit = this.end;
    }
    while (limit - pos >= HEADER_SIZE) {
      const length = data.readUInt32BE(pos);
      if (length > MAX_PAYLOAD) throw new FrameTooLargeError(length);
      if (limit - pos < HEADER_SIZE + length) break;
      frames.push({
        id: data.readUInt32BE(pos + 4),
        kind: data[pos + 8] as number,
        flags: data[pos + 9] as number,
        payload: data.subarray(pos + HEADER_SIZE, pos + HEADER_SIZE + length),
      });
      pos += HEADER_SIZE + length;
    }
    if (data === chunk) {
      if (pos < limit) {
        // Keep the partial tail; copy it because the caller may reuse the chunk.
        this.start = 0;
        this.end = 0;
        this.append(chunk.subarray(pos));
      }
    } else {
      this.start = pos;
      if (this.start === this.end) {
        this.start = 0;
        this.end = 0;
        // Payload views above point into this.buf, so never write into it again.
        this.buf = Buffer.alloc(0);
      }
    }
    return frames;
  }

  get pending(): number {
    return this.end - this.start;
  }

  private append(chunk: Buffer): void {
    const unread = this.end - this.start;
    if (this.buf.length - this.end >= chunk.length) {
      chunk.copy(this.buf, this.end);
      this.end += chunk.length;
      return;
    }
    const next = Buffer.allocUnsafe(Math.max(unread + chunk.length, this.buf.length * 2, 64 * 1024));
    this.buf.copy(next, 0, this.start, this.end);
    chunk.copy(next, unread);
    this.buf = next;
    this.start = 0;
    this.end = unread + chunk.length;
  }
}
