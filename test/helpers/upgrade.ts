// SIGUSR2 tests: the process that takes over from the one a test started is not the test's
// child; it is found through the pid file and stopped by pid.

import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { alive } from './cask.js';
import { until } from './load.js';

/** The pid the pid file names once it names another process than `old`. */
export async function successorPid(pidFile: string, old: number): Promise<number> {
  let pid = old;
  await until(
    () => {
      // The file is rewritten in place (truncated, then written), so a read can come between
      // the two and find it empty, which would read as pid 0: only a whole line counts.
      let text: string;
      try {
        text = readFileSync(pidFile, 'utf8');
      } catch {
        return false;
      }
      if (!/^\d+\n$/.test(text)) return false;
      pid = Number(text);
      return pid > 0 && pid !== old;
    },
    20_000,
    'the new process to write the pid file',
  );
  return pid;
}

/** Stops a server that is not our child (the new process), by its pid. */
export function stopLater(t: TestContext, pid: () => number | undefined): void {
  t.after(async () => {
    const target = pid();
    if (target === undefined || !alive(target)) return;
    process.kill(target, 'SIGTERM');
    await until(() => !alive(target), 15_000, 'the new process to stop').catch(() =>
      process.kill(target, 'SIGKILL'),
    );
  });
}
