// `cask bench` with its ASGI and WebSocket scenarios against the real servers: Cask, and
// uvicorn and Hypercorn from Debian (python3 with uvicorn, python3-hypercorn, python3-uvloop,
// python3-websockets; .ci/run installs them). Short runs: the point is that every cell runs
// and is counted, not the figures.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runBench } from '../../src/bench/index.js';
import type { BenchReport } from '../../src/bench/results.js';

const DEBIAN_PYTHON = '/usr/bin/python3';
const missing = ((): string | false => {
  const probe = spawnSync(DEBIAN_PYTHON, ['-c', 'import uvicorn, hypercorn, uvloop, websockets']);
  return probe.status === 0
    ? false
    : 'uvicorn, python3-hypercorn, python3-uvloop or python3-websockets is not installed';
})();

test(
  'cask bench runs asgi-hello on Cask, uvicorn and Hypercorn, and ws-broadcast-16 on Cask and uvicorn',
  { skip: missing },
  async (t) => {
    const out = mkdtempSync(join(os.tmpdir(), 'bench-asgi-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const code = await runBench([
    '--servers', 'cask,uvicorn,hypercorn', '--scenarios', 'asgi-hello,ws-broadcast-16',
    '-w', '1', '--threads', '1', '--duration', '0.5', '--warmup', '0.2', '--repeat', '1',
    '--python', DEBIAN_PYTHON, '--out', out, '--quiet',
  ]); // prettier-ignore
    assert.equal(code, 0);
    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchReport;
    const cell = (server: string, scenario: string) =>
      report.cells.find((c) => c.server === server && c.scenario === scenario);
    for (const server of ['cask', 'uvicorn', 'hypercorn']) {
      const hello = cell(server, 'asgi-hello');
      assert.equal(hello?.status, 'ok', `${server}: ${hello?.error}`);
      assert.ok((hello?.summary?.throughput.median ?? 0) > 0);
    }
    for (const server of ['cask', 'uvicorn']) {
      const ws = cell(server, 'ws-broadcast-16');
      assert.equal(ws?.status, 'ok', `${server}: ${ws?.error}`);
      assert.ok((ws?.summary?.throughput.median ?? 0) > 0);
      assert.equal(ws?.summary?.errorRate, 0);
    }
    assert.equal(cell('hypercorn', 'ws-broadcast-16'), undefined);
    assert.match(readFileSync(join(out, 'results.md'), 'utf8'), /ws-broadcast-16 \(messages\/s\)/);
  },
);
