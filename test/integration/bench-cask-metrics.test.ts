// The lab's inside view of Cask's own runs comes from Cask's /metrics, not from the
// middleware: a real Cask under a real load, scraped on its loopback admin listener, with
// queue wait, app time and slots used in results.json and in the report's table.
import { test, type TestContext } from 'node:test';
import { benchCask, python } from '../helpers/bench.js';

test(
  "`cask bench` reads Cask's inside view from its /metrics: queue wait, app time, slots used",
  { skip: python === undefined ? 'python3 is not on PATH' : false, timeout: 90_000 },
  async (t: TestContext) => {
    // A 5 ms handler and 16 clients for 1 × 4 threads: requests must queue in the front.
    const lab = await benchCask(t, 'cpu', [
      '--duration',
      '3',
      '--warmup',
      '1',
      '--repeat',
      '1',
      '--connections',
      '16',
    ]);
    t.assert.strictEqual(lab.code, 0);
    const cell = lab.report.cells[0];
    t.assert.ok(cell !== undefined && cell.status === 'ok', cell?.error ?? 'no cell');
    t.assert.match(cell.command, /--admin-bind 127\.0\.0\.1:\d+/);
    // Cask is not wrapped in the middleware: the variable that turns it on is not set.
    t.assert.doesNotMatch(cell.command, /CASKBENCH_INSIDE_DIR/);
    const run = cell.runs[0];
    const inside = run?.inside;
    t.assert.ok(run !== undefined && inside !== null && inside !== undefined, 'an inside view');
    t.assert.strictEqual(inside.source, 'metrics');
    // The scrapes cover most of the 3 s window (every 250 ms): about as many requests as
    // the client counted over the same time, scaled down to the part the scrapes covered.
    t.assert.ok(
      inside.requests > run.requests * 0.5 && inside.requests <= run.requests * 1.1,
      `inside ${inside.requests} vs client ${run.requests}`,
    );
    t.assert.ok(
      inside.appTime.count > 0 && inside.appTime.p50 >= 4,
      `app p50 ${inside.appTime.p50}`,
    );
    const wait = inside.queueWait;
    t.assert.ok(wait !== undefined && wait.count > 0, 'queue wait measured');
    // 16 clients on 4 threads of 5 ms each: most requests wait for a thread in the front.
    t.assert.ok(wait.p50 > 1, `queue wait p50 ${wait.p50} ms`);
    t.assert.ok(
      inside.utilization !== null && inside.utilization > 0.5 && inside.utilization <= 1.05,
      `slots used ${inside.utilization}`,
    );
    t.assert.ok(Number.isNaN(inside.maxInApp) || inside.maxInApp === null);
    const summary = cell.summary?.inside;
    t.assert.ok(summary !== null && summary !== undefined);
    t.assert.strictEqual(summary.source, 'metrics');
    t.assert.strictEqual(summary.queueP50, wait.p50);

    // The table shows the queue wait beside the outside figures.
    const header = lab.markdown.split('\n').find((l) => l.includes('queue wait p50 ms'));
    t.assert.ok(header !== undefined, 'a queue wait column');
    const row = lab.markdown.split('\n').find((l) => l.startsWith('| cask |') && l.includes('%'));
    t.assert.ok(row !== undefined, 'a cask row');
    const cells = row.split('|').map((c) => c.trim());
    const at = header
      .split('|')
      .map((c) => c.trim())
      .indexOf('queue wait p50 ms');
    t.assert.match(cells[at] ?? '', /^\d+(\.\d+)?$/, `queue wait cell in ${row}`);
  },
);
