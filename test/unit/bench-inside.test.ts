// Inside view, /proc sampling and CPU planning helpers of the benchmark lab.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseCpuList } from '../../src/bench/cpus.js';
import { readRecords, summarizeInside } from '../../src/bench/inside.js';
import { commandLine, groupMembers } from '../../src/bench/launch.js';
import { machineBusyTicks, parseStat, processTree } from '../../src/bench/sample.js';
import { until } from '../helpers/load.js';

test('`summarizeInside()` integrates how many requests were in the app at once', (t: TestContext) => {
  t.plan(6);
  // Two requests overlap for 50 ms of a 200 ms window; one more runs alone for 50 ms.
  const s = summarizeInside(
    [
      { start: 0, end: 100, pid: 1 },
      { start: 50, end: 150, pid: 2 },
      { start: 150, end: 200, pid: 1 },
    ],
    200,
    4,
  );
  t.assert.strictEqual(s.requests, 3);
  t.assert.strictEqual(s.processes, 2);
  t.assert.strictEqual(s.maxInApp, 2);
  t.assert.strictEqual(s.avgInApp, 250 / 200);
  t.assert.strictEqual(s.utilization, 250 / 200 / 4);
  t.assert.strictEqual(s.busy, 1);
});

test('`summarizeInside()` clips requests that straddle the window and counts only those finished in it', (t: TestContext) => {
  t.plan(4);
  const s = summarizeInside(
    [
      { start: -100, end: 50, pid: 1 }, // started before the window
      { start: 80, end: 500, pid: 1 }, // still running at the end
      { start: -300, end: -10, pid: 1 }, // entirely before
    ],
    100,
    null,
  );
  t.assert.strictEqual(s.requests, 1);
  t.assert.strictEqual(s.avgInApp, (50 + 20) / 100);
  t.assert.strictEqual(s.utilization, null);
  t.assert.deepStrictEqual(s.timeline, [0.7]);
});

test('`readRecords()` reads the 16-byte records of every process file', (t: TestContext) => {
  t.plan(3);
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-inside-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rec = (a: bigint, b: bigint): Buffer => {
    const buf = Buffer.alloc(16);
    buf.writeBigInt64LE(a, 0);
    buf.writeBigInt64LE(b, 8);
    return buf;
  };
  writeFileSync(
    join(dir, '101.bin'),
    Buffer.concat([rec(1_000_000_000n, 1_002_000_000n), rec(1_003_000_000n, 1_004_000_000n)]),
  );
  writeFileSync(
    join(dir, '202.bin'),
    Buffer.concat([rec(1_001_000_000n, 1_001_500_000n), Buffer.alloc(7)]),
  ); // torn tail ignored
  writeFileSync(join(dir, 'notes.txt'), 'ignored');
  const r = readRecords(dir, 1_000_000_000n).sort((a, b) => a.start - b.start);
  t.assert.strictEqual(r.length, 3);
  t.assert.deepStrictEqual(r[0], { start: 0, end: 2, pid: 101 });
  t.assert.deepStrictEqual(r[1], { start: 1, end: 1.5, pid: 202 });
});

test('`parseCpuList()` expands ranges and rejects garbage', (t: TestContext) => {
  t.plan(2);
  t.assert.deepStrictEqual(parseCpuList('0-2,5,7-8'), [0, 1, 2, 5, 7, 8]);
  t.assert.throws(() => parseCpuList('1-x'), RangeError);
});

test('`parseStat()` finds fields after a command name with spaces and parentheses', (t: TestContext) => {
  t.plan(3);
  const line =
    '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 123 456789 1234 18446744073709551615';
  const st = parseStat(line);
  t.assert.strictEqual(st?.ppid, 1);
  t.assert.strictEqual(st?.ticks, 300);
  t.assert.strictEqual(st?.rssPages, 1234);
});

test('`machineBusyTicks()` adds user, nice, system and steal time', (t: TestContext) => {
  t.plan(1);
  t.assert.strictEqual(machineBusyTicks('cpu  100 5 20 9999 7 3 11 2 0 0\ncpu0 1 2 3\n'), 127);
});

test('`processTree()` includes this process and its children', async (t: TestContext) => {
  t.plan(2);
  const { spawn } = await import('node:child_process');
  const child = spawn('sleep', ['5']);
  t.after(() => child.kill());
  await new Promise((r) => setTimeout(r, 50));
  const tree = processTree(process.pid);
  t.assert.ok(tree.includes(process.pid));
  t.assert.ok(tree.includes(child.pid ?? -1));
});

test('`groupMembers()` lists the live members of a process group we started', async (t: TestContext) => {
  t.plan(2);
  const { spawn } = await import('node:child_process');
  const child = spawn('sh', ['-c', 'sleep 5 & sleep 5'], { detached: true, stdio: 'ignore' });
  t.after(() => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  // The shell has to start and fork its background sleep: slow on a loaded machine.
  await until(() => groupMembers(child.pid ?? -1).length >= 2, 10_000, 'the shell and a sleep');
  t.assert.ok(groupMembers(child.pid ?? -1).length >= 2);
  process.kill(-(child.pid ?? 0), 'SIGKILL');
  await until(() => groupMembers(child.pid ?? -1).length === 0, 10_000, 'the group gone');
  t.assert.strictEqual(groupMembers(child.pid ?? -1).length, 0);
});

test('`commandLine()` quotes arguments and hides per-run variables', (t: TestContext) => {
  t.plan(1);
  const line = commandLine(
    {
      argv: ['/usr/bin/python3', '-m', 'x', "it's here"],
      env: { A: '1', SECRET_DIR: '/tmp/x' },
      cwd: '/',
      stopSignal: 'SIGTERM',
      files: [],
    },
    ['taskset', '-c', '1'],
    ['SECRET_DIR'],
  );
  t.assert.strictEqual(line, "A=1 taskset -c 1 /usr/bin/python3 -m x 'it'\\''s here'");
});
