// Private to src/static: open files kept for a little while, so a hot file costs one `stat`
// per request instead of open, fstat, readlink, read and close (nginx's open_file_cache).
//
// Correct when files change: every use first stats the path and compares device, inode, size,
// and the modification and change times (to the nanosecond) with what was opened; a file
// replaced (a new inode, as deploy tools and collectstatic write) or written in place (new
// times) is dropped and opened again. The stat follows symlinks, so a path that now leads
// elsewhere is another inode too.
//
// Bounded: at most `max` files are held (least recently used goes first) and a file unused
// for `idleMs` is closed by a sweep. A held descriptor is closed only once no response still
// streams from it (`refs`). Small files keep their bytes too (at most SMALL_FILE each).
//
// A stat that fails for any reason the file system gives (ENOENT, but also ENOTDIR when a
// directory on the path became a file, ELOOP, EACCES) drops the file: the caller opens the
// path again and answers from what that open says, instead of the error leaving the front.

import { closeSync, statSync, type BigIntStats, type Stats } from 'node:fs';

/**
 * Whether `error` comes from the file system (a system error: a string `code` such as ENOTDIR
 * or ELOOP, and an errno), as opposed to a fault of the program, which is left to surface.
 */
function isFsError(error: unknown): error is NodeJS.ErrnoException {
  const { code, errno } = error as NodeJS.ErrnoException;
  return error instanceof Error && typeof code === 'string' && typeof errno === 'number';
}

/**
 * The stat of `path`, or undefined when the file system has nothing there to give.
 * `throwIfNoEntry: false` spares only ENOENT; a path a client makes up fails as well with
 * ENOTDIR (a file name followed by more path), ENAMETOOLONG or ELOOP, and a directory the front
 * may not search with EACCES, and each of these means the same here: no file to use.
 */
export function statIfAny(path: string): Stats | undefined;
export function statIfAny(path: string, bigint: true): BigIntStats | undefined;
export function statIfAny(path: string, bigint = false): Stats | BigIntStats | undefined {
  try {
    return bigint
      ? statSync(path, { bigint: true, throwIfNoEntry: false })
      : statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if (isFsError(error)) return undefined;
    throw error;
  }
}

export interface HeldFile {
  readonly key: string;
  readonly fd: number;
  readonly path: string;
  readonly stat: BigIntStats;
  /** The whole content, for a small file, once read. */
  body: Buffer | undefined;
  /** Responses still sending from `fd`. */
  refs: number;
  /** Out of the table: closed when `refs` drops to 0. */
  dropped: boolean;
  lastUse: number;
  /** When the path was last stat'ed and found to be this file (Date.now()). */
  checked: number;
  /** What the route worked out once for this file (validators, headers), kept with it. */
  memo: unknown;
}

function same(a: BigIntStats, b: BigIntStats): boolean {
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

export class FileTable {
  private readonly files = new Map<string, HeldFile>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly max: number,
    private readonly idleMs: number,
    private readonly validMs = 0,
  ) {
    this.timer = setInterval(() => this.sweep(), idleMs);
    this.timer.unref();
  }

  get size(): number {
    return this.files.size;
  }

  /**
   * The file held under `key` if it is still the file at `path`: one stat, unless the last one
   * was less than `validMs` ago (0: a stat every time).
   */
  lookup(key: string, path: string): HeldFile | undefined {
    const held = this.files.get(key);
    if (held === undefined) return undefined;
    const time = Date.now();
    if (time - held.checked >= this.validMs || time < held.checked) {
      const now = statIfAny(path, true);
      if (now === undefined || !same(now, held.stat)) {
        this.drop(held);
        return undefined;
      }
      held.checked = time;
    }
    // Map order is the LRU order: re-inserting makes it the most recent.
    if (held.lastUse !== time) {
      this.files.delete(key);
      this.files.set(key, held);
      held.lastUse = time;
    }
    return held;
  }

  /** Holds a file just opened (and checked) at `path` under `key`; the table owns `fd` now. */
  keep(key: string, path: string, fd: number, stat: BigIntStats): HeldFile {
    const old = this.files.get(key);
    if (old !== undefined) this.drop(old);
    const held: HeldFile = {
      key,
      fd,
      path,
      stat,
      body: undefined,
      refs: 0,
      dropped: false,
      lastUse: Date.now(),
      checked: Date.now(),
      memo: undefined,
    };
    this.files.set(key, held);
    if (this.files.size > this.max) {
      const oldest = this.files.values().next().value as HeldFile;
      this.drop(oldest);
    }
    return held;
  }

  /** A response starts sending from `held`; pair with release(). */
  acquire(held: HeldFile): void {
    held.refs++;
  }

  release(held: HeldFile): void {
    held.refs--;
    if (held.dropped && held.refs === 0) closeSync(held.fd);
  }

  /** Closes every file no response uses (server shutdown, tests). */
  clear(): void {
    for (const held of [...this.files.values()]) this.drop(held);
    clearInterval(this.timer);
  }

  private drop(held: HeldFile): void {
    if (held.dropped) return;
    held.dropped = true;
    if (this.files.get(held.key) === held) this.files.delete(held.key);
    if (held.refs === 0) closeSync(held.fd);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const held of [...this.files.values()]) if (held.lastUse < cutoff) this.drop(held);
  }
}
