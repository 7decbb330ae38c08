// The admin listener of a running cask, found from its start-up line.
import assert from 'node:assert/strict';
import type { RunningCask } from './cask.js';

export function adminPort(server: RunningCask): number {
  const match = /Admin listener on http:\/\/127\.0\.0\.1:(\d+)/.exec(server.stderr());
  assert.ok(match, 'no admin listener in the log');
  return Number(match[1]);
}
