// The lab's slow-readers scenario against a real Cask, briefly and small (1 worker × 2
// threads: 8 slow readers). It checks the mechanics: the readers connected, asked for 20 MB
// and held their connections to the end while taking only a few bytes each, one fast
// client was measured beside them, and the report gave it a verdict. Whether Cask keeps
// the fast client served is what the scenario measures, not what this test asserts.
import { test, type TestContext } from 'node:test';
import { benchCask, python } from '../helpers/bench.js';

test(
  '`cask bench --scenarios slow-readers` holds slow readers on Cask while a fast client is measured',
  { skip: python === undefined ? 'python3 is not on PATH' : false, timeout: 90_000 },
  async (t: TestContext) => {
    const lab = await benchCask(t, 'slow-readers', [
      '--threads',
      '2',
      '--duration',
      '2',
      '--warmup',
      '1.5',
      '--repeat',
      '1',
    ]);
    t.assert.strictEqual(lab.code, 0);
    const cell = lab.report.cells[0];
    t.assert.ok(cell !== undefined && cell.status === 'ok', cell?.error ?? 'no cell');
    t.assert.match(cell.command, /serve _entry:application .*--threads 2/);
    const run = cell.runs[0];
    t.assert.ok(run !== undefined && run.slow !== undefined, 'a run with its slow readers');
    const slow = run.slow;

    // 4 per slot: 8 readers, all connected, none reconnected, all still open at the end.
    t.assert.strictEqual(slow.clients, 8);
    t.assert.strictEqual(slow.connected, 8, JSON.stringify(slow));
    t.assert.strictEqual(slow.open, 8, JSON.stringify(slow));
    t.assert.strictEqual(slow.completed, 0);
    t.assert.deepStrictEqual(slow.errors, {});
    // 4 of them read 16 bytes a second (about 4 reads in 3.5 s), the other 4 nothing: a
    // few hundred bytes of the 8 × 20 MB asked for. At least one reader got its response
    // started (the worker threads take the first requests).
    const bytes = slow.bytesIn ?? -1;
    t.assert.ok(bytes >= 16 && bytes <= 4 * 16 * 5, `slow readers took ${bytes} bytes`);

    // The fast client: one keep-alive connection asking for hello, counted in the window.
    t.assert.ok(run.windowS > 1.5 && run.windowS < 3, `window ${run.windowS}`);
    t.assert.ok(run.sent >= 1, `fast requests sent ${run.sent}`);
    t.assert.ok(run.requests + run.errorCount <= run.sent + 1, JSON.stringify(run));
    for (const kind of Object.keys(run.errors))
      t.assert.match(kind, /^(timeout|connect-timeout|reset|closed)$/);
    if (run.requests > 0) t.assert.ok(run.latency.p50 <= run.latency.p99);
    const fast = cell.summary?.fastClients;
    t.assert.ok(fast !== undefined && fast.answered >= 0 && fast.answered <= 1);
    t.assert.ok(fast.verdict === 'served' || fast.verdict === 'blocked');

    t.assert.match(lab.markdown, /\| server \| fast req\/s \|.*\| answered \| fast clients \|/);
    t.assert.match(
      lab.markdown,
      new RegExp(`\\| cask \\| [\\d,]+[ ⚠†]* \\|.*\\| ${fast.verdict} \\|`),
    );
    t.assert.match(
      lab.markdown,
      /- cask: 0\/8, 8 still connected at the end, \d+ bytes received per/,
    );
    t.assert.match(lab.markdown, new RegExp(`- cask: fast client ${fast.verdict} \\(`));
  },
);
