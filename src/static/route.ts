// The static files route (`--static PREFIX=DIR`): the driver around the pure pieces of this
// folder. It stats and opens files, checks where a symlink leads, picks a precompressed
// sibling, and hands the open file to send.ts, which answers through the exchange's sink — so
// the route knows nothing of the transport the request came by.
//
// File system calls are synchronous: `open`/`fstat`/`readlink` on a cached dentry take a few
// microseconds, less than one thread-pool round trip, and Route.take() must decide at once
// whether the request is the route's (a mount at `/` passes a missing file on to the app).
// Reading a file's body is asynchronous (the sink's file()), except for small files.
//
// Per mount:
//   PREFIX other than `/`  owns every path under it: a missing file is a 404 from the front,
//                          another method a 405, as nginx's `location /static/` does.
//   PREFIX `/`             serves the files that exist (GET and HEAD) and passes everything
//                          else to the app, as whitenoise's WHITENOISE_ROOT does.

import { closeSync, fstatSync, realpathSync, type BigIntStats } from 'node:fs';
import { openWithoutWaiting } from './open-file.js';
import { ConfigError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import type { Logger } from '../log.js';
import type { Route } from '../router.js';
import { etagOf, type Validators } from './conditional.js';
import { chooseCoding, acceptedCodings, SIBLING_SUFFIX, type Coding } from './encoding.js';
import { cacheControl, contentTypeOf, fieldOf, type CachePolicy } from './headers.js';
import { afterPrefix, isInside, pathOfTarget, resolvePath } from './resolve.js';
import { FileTable, statIfAny, type HeldFile } from './file-table.js';
import { realPathOf } from './real-path.js';
import { sendFile } from './send.js';
import { isCompressibleType } from './types.js';

export interface StaticMount {
  /** `/static` (no trailing slash), or `/` for the root. */
  readonly prefix: string;
  /** An absolute directory. */
  readonly dir: string;
}

export interface StaticOptions {
  readonly mounts: readonly StaticMount[];
  /** Serve files whose real path leaves the mount's directory through a symlink. */
  readonly followSymlinks: boolean;
  /** Serve names starting with `.`. */
  readonly dotfiles: boolean;
  readonly cache: CachePolicy;
  /**
   * How long a held file is trusted before its path is stat'ed again (`--static-cache-valid`);
   * 0 or absent: on every request.
   */
  readonly cacheValidMs?: number;
}

interface Mount {
  readonly prefix: string;
  readonly dir: string;
  /** The directory with every symlink resolved, for the containment check. */
  readonly real: string;
  /** A miss goes on to the app rather than getting a 404 (the mount at `/`). */
  readonly passMisses: boolean;
}

interface Opened {
  fd: number;
  stat: BigIntStats;
  path: string;
  /** Held by the file table (a regular file); else the descriptor is this response's own. */
  held: HeldFile | undefined;
}

/** Files held open at once, and how long an unused one stays (file-table.ts). */
const TABLE_FILES = 256;
const TABLE_IDLE_MS = 2000;

const INDEX = 'index.html';
const EMPTY = Buffer.alloc(0);

const ANSWERS: Readonly<Record<number, string>> = {
  400: '400 Bad Request',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  500: '500 Internal Server Error',
};

export class StaticRoute implements Route {
  private readonly mounts: Mount[];
  private readonly table: FileTable;

  constructor(
    private readonly options: StaticOptions,
    private readonly logger?: Logger,
  ) {
    this.table = new FileTable(TABLE_FILES, TABLE_IDLE_MS, options.cacheValidMs ?? 0);
    const seen = new Set<string>();
    for (const { prefix } of options.mounts) {
      if (seen.has(prefix)) {
        throw new ConfigError(`Invalid value for --static: "${prefix}" is mounted twice`);
      }
      seen.add(prefix);
    }
    // Longest prefix first, so `/static/admin` wins over `/static` and `/` comes last.
    this.mounts = options.mounts
      .map((m) => ({ ...m, real: realpathSync(m.dir), passMisses: m.prefix === '/' }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  take(exchange: Exchange): boolean {
    const target = pathOfTarget(exchange.request.target);
    if (target === undefined) return false;
    for (const mount of this.mounts) {
      const rest = afterPrefix(target.path, mount.prefix);
      if (rest === undefined) continue;
      return this.serve(exchange, mount, target.path, rest, target.query);
    }
    return false;
  }

  private serve(
    exchange: Exchange,
    mount: Mount,
    path: string,
    rest: string,
    query: string,
  ): boolean {
    const method = exchange.request.method;
    if (method !== 'GET' && method !== 'HEAD') {
      if (mount.passMisses) return false;
      answer(exchange, 405, ['Allow', 'GET, HEAD']);
      return true;
    }
    const resolved = resolvePath(rest, { dotfiles: this.options.dotfiles });
    if (resolved.kind === 'refused') {
      if (mount.passMisses) return false;
      answer(exchange, resolved.status);
      return true;
    }
    let full = mount.dir;
    for (const segment of resolved.segments) full += `/${segment}`;
    if (mount.passMisses) {
      // Most requests under `/` are the app's: find out without an exception per miss. A path
      // the file system refuses to look up (EACCES included) is the app's too; a file found but
      // not readable is a 403 from open() below.
      const stat = statIfAny(full);
      if (stat === undefined || (!stat.isFile() && !stat.isDirectory())) return false;
      if (stat.isDirectory() && resolved.trailingSlash) {
        const index = statIfAny(`${full}/${INDEX}`);
        if (index === undefined || !index.isFile()) return false;
      }
    }
    let opened = this.open(mount, full);
    if (typeof opened === 'number') return this.miss(exchange, mount, opened);
    if (opened.stat.isDirectory()) {
      this.close(opened);
      if (!resolved.trailingSlash) {
        // The page's relative links resolve against the directory only with the slash.
        const location = `${path}/${query}`;
        answer(exchange, 301, ['Location', location], '301 Moved Permanently');
        return true;
      }
      opened = this.open(mount, `${full}/${INDEX}`);
      if (typeof opened === 'number') return this.miss(exchange, mount, opened);
    } else if (resolved.trailingSlash) {
      this.close(opened);
      return this.miss(exchange, mount, 404);
    }
    if (!opened.stat.isFile()) {
      this.close(opened);
      return this.miss(exchange, mount, 404);
    }
    this.respond(exchange, mount, opened);
    return true;
  }

  private respond(exchange: Exchange, mount: Mount, file: Opened): void {
    const memo = memoOf(file, this.options.cache);
    const type = memo.type;
    const headers = ['Content-Type', type, 'Cache-Control', memo.cacheControl];
    let vary = memo.compressible;
    let chosen = file;
    let chosenMemo = memo;
    const accept = fieldOf(exchange.request.headers, 'accept-encoding');
    const wanted = acceptedCodings(accept);
    if (wanted.length > 0) {
      const siblings = new Map<Coding, string>();
      for (const coding of wanted) {
        const path = file.path + SIBLING_SUFFIX[coding];
        let exists = memo.siblings.get(coding);
        if (exists === undefined) {
          // A sibling that cannot be looked up (its longer name may be past NAME_MAX) is none.
          exists = statIfAny(path)?.isFile() === true;
          memo.siblings.set(coding, exists);
        }
        if (exists) siblings.set(coding, path);
      }
      if (siblings.size > 0) vary = true;
      const coding = chooseCoding(accept, [...siblings.keys()]);
      if (coding !== 'identity') {
        const sibling = this.open(mount, siblings.get(coding) as string);
        if (typeof sibling !== 'number' && sibling.stat.isFile()) {
          this.close(file);
          chosen = sibling;
          chosenMemo = memoOf(sibling, this.options.cache);
          headers.push('Content-Encoding', coding);
        } else if (typeof sibling !== 'number') this.close(sibling);
      }
    }
    if (vary) headers.push('Vary', 'Accept-Encoding');
    const stat = chosen.stat;
    const held = chosen.held;
    if (held !== undefined) this.table.acquire(held);
    sendFile(
      exchange,
      {
        fd: chosen.fd,
        size: Number(stat.size),
        close: held === undefined ? closeSync : () => this.table.release(held),
        body: held?.body,
        keep: held === undefined ? undefined : (body) => (held.body = body),
      },
      {
        status: '200 OK',
        headers,
        type,
        validators: chosenMemo.validators,
        lastModifiedText: chosenMemo.lastModifiedText,
        conditional: true,
      },
    );
  }

  /**
   * Opens `path` inside the mount, or finds it held open and unchanged; an HTTP status when it
   * cannot be served. Only a regular file or a directory (for its redirect or its index) is
   * returned. Regular files are held by the table (keyed by mount as well, since the symlink
   * check depends on the mount's directory).
   */
  private open(mount: Mount, path: string): Opened | number {
    const key = `${mount.prefix}\0${path}`;
    const found = this.table.lookup(key, path);
    if (found !== undefined) return { fd: found.fd, stat: found.stat, path, held: found };
    let fd: number;
    try {
      // The fstat below refuses whatever is not a file or a directory.
      fd = openWithoutWaiting(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENXIO: a socket (or a device without its device), which is no file to serve either.
      if (
        code === 'ENOENT' ||
        code === 'ENOTDIR' ||
        code === 'ENAMETOOLONG' ||
        code === 'ELOOP' ||
        code === 'ENXIO'
      ) {
        return 404;
      }
      if (code === 'EACCES' || code === 'EPERM') return 403;
      this.logger?.error(`Cannot open a static file: ${(error as Error).message}`);
      return 500;
    }
    try {
      const stat = fstatSync(fd, { bigint: true });
      if (!stat.isFile() && !stat.isDirectory()) {
        closeSync(fd);
        return 404;
      }
      if (!this.options.followSymlinks && !isInside(mount.real, realPathOf(fd, path))) {
        closeSync(fd);
        return 404;
      }
      const held = stat.isFile() ? this.table.keep(key, path, fd, stat) : undefined;
      return { fd, stat, path, held };
    } catch (error) {
      closeSync(fd);
      this.logger?.error(`Cannot stat a static file: ${(error as Error).message}`);
      return 500;
    }
  }

  private close(opened: Opened): void {
    if (opened.held === undefined) closeSync(opened.fd);
  }

  private miss(exchange: Exchange, mount: Mount, status: number): boolean {
    if (mount.passMisses && status === 404) return false;
    answer(exchange, status);
    return true;
  }
}

/**
 * What a file's responses share, worked out once per file the table holds (and again after
 * each revalidation, see file-table.ts): its validators and the headers its name decides.
 */
interface FileMemo {
  readonly type: string;
  readonly cacheControl: string;
  readonly compressible: boolean;
  readonly validators: Validators;
  readonly lastModifiedText: string;
  /**
   * Whether the `.br`/`.zst`/`.gz` sibling of the file exists, per coding asked about, as
   * found since the table last checked the file (`siblingsAt`): a sibling added or removed is
   * seen as soon as a change of the file itself would be.
   */
  readonly siblings: Map<Coding, boolean>;
  siblingsAt: number;
}

function memoOf(file: Opened, cache: CachePolicy): FileMemo {
  const found = file.held?.memo as FileMemo | undefined;
  if (found !== undefined) {
    if (found.siblingsAt !== file.held?.checked) {
      found.siblings.clear();
      found.siblingsAt = file.held?.checked ?? 0;
    }
    return found;
  }
  const name = file.path.slice(file.path.lastIndexOf('/') + 1);
  const type = contentTypeOf(name);
  const stat = file.stat;
  const lastModified = Number(stat.mtimeNs / 1_000_000_000n);
  const memo: FileMemo = {
    type,
    cacheControl: cacheControl(name, cache),
    compressible: isCompressibleType(type),
    validators: {
      etag: etagOf({
        size: Number(stat.size),
        mtimeMs: Number(stat.mtimeNs / 1000n) / 1000,
        ino: Number(stat.ino),
      }),
      lastModified,
    },
    lastModifiedText: new Date(lastModified * 1000).toUTCString(),
    siblings: new Map(),
    siblingsAt: file.held?.checked ?? 0,
  };
  if (file.held !== undefined) file.held.memo = memo;
  return memo;
}

/** A short plain-text answer of the front's own. */
function answer(exchange: Exchange, status: number, headers: string[] = [], line?: string): void {
  const statusLine = line ?? ANSWERS[status] ?? `${status} Error`;
  const body = exchange.request.method === 'HEAD' ? EMPTY : Buffer.from(`${statusLine.slice(4)}\n`);
  exchange.response.head(
    statusLine,
    ['Content-Type', 'text/plain; charset=utf-8', ...headers],
    body,
    true,
  );
}
