// Private to src/http (the parser's base class; import the parser from `parser.ts`).
//
// The parser's receive buffer (linear: an offset and how far it was searched, never a copy per
// chunk; cf. h11's _receivebuffer.py). `buf` holds the bytes received, of which those from `start`
// on are not consumed yet:
//
//   buf:  [ consumed ... | start ... held, not consumed ... ]   buf.length === end of data
//                          ^ lines are searched from start + scanned
//
// When nothing is held, push() adopts the caller's chunk without copying, which is the whole story
// for a small request arriving in one read. Only when bytes are left over does it copy, into
// `store`, which grows by doubling and is compacted only when its tail is full; `buf` is then a
// view of the filled part of `store`. `scanned` remembers how far the current line was already
// searched for LF, so a head trickling in one byte at a time costs O(n), not O(n²).

import { CR, LF, badRequest, latin1, shown } from './bytes.js';

/** lineEnd(): no LF held yet. */
export const NEED_MORE = -1;
/** lineEnd(): the line is longer than allowed. */
export const TOO_LONG = -2;

/** Small enough to come from Node's shared allocation pool (under 4 KiB), so cheap to drop when idle. */
const MIN_STORE = 2048;
const EMPTY = Buffer.alloc(0);

export class ReceiveBuffer {
  protected buf: Buffer = EMPTY;
  protected start = 0;
  protected scanned = 0;
  /** Whether the fast path may look at the bytes: the parser clears it, push() sets it. */
  protected tryFast = true;
  /** Set once the parser has failed: input is dropped from then on. */
  protected closed = false;
  private store: Buffer | null = null;
  private inStore = false;
  // Buffer bytes [textFrom, textTo) decoded as `text`, so several strings can be cut from one
  // native decode (latin1Slice costs a call into C++ each time).
  private text = '';
  private textFrom = 0;
  private textTo = -1;

  /** Bytes held and not yet consumed. */
  get buffered(): number {
    return this.buf.length - this.start;
  }

  /** Appends bytes. Body chunks already returned by next() may be overwritten from here on. */
  push(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.tryFast = true;
    this.textTo = -1; // bytes may move
    const end = this.buf.length;
    const held = end - this.start;
    if (held === 0) {
      this.buf = chunk;
      this.start = 0;
      this.store = null;
      this.inStore = false;
      return;
    }
    let store = this.store;
    if (this.inStore && end + chunk.length <= store!.length) {
      chunk.copy(store!, end);
      this.buf = store!.subarray(0, end + chunk.length);
      return;
    }
    const need = held + chunk.length;
    if (store === null || need > store.length) {
      store = this.store = Buffer.allocUnsafe(Math.max(2 * need, MIN_STORE));
    }
    this.buf.copy(store, 0, this.start, end); // may overlap when buf is store: copy() is a memmove
    chunk.copy(store, held);
    this.buf = store.subarray(0, need);
    this.start = 0;
    this.inStore = true;
  }

  /**
   * Hands over the bytes held and not consumed, and lets go of them: a connection that
   * switches protocols (RFC 9110 §7.8) gives its next owner what the client already sent.
   */
  takeBuffered(): Buffer {
    const rest = Buffer.from(this.buf.subarray(this.start));
    this.release();
    return rest;
  }

  /** Lets go of every byte, so an idle or dead connection holds no memory. */
  protected release(): void {
    this.buf = EMPTY;
    this.start = 0;
    this.scanned = 0;
    this.store = null;
    this.inStore = false;
    this.forget();
  }

  /**
   * Index of the CR ending the line that starts at `start`; NEED_MORE when no LF is held yet;
   * TOO_LONG as soon as the line, without CRLF, is known to exceed `limit` bytes. Length is
   * checked before the line ending, so the outcome is the same however the bytes were split.
   * Lines end in CRLF only: RFC 9112 §2.2 lets a recipient accept a bare LF, but a proxy in
   * front of us that does not would see another message boundary than we do (smuggling).
   */
  protected lineEnd(limit: number): number {
    const buf = this.buf;
    const start = this.start;
    const lf = buf.indexOf(LF, start + this.scanned);
    if (lf === -1) {
      const seen = buf.length - start;
      this.scanned = seen;
      const atLeast = seen > 0 && buf[buf.length - 1] === CR ? seen - 1 : seen;
      return atLeast > limit ? TOO_LONG : NEED_MORE;
    }
    this.scanned = 0;
    const hasCr = lf > start && buf[lf - 1] === CR;
    if ((hasCr ? lf - 1 : lf) - start > limit) return TOO_LONG;
    if (!hasCr) throw badRequest(`Line ends in a bare LF: ${shown(buf, start, lf)}`);
    return lf - 1;
  }

  /** Decodes bytes [from, to) once, for slice() to cut strings from. */
  protected decode(from: number, to: number): void {
    this.text = latin1(this.buf, from, to);
    this.textFrom = from;
    this.textTo = to;
  }

  /** Drops the decoded text (it may pin a large string). */
  protected forget(): void {
    this.text = '';
    this.textTo = -1;
  }

  /** Bytes [from, to) as a latin1 string, cut from the decoded text when it covers them. */
  protected slice(from: number, to: number): string {
    if (from >= this.textFrom && to <= this.textTo) {
      return this.text.slice(from - this.textFrom, to - this.textFrom);
    }
    return latin1(this.buf, from, to);
  }
}
