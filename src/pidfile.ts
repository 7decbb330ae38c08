// `--pid FILE`: the front's process id, written at start and removed at exit, so that
// `cask reload` (and init scripts) can find the server, as with gunicorn's `--pid`.

import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/** Whether a process with this id exists (it may belong to another user). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the file; throws an Error whose message names the file. */
export function readPidFile(path: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const why =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'no such file (is the server running?)'
        : (error as Error).message;
    throw new Error(`Cannot read the pid file ${path}: ${why}`);
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0)
    throw new Error(
      `Cannot read the pid file ${path}: not a process id: ${JSON.stringify(text.trim())}`,
    );
  return pid;
}

/**
 * Writes our pid; refuses if the file names another process that is still running, unless it
 * is the one this process `replaces` (SIGUSR2: the new server takes the file over).
 */
export function writePidFile(path: string, pid = process.pid, replaces?: number): void {
  let other: number | undefined;
  try {
    other = readPidFile(path);
  } catch {
    other = undefined; // absent or garbage: a stale file to overwrite
  }
  if (other !== undefined && other !== pid && other !== replaces && running(other)) {
    throw new Error(
      `Cannot write the pid file ${path}: process ${other} named in it is still running`,
    );
  }
  try {
    writeFileSync(path, `${pid}\n`);
  } catch (error) {
    throw new Error(`Cannot write the pid file ${path}: ${(error as Error).message}`);
  }
}

/** Removes the file if it still names us (a newer server may have taken it over). */
export function removePidFile(path: string, pid = process.pid): void {
  try {
    if (readPidFile(path) === pid) unlinkSync(path);
  } catch {
    // gone already
  }
}
