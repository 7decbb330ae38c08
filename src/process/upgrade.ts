// SIGUSR2, gunicorn's binary upgrade, in spirit: a new Cask process (the Node code on disk
// now, the settings as they are now) starts with this one's listening sockets, and once its
// workers are ready this one drains and exits. How the sockets pass without a refused
// connection: src/net/handover.ts.
//
//   old: SIGUSR2 ─ pre_exec ─ spawn(same command, fds 4…, IPC on 3) ─ serves on ───────┐
//   new:                       listen({fd}) ─ workers ─ "ready" ──────────────────────▶ old drains, exit 0
//                                                  └─ exits before ready: old serves on, logs why

import { spawn, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:net';
import { INHERITED_ENV, listeningFd } from '../net/handover.js';
import { PARENT_ENV, REPLACES_ENV, WATCH_ENV } from './origin.js';

/** The first descriptor of the listeners in the new process (0–2 stdio, 3 its IPC channel). */
const FIRST_FD = 4;

export type SuccessorResult = { ok: true; pid: number } | { ok: false; why: string };

/** The command that started this process, to start the next one the same way. */
export function ownCommand(): { file: string; args: string[] } {
  return { file: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)] };
}

/** How a child ended, in words: `exit code 4`, `signal SIGKILL`. */
export function ending(code: number | null, signal: NodeJS.Signals | null): string {
  return signal === null ? `exit code ${code ?? '?'}` : `signal ${signal}`;
}

/**
 * Starts the new process with `listeners` (by their handover key) and resolves once it is
 * ready, or has failed. `watch` is passed on: the processes whose end stops the server.
 */
export function startSuccessor(
  listeners: ReadonlyArray<{ key: string; server: Server }>,
  watch: readonly number[],
): { child: ChildProcess; result: Promise<SuccessorResult> } {
  const fds: number[] = [];
  const keys: Record<string, number> = {};
  for (const { key, server } of listeners) {
    const fd = listeningFd(server);
    if (fd === undefined) continue;
    keys[key] = FIRST_FD + fds.length;
    fds.push(fd);
  }
  const { file, args } = ownCommand();
  const child = spawn(file, args, {
    cwd: process.cwd(),
    env: {
      ...process.env,
      [INHERITED_ENV]: JSON.stringify(keys),
      [PARENT_ENV]: 'upgrade',
      [REPLACES_ENV]: String(process.pid),
      [WATCH_ENV]: watch.join(','),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...fds],
  });
  const result = new Promise<SuccessorResult>((resolve) => {
    child.on('message', (message: { cask?: string }) => {
      if (message.cask === 'ready' && child.pid !== undefined)
        resolve({ ok: true, pid: child.pid });
    });
    child.once('exit', (code, signal) =>
      resolve({ ok: false, why: `it ended with ${ending(code, signal)} before it was ready` }),
    );
    child.once('error', (error) => resolve({ ok: false, why: error.message }));
  });
  // The new process outlives this one: nothing here may keep this one alive for it.
  child.unref();
  child.channel?.unref();
  return { child, result };
}
