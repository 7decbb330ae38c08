// `--user`, `--group` and `--socket-mode`: who may connect to the Unix sockets Cask binds itself
// (`-b unix:PATH`). A web server running as www-data reaches `unix:/run/cask.sock` when the
// socket's group is www-data and its mode lets the group write (0660, the default). The mode
// is set after bind with chmod(2), as uWSGI's chmod-socket does, so the umask no longer decides
// it (under umask 022 a socket was 0755: nginx as another user got "Permission denied").
// Sockets systemd binds (socket activation) keep what SocketUser=, SocketGroup= and
// SocketMode= gave them. The same two options also name whom the server runs as once bound
// (src/process/privileges.ts); this module resolves them.

import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';
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
  return Number(entry(database, name, option)[2]);
}

/**
 * The fields of a user's or group's entry (`name:x:uid:gid:…`). A number without an entry is
 * taken as the id itself (a container's arbitrary uid), with no name and no group.
 */
function entry(database: 'passwd' | 'group', name: string, option: string): string[] {
  const found = spawnSync('getent', [database, name], { encoding: 'utf8' });
  const fields = found.status === 0 ? found.stdout.trim().split(':') : [];
  if (fields.length > 2 && /^\d+$/.test(fields[2] ?? '')) return fields;
  if (/^\d+$/.test(name)) return ['', '', name];
  const what = database === 'passwd' ? 'user' : 'group';
  throw new ConfigError(`Invalid value for ${option}: "${name}" is not a ${what} of this system`);
}

/** The owner to give Unix sockets; undefined when neither option is set. */
export function socketOwner(user: string, group: string): SocketOwner | undefined {
  if (user === '' && group === '') return undefined;
  return {
    uid: user === '' ? -1 : lookUp('passwd', user, '--user'),
    gid: group === '' ? -1 : lookUp('group', group, '--group'),
  };
}

/** Whom `--user` and `--group` say the server runs as, resolved to ids. */
export interface RunAs {
  /** The user name for initgroups(3), when the system knows one. */
  readonly name: string | undefined;
  /** undefined: the user stays (only `--group` was given). */
  readonly uid: number | undefined;
  readonly gid: number;
}

/**
 * Whom the server is to run as once bound; undefined when it stays as it was started.
 * Without `--group`, the group is the user's own (as su(1) and systemd's User= do; gunicorn
 * would keep root's group). Started as another user than root, the process cannot switch:
 * `--user` must then name that user and `--group` one of its groups, or a ConfigError says so
 * (exit 2) before anything is bound, as gunicorn's start fails on its setuid.
 */
export function runAs(
  user: string,
  group: string,
  current: { uid: number; gid: number; groups: readonly number[] } = currentIds(),
): RunAs | undefined {
  if (user === '' && group === '') return undefined;
  const person = user === '' ? undefined : entry('passwd', user, '--user');
  const uid = person === undefined ? undefined : Number(person[2]);
  const own = person?.[3] !== undefined && /^\d+$/.test(person[3]) ? Number(person[3]) : undefined;
  const named = group === '' ? undefined : lookUp('group', group, '--group');
  if (current.uid !== 0) {
    if (uid !== undefined && uid !== current.uid) {
      throw new ConfigError(
        `Cannot switch to --user ${user}: only root may change the user it runs as, and this process runs as uid ${current.uid}`,
      );
    }
    if (named !== undefined && named !== current.gid && !current.groups.includes(named)) {
      throw new ConfigError(
        `Cannot switch to --group ${group}: only root may change the group it runs in, and this process (uid ${current.uid}) is not in that group`,
      );
    }
    // Nothing to switch: the options name this process's own user and a group it is in.
    return undefined;
  }
  // A uid the system does not know has no group of its own; root's must not be kept for it.
  const gid = named ?? own ?? (uid === undefined || uid === 0 ? current.gid : undefined);
  if (gid === undefined) {
    throw new ConfigError(
      `Cannot tell the group of --user ${user}: it is not a user of this system with a group of its own (give --group too)`,
    );
  }
  const name = person?.[0] === '' ? undefined : person?.[0];
  return { name, uid, gid };
}

function currentIds(): { uid: number; gid: number; groups: readonly number[] } {
  return {
    uid: process.geteuid?.() ?? -1,
    gid: process.getegid?.() ?? -1,
    groups: process.getgroups?.() ?? [],
  };
}

/**
 * Gives the socket file its owner, then its mode; throws a message naming the socket when it
 * cannot. The owner comes first: chown(2) by root keeps the mode, by its owner may clear bits.
 */
export function ownSocket(path: string, owner: SocketOwner | undefined, mode?: number): void {
  try {
    if (owner !== undefined) chownSync(path, owner.uid, owner.gid);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EPERM' ? 'permission denied (only root may give a file away)' : code;
    throw new Error(`Cannot set the owner of unix:${path}: ${why ?? String(error)}`);
  }
  try {
    if (mode !== undefined) chmodSync(path, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`Cannot set the mode of unix:${path}: ${code ?? String(error)}`);
  }
}

/** `--socket-mode 660` -> 0o660 (validated by the settings table). */
export function socketModeValue(text: string): number {
  return Number.parseInt(text.replace(/^0o/i, ''), 8);
}

/** `--umask 027` -> 0o027; undefined for '' (the umask cask was started with stays). */
export function umaskValue(text: string): number | undefined {
  return text === '' ? undefined : Number.parseInt(text.replace(/^0o/i, ''), 8);
}
