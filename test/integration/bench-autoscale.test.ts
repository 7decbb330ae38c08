// The lab's opt-in autoscale scenario against a real Cask: the process count rises while
// 40 clients wait on a 100 ms handler, then falls back to one worker in the idle time the
// scenario watches after the load (--idle-timeout 2).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runBench } from '../../src/bench/index.js';
import type { BenchReport } from '../../src/bench/results.js';
import { onPath } from '../helpers/cask.js';

const python = onPath('python3');

test(
  '`cask bench --scenarios autoscale` shows Cask adding workers under load and retiring them idle',
  { skip: python === undefined ? 'python3 is not on PATH' : false, timeout: 90_000 },
  async (t: TestContext) => {
    const out = mkdtempSync(join(os.tmpdir(), 'bench-autoscale-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const code = await runBench([
      '--servers',
      'cask',
      '--scenarios',
      'autoscale',
      '--duration',
      '4',
      '--no-inside',
      '--python',
      python as string,
      '--out',
      out,
      '--quiet',
    ]);
    t.assert.strictEqual(code, 0);
    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchReport;
    const cell = report.cells[0];
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

    const md = readFileSync(join(out, 'results.md'), 'utf8');
    t.assert.match(md, /- cask: min 2, max \d processes \(2 at .*load stopped at 4\.\d s.*, 2 at /);
    const html = readFileSync(join(out, 'results.html'), 'utf8');
    t.assert.match(html, /<canvas id="procs-autoscale">/);
  },
);
