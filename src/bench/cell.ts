// One cell of the matrix: start one server with one scenario's app, run the warm-ups and
// repeats (or the rate sweep) while sampling its process tree, stop it, and read what the
// inside-view middleware recorded.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CpuPlan } from './cpus.js';
import { insideOfWindow, MetricsSampler, type TimedScrape } from './cask-metrics.js';
import { readRecords } from './inside.js';
import {
  commandLine,
  freePort,
  startServer,
  stopServer,
  waitReady,
  type RunningServer,
} from './launch.js';
import { staticSite } from './static-site.js';
import { behindNginx, frontReady, nginxFrontMissing } from './behind-nginx.js';
import type { Generator } from './load/generator.js';
import { runH2load, throwawayCertificate, type H2Leg } from './load/h2load.js';
import { estimateHttperfS, runHttperfSweep } from './httperf-sweep.js';
import { prepareIdle, scheduleSnapshot, snapshotAtMs } from './memory.js';
import type { LoadResult, LoadSpec } from './load/spec.js';
import { runWrk, wrkCanRun } from './load/wrk.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import type { Cell, LegInfo, RunResult, SweepStep } from './results.js';
import { ProcSampler, type ProcMemory, type Sample } from './sample.js';
import { sweepStep, type LoadContext, type Scenario } from './scenarios.js';
import type { Launch, ServerContext, ServerDef } from './servers.js';
import {
  summarizeCell,
  summarizeHttperf,
  summarizeRun,
  summarizeSweep,
  summarizeSweepStep,
} from './summarize.js';

export interface CellEnv {
  opts: BenchOptions;
  cpus: CpuPlan;
  generator: Generator;
  wrk: string | null;
  /** h2load, for the `h2` scenario; null when it is not installed. */
  h2load?: string | null;
  /** httperf, for the `httperf` scenario; null when it is not installed. */
  httperf?: string | null;
  repoRoot: string;
  tmpRoot: string;
  progress: Progress;
}

/** Timings of a scenario after command-line overrides. */
export function timings(
  s: Scenario,
  opts: BenchOptions,
): { durationS: number; warmupS: number; repeat: number } {
  return {
    durationS: opts.durationS ?? s.durationS,
    warmupS: opts.warmupS ?? s.warmupS,
    repeat: opts.repeat ?? s.repeat,
  };
}

/** Time an open-loop run may spend on replies after its last send. */
export const OPEN_DRAIN_S = 3;

/** Requests sent at one rate of the sweep: --sweep-requests, unless that would take
 * longer than --sweep-seconds (which keeps the low rates, which every server sustains,
 * from dominating the run time). */
export function sweepCount(sweep: BenchOptions['sweep'], rate: number): number {
  return sweep.seconds > 0
    ? Math.min(sweep.requests, Math.ceil(rate * sweep.seconds))
    : sweep.requests;
}

/** Rough duration of a cell, for the progress estimate. */
export function estimateCellS(s: Scenario, opts: BenchOptions): number {
  const t = timings(s, opts);
  if (s.kind === 'httperf') return 1 + t.warmupS + estimateHttperfS(opts.httperf);
  // Opening 10,000 connections takes a few seconds before the hold.
  if (s.kind === 'idle') return 4 + t.repeat * t.durationS;
  if (s.kind === 'sweep') {
    // Typically three or four rates before a Python server breaks.
    let est = t.warmupS;
    for (let i = 0, r = opts.sweep.start; i < 6 && r <= opts.sweep.max; i++, r += opts.sweep.step)
      est += sweepCount(opts.sweep, r) / r;
    return 1 + est;
  }
  const drain = s.kind === 'open' ? OPEN_DRAIN_S / 2 : 0;
  const legs = s.legs?.length ?? 1;
  return 1 + legs * t.repeat * (t.warmupS + t.durationS + drain + (s.observeAfterS ?? 0));
}

const HIDE_ENV = ['CASKBENCH_INSIDE_DIR'];

/** The server of one cell; restarted between repeats when it still has a backlog. */
class ServerUnderTest {
  running: RunningServer | null = null;
  port = 0;
  launch: Launch | null = null;
  starts = 0;

  constructor(
    private readonly def: ServerDef,
    private readonly ctx: Omit<ServerContext, 'port'>,
    readonly pin: string[],
    private readonly readyPath: string,
    /** It serves TLS: readiness is probed over TLS. */
    private readonly secure = false,
    /** nginx in front (behind-nginx.ts): the server listens on a uwsgi socket of its own and
     *  `port` is nginx's, which answers 502 until the server is up. */
    private readonly front = false,
  ) {}

  async start(): Promise<number> {
    this.port = await freePort();
    if (this.front) {
      const backendPort = await freePort();
      const backend = this.def.launch({ ...this.ctx, port: backendPort, protocol: 'uwsgi' });
      this.launch = behindNginx(backend, { port: this.port, backendPort, tmpDir: this.ctx.tmpDir });
    } else {
      this.launch = this.def.launch({ ...this.ctx, port: this.port });
    }
    this.starts += 1;
    this.running = startServer(
      this.launch,
      this.pin,
      join(this.ctx.tmpDir, `server-${this.starts}.log`),
    );
    return (
      await waitReady(
        this.running,
        this.port,
        this.readyPath,
        this.def.startTimeoutMs ?? 15_000,
        2000,
        this.secure,
        this.front ? frontReady : undefined,
      )
    ).ms;
  }

  /** Before another repeat: the server must be idle. Requests the previous repeat left
   * behind are still queued (the server cannot know their clients went away), so if a
   * probe does not get an answer within half a second the server is restarted instead
   * of waited for, which for a one-slot server in io-wait would take tens of seconds. */
  async settle(): Promise<void> {
    if (this.running === null) return;
    try {
      await waitReady(
        this.running,
        this.port,
        this.readyPath,
        500,
        500,
        this.secure,
        this.front ? frontReady : undefined,
      );
    } catch {
      await this.stop();
      await this.start();
    }
  }

  async stop(): Promise<void> {
    if (this.running !== null && this.launch !== null)
      await stopServer(this.running, this.launch.stopSignal);
    this.running = null;
  }
}

/** One measured run: the load's result, the server's samples, and its processes' memory. */
interface Measured {
  result: LoadResult;
  samples: Sample[];
  memory?: { atMs: number; processes: ProcMemory[] } | null;
  /** The server's own /metrics, scraped during the run (servers with `metrics`). */
  scrapes?: TimedScrape[];
}

export async function runCell(
  def: ServerDef,
  scenario: Scenario,
  env: CellEnv,
  label: string,
): Promise<Cell> {
  const { opts } = env;
  const dir = join(env.tmpRoot, `${def.name}-${scenario.name}`);
  const insideDir = join(dir, 'inside');
  mkdirSync(insideDir, { recursive: true });
  // Apache's children run as www-data: they must read the generated files and write records.
  chmodSync(dir, 0o755);
  chmodSync(insideDir, 0o777);
  const benchEnv: Record<string, string> = { CASKBENCH_APP: opts.app ?? scenario.app };
  if (opts.app !== null) benchEnv.CASKBENCH_APP_DIR = opts.chdir ?? process.cwd();
  // A server that measures itself (Cask) is scraped; the others get the middleware.
  const adminPort = opts.inside && def.metrics !== undefined ? await freePort() : null;
  const adminArgs = adminPort === null ? [] : (def.metrics?.args(adminPort) ?? []);
  if (opts.inside && adminPort === null) benchEnv.CASKBENCH_INSIDE_DIR = insideDir;
  const pin = env.cpus.taskset !== null ? [env.cpus.taskset, '-c', env.cpus.server.join(',')] : [];
  const readyPath = opts.path ?? '/';
  const site = staticSite(scenario, env.tmpRoot);
  const serverContext = {
    workers: opts.workers,
    threads: opts.threads,
    python: opts.python,
    repoRoot: env.repoRoot,
    appsDir: join(env.repoRoot, 'bench', 'apps'),
    launchersDir: join(env.repoRoot, 'bench', 'launchers'),
    tmpDir: dir,
    env: benchEnv,
    caskArgs: [...(scenario.caskArgs ?? []), ...adminArgs],
  };
  if (scenario.kind === 'h2') {
    return runH2Cell(def, scenario, env, label, {
      context: serverContext,
      pin,
      readyPath,
      adminPort,
    });
  }
  const skipReason =
    scenario.front === 'nginx'
      ? nginxFrontMissing()
      : scenario.kind === 'httperf' && (env.httperf ?? null) === null
        ? 'httperf is not installed (Debian: httperf)'
        : scenario.kind === 'idle' && def.holdsIdle !== undefined
          ? `cannot hold the idle connections: ${def.holdsIdle}`
          : undefined;
  if (skipReason !== undefined) {
    env.progress.step(`${label} skipped`, estimateCellS(scenario, opts));
    return {
      server: def.name,
      scenario: scenario.name,
      status: 'skipped',
      error: skipReason,
      command: '',
      loadCommand: null,
      startupMs: 0,
      wallS: 0,
      runs: [],
      sweep: null,
      summary: null,
    };
  }
  const server = new ServerUnderTest(
    def,
    {
      workers: opts.workers,
      threads: opts.threads,
      python: opts.python,
      repoRoot: env.repoRoot,
      appsDir: join(env.repoRoot, 'bench', 'apps'),
      launchersDir: join(env.repoRoot, 'bench', 'launchers'),
      tmpDir: dir,
      env: benchEnv,
      caskArgs: [
        ...(scenario.caskArgs ?? []),
        ...adminArgs,
        ...(site === undefined ? [] : (def.staticArgs?.(site) ?? [])),
      ],
      staticDir: site,
    },
    pin,
    readyPath,
    false,
    scenario.front === 'nginx',
  );
  const cell: Cell = {
    server: def.name,
    scenario: scenario.name,
    status: 'ok',
    error: null,
    command: '',
    loadCommand: null,
    startupMs: 0,
    wallS: 0,
    runs: [],
    sweep: null,
    summary: null,
  };
  const t = timings(scenario, opts);
  const observeAfterS = scenario.observeAfterS ?? 0;
  const t0 = performance.now();
  env.progress.step(`${label} starting`, 1);
  try {
    try {
      cell.startupMs = await server.start();
    } finally {
      if (server.launch !== null)
        cell.command = `cd ${server.launch.cwd} && ${commandLine(server.launch, pin, HIDE_ENV)}`;
    }
    const loadContext = (): LoadContext => ({
      host: '127.0.0.1',
      port: server.port,
      durationMs: t.durationS * 1000,
      warmupMs: t.warmupS * 1000,
      timeoutMs: opts.timeoutS * 1000,
      workers: opts.workers,
      threads: opts.threads,
      connections: opts.connections,
      rate: opts.rate,
      path: opts.path,
      headers: opts.headers,
    });
    const measure = async (spec: LoadSpec): Promise<Measured> => {
      const pid = server.running?.pid ?? -1;
      const byWrk =
        opts.load === 'wrk' && env.wrk !== null && spec.kind === 'closed' && wrkCanRun(spec);
      if (spec.kind === 'idle') prepareIdle(spec, pid, env.generator.pids);
      const sampler = new ProcSampler(pid, env.generator.pids);
      sampler.start();
      const scraper = adminPort === null ? null : new MetricsSampler(adminPort);
      scraper?.start();
      const snapshot = scheduleSnapshot(pid, snapshotAtMs(spec, byWrk));
      let result: LoadResult;
      try {
        if (byWrk && spec.kind === 'closed' && env.wrk !== null) {
          const tools = {
            wrk: env.wrk,
            taskset: env.cpus.taskset,
            cpus: env.cpus.load,
            tmpDir: env.tmpRoot,
          };
          const w = await runWrk(spec, tools, (pid) => sampler.addLoadPid(pid));
          cell.loadCommand = w.command;
          result = w.result;
        } else {
          result = await env.generator.run(spec);
        }
      } catch (err) {
        snapshot.done();
        sampler.stop();
        await scraper?.stop();
        throw err;
      }
      const memory = snapshot.done();
      const scrapes = await scraper?.stop();
      if (observeAfterS > 0)
        await new Promise((resolve) => setTimeout(resolve, observeAfterS * 1000));
      return { result, samples: sampler.stop(), memory, ...(scrapes && { scrapes }) };
    };

    if (scenario.kind === 'sweep') {
      cell.sweep = await runSweep(loadContext(), t.warmupS, measure, env, label);
      cell.summary = summarizeSweep(cell.sweep);
    } else if (scenario.kind === 'httperf') {
      const swept = await runHttperfSweep({
        tools: { httperf: env.httperf as string, taskset: env.cpus.taskset, cpus: env.cpus.load },
        plan: opts.httperf,
        host: '127.0.0.1',
        port: server.port,
        path: opts.path ?? '/',
        headers: opts.headers,
        warmupS: t.warmupS,
        serverPid: () => server.running?.pid ?? -1,
        settle: () => server.settle(),
        progress: env.progress,
        label,
      });
      cell.httperf = swept.steps;
      cell.loadCommand = swept.command;
      cell.summary = summarizeHttperf(swept.steps);
    } else {
      const measured: Measured[] = [];
      for (let r = 0; r < t.repeat; r++) {
        env.progress.step(
          `${label} repeat ${r + 1}/${t.repeat}`,
          t.warmupS +
            t.durationS +
            (scenario.kind === 'open' ? OPEN_DRAIN_S / 2 : 0) +
            observeAfterS,
        );
        if (r > 0) await server.settle();
        const spec = scenario.build(loadContext());
        if (spec.kind === 'open' && t.warmupS > 0) {
          // Open loops have no warm-up phase of their own: run the schedule briefly first.
          await env.generator.run({ ...spec, durationMs: t.warmupS * 1000 });
        }
        measured.push(await measure(spec));
      }
      // The ceiling runs no app, so it has no inside view (rather than an empty one).
      const records =
        opts.inside && adminPort === null && def.serves !== 'fixed'
          ? readRecords(insideDir, 0n)
          : null;
      const slots = def.slots(opts.workers, opts.threads);
      const loadCpus = Math.max(1, env.generator.pids.length);
      cell.runs = measured.map((m, i): RunResult =>
        summarizeRun({
          repeat: i + 1,
          result: m.result,
          samples: m.samples,
          records,
          ...(m.scrapes && { inside: scrapedInside(m.scrapes, m.result, slots) }),
          slots,
          loadCpus,
          observeAfterMs: observeAfterS * 1000,
          memory: m.memory,
        }),
      );
      cell.summary = summarizeCell(cell.runs);
    }
  } catch (err) {
    cell.status = 'failed';
    cell.error = err instanceof Error ? err.message : String(err);
  } finally {
    env.progress.step(`${label} stopping`, 0.3);
    await server.stop();
    cell.wallS = (performance.now() - t0) / 1000;
  }
  return cell;
}

/** The inside view of a run from the server's own /metrics, over the load's window. */
function scrapedInside(
  scrapes: readonly TimedScrape[],
  result: LoadResult,
  slots: number | null,
): ReturnType<typeof insideOfWindow> {
  return insideOfWindow(scrapes, BigInt(result.windowStartNs), BigInt(result.windowEndNs), slots);
}

/** How an h2 cell starts its servers: the cell's context, pinning, readiness path, and the
 * admin port to scrape (servers with `metrics`, else null). */
interface H2Start {
  context: Omit<ServerContext, 'port'>;
  pin: string[];
  readyPath: string;
  adminPort: number | null;
}

/**
 * The `h2` scenario for one server: each leg (protocol) runs h2load for the scenario's
 * warm-up and repeats; the cleartext legs share one server, the TLS legs another started with
 * a throwaway certificate. A server without HTTP/2, or a machine without h2load, is skipped
 * with the reason; without openssl only the TLS legs are. The cell's summary is its first
 * leg's (h2c), so the headline compares servers on HTTP/2.
 */
async function runH2Cell(
  def: ServerDef,
  scenario: Scenario,
  env: CellEnv,
  label: string,
  start: H2Start,
): Promise<Cell> {
  const { opts } = env;
  const cell: Cell = {
    server: def.name,
    scenario: scenario.name,
    status: 'ok',
    error: null,
    command: '',
    loadCommand: null,
    startupMs: 0,
    wallS: 0,
    runs: [],
    sweep: null,
    summary: null,
    legs: [],
  };
  const legs = scenario.legs ?? [];
  const t = timings(scenario, opts);
  const skipAll = (why: string): Cell => {
    cell.status = 'skipped';
    cell.error = why;
    cell.legs = legs.map((l) => ({ name: l.name, protocol: '', skipped: why }));
    env.progress.step(`${label} skipped`, estimateCellS(scenario, opts));
    return cell;
  };
  if (def.http2 === undefined) return skipAll(`${def.title} does not speak HTTP/2`);
  const h2load = env.h2load ?? null;
  if (h2load === null) return skipAll('h2load is not installed (Debian: nghttp2-client)');
  const t0 = performance.now();
  const infos = new Map<string, LegInfo>();
  try {
    for (const secure of [false, true]) {
      const group = legs.filter((l) => l.tls === secure);
      if (group.length === 0) continue;
      let extra: string[] = [];
      if (secure) {
        const made = throwawayCertificate(start.context.tmpDir);
        if (typeof made === 'string') {
          for (const l of group) infos.set(l.name, { name: l.name, protocol: '', skipped: made });
          env.progress.step(`${label} TLS legs skipped`, 0);
          continue;
        }
        extra = def.http2.tlsArgs(made.cert, made.key);
      }
      const context = { ...start.context, caskArgs: [...(start.context.caskArgs ?? []), ...extra] };
      const server = new ServerUnderTest(def, context, start.pin, start.readyPath, secure);
      env.progress.step(`${label} starting${secure ? ' (TLS)' : ''}`, 1);
      try {
        try {
          const ms = await server.start();
          if (!secure) cell.startupMs = ms;
        } finally {
          if (server.launch !== null && !secure)
            cell.command = `cd ${server.launch.cwd} && ${commandLine(server.launch, start.pin, HIDE_ENV)}`;
        }
        for (const leg of group) {
          const slots = def.slots(opts.workers, opts.threads);
          const runs = await runLeg(leg, server, slots, env, label, h2load, t, start, cell);
          infos.set(leg.name, { name: leg.name, protocol: runs.protocol, skipped: null });
          cell.runs.push(...runs.results);
        }
      } finally {
        env.progress.step(`${label} stopping`, 0.3);
        await server.stop();
      }
    }
    const first = legs[0]?.name;
    const headline = cell.runs.filter((r) => r.leg === first);
    cell.summary = headline.length > 0 ? summarizeCell(headline) : null;
  } catch (err) {
    cell.status = 'failed';
    cell.error = err instanceof Error ? err.message : String(err);
  } finally {
    cell.legs = legs.map(
      (l) => infos.get(l.name) ?? { name: l.name, protocol: '', skipped: cell.error ?? 'not run' },
    );
    cell.wallS = (performance.now() - t0) / 1000;
  }
  return cell;
}

/** The warm-up and repeats of one leg, each sampled as any other run. */
async function runLeg(
  leg: H2Leg,
  server: ServerUnderTest,
  slots: number | null,
  env: CellEnv,
  label: string,
  h2load: string,
  t: { durationS: number; warmupS: number; repeat: number },
  start: H2Start,
  cell: Cell,
): Promise<{ protocol: string; results: RunResult[] }> {
  const { opts } = env;
  const results: RunResult[] = [];
  let protocol = '';
  const tools = { h2load, taskset: env.cpus.taskset, cpus: env.cpus.load, tmpDir: env.tmpRoot };
  for (let r = 0; r < t.repeat; r++) {
    env.progress.step(`${label} ${leg.name} ${r + 1}/${t.repeat}`, t.warmupS + t.durationS);
    if (r > 0) await server.settle();
    const sampler = new ProcSampler(server.running?.pid ?? -1, env.generator.pids);
    sampler.start();
    const scraper = start.adminPort === null ? null : new MetricsSampler(start.adminPort);
    scraper?.start();
    let run;
    try {
      run = await runH2load(
        {
          host: '127.0.0.1',
          port: server.port,
          path: start.readyPath,
          leg,
          warmupMs: t.warmupS * 1000,
          durationMs: t.durationS * 1000,
          timeoutMs: opts.timeoutS * 1000,
        },
        tools,
        (pid) => sampler.addLoadPid(pid),
      );
    } catch (err) {
      sampler.stop();
      await scraper?.stop();
      throw err;
    }
    const samples = sampler.stop();
    const scrapes = await scraper?.stop();
    protocol = run.protocol;
    if (cell.loadCommand === null) cell.loadCommand = run.command;
    results.push({
      ...summarizeRun({
        repeat: r + 1,
        result: run.result,
        samples,
        records: null,
        ...(scrapes && { inside: scrapedInside(scrapes, run.result, slots) }),
        slots,
        loadCpus: Math.max(1, env.cpus.load.length),
      }),
      leg: leg.name,
    });
  }
  return { protocol, results };
}

async function runSweep(
  lctx: LoadContext,
  warmupS: number,
  measure: (spec: LoadSpec) => Promise<{ result: LoadResult; samples: Sample[] }>,
  env: CellEnv,
  label: string,
): Promise<SweepStep[]> {
  const { sweep } = env.opts;
  if (warmupS > 0) {
    env.progress.step(`${label} warm-up`, warmupS);
    const rate = Math.max(100, Math.round(sweep.start / 2));
    await env.generator.run(sweepStep(lctx, rate, Math.max(1, Math.round(rate * warmupS))));
  }
  const steps: SweepStep[] = [];
  for (let rate = sweep.start; rate <= sweep.max; rate += sweep.step) {
    const count = sweepCount(sweep, rate);
    env.progress.step(`${label} ${rate} req/s`, count / rate + 0.3);
    const { result, samples } = await measure(sweepStep(lctx, rate, count));
    const step = summarizeSweepStep(rate, result, samples);
    steps.push(step);
    if (step.broke) break;
  }
  return steps;
}
