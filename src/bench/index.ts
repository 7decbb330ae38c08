// `cask bench`: the benchmark lab's entry point. The CLI passes the arguments after
// `bench`; the return value is the exit status: 0 when results were written, 1 when no
// server produced any, 2 for a usage error or a failure to run at all.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultOutDir, readJson, renderReports, writeJson } from './report/json.js';
import { OPTION_SPEC, parseBenchArgs, resolveOptions, USAGE, UsageError } from './options.js';
import { planMatrix, runMatrix } from './run.js';
import { SCENARIOS } from './scenarios.js';

export type { BenchReport } from './results.js';

/** The repository (or installed package) root: this file is src/bench/index.ts or
 * dist/bench/index.js, and bench/apps sits at the root of both layouts. */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

function reportCommand(argv: string[]): number {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { out: OPTION_SPEC.out, help: OPTION_SPEC.help },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new UsageError(
      `Command report needs one results.json path: ${positionals.join(' ') || '(none)'}`,
    );
  const report = readJson(file);
  const out = renderReports(report, values.out ?? defaultOutDir(file));
  process.stdout.write(`wrote ${out.markdown}\nwrote ${out.html}\n`);
  return 0;
}

function listCommand(argv: string[]): number {
  const { values } = parseBenchArgs(argv);
  const opts = resolveOptions(values, argv);
  const plan = planMatrix(opts, packageRoot());
  process.stdout.write('servers:\n');
  for (const s of plan.servers) {
    process.stdout.write(
      `  ${s.def.name.padEnd(18)} ${s.info.available ? `ok   ${s.info.version}` : `no   ${s.info.skipped ?? ''}`}\n`,
    );
  }
  process.stdout.write('scenarios:\n');
  for (const s of SCENARIOS) process.stdout.write(`  ${s.name.padEnd(18)} ${s.question}\n`);
  return 0;
}

export async function runBench(argv: string[]): Promise<number> {
  try {
    if (argv[0] === 'report') return reportCommand(argv.slice(1));
    const { values, positionals } = parseBenchArgs(argv);
    if (values.help === true) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length > 0)
      throw new UsageError(`Unexpected argument: ${positionals[0]} (see cask bench --help)`);
    if (values.list === true) return listCommand(argv.filter((a) => a !== '--list'));
    const opts = resolveOptions(values, argv);
    const report = await runMatrix(opts, packageRoot(), process.stderr);
    const out = resolve(opts.out);
    const json = writeJson(report, out);
    const files = renderReports(report, out);
    process.stderr.write(`wrote ${json}\nwrote ${files.markdown}\nwrote ${files.html}\n`);
    const ok = report.cells.some((c) => c.status === 'ok');
    return ok ? 0 : 1;
  } catch (err) {
    // Usage errors and failures to run at all both exit 2; 1 means the run produced no result.
    process.stderr.write(`cask bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
