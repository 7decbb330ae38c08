// Private to src/static: where an open file really is, for the containment checks of the
// static route and of X-Sendfile.

import { readlinkSync, realpathSync } from 'node:fs';

const PROC_FD = process.platform === 'linux';

/**
 * The real path of the open file `fd`, opened as `path`. On Linux the kernel says it for the
 * descriptor itself, in one call and with no race between the check and the open; elsewhere
 * (or without /proc) the path is resolved again.
 */
export function realPathOf(fd: number, path: string): string {
  if (PROC_FD) {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // /proc is not mounted (some containers): resolve the path instead.
    }
  }
  return realpathSync(path);
}
