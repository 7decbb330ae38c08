// `cask bench` end to end: a 2-server × 2-scenario matrix against real peers (Debian's
// wsgiref and waitress), about 2 s per measurement, then checks of results.json and the
// rendered reports.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runBench } from '../../src/bench/index.js';
import type { BenchReport } from '../../src/bench/results.js';

const PYTHON = '/usr/bin/python3';

/** Why the matrix cannot run here, or null. */
function missing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (Debian's python3 runs the peers)`;
  try {
    execFileSync(PYTHON, ['-c', 'import waitress, wsgiref'], { stdio: 'ignore' });
  } catch {
    return 'python3-waitress is not installed (apt-get install python3-waitress)';
  }
  return null;
}

const skip = missing();
if (skip !== null) console.log(`# skipping the bench matrix: ${skip}`);

test(
  '`cask bench` runs wsgiref and waitress × hello and cpu and writes every report',
  { skip: skip ?? false, timeout: 120_000 },
  async (t: TestContext) => {
    const out = mkdtempSync(join(os.tmpdir(), 'bench-it-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const code = await runBench([
      '--servers',
      'wsgiref,waitress',
      '--scenarios',
      'hello,cpu',
      '--duration',
      '2',
      '--warmup',
      '0.5',
      '--repeat',
      '1',
      '--python',
      PYTHON,
      '--out',
      out,
      '--quiet',
    ]);
    t.assert.strictEqual(code, 0);
    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchReport;

    t.assert.strictEqual(report.schema, 'cask-bench/1');
    t.assert.deepStrictEqual(
      report.scenarios.map((s) => s.name),
      ['hello', 'cpu'],
    );
    t.assert.deepStrictEqual(
      report.servers.map((s) => [s.name, s.skipped]),
      [
        ['wsgiref', null],
        ['waitress', null],
      ],
    );
    t.assert.ok(report.machine.cpus >= 1 && report.machine.node.startsWith('v'));
    t.assert.strictEqual(report.cells.length, 4);
    for (const c of report.cells) {
      const what = `${c.server} × ${c.scenario}`;
      t.assert.strictEqual(c.status, 'ok', `${what}: ${c.error}`);
      t.assert.match(
        c.command,
        new RegExp(c.server === 'waitress' ? '-m waitress' : 'wsgiref_simple\\.py'),
        what,
      );
      t.assert.ok(c.startupMs > 0 && c.startupMs < 15_000, `${what} startup ${c.startupMs}`);
      t.assert.strictEqual(c.runs.length, 1);
      const r = c.runs[0];
      t.assert.ok(r !== undefined);
      // Plausible, not precise: the machine is shared and the numbers move.
      const [lo, hi] = c.scenario === 'cpu' ? [20, 400] : [300, 100_000];
      t.assert.ok(r.throughput > lo && r.throughput < hi, `${what} throughput ${r.throughput}`);
      t.assert.ok(r.windowS > 1.5 && r.windowS < 3, `${what} window ${r.windowS}`);
      t.assert.ok(
        r.latency.p50 > 0 && r.latency.p50 <= r.latency.p99 && r.latency.p99 <= r.latency.max,
        `${what} latency`,
      );
      if (c.scenario === 'cpu')
        t.assert.ok(r.latency.p50 > 3, `${what} p50 ${r.latency.p50} ms for a 5 ms handler`);
      t.assert.ok(
        r.errorCount / Math.max(1, r.requests) < 0.05,
        `${what} errors ${JSON.stringify(r.errors)}`,
      );
      t.assert.ok(r.cpu.avg > 5 && r.cpu.avg < 150, `${what} server CPU ${r.cpu.avg}%`);
      t.assert.ok(r.rss.peak > 5e6 && r.rss.peak < 1e9, `${what} RSS ${r.rss.peak}`);
      t.assert.ok(r.samples.length >= 10, `${what} ${r.samples.length} samples`);
      t.assert.ok(r.inside !== null && r.inside.requests > 0, `${what} inside view`);
      // The inside view sees about as many requests as the client (both count the window).
      t.assert.ok(
        Math.abs((r.inside?.requests ?? 0) - r.requests) <= Math.max(60, r.requests * 0.1),
        `${what} inside ${r.inside?.requests} vs ${r.requests}`,
      );
      t.assert.ok(
        (r.inside?.maxInApp ?? 0) <= (c.server === 'wsgiref' ? 1 : 4),
        `${what} max in app`,
      );
      t.assert.ok(c.summary !== null && c.summary.throughput.median === r.throughput);
    }
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    t.assert.match(md, /## Headline/);
    t.assert.match(md, /\| waitress \|/);
    const html = readFileSync(join(out, 'results.html'), 'utf8');
    t.assert.match(html, /<canvas id="tput-cpu">/);
    t.assert.ok(html.length > 150_000, 'chart.js is inlined');

    // `cask bench report` renders the same files again from the JSON alone.
    rmSync(join(out, 'results.md'));
    t.assert.strictEqual(await runBench(['report', join(out, 'results.json')]), 0);
    t.assert.strictEqual(readFileSync(join(out, 'results.md'), 'utf8'), md);
  },
);

test('`cask bench` rejects an unknown server with exit status 2', async (t: TestContext) => {
  t.plan(1);
  t.assert.strictEqual(await runBench(['--servers', 'nope', '--quiet']), 2);
});
