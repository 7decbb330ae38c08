// `cask bench` against a real Cask for the lab's scenario tests: run it into a temporary
// directory (removed after the test) and read back what it wrote.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runBench } from '../../src/bench/index.js';
import type { BenchReport } from '../../src/bench/results.js';
import { onPath } from './cask.js';

/** python3 for Cask's workers, or undefined when there is none (the test is skipped). */
export const python = onPath('python3');

export interface LabRun {
  code: number;
  report: BenchReport;
  markdown: string;
  html: string;
}

/** `cask bench --servers cask --scenarios <scenario> <args> --python python3 --quiet`. */
export async function benchCask(t: TestContext, scenario: string, args: string[]): Promise<LabRun> {
  const out = mkdtempSync(join(os.tmpdir(), `bench-${scenario}-`));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const code = await runBench([
    '--servers',
    'cask',
    '--scenarios',
    scenario,
    ...args,
    '--python',
    python as string,
    '--out',
    out,
    '--quiet',
  ]);
  const read = (name: string): string => readFileSync(join(out, name), 'utf8');
  const report = JSON.parse(read('results.json')) as BenchReport;
  return { code, report, markdown: read('results.md'), html: read('results.html') };
}
