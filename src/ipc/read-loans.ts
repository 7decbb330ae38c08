// Reads of a worker's link into buffers the front owns and lends, instead of a fresh buffer
// from Node for every read.
//
// Why: on a large download every byte the app sends is read from the link once, and Node's
// default read path allocates a new 64 KiB ArrayBuffer for each read. V8 counts that memory
// towards starting a full mark-compact of the front's heap, and with the small heap the front
// keeps (bin/cask.js) that meant one full collection per 10 MB response: about two thirds of
// the front's CPU on such a download went to the collector (docs/performance.md, "Reading
// the link into lent buffers"). Here a read lands in a 256 KiB buffer that is used again once
// everyone who took a view of it is done with it.
//
// The rule for whoever is handed a chunk with a loan: a view of it is valid while the call
// runs. To keep one longer (a socket write not yet done), call `loan.hold()` first and call
// the function it returns, once, when the bytes are no longer needed; or copy them. A hold
// never released only costs the buffer (it is not used again, and the collector frees it);
// a release before the bytes are done with would let the next read overwrite them, so the
// holders are few and each is tested (test/integration/read-loans.test.ts).
//
// Small reads (a hello world's response is a few hundred bytes) are copied out into a buffer
// of their own and come without a loan: a copy of a few hundred bytes costs less than the
// bookkeeping, and a small chunk kept by anyone then pins only itself.

import { Socket } from 'node:net';

/** A read buffer lent to the consumers of one chunk (see the rule above). */
export interface Loan {
  /** Keep the chunk's bytes until the returned function is called (exactly once). */
  hold(): () => void;
}

/** `bytes` to keep past the call: as they are when not lent, else a copy of their own. */
export function kept(bytes: Buffer, loan: Loan | undefined): Buffer {
  return loan === undefined ? bytes : Buffer.from(bytes);
}

/** Size of each read buffer: more than a link socket holds by default (about 208 KiB), so
 *  one read takes whatever the worker has queued. */
export const READ_BUFFER = 256 * 1024;
/** Reads shorter than this are copied out and come without a loan. */
export const LEND_FROM = 16 * 1024;
/** Free buffers kept per link for the next reads; more are left to the collector. */
const FREE_MAX = 2;

class LentBuffer implements Loan {
  holds = 0;
  constructor(
    readonly bytes: Buffer,
    private readonly lender: BufferLender,
  ) {}

  hold(): () => void {
    this.holds++;
    return this.release;
  }

  readonly release = (): void => {
    if (--this.holds === 0) this.lender.returned(this);
  };
}

/** Hands out read buffers and takes them back when their last hold is released. */
export class BufferLender {
  private readonly free: LentBuffer[] = [];
  private current: LentBuffer;
  /** Buffers allocated so far (for tests and measurements). */
  allocated = 0;

  constructor(private readonly size = READ_BUFFER) {
    this.current = this.fresh();
  }

  /** The buffer the next read goes into. */
  get next(): Buffer {
    return this.current.bytes;
  }

  /**
   * `n` bytes were read into `next`: gives them to `consume`, lent or copied, and picks the
   * buffer for the following read.
   */
  read(n: number, consume: (chunk: Buffer, loan: Loan | undefined) => void): void {
    const lent = this.current;
    if (n < LEND_FROM) {
      const copy = Buffer.allocUnsafe(n);
      lent.bytes.copy(copy, 0, 0, n);
      consume(copy, undefined);
      return;
    }
    lent.holds++; // the consumer's own, for the length of the call
    try {
      consume(lent.bytes.subarray(0, n), lent);
    } finally {
      // Held past the call: the next read needs another buffer, and this one comes back
      // through its last release. Not held: the next read goes into it again.
      if (--lent.holds > 0) this.current = this.free.pop() ?? this.fresh();
    }
  }

  /** Buffers waiting on the free list. */
  get spare(): number {
    return this.free.length;
  }

  /** The last hold of `buffer` was released. */
  returned(buffer: LentBuffer): void {
    if (buffer !== this.current && this.free.length < FREE_MAX) this.free.push(buffer);
  }

  private fresh(): LentBuffer {
    this.allocated++;
    return new LentBuffer(Buffer.allocUnsafeSlow(this.size), this);
  }
}

interface HandleOwner {
  _handle: object | null;
}

/**
 * Takes over the stream handle of `socket` (a link made by child_process) and reads it into
 * lent buffers: returns the socket to use from now on, whose chunks go to `consume` instead
 * of 'data' events. The original socket stays open, without its handle, until the new one
 * closes, so whoever waits for its 'close' (child_process, the zygote) still learns when the
 * link has been read to its end. Undefined when the socket has no handle to take over; the
 * caller then reads it as a plain stream.
 */
export function readWithLoans(
  socket: Socket,
  lender: BufferLender,
  consume: (chunk: Buffer, loan: Loan | undefined) => void,
): Socket | undefined {
  const owner = socket as unknown as HandleOwner;
  const handle = owner._handle;
  if (handle === null || handle === undefined || socket.destroyed) return undefined;
  // The handle goes on reading (child_process started it): from here on its reads land in
  // the lender's buffers and are told to the new socket, within this same turn.
  owner._handle = null;
  const adopted = new Socket({
    handle,
    onread: {
      buffer: () => lender.next,
      callback: (n: number) => {
        lender.read(n, consume);
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
  adopted.once('close', () => socket.destroy());
  return adopted;
}
