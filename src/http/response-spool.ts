// Where a response waits for a client slower than the app, so that the app's thread is free
// as soon as the app has produced its response (nginx's proxy buffering, in the front).
//
// The worker sends body bytes only against credit (docs/protocol.md, WINDOW), and the
// front pays that credit back the moment it has taken the bytes in hand. It holds at most
// MEMORY_MARK bytes of one response in the socket's user-space queue; everything past that
// goes to a temporary file and is sent on as the client drains. The kernel's own socket
// buffer comes first and is not counted: it holds what it holds whatever we do.
//
//   app bytes ─▶ app() ─┬─ nothing on file, and the socket holds < its mark ─▶ socket
//                       │  (MEMORY_MARK with a claim on the budget, else FLOOR)
//                       └─ the rest ─▶ temporary file ──pump() on 'drain'────▶ socket
//   credit    ◀─ at once, while this response has ≤ `limit` on file and every response of
//                the front together ≤ `ledger.total`
//              ◀─ else once those very bytes have left the file (flow control as usual)
//
// Why credit is paid on taking the bytes rather than when the socket has written them: the
// link's window is 1 MiB, and a single 1 MiB frame stuck in a socket whose client does not
// read would otherwise hold the whole window, and with it the app's thread, forever.
//
// Past either cap the bytes still go to the file (they have already arrived), but the app
// is not credited until the client takes them: each response over a cap adds at most one
// link window (1 MiB) before its app waits. The same policy as nginx past
// proxy_max_temp_file_size: the upstream is then read at the client's pace.

import { closeSync, openSync, readSync, unlink, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Flushed } from '../exchange.js';
import type { Loan } from '../ipc/read-loans.js';

/** Most bytes of one response held in memory (the socket's user-space queue), by claim. */
export const MEMORY_MARK = 256 * 1024;
/**
 * Most bytes a target without a claim holds in memory (raised to its writableHighWaterMark if
 * larger: below that mark no 'drain' would ever come to send the rest). One DATA frame at
 * HTTP/2's default SETTINGS_MAX_FRAME_SIZE, and node's default high-water mark on Node 20.
 */
export const FLOOR = 16 * 1024;
/** Most bytes read back from the file per socket write. */
const FILE_READ = 256 * 1024;

let fileCounter = 0;

/**
 * The global caps across every response of one front: bytes on file (`total`), and bytes held
 * in memory by claim (`memory`, MEMORY_MARK a claim; see the header).
 */
export class SpoolLedger {
  /** Bytes on file now, not yet sent. */
  onFile = 0;
  /** Most bytes ever on file at once. */
  peak = 0;
  /** Temporary files open now. */
  files = 0;
  /** Bytes of memory claimed now: each claim is MEMORY_MARK, or a file piece (filePiece()). */
  inMemory = 0;
  /** Most bytes of memory ever claimed at once. */
  memoryPeak = 0;
  /** Writes that found the budget spent and no claim: bytes past FLOOR went to file. */
  memoryRefused = 0;
  /** Targets holding a claim, with its size and whether it waits for 'drain'. */
  private readonly claims = new Map<SpoolTarget, Claim>();
  /** Targets this ledger listens to (once each, for as long as they live: see watch()). */
  private readonly watched = new WeakSet<SpoolTarget>();

  /**
   * @param total most bytes all responses together keep on file with their apps credited
   * @param full told each time credit is withheld because `total` is reached (for a warning)
   * @param memory most bytes all responses together hold in memory by claim
   */
  constructor(
    readonly total: number,
    readonly full: () => void = () => {},
    readonly memory: number = 64 * 1024 * 1024,
  ) {}

  add(bytes: number): void {
    this.onFile += bytes;
    if (this.onFile > this.peak) this.peak = this.onFile;
  }

  /**
   * The most bytes `target` may hold in its user-space queue now: `bytes` (MEMORY_MARK, or a
   * file's piece) with a claim on the budget, taken here if there is room, or the size of the
   * claim it holds already; else FLOOR. Call settle() after writing.
   */
  mark(of: SpoolTarget, bytes = MEMORY_MARK): number {
    const target = of.shared ?? of;
    const held = this.claims.get(target);
    if (held !== undefined) return held.bytes;
    if (this.inMemory + bytes > this.memory) {
      this.memoryRefused++;
      return Math.max(FLOOR, target.writableHighWaterMark);
    }
    this.claims.set(target, { bytes, waiting: false });
    this.watch(target);
    this.inMemory += bytes;
    if (this.inMemory > this.memoryPeak) this.memoryPeak = this.inMemory;
    return bytes;
  }

  /**
   * After writing to `target`: a claim is kept while bytes wait in its queue and it waits to
   * drain (its queue reached the high-water mark, so 'drain' will come), else given back at
   * once (what is queued is under the floor, or nothing is).
   */
  settle(of: SpoolTarget): void {
    const target = of.shared ?? of;
    const claim = this.claims.get(target);
    if (claim === undefined || claim.waiting) return;
    if (!target.writableNeedDrain || target.writableLength === 0 || target.destroyed) {
      this.release(target);
      return;
    }
    claim.waiting = true;
  }

  /**
   * Listens to `target` once for its whole life, so that a claim waiting for 'drain' is given
   * back when it comes, or when the target closes. Listeners added for each write and removed
   * at its 'drain' (two closures a piece: a socket asks for 'drain' after every write past its
   * high-water mark) cost a 10 MB download streamed in 64 KiB pieces about a tenth more CPU
   * (docs/performance.md, "The response memory budget on the request path").
   */
  private watch(target: SpoolTarget): void {
    if (this.watched.has(target)) return;
    this.watched.add(target);
    target.on('drain', () => {
      // A 'drain' listener before this one may have filled the queue again: the next 'drain'.
      if (this.claims.get(target)?.waiting === true && !target.writableNeedDrain) {
        this.release(target);
      }
    });
    target.once('close', () => this.release(target));
  }

  private release(target: SpoolTarget): void {
    const claim = this.claims.get(target);
    if (claim === undefined) return;
    this.claims.delete(target);
    this.inMemory -= claim.bytes;
  }
}

interface Claim {
  readonly bytes: number;
  /** Given back at the target's next 'drain' (settle()). */
  waiting: boolean;
}

/**
 * How many bytes of a file (`wsgi.file_wrapper`, a static file, X-Sendfile) the next piece read
 * for `target` may hold: `want` while the front's memory budget has room for it, else FLOOR. A
 * piece the client has not taken stays in memory until it drains, so without this a thousand
 * clients that never read a large file would hold a piece each, a gigabyte at 1 MiB pieces.
 * Call `ledger.settle(target)` after writing the piece. Without a spool (`--response-spool-limit
 * 0`) there is no budget: `want`.
 */
export function filePiece(
  policy: SpoolPolicy | undefined,
  target: SpoolTarget,
  want: number,
): number {
  return policy === undefined ? want : Math.min(want, policy.ledger.mark(target, want));
}

/**
 * Where the spool writes: a connection's socket (HTTP/1.1), or one HTTP/2 stream, whose
 * `writableLength` likewise counts what the client has not taken yet (src/http2/response.ts).
 */
export interface SpoolTarget {
  /** Queue `bytes`; `done` is called once they are written, or the target is destroyed. */
  write(bytes: Buffer, done?: () => void): boolean;
  readonly writableLength: number;
  readonly writableCorked: number;
  readonly writableNeedDrain: boolean;
  readonly writableHighWaterMark: number;
  uncork(): void;
  readonly destroyed: boolean;
  /**
   * The target whose queue this one writes into, when several share it (the FastCGI requests
   * of one connection): claims and their listeners are that one's.
   */
  readonly shared?: SpoolTarget;
  on(event: 'drain', listener: () => void): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

export interface SpoolPolicy {
  /** Most bytes of one response kept on file with its app credited. */
  limit: number;
  ledger: SpoolLedger;
}

interface SpoolFile {
  fd: number;
  path: string;
  /** Bytes appended so far. */
  written: number;
  /** Bytes read back and handed to the socket. */
  sent: number;
}

export class ResponseSpool {
  private file: SpoolFile | undefined;
  /** Credit withheld past a cap, owed once the file has been sent up to `at`. */
  private owed: Array<{ at: number; pay: () => void }> = [];
  /** A 'drain' listener is armed. */
  private waiting = false;
  private dropped = false;

  /**
   * @param fail an I/O error on the file: the response cannot be completed
   * @param sent the file has been sent whole (the writer finishes or moves on)
   */
  constructor(
    private readonly socket: SpoolTarget,
    private readonly policy: SpoolPolicy,
    private readonly fail: (message: string) => void,
    private readonly sent: () => void,
  ) {}

  /** Bytes wait on file: anything written now must queue behind them. */
  get busy(): boolean {
    return this.file !== undefined;
  }

  /** The app's body bytes, framed; `credit` (the app's own byte count) is paid to `flushed`. */
  app(parts: Buffer[], credit: number, flushed: Flushed, loan?: Loan): void {
    const rest = this.file === undefined ? this.toSocket(parts, loan) : parts;
    if (rest.length > 0 && !this.append(rest)) return;
    const file = this.file;
    const { limit, ledger } = this.policy;
    if (
      file === undefined ||
      (file.written - file.sent <= limit && ledger.onFile <= ledger.total)
    ) {
      flushed(credit);
    } else {
      if (ledger.onFile > ledger.total) ledger.full();
      this.owed.push({ at: file.written, pay: () => flushed(credit) });
    }
    if (this.file !== undefined && !this.waiting) this.pump();
  }

  /** Bytes of the front's own (framing, the last chunk): behind whatever is on file. */
  raw(bytes: Buffer): boolean {
    if (this.file === undefined) return this.socket.write(bytes);
    if (this.append([bytes]) && !this.waiting) this.pump();
    return true;
  }

  /** The response is abandoned (client gone, response cut): the file is removed, nothing
   *  more is sent or spooled, and no withheld credit is paid. */
  drop(): void {
    this.dropped = true;
    this.owed = [];
    this.removeFile();
  }

  /**
   * Writes `parts` while the socket holds less than its mark (ledger.mark()); returns what did
   * not fit. Corked writes count in `writableLength` too, so the writer's cork (head and first
   * body bytes in one write) is released as soon as a second piece is due: else a fast client's
   * large first chunk would go through the file for nothing. Without a claim the mark is small,
   * but a client that keeps up still gets everything from here: what the kernel takes at once
   * leaves the queue empty for the next piece.
   */
  private toSocket(parts: Buffer[], loan?: Loan): Buffer[] {
    const socket = this.socket;
    const ledger = this.policy.ledger;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as Buffer;
      let at = 0;
      while (at < part.length) {
        const room = ledger.mark(socket) - socket.writableLength;
        if (room <= 0) {
          if (socket.writableCorked === 0) {
            ledger.settle(socket);
            const rest = parts.slice(i);
            rest[0] = part.subarray(at);
            return rest;
          }
          while (socket.writableCorked > 0) socket.uncork();
          continue;
        }
        const n = Math.min(room, part.length - at);
        // A lent part is held until the socket has written it (ResponseWriter.borrows);
        // what goes to the file below is written synchronously and not held.
        socket.write(
          at === 0 && n === part.length ? part : part.subarray(at, at + n),
          loan?.hold(),
        );
        at += n;
      }
    }
    ledger.settle(socket);
    return [];
  }

  /** Appends to the file (opened on first use); false if that failed (already reported). */
  private append(parts: Buffer[]): boolean {
    if (this.dropped) return false;
    const ledger = this.policy.ledger;
    let file = this.file;
    try {
      if (file === undefined) {
        const path = join(tmpdir(), `cask-response-${process.pid}-${++fileCounter}`);
        file = { fd: openSync(path, 'wx+', 0o600), path, written: 0, sent: 0 };
        this.file = file;
        ledger.files++;
        this.socket.once('close', this.onClose);
      }
      for (const part of parts) {
        // Synchronous, as the request body's spool: microseconds into the page cache, and the
        // order of the connection's events stays simple.
        writeSync(file.fd, part, 0, part.length, file.written);
        file.written += part.length;
        ledger.add(part.length);
      }
    } catch (error) {
      this.fail(`Cannot spool the response for a slow client: ${(error as Error).message}`);
      return false;
    }
    return true;
  }

  /** Sends the file on while the socket takes it; resumes on 'drain'; removes it when sent. */
  private pump(): void {
    const file = this.file;
    if (file === undefined) return;
    this.waiting = false;
    const socket = this.socket;
    const ledger = this.policy.ledger;
    while (file.sent < file.written) {
      if (socket.destroyed) {
        ledger.settle(socket); // gives a claim back; 'close' drops the file
        return;
      }
      const room = ledger.mark(socket) - socket.writableLength;
      if (room <= 0) {
        ledger.settle(socket);
        this.waiting = true;
        socket.once('drain', () => this.pump());
        return;
      }
      const n = Math.min(FILE_READ, room, file.written - file.sent);
      const buffer = Buffer.allocUnsafe(n);
      try {
        readSync(file.fd, buffer, 0, n, file.sent);
      } catch (error) {
        ledger.settle(socket);
        this.fail(`Cannot read back the response spool: ${(error as Error).message}`);
        return;
      }
      file.sent += n;
      ledger.onFile -= n;
      socket.write(buffer);
      while (this.owed.length > 0 && (this.owed[0] as { at: number }).at <= file.sent) {
        (this.owed.shift() as { pay: () => void }).pay();
      }
    }
    ledger.settle(socket);
    this.removeFile();
    this.sent();
  }

  private readonly onClose = (): void => this.drop();

  private removeFile(): void {
    const file = this.file;
    if (file === undefined) return;
    this.file = undefined;
    this.socket.off('close', this.onClose);
    const ledger = this.policy.ledger;
    ledger.onFile -= file.written - file.sent;
    ledger.files--;
    closeSync(file.fd);
    unlink(file.path, () => {});
  }
}
