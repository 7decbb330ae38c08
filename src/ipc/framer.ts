// Incremental frame decoder. Frames that lie whole inside a chunk are handed out as views of
// it; only a frame cut by a chunk boundary is copied, once, into a buffer of exactly its
// payload size, which is handed out when the frame is complete. So memory held between
// chunks is one frame at most, and every byte is copied at most once, however the stream
// is split.
//
// A frame of the `streamKind` given to the constructor (the worker's DATA) is a piece of a
// byte stream whose cut points mean nothing, so it is never copied: each part of it that a
// chunk holds is handed out at once as a view of that chunk, as a frame of the same kind,
// and only the last part carries the frame's flags. With 64 KiB reads and large frames,
// nearly every frame is cut, and copying them cost a memcpy and a fresh buffer per frame,
// whose garbage made most of the front's CPU on a large download (docs/performance.md).

import { LinkProtocolError } from '../errors.js';
import { HEADER_SIZE, MAX_PAYLOAD, type Frame } from './protocol.js';

export class FrameTooLargeError extends LinkProtocolError {
  constructor(length: number) {
    super(`Frame payload too large: ${length} bytes (max ${MAX_PAYLOAD})`);
  }
}

export class FrameDecoder {
  /** Header bytes of the frame cut by a chunk boundary (valid up to `headerHave`). */
  private readonly header = Buffer.alloc(HEADER_SIZE);
  private headerHave = 0;
  /** Its payload, allocated once the header is whole; filled up to `payloadHave`. */
  private payload: Buffer | undefined;
  private payloadHave = 0;
  /** Bytes still to come of a cut stream frame (handed out part by part, never copied). */
  private streamLeft = 0;

  constructor(private readonly streamKind = -1) {}

  /** Feed one chunk and return every whole frame it completes. The caller may reuse the
   *  chunk afterwards: nothing of it is kept, only copies. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let pos = 0;
    if (this.streamLeft > 0) {
      pos = this.resumeStream(chunk, frames);
      if (this.streamLeft > 0) return frames;
    }
    if (this.headerHave > 0) {
      pos = this.resume(chunk, frames);
      if (this.headerHave > 0) return frames;
    }
    const limit = chunk.length;
    while (limit - pos >= HEADER_SIZE) {
      const length = chunk.readUInt32BE(pos);
      if (length > MAX_PAYLOAD) throw new FrameTooLargeError(length);
      if (limit - pos < HEADER_SIZE + length) {
        if (chunk[pos + 8] === this.streamKind && length > 0) {
          chunk.copy(this.header, 0, pos, pos + HEADER_SIZE);
          this.headerHave = HEADER_SIZE;
          this.streamLeft = length;
          this.resumeStream(chunk.subarray(pos + HEADER_SIZE), frames);
          return frames;
        }
        break;
      }
      frames.push({
        id: chunk.readUInt32BE(pos + 4),
        kind: chunk[pos + 8] as number,
        flags: chunk[pos + 9] as number,
        payload: chunk.subarray(pos + HEADER_SIZE, pos + HEADER_SIZE + length),
      });
      pos += HEADER_SIZE + length;
    }
    if (pos < limit) this.resume(chunk.subarray(pos), frames);
    return frames;
  }

  /** Bytes held of a frame not yet complete. */
  get pending(): number {
    return this.headerHave + this.payloadHave;
  }

  /** Hand out the next part of the cut stream frame; returns how much of `chunk` it used. */
  private resumeStream(chunk: Buffer, frames: Frame[]): number {
    const take = Math.min(this.streamLeft, chunk.length);
    this.streamLeft -= take;
    const last = this.streamLeft === 0;
    if (take > 0 || last) {
      frames.push({
        id: this.header.readUInt32BE(4),
        kind: this.streamKind,
        flags: last ? (this.header[9] as number) : 0,
        payload: chunk.subarray(0, take),
      });
    }
    if (last) this.headerHave = 0;
    return take;
  }

  /** Continue the cut frame with the start of `chunk`; returns how much of it was used. */
  private resume(chunk: Buffer, frames: Frame[]): number {
    let pos = 0;
    if (this.headerHave < HEADER_SIZE) {
      const take = Math.min(HEADER_SIZE - this.headerHave, chunk.length);
      chunk.copy(this.header, this.headerHave, 0, take);
      this.headerHave += take;
      pos = take;
      if (this.headerHave < HEADER_SIZE) return pos;
      const length = this.header.readUInt32BE(0);
      if (length > MAX_PAYLOAD) throw new FrameTooLargeError(length);
      if (this.header[8] === this.streamKind && length > 0) {
        this.streamLeft = length;
        return pos + this.resumeStream(chunk.subarray(pos), frames);
      }
      this.payload = Buffer.allocUnsafe(length);
      this.payloadHave = 0;
    }
    const payload = this.payload as Buffer;
    const take = Math.min(payload.length - this.payloadHave, chunk.length - pos);
    chunk.copy(payload, this.payloadHave, pos, pos + take);
    this.payloadHave += take;
    pos += take;
    if (this.payloadHave === payload.length) {
      frames.push({
        id: this.header.readUInt32BE(4),
        kind: this.header[8] as number,
        flags: this.header[9] as number,
        payload,
      });
      this.headerHave = 0;
      this.payload = undefined;
      this.payloadHave = 0;
    }
    return pos;
  }
}
