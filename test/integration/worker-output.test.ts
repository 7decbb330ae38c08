// What a worker writes to its stdout and stderr reaches the error log line by line, tagged
// with the worker. A line without end (an app that writes tens of megabytes and no newline)
// is logged in pieces of 64 KiB as it comes, at a cost to the front in proportion to its
// length and with a bounded carry, so the front serves on while it is written.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { APPS, startCask } from '../helpers/cask.js';
import { get } from '../helpers/http.js';
import { until } from '../helpers/load.js';
import { statFields } from '../helpers/procfs.js';

const MIB = 1024 * 1024;
const PIECE = 64 * 1024;
const CONTINUES = ' [line continues]';

/** CPU seconds a process has used, user and system (fields 14 and 15, in clock ticks). */
function cpuSeconds(pid: number): number {
  const fields = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (Number(fields[14 - 3]) + Number(fields[15 - 3])) / 100;
}

test('a 32 MiB line without a newline is logged in 64 KiB pieces, at a small cost to the front', async (t) => {
  const server = await startCask(['failures:application', '--chdir', APPS, '--threads', '2']);
  t.after(() => server.stop());
  const pid = server.proc.pid as number;
  const procfs = existsSync(`/proc/${pid}/stat`);
  const cpuBefore = procfs ? cpuSeconds(pid) : 0;

  const written = get(server.port, '/long-line?32', {}, { ms: 60_000 });
  // The front answers other requests while the line comes in.
  assert.equal((await get(server.port, '/ok')).status, 200);
  assert.equal((await written).status, 200);
  await until(() => server.stderr().includes('long-line-end'), 30_000, 'the end of the line');

  const pieces = server
    .stderr()
    .split('\n')
    .filter((line) => /^\[\S+\] \[worker \d+ pid \d+ stdout\] (x|long-line-end)/.test(line))
    .map((line) => line.slice(line.indexOf('stdout] ') + 'stdout] '.length));
  const total = 32 * MIB + 'long-line-end'.length;
  assert.equal(pieces.length, Math.ceil(total / PIECE));
  for (const piece of pieces.slice(0, -1)) {
    assert.ok(piece.endsWith(CONTINUES), 'each piece but the last says the line goes on');
    assert.equal(piece.length, PIECE + CONTINUES.length);
  }
  const last = pieces.at(-1) as string;
  assert.ok(last.endsWith('long-line-end'));
  assert.equal(
    pieces.reduce((sum, piece) => sum + piece.length, 0) - (pieces.length - 1) * CONTINUES.length,
    total,
    'nothing of the line is lost',
  );
  if (procfs) {
    // A few tenths of a second; copying the whole line again at every 64 KiB read took
    // seconds, growing with the square of its length.
    const used = cpuSeconds(pid) - cpuBefore;
    assert.ok(used < 2, `the front used ${used.toFixed(2)} s of CPU for the line`);
  }
  assert.equal((await get(server.port, '/ok')).status, 200);
});
