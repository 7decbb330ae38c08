// The lab's opt-in autoscale scenario against a real Cask: the process count rises while
// 40 clients wait on a 100 ms handler, then falls back to one worker in the idle time the
// scenario watches after the load (--idle-timeout 2).
import { test, type TestContext } from 'node:test';
import { benchCask, python } from '../helpers/bench.js';

test(
  '`cask bench --scenarios autoscale` shows Cask adding workers under load and retiring them idle',
  { skip: python === undefined ? 'python3 is not on PATH' : false, timeout: 90_000 },
  async (t: TestContext) => {
    const lab = await benchCask(t, 'autoscale', ['--duration', '4', '--no-inside']);
    t.assert.strictEqual(lab.code, 0);
    const cell = lab.report.cells[0];
    t.assert.ok(cell !== undefined && cell.status === 'ok', cell?.error ?? 'no cell');
    t.assert.match(cell.command, /--workers-min 1 --workers-max 4 --idle-timeout 2/);
    const run = cell.runs[0];
    t.assert.ok(run !== undefined);
    t.assert.strictEqual(run.observedAfterS, 6);

    const loadEndMs = run.windowS * 1000;
    const during = run.samples.filter((s) => s.t <= loadEndMs).map((s) => s.procs ?? 0);
    const after = run.samples.filter((s) => s.t > loadEndMs).map((s) => s.procs ?? 0);
    // Front + 1 worker from the idle start; at least one worker added while requests queue.
    t.assert.strictEqual(during[0], 2, `during the load: ${during.join(' ')}`);
    t.assert.ok(Math.max(...during) >= 3, `during the load: ${during.join(' ')}`);
    // Watched for 6 s without load: back to front + 1 worker (workers-min) by the end.
    t.assert.ok(after.length >= 40, `${after.length} samples after the load`);
    t.assert.strictEqual(after.at(-1), 2, `after the load: ${after.join(' ')}`);
    t.assert.strictEqual(run.procsMin, 2);
    t.assert.ok(run.errorCount === 0, JSON.stringify(run.errors));

    t.assert.match(
      lab.markdown,
      /- cask: min 2, max \d processes \(2 at .*load stopped at 4\.\d s.*, 2 at /,
    );
    t.assert.match(lab.html, /<canvas id="procs-autoscale">/);
  },
);
