// `--user` and `--group` started as root: once every listener is bound (port 80, the Unix
// sockets given their owner, the admin listener), the front switches to that user and group,
// and the workers it spawns from then on run as them too, as gunicorn's do. Group first: once
// the user is no longer root, it may not change its groups.
//
// What stays root: the hooks process (`--hooks`, started before the switch, as gunicorn's
// master runs its hooks), and the primary of `--fronts N`, which binds for the fronts as
// gunicorn's master binds for its workers.

import { chownSync } from 'node:fs';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { runAs, type RunAs } from '../net/owner.js';

/**
 * Switches this process to `--user`/`--group`; returns whom it now runs as, or undefined when
 * nothing was to switch. Throws when the system refuses, naming the step.
 */
export function dropPrivileges(config: Config, logger: Logger): RunAs | undefined {
  const target = runAs(config.user, config.group);
  if (target === undefined) return undefined;
  // The log files stay open across the switch; SIGUSR1 opens them again, which the user must
  // be allowed to do (gunicorn gives its log files to the user for the same reason).
  for (const file of [config.errorLog, config.accessLog]) {
    if (file === null || file === '-') continue;
    try {
      chownSync(file, target.uid ?? -1, target.gid);
    } catch (error) {
      logger.warn(
        `Cannot give the log file ${file} to the user the server switches to: ${(error as Error).message}`,
      );
    }
  }
  step('set the supplementary groups', () => {
    // The user's own groups (a web server's group it belongs to, say), plus --group; without a
    // known user name only --group, so none of root's groups is kept.
    if (target.name !== undefined)
      (process as WithInitgroups).initgroups?.(target.name, target.gid);
    else process.setgroups?.([target.gid]);
  });
  step(`switch to group ${target.gid}`, () => process.setgid?.(target.gid));
  if (target.uid !== undefined) {
    const uid = target.uid;
    step(`switch to user ${uid}`, () => process.setuid?.(uid));
  }
  const who = target.uid === undefined ? 'the same user' : `user ${target.name ?? target.uid}`;
  logger.info(
    `Running as ${who} (uid ${process.getuid?.() ?? '?'}), group ${process.getgid?.() ?? '?'}`,
  );
  return target;
}

/** Node has process.initgroups() on POSIX; @types/node 20 leaves it out. */
type WithInitgroups = NodeJS.Process & {
  initgroups?: (user: string | number, extraGroup: string | number) => void;
};

function step(what: string, run: () => void): void {
  try {
    run();
  } catch (error) {
    throw new Error(`Cannot ${what} after binding: ${(error as Error).message}`);
  }
}
