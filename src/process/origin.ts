// Who started this Cask process, when it was Cask itself: the process it replaces on SIGUSR2
// (src/process/upgrade.ts) or the command that put it in the background (`--daemon`,
// src/process/daemon.ts). Both talk to it over an IPC channel and a few variables, read once
// here and removed from the environment, so that neither the workers nor a later successor
// inherit them.

/** `upgrade` or `daemon`: this process must say "ready" to its parent over IPC. */
export const PARENT_ENV = 'CASK_PROCESS_PARENT';
/** The pid of the server this one replaces: its pid file may be taken over. */
export const REPLACES_ENV = 'CASK_PROCESS_REPLACES';
/** Processes whose end stops this server (comma-separated pids; empty: none). */
export const WATCH_ENV = 'CASK_PROCESS_WATCH';

export interface Origin {
  readonly startedBy: 'upgrade' | 'daemon' | undefined;
  readonly replaces: number | undefined;
  /** Undefined when no one said: then the npm rule applies (src/process/parents.ts). */
  readonly watch: readonly number[] | undefined;
}

let origin: Origin | undefined;

/**
 * Reads the variables once. The IPC channel a Cask parent opened is unreferenced at once, so
 * that a process that fails before it is ready still exits by itself.
 */
export function processOrigin(): Origin {
  if (origin !== undefined) return origin;
  const env = process.env;
  const by = env[PARENT_ENV];
  const replaces = Number(env[REPLACES_ENV]);
  const watch = env[WATCH_ENV];
  origin = {
    startedBy: by === 'upgrade' || by === 'daemon' ? by : undefined,
    replaces: Number.isSafeInteger(replaces) && replaces > 0 ? replaces : undefined,
    watch:
      watch === undefined
        ? undefined
        : watch
            .split(',')
            .map(Number)
            .filter((pid) => Number.isSafeInteger(pid) && pid > 1),
  };
  delete env[PARENT_ENV];
  delete env[REPLACES_ENV];
  delete env[WATCH_ENV];
  process.channel?.unref();
  return origin;
}

/** Once the workers are ready: tell the Cask process that started this one, and let go of it. */
export function tellParentReady(): void {
  if (processOrigin().startedBy === undefined || typeof process.send !== 'function') return;
  process.send({ cask: 'ready', pid: process.pid }, () => {
    if (process.connected) process.disconnect();
  });
}
