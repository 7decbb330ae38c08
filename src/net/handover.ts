// Binding a listener so that it can be handed to the next Cask process (SIGUSR2, src/upgrade.ts)
// without one connection being refused:
//
//   old process                         new process (started by the old, same address)
//   bind, listen ──fd──▶ spawn ───────▶ listen({fd}): accepts from the same queue
//   serves on                           starts its workers ── "ready" ──▶
//   close(fd): leaves the queue to the new one, drains, exits 0
//
// A listening socket is one kernel object shared by both processes: while both hold it, either
// may accept; once the old one closes its descriptor the new one alone accepts, and
// connections already queued stay queued. Nothing is ever unbound, so nothing is refused.
//
// A Unix socket has a file, and libuv unlinks the path it bound when the listener closes
// (uv__pipe_close), which would leave the new process listening on a socket nobody can reach.
// So a Unix socket is bound under a temporary name beside its path and renamed into place:
// libuv then unlinks only the temporary name (already gone), the socket appears at its path
// atomically, already listening, and Cask removes the file itself at exit, unless the new
// process took it over.

import { closeSync, lstatSync, renameSync, statSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { formatBind, type BindAddress } from './bind.js';
import { frontRole, sharedTemporaryTag } from '../fronts/child.js';

/** The environment variable that carries inherited listeners: `{"main 127.0.0.1:8000": 4}`. */
export const INHERITED_ENV = 'CASK_PROCESS_FDS';

/** sun_path holds 108 bytes, the last one a NUL. */
const UNIX_PATH_MAX = 107;

/** A listener's role and configured address: how the next process finds its own in the map. */
export function handoverKey(role: 'main' | 'admin', bind: BindAddress): string {
  return `${role} ${formatBind(bind)}`;
}

let inherited: Map<string, number> | undefined;
/** Set once the sockets are handed over: the socket files then belong to the next process. */
let handedOver = false;

/** The listeners this process got from the one it replaces; read once, then out of the env. */
function inheritedFds(): Map<string, number> {
  if (inherited === undefined) {
    inherited = new Map();
    const text = process.env[INHERITED_ENV];
    delete process.env[INHERITED_ENV];
    if (text !== undefined) {
      for (const [key, fd] of Object.entries(JSON.parse(text) as Record<string, number>)) {
        inherited.set(key, fd);
      }
    }
  }
  return inherited;
}

/** Closes inherited listeners no listener of this process took (its settings dropped them). */
export function closeUnclaimedInherited(): string[] {
  const left = [...inheritedFds()];
  for (const [, fd] of left) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
  inheritedFds().clear();
  return left.map(([key]) => key);
}

/** Keep every socket file when the listeners close: the next process serves on them now. */
export function keepSocketFiles(): void {
  handedOver = true;
}

/** The descriptor of a listening server, to pass to the next process. */
export function listeningFd(server: Server): number | undefined {
  // net.Server keeps its libuv handle in `_handle`; `fd` is the descriptor on Unix (-1 on
  // Windows). There is no public accessor; this one has been stable since Node 0.x.
  const fd = (server as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** A socket file left by a crashed run would make bind fail; a regular file is left alone. */
function isStaleSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Removes the socket file at exit if it is still the one this listener made. */
function removeAtClose(server: Server, path: string): void {
  let inode: number | undefined;
  try {
    inode = statSync(path).ino;
  } catch {
    return;
  }
  server.once('close', () => {
    if (handedOver) return;
    try {
      if (statSync(path).ino === inode) unlinkSync(path);
    } catch {
      // gone already
    }
  });
}

/**
 * Starts `server` listening on `bind` (on the inherited socket of the same role and address,
 * if the process this one replaces passed one) and calls `ready` once it listens. Errors come
 * as the server's 'error' event, as with server.listen().
 */
export function bindListener(
  server: Server,
  role: 'main' | 'admin',
  bind: BindAddress,
  backlog: number,
  ready: () => void,
): void {
  const key = handoverKey(role, bind);
  const fd = inheritedFds().get(key);
  if (fd !== undefined) {
    inheritedFds().delete(key);
    server.listen({ fd }, () => {
      if (bind.kind === 'unix') removeAtClose(server, bind.path);
      ready();
    });
    return;
  }
  // In a front of `--fronts N` (a cluster worker), Node asks the primary for the main
  // listeners, so that every front accepts from the same socket; the admin listener is the
  // front's own.
  const exclusive = role === 'admin';
  if (bind.kind === 'tcp') {
    server.listen(
      { host: bind.host, port: bind.port, backlog, ipv6Only: bind.host.includes(':'), exclusive },
      ready,
    );
    return;
  }
  const path = bind.path;
  const shared = !exclusive && frontRole() !== undefined;
  const temporary = join(dirname(path), `.${basename(path)}.${sharedTemporaryTag()}`);
  if (Buffer.byteLength(temporary) > UNIX_PATH_MAX) {
    // No room for a temporary name: bind in place (libuv then removes the file at close, so a
    // SIGUSR2 handover of this socket leaves it without a file).
    if (!shared && isStaleSocket(path)) unlinkSync(path);
    server.listen({ path, backlog, exclusive }, ready);
    return;
  }
  try {
    if (lstatSync(path).isSocket() === false) {
      // A regular file (or anything but a socket) is never replaced.
      server.emit('error', Object.assign(new Error('in use'), { code: 'EADDRINUSE' }));
      return;
    }
  } catch {
    // absent: the usual case
  }
  // The fronts share one temporary name: the temporary socket of one must not be taken for a
  // stale one by another (the primary's pid in the name is new).
  if (!shared && isStaleSocket(temporary)) unlinkSync(temporary);
  server.listen({ path: temporary, backlog, exclusive }, () => {
    try {
      renameSync(temporary, path);
    } catch (error) {
      // Another front renamed the shared socket into place first: it is the same socket.
      if (!(shared && (error as NodeJS.ErrnoException).code === 'ENOENT' && isStaleSocket(path))) {
        server.close();
        server.emit('error', error);
        return;
      }
    }
    // A front leaves the file to the primary, which removes it once every front is gone.
    if (!shared) removeAtClose(server, path);
    ready();
  });
}
