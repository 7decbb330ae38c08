// A small tmpfs for the tests of a disk that fills up (request bodies, log files). Mounting
// needs root: where this process may not mount, the test is skipped and says why.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { RunningCask } from './cask.js';

export interface SmallTmpfs {
  readonly dir: string;
  /** The server that works in the directory: stopped before the directory is unmounted. */
  using(server: RunningCask): void;
}

/**
 * A tmpfs of `size` (`128k`) mounted on a new temporary directory, or undefined, with the test
 * skipped, where it cannot be mounted. One clean-up hook, in this order: the server out of the
 * directory (a busy mount cannot be unmounted), the directory unmounted, then removed.
 */
export function smallTmpfs(t: TestContext, size: string, what: string): SmallTmpfs | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'cask-tmpfs-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  let server: RunningCask | undefined;
  t.after(async () => {
    await server?.stop();
    if (mounted.status === 0) spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  if (mounted.status !== 0) {
    t.skip(`cannot mount a small tmpfs here (needs root): ${what} is not run`);
    return undefined;
  }
  return {
    dir,
    using(running) {
      server = running;
    },
  };
}
