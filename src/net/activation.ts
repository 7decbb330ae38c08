// Systemd socket activation (sd_listen_fds(3)): the service manager binds the sockets, then
// starts `cask` with them open as file descriptors 3, 4, … and says so in three variables:
//
//   LISTEN_PID=<pid of the process meant>   LISTEN_FDS=<how many, from fd 3 on>
//   LISTEN_FDNAMES=<name:name:…>            (FileDescriptorName= of the .socket unit)
//
// They are read once, at start-up, and removed from the environment so that no worker or hook
// process takes them for its own (as sd_listen_fds(unset_environment=1) does). A socket named
// as a web server's protocol (`uwsgi`, `scgi`, `fastcgi`) speaks it; any other name (systemd's
// default is the socket unit's name) serves HTTP. The sockets replace `--bind`.
//
// Node adopts each descriptor close-on-exec, so a worker never inherits a listening socket
// (which would keep it accepting after the front closed it); a worker's own fd 3 is its link.

import { readFileSync, readlinkSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { WEB_SERVER_PROTOCOLS, type WebServerProtocol } from './bind.js';

/** SD_LISTEN_FDS_START: the first descriptor passed. */
export const LISTEN_FDS_START = 3;

export const ACTIVATION_VARIABLES = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'] as const;

export interface ActivatedSocket {
  readonly fd: number;
  /** Its FileDescriptorName=, '' when none was passed. */
  readonly name: string;
  /** Set when the name is a web server's protocol; absent for HTTP. */
  readonly protocol?: WebServerProtocol;
  /** What kind of socket the descriptor is; 'unknown' without /proc to tell. */
  readonly family: 'tcp' | 'unix' | 'unknown';
  /** A Unix socket's path, when it has one. */
  readonly path?: string;
}

/**
 * The sockets the service manager passed to process `pid`, without their family (see
 * `activatedSockets()`); undefined when none were passed (no LISTEN_PID, or one naming
 * another process, which inherited the variables). Throws ConfigError (exit 2) for variables
 * set for this process but malformed.
 */
export function parseActivation(
  env: Readonly<Record<string, string | undefined>>,
  pid: number,
): Array<Omit<ActivatedSocket, 'family'>> | undefined {
  const forPid = env['LISTEN_PID'];
  if (forPid === undefined || forPid.trim() !== String(pid)) return undefined;
  const countText = (env['LISTEN_FDS'] ?? '').trim();
  if (!/^\d{1,4}$/.test(countText) || Number(countText) < 1) {
    throw new ConfigError(
      `Invalid value for LISTEN_FDS: ${JSON.stringify(env['LISTEN_FDS'] ?? '')} is not a number of sockets`,
    );
  }
  const count = Number(countText);
  const namesText = env['LISTEN_FDNAMES'];
  const names = namesText === undefined ? [] : namesText.split(':');
  if (namesText !== undefined && names.length !== count) {
    throw new ConfigError(
      `Invalid value for LISTEN_FDNAMES: ${JSON.stringify(namesText)} names ${names.length} socket(s) for LISTEN_FDS=${count}`,
    );
  }
  return Array.from({ length: count }, (_, i) => {
    const name = names[i] ?? '';
    const protocol = WEB_SERVER_PROTOCOLS.find((p) => p === name.toLowerCase());
    return { fd: LISTEN_FDS_START + i, name, ...(protocol === undefined ? {} : { protocol }) };
  });
}

/**
 * The inode of a socket descriptor, from /proc/self/fd (`socket:[1234]`), and the Unix sockets
 * of /proc/net/unix by inode: enough to tell a Unix socket (which never gets TLS) from a TCP
 * one before Node adopts it, and to name its path in the log.
 */
function familyOf(
  fd: number,
  unix: ReadonlyMap<string, string>,
): Pick<ActivatedSocket, 'family' | 'path'> {
  let inode: string | undefined;
  try {
    inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
  } catch {
    return { family: 'unknown' };
  }
  if (inode === undefined)
    throw new ConfigError(`Invalid value for LISTEN_FDS: fd ${fd} is not a socket`);
  const path = unix.get(inode);
  if (path === undefined) return { family: unix.size > 0 ? 'tcp' : 'unknown' };
  return path === '' ? { family: 'unix' } : { family: 'unix', path };
}

/** /proc/net/unix: `Num RefCount Protocol Flags Type St Inode Path`, by inode. */
function unixSockets(): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync('/proc/net/unix', 'latin1');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 7) out.set(fields[6] as string, fields[7] ?? '');
  }
  return out;
}

/** The sockets passed to this process, with their family; undefined when none were. */
export function activatedSockets(
  env: Readonly<Record<string, string | undefined>>,
  pid: number,
): ActivatedSocket[] | undefined {
  const parsed = parseActivation(env, pid);
  if (parsed === undefined) return undefined;
  const unix = unixSockets();
  return parsed.map((socket) => ({ ...socket, ...familyOf(socket.fd, unix) }));
}

/** Removes the activation variables, so that the workers and the hook process never see them. */
export function forgetActivation(env: Record<string, string | undefined>): void {
  for (const name of ACTIVATION_VARIABLES) delete env[name];
}

/** `fd 3 "cask.socket" from systemd`, for logs and errors. */
export function describeActivated(socket: Pick<ActivatedSocket, 'fd' | 'name'>): string {
  return `fd ${socket.fd}${socket.name === '' ? '' : ` "${socket.name}"`} from systemd`;
}
