// `cask reload`: finds the running server through its pid file and sends it SIGHUP, which
// starts a new generation of workers with freshly imported code (docs/operations.md).
//
// It reads the same options as `cask serve` (flags, CASK_* variables, cask.toml) and uses
// only `pid`, so `cask reload` in the project folder finds the server its cask.toml started.

import { loadConfig } from './config/index.js';
import { ConfigError } from './errors.js';
import { readPidFile } from './pidfile.js';

export interface ReloadIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export const RELOAD_HELP = `Usage: cask reload [--pid FILE] [-c CONFIG]

Send SIGHUP to the server whose process id is in the pid file: it starts new workers with
freshly imported code and, once they are ready, drains the old ones. If the new code cannot
be imported, the old workers keep serving and the server logs why.

The pid file is --pid, CASK_PID, or pid in the config file (as for cask serve).
`;

export function reloadCommand(
  args: string[],
  io: ReloadIo,
  kill: (pid: number, signal: NodeJS.Signals) => void = process.kill,
): number {
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout.write(RELOAD_HELP);
    return 0;
  }
  const config = loadConfig({ argv: args, env: io.env, cwd: io.cwd });
  if (config.pid === null) {
    throw new ConfigError(
      'Cannot find the server to reload: no pid file (start it with --pid FILE, then run cask reload --pid FILE)',
    );
  }
  let pid: number;
  try {
    pid = readPidFile(config.pid);
  } catch (error) {
    io.stderr.write(`cask: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    kill(pid, 'SIGHUP');
  } catch (error) {
    const gone = (error as NodeJS.ErrnoException).code === 'ESRCH';
    const why = gone ? 'it is not running (a stale pid file?)' : (error as Error).message;
    io.stderr.write(`cask: Cannot reload process ${pid} named in ${config.pid}: ${why}\n`);
    return 1;
  }
  io.stdout.write(`Sent SIGHUP to cask (pid ${pid}): reloading\n`);
  return 0;
}
