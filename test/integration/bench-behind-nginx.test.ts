// `cask bench --scenarios behind-nginx` end to end for Cask: nginx in front with uwsgi_pass to
// Cask's uwsgi socket, a short measured run, every request answered.
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { nginxFrontMissing } from '../../src/bench/behind-nginx.js';
import { benchCask, python } from '../helpers/bench.js';

const skip =
  python === undefined
    ? 'python3 is not on PATH'
    : !existsSync(new URL('../../dist/cli.js', import.meta.url))
      ? 'Cask is not built (npm run build)'
      : nginxFrontMissing();

test(
  '`cask bench` measures Cask behind nginx over the uwsgi protocol',
  { skip: skip ?? false, timeout: 120_000 },
  async (t: TestContext) => {
    const run = await benchCask(t, 'behind-nginx', [
      '--duration',
      '0.5',
      '--warmup',
      '0.2',
      '--repeat',
      '1',
    ]);
    t.assert.strictEqual(run.code, 0);
    const cell = run.report.cells.find((c) => c.scenario === 'behind-nginx');
    t.assert.strictEqual(cell?.status, 'ok', cell?.error ?? '');
    t.assert.match(cell?.command ?? '', /\/usr\/sbin\/nginx .* -b uwsgi:\/\/127\.0\.0\.1:\d+/);
    const summary = cell?.summary;
    t.assert.ok((summary?.throughput.median ?? 0) > 0, JSON.stringify(summary));
    const errors = cell?.runs[0]?.errors ?? {};
    const failed = Object.values(errors).reduce((sum, n) => sum + n, 0);
    t.assert.strictEqual(failed, 0, JSON.stringify(errors));
  },
);
