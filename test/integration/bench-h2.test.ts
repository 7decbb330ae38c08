// The lab's h2 scenario against a real Cask, briefly (1 worker × 2 threads, one repeat of a
// second per leg). It checks the mechanics: h2load ran every leg, negotiated the protocol the
// leg names (h2c with prior knowledge, HTTP/1.1, h2 by ALPN over TLS), got answers with no
// errors, and the report shows each leg with its numbers and each HTTP/2 leg's ratio to the
// HTTP/1.1 leg over the same transport. How the protocols compare is what the scenario
// measures, not what this test asserts.
import { test, type TestContext } from 'node:test';
import type { RunResult } from '../../src/bench/results.js';
import { onPath } from '../helpers/cask.js';
import { benchCask, python } from '../helpers/bench.js';
import { opensslMissing } from '../helpers/tls.js';

const skip =
  python === undefined
    ? 'python3 is not on PATH'
    : onPath('h2load') === undefined
      ? 'h2load is not installed (Debian: apt-get install nghttp2-client)'
      : false;

/** What h2load reports it negotiated on each leg. */
const NEGOTIATED: Record<string, string> = {
  h2c: 'h2c',
  'http/1.1': 'http/1.1',
  'h2 (TLS)': 'h2',
  'http/1.1 (TLS)': 'http/1.1',
};

test(
  '`cask bench --scenarios h2` runs h2load over h2c, HTTP/1.1 and TLS against Cask and reports each leg',
  { skip, timeout: 120_000 },
  async (t: TestContext) => {
    const lab = await benchCask(t, 'h2', [
      '--threads',
      '2',
      '--duration',
      '1',
      '--warmup',
      '0.5',
      '--repeat',
      '1',
    ]);
    t.assert.strictEqual(lab.code, 0);
    const cell = lab.report.cells.find((c) => c.scenario === 'h2');
    t.assert.ok(cell !== undefined && cell.status === 'ok', cell?.error ?? 'no cell');
    t.assert.match(cell.command, /serve _entry:application .*--threads 2/);

    // Without openssl the TLS legs are skipped with the reason; everything else still runs.
    const tlsSkipped = opensslMissing();
    const legs = cell.legs ?? [];
    t.assert.deepStrictEqual(
      legs.map((l) => l.name),
      ['h2c', 'http/1.1', 'h2 (TLS)', 'http/1.1 (TLS)'],
    );
    for (const leg of legs) {
      if (leg.name.endsWith('(TLS)') && tlsSkipped !== undefined) {
        t.assert.ok(leg.skipped !== null, `${leg.name} should say why it was skipped`);
        continue;
      }
      t.assert.strictEqual(leg.skipped, null, `${leg.name}: ${leg.skipped}`);
      t.assert.strictEqual(leg.protocol, NEGOTIATED[leg.name], `${leg.name} negotiated`);
      const runs: RunResult[] = cell.runs.filter((r) => r.leg === leg.name);
      t.assert.strictEqual(runs.length, 1, `${leg.name}: one repeat`);
      for (const run of runs) {
        t.assert.ok(run.requests > 0, `${leg.name}: ${run.requests} requests`);
        t.assert.ok(run.throughput > 0, `${leg.name}: ${run.throughput} req/s`);
        t.assert.strictEqual(run.errorCount, 0, `${leg.name}: ${JSON.stringify(run.errors)}`);
        t.assert.ok(
          run.latency.p50 > 0 && run.latency.p50 <= run.latency.p99,
          `${leg.name}: p50 ${run.latency.p50}, p99 ${run.latency.p99}`,
        );
      }
    }
    // The headline is the h2c leg.
    t.assert.ok((cell.summary?.throughput.median ?? 0) > 0, 'a headline from the h2c leg');

    // The legs table: leg, negotiated, req/s, p50, p99, CPU µs/request, ratio, notes.
    t.assert.match(lab.markdown, /cask, by protocol \(the headline row above is h2c\):/);
    const num = '[\\d,.]+';
    t.assert.match(
      lab.markdown,
      new RegExp(
        `\\| h2c +\\| h2c +\\| +${num} \\| +${num} \\| +${num} \\| +${num} \\| ${num}× req/s, ${num}× p99 \\|`,
      ),
    );
    t.assert.match(
      lab.markdown,
      new RegExp(
        `\\| http/1\\.1 +\\| http/1\\.1 +\\| +${num} \\| +${num} \\| +${num} \\| +${num} \\| — +\\|`,
      ),
    );
    if (tlsSkipped === undefined) {
      t.assert.match(
        lab.markdown,
        new RegExp(
          `\\| h2 \\(TLS\\) +\\| h2 +\\| +${num} \\| +${num} \\| +${num} \\| +${num} \\| ${num}× req/s, ${num}× p99 \\|`,
        ),
      );
    }
  },
);
