// `--daemon` (gunicorn's -D): the server runs in the background, detached from the terminal.
// Node cannot fork, so `cask` starts itself again, detached (a new session, stdin, stdout and
// stderr on /dev/null unless they are files), waits until that process says its workers are
// ready, and returns 0; if it ends first, `cask` returns its exit code instead, so a script
// still learns that the server did not start.

import { spawn } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { PARENT_ENV, WATCH_ENV } from './origin.js';
import { ending, ownCommand } from './upgrade.js';

/** A descriptor that is a regular file (`2>>cask.log`) is kept; a terminal or pipe is not. */
function keepIfFile(fd: number): 'inherit' | 'ignore' {
  try {
    return fstatSync(fd).isFile() ? 'inherit' : 'ignore';
  } catch {
    return 'ignore';
  }
}

export interface DaemonResult {
  readonly code: number;
  readonly pid?: number;
  readonly why?: string;
}

export function daemonize(): Promise<DaemonResult> {
  const { file, args } = ownCommand();
  const child = spawn(file, args, {
    cwd: process.cwd(),
    // No process is watched: the command that started it returns at once.
    env: { ...process.env, [PARENT_ENV]: 'daemon', [WATCH_ENV]: '' },
    stdio: ['ignore', keepIfFile(1), keepIfFile(2), 'ipc'],
    detached: true,
  });
  return new Promise((resolve) => {
    child.on('message', (message: { cask?: string }) => {
      if (message.cask !== 'ready') return;
      child.unref();
      child.channel?.unref();
      resolve({ code: 0, ...(child.pid === undefined ? {} : { pid: child.pid }) });
    });
    child.once('exit', (code, signal) =>
      resolve({
        code: code ?? 1,
        why: `it ended with ${ending(code, signal)} before it was ready`,
      }),
    );
    child.once('error', (error) => resolve({ code: 1, why: error.message }));
  });
}
