// How the front opens a file it is to send (a static file, X-Sendfile, a file an app returns):
// one rule for every path that reads a file named from outside the front's own code.

import { constants, openSync } from 'node:fs';

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Opens `path` for reading without ever waiting. A plain open of a FIFO waits for a writer,
 * and the front's event loop, with every connection, waits with it; with O_NONBLOCK it returns
 * at once (a socket fails with ENXIO), and the caller's fstat then refuses what it does not
 * send. Reads of a regular file are not changed by the flag. Throws as openSync() does.
 */
export function openWithoutWaiting(path: string): number {
  return openSync(path, OPEN_FLAGS);
}
