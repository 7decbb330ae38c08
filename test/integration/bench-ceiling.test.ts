// `cask bench` end to end for the ceiling, httperf and memory additions: the raw-net server, the
// net-hop floor and Cask, each started and pinned like any server, through a short hello-close run, a short
// httperf sweep (skipped with a note without httperf) and idle-10k with 300 connections.
// Loopback only; every load is bounded and stops by itself.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runBench } from '../../src/bench/index.js';
import type { BenchReport } from '../../src/bench/results.js';
import { python } from '../helpers/bench.js';

const skip =
  python === undefined
    ? 'python3 is not on PATH'
    : !existsSync(new URL('../../dist/cli.js', import.meta.url))
      ? 'Cask is not built (npm run build)'
      : false;

test(
  '`cask bench` runs the raw-net ceiling and the net-hop floor beside Cask, with httperf and idle connections',
  { skip, timeout: 180_000 },
  async (t: TestContext) => {
    const out = mkdtempSync(join(os.tmpdir(), 'bench-ceiling-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const code = await runBench([
      '--servers', 'raw-net,net-hop,cask',
      '--scenarios', 'hello-close,httperf,idle-10k',
      '--duration', '0.5', '--warmup', '0.2', '--repeat', '1', '--connections', '300',
      '--httperf-max', '1000', '--httperf-seconds', '0.5',
      '--python', python as string, '--out', out, '--quiet',
    ]); // prettier-ignore
    t.assert.strictEqual(code, 0);
    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchReport;
    const cell = (server: string, scenario: string) =>
      report.cells.find((c) => c.server === server && c.scenario === scenario);

    for (const server of ['raw-net', 'net-hop', 'cask']) {
      const close = cell(server, 'hello-close');
      t.assert.strictEqual(close?.status, 'ok', close?.error ?? '');
      t.assert.ok((close?.summary?.throughput.median ?? 0) > 0, server);
      t.assert.strictEqual(close?.runs[0]?.errorCount, 0, JSON.stringify(close?.runs[0]?.errors));

      const idle = cell(server, 'idle-10k');
      t.assert.strictEqual(idle?.status, 'ok', idle?.error ?? '');
      t.assert.strictEqual(idle?.runs[0]?.idle?.held, 300, JSON.stringify(idle?.runs[0]?.idle));
      t.assert.ok((idle?.runs[0]?.rss.rootPeak ?? 0) > 1e6);

      const httperf = cell(server, 'httperf');
      if (httperf?.status === 'skipped') t.assert.match(httperf.error ?? '', /httperf/);
      else {
        t.assert.strictEqual(httperf?.status, 'ok', httperf?.error ?? '');
        t.assert.strictEqual(httperf?.httperf?.[0]?.replies, 500, JSON.stringify(httperf?.httperf));
      }
    }
    // Cask's front and its worker, each with RSS and PSS, read during the load.
    const procs = cell('cask', 'hello-close')?.runs[0]?.memory?.processes ?? [];
    t.assert.deepStrictEqual(
      procs.map((p) => p.root),
      [true, false],
    );
    t.assert.ok(
      procs.every((p) => p.pss > 0 && p.rss >= p.pss),
      JSON.stringify(procs),
    );
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    t.assert.match(md, /Against the ceiling, raw-net[^]*\| cask \| \d+\.\d\d×( by CPU)? \|/);
    t.assert.match(md, /Against the ceiling, raw-net[^]*\| net-hop \| \d+\.\d\d×( by CPU)? \|/);
  },
);
