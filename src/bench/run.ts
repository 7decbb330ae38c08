// The whole matrix: probe servers, plan CPUs, start the pinned generator, run every
// scenario against every server (scenario by scenario, so the servers compared in one
// table were measured minutes apart, not an hour), and collect results.json's content.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { estimateCellS, runCell, timings, type CellEnv } from './cell.js';
import { allowedCpus, planCpus } from './cpus.js';
import { killStartedGroups } from './launch.js';
import { Generator } from './load/generator.js';
import type { BenchOptions } from './options.js';
import { Progress } from './progress.js';
import {
  SCHEMA,
  type BenchReport,
  type Cell,
  type MachineInfo,
  type ServerInfo,
} from './results.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { missingModules, probeServers, pythonVersion } from './probe.js';
import { SERVERS, runsScenario, type ServerDef } from './servers.js';

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

function machine(pythonVersion: string): MachineInfo {
  return {
    os: `${os.type()} ${os.arch()}`,
    kernel: os.release(),
    cpuModel: os.cpus()[0]?.model ?? '?',
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    node: process.version,
    python: pythonVersion,
  };
}

/** Pin this (orchestrating) process and its threads to the load CPUs, so /proc sampling
 * and IPC never run on the server's CPU. Returns a function restoring the old mask. */
function pinSelf(taskset: string | null, cpus: readonly number[]): () => void {
  if (taskset === null || cpus.length === 0) return () => {};
  const before = allowedCpus();
  try {
    execFileSync(taskset, ['-a', '-p', '-c', cpus.join(','), String(process.pid)], {
      stdio: 'ignore',
    });
  } catch {
    return () => {};
  }
  return () => {
    try {
      execFileSync(taskset, ['-a', '-p', '-c', before.join(','), String(process.pid)], {
        stdio: 'ignore',
      });
    } catch {
      /* best effort */
    }
  };
}

/** Why each scenario whose app needs Python modules cannot run under `python` (Flask for
 * the flask-* scenarios), by scenario name. */
export function scenariosMissing(
  scenarios: readonly Scenario[],
  python: string,
): Map<string, string> {
  const needs = scenarios.flatMap((s) => s.needs ?? []);
  const missing = missingModules(python, [...new Map(needs.map((n) => [n.module, n])).values()]);
  const out = new Map<string, string>();
  for (const s of scenarios) {
    const why = (s.needs ?? []).flatMap((n) => missing.get(n.module) ?? []);
    if (why.length > 0) out.set(s.name, why.join('; '));
  }
  return out;
}

/** A cell that did not run, with the reason. */
function skippedCell(server: string, scenario: string, error: string): Cell {
  return {
    server,
    scenario,
    status: 'skipped',
    error,
    command: '',
    loadCommand: null,
    startupMs: 0,
    wallS: 0,
    runs: [],
    sweep: null,
    summary: null,
  };
}

export interface MatrixPlan {
  servers: Array<{ def: ServerDef; info: ServerInfo }>;
  scenarios: Scenario[];
  pythonVersion: string;
}

export function planMatrix(opts: BenchOptions, repoRoot: string): MatrixPlan {
  const defs = opts.servers.map((n) => SERVERS.find((s) => s.name === n) as ServerDef);
  const avail = probeServers(defs, opts.python, repoRoot);
  const servers = defs.map((def) => {
    const a = avail.get(def.name);
    const info: ServerInfo = {
      name: def.name,
      title: def.title,
      model: def.model,
      budget: def.budget(opts.workers, opts.threads),
      slots: def.slots(opts.workers, opts.threads),
      available: a?.ok ?? false,
      version: a?.version ?? '',
      skipped: a?.ok === true ? null : (a?.reason ?? 'not probed'),
      notes: def.notes ?? '',
    };
    return { def, info };
  });
  const scenarios = opts.scenarios.map((n) => SCENARIOS.find((s) => s.name === n) as Scenario);
  return { servers, scenarios, pythonVersion: pythonVersion(opts.python) };
}

export async function runMatrix(
  opts: BenchOptions,
  repoRoot: string,
  log: NodeJS.WriteStream | null,
): Promise<BenchReport> {
  const startedAt = new Date();
  const plan = planMatrix(opts, repoRoot);
  const cpus = planCpus({ serverCpus: opts.serverCpus, loadCpus: opts.loadCpus, pin: opts.pin });
  const wrk = opts.load === 'wrk' ? which('wrk') : null;
  const notes: string[] = [...opts.notes];
  if (opts.load === 'wrk' && wrk === null)
    notes.push('--load wrk asked for but wrk is not installed: the built-in generator was used');
  if (opts.load === 'wrk')
    notes.push(
      'wrk drives the closed-loop GET scenarios (hello, hello-close, browser, cpu, io-wait); the others use the built-in generator',
    );

  const runnable = plan.servers.filter((s) => s.info.available);
  const scenarioMissing = scenariosMissing(plan.scenarios, opts.python);
  for (const [name, why] of scenarioMissing) {
    notes.push(`${name} skipped: ${why}`);
    log?.write(`skipping ${name}: ${why}\n`);
  }
  for (const s of plan.servers)
    if (!s.info.available) log?.write(`skipping ${s.def.name}: ${s.info.skipped}\n`);
  log?.write(
    `servers: ${runnable.map((s) => s.def.name).join(', ') || '(none)'}; scenarios: ${plan.scenarios.map((s) => s.name).join(', ')}\n`,
  );
  log?.write(
    `CPUs: server ${cpus.server.join(',')}, load ${cpus.load.join(',')} (${cpus.note}); budget ${opts.workers} worker(s) × ${opts.threads} thread(s)\n`,
  );

  const tmpRoot = mkdtempSync(join(os.tmpdir(), 'cask-bench-'));
  chmodSync(tmpRoot, 0o755);
  const restorePin = pinSelf(cpus.taskset, cpus.load);
  const generator = await Generator.start(cpus.load, cpus.taskset);
  // Servers run in their own process groups, so Ctrl-C does not reach them: an
  // interrupted or crashing run kills the groups it started before it goes.
  const onSignal = (sig: NodeJS.Signals): void => {
    killStartedGroups();
    generator.stop();
    restorePin();
    if (!opts.keepTmp) rmSync(tmpRoot, { recursive: true, force: true });
    log?.write(`\ncask bench: interrupted (${sig}); servers stopped\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killStartedGroups);
  const runs = (sc: Scenario): number => runnable.filter((s) => runsScenario(s.def, sc)).length;
  const total = plan.scenarios.reduce((s, sc) => s + estimateCellS(sc, opts) * runs(sc), 0);
  const progress = new Progress(total, opts.quiet ? null : log);
  const h2load = plan.scenarios.some((s) => s.kind === 'h2') ? which('h2load') : null;
  const httperf = plan.scenarios.some((s) => s.kind === 'httperf') ? which('httperf') : null;
  if (plan.scenarios.some((s) => s.kind === 'httperf') && httperf === null)
    notes.push('httperf skipped: httperf is not installed (Debian: httperf)');
  const env: CellEnv = {
    opts,
    cpus,
    generator,
    wrk,
    h2load,
    httperf,
    repoRoot,
    tmpRoot,
    progress,
  };
  const cells: Cell[] = [];
  const startFailures = new Map<string, number>();
  const n = plan.scenarios.reduce((sum, sc) => sum + runs(sc), 0);
  let i = 0;
  try {
    for (const scenario of plan.scenarios) {
      for (const { def, info } of runnable) {
        if (!runsScenario(def, scenario)) continue;
        i += 1;
        const label = `[${i}/${n}] ${def.name} × ${scenario.name}`;
        const missing = scenarioMissing.get(scenario.name);
        if (missing !== undefined) {
          cells.push(skippedCell(def.name, scenario.name, missing));
          progress.step(`${label} skipped`, 0);
          continue;
        }
        if ((startFailures.get(def.name) ?? 0) >= 2) {
          cells.push({
            server: def.name,
            scenario: scenario.name,
            status: 'skipped',
            error: `not started: it failed to start twice (${info.skipped ?? ''})`,
            command: '',
            loadCommand: null,
            startupMs: 0,
            wallS: 0,
            runs: [],
            sweep: null,
            summary: null,
          });
          progress.step(`${label} skipped`, estimateCellS(scenario, opts));
          continue;
        }
        const cell = await runCell(def, scenario, env, label);
        cells.push(cell);
        if (cell.status === 'failed') {
          progress.note(
            `${def.name} × ${scenario.name} failed: ${cell.error?.split('\n')[0] ?? ''}`,
          );
          if (cell.startupMs === 0) {
            startFailures.set(def.name, (startFailures.get(def.name) ?? 0) + 1);
            info.skipped = cell.error?.split('\n')[0] ?? 'failed to start';
          }
        } else {
          startFailures.set(def.name, 0);
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', killStartedGroups);
    progress.end();
    generator.stop();
    restorePin();
    if (!opts.keepTmp) rmSync(tmpRoot, { recursive: true, force: true });
    else log?.write(`temp files kept in ${tmpRoot}\n`);
  }
  for (const s of runnable) {
    const ok = cells.some((c) => c.server === s.def.name && c.status === 'ok');
    if (ok) s.info.skipped = null;
  }
  const finishedAt = new Date();
  return {
    schema: SCHEMA,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    elapsedS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine: machine(plan.pythonVersion),
    settings: {
      workers: opts.workers,
      threads: opts.threads,
      serverCpus: cpus.server,
      loadCpus: cpus.load,
      pinning: cpus.note,
      load: opts.load === 'wrk' && wrk !== null ? 'wrk' : 'builtin',
      durationS: opts.durationS,
      warmupS: opts.warmupS,
      repeat: opts.repeat,
      timeoutS: opts.timeoutS,
      inside: opts.inside,
      python: opts.python,
      app: opts.app,
      path: opts.path,
      sweep: opts.sweep,
      httperf: opts.httperf,
      argv: opts.argv,
    },
    servers: plan.servers.map((s) => s.info),
    scenarios: plan.scenarios.map((s) => ({
      name: s.name,
      title: s.title,
      question: s.question,
      shape: s.shape,
      app: opts.app ?? s.app,
      kind: s.kind,
      ...timings(s, opts),
      ...(s.ceiling === true ? { ceiling: true } : {}),
    })),
    cells,
    notes,
  };
}
