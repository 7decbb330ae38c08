// `--user`, `--group` and `--umask`: who may connect to the Unix sockets Cask binds itself
// (`-b unix:PATH`). A web server running as www-data reaches `unix:/run/cask.sock` when the
// socket's group is www-data and the umask leaves it group-writable. Sockets systemd binds
// (socket activation) get theirs from SocketUser=, SocketGroup= and SocketMode= instead.

import { spawnSync } from 'node:child_process';
import { chownSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** A uid and a gid; -1 leaves that one as it is (chown(2)). */
export interface SocketOwner {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The id of a user or group name, as the system resolves it (NSS: /etc/passwd, LDAP, …),
 * through `getent`: Node has no getpwnam(). A number is taken as an id.
 */
function lookUp(database: 'passwd' | 'group', name: string, option: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const found = spawnSync('getent', [database, name], { encoding: 'utf8' });
  const id = found.status === 0 ? found.stdout.split(':')[2] : undefined;
  if (id === undefined || !/^\d+$/.test(id)) {
    const what = database === 'passwd' ? 'user' : 'group';
    throw new ConfigError(`Invalid value for ${option}: "${name}" is not a ${what} of this system`);
  }
  return Number(id);
}

/** The owner to give Unix sockets; undefined when neither option is set. */
export function socketOwner(user: string, group: string): SocketOwner | undefined {
  if (user === '' && group === '') return undefined;
  return {
    uid: user === '' ? -1 : lookUp('passwd', user, '--user'),
    gid: group === '' ? -1 : lookUp('group', group, '--group'),
  };
}

/** Gives the socket file its owner; throws a message naming the socket when it cannot. */
export function ownSocket(path: string, owner: SocketOwner | undefined): void {
  if (owner === undefined) return;
  try {
    chownSync(path, owner.uid, owner.gid);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EPERM' ? 'permission denied (only root may give a file away)' : code;
    throw new Error(`Cannot set the owner of unix:${path}: ${why ?? String(error)}`);
  }
}

/** `--umask 027` -> 0o027; undefined for '' (the umask cask was started with stays). */
export function umaskValue(text: string): number | undefined {
  return text === '' ? undefined : Number.parseInt(text.replace(/^0o/i, ''), 8);
}
