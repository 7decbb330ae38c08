// The httperf scenario for one server: httperf at each rate of the plan, one after the other,
// the server's process tree sampled around each run, until the first rate the server does
// not hold (load/httperf.ts says what holding means). Between rates the server must answer a
// probe, as between the repeats of every other scenario.
import {
  execHttperf,
  httperfArgv,
  httperfConns,
  httperfRates,
  parseHttperf,
  type HttperfPlan,
  type HttperfTools,
} from './load/httperf.js';
import { shellQuote } from './launch.js';
import type { Progress } from './progress.js';
import type { HttperfStep } from './results.js';
import { ProcSampler } from './sample.js';
import { failedStep, summarizeHttperfStep } from './summarize.js';

/** Seconds httperf waits for a server reaction before it counts a client timeout. */
export const HTTPERF_TIMEOUT_S = 5;

export interface HttperfSweepEnv {
  tools: HttperfTools;
  plan: HttperfPlan;
  host: string;
  port: number;
  path: string;
  headers: ReadonlyArray<[string, string]>;
  /** Warm-up before the first rate: httperf at half the first rate for this long. */
  warmupS: number;
  /** The server's process group leader, sampled with its descendants. */
  serverPid(): number;
  /** Wait until the server answers again (or restart it). */
  settle(): Promise<void>;
  progress: Progress;
  label: string;
}

/** Rough duration of a sweep that holds `upTo` rates, for progress estimates. */
export function estimateHttperfS(plan: HttperfPlan, upTo = 6): number {
  return httperfRates(plan)
    .slice(0, upTo)
    .reduce((s, r) => s + httperfConns(plan, r) / r + 0.5, 0);
}

/** Run the sweep; returns the steps and the command of the first rate (for the report). */
export async function runHttperfSweep(
  env: HttperfSweepEnv,
): Promise<{ steps: HttperfStep[]; command: string }> {
  const run = (rate: number, conns: number): string[] =>
    httperfArgv(
      {
        host: env.host,
        port: env.port,
        rate,
        conns,
        timeoutS: HTTPERF_TIMEOUT_S,
        path: env.path,
        headers: env.headers,
      },
      env.tools,
    );
  // execFile takes whole milliseconds only.
  const limitMs = (rate: number, conns: number): number =>
    Math.ceil((conns / rate + HTTPERF_TIMEOUT_S + 10) * 1000);
  const rates = httperfRates(env.plan);
  if (env.warmupS > 0 && rates[0] !== undefined) {
    const rate = Math.max(100, Math.round(rates[0] / 2));
    const conns = Math.max(1, Math.round(rate * env.warmupS));
    env.progress.step(`${env.label} warm-up`, env.warmupS);
    await execHttperf(run(rate, conns), limitMs(rate, conns));
    await env.settle();
  }
  const steps: HttperfStep[] = [];
  let command = '';
  for (const rate of rates) {
    const conns = httperfConns(env.plan, rate);
    const argv = run(rate, conns);
    if (command === '') command = argv.map(shellQuote).join(' ');
    env.progress.step(`${env.label} httperf ${rate} req/s`, conns / rate + 0.5);
    const sampler = new ProcSampler(env.serverPid(), []);
    sampler.start();
    let step: HttperfStep;
    try {
      const stdout = await execHttperf(argv, limitMs(rate, conns), (pid) =>
        sampler.addLoadPid(pid),
      );
      step = summarizeHttperfStep(rate, conns, parseHttperf(stdout), sampler.stop());
    } catch (err) {
      // Keep the rates already measured: the step that failed ends the sweep with the reason.
      sampler.stop();
      steps.push(failedStep(rate, conns, err instanceof Error ? err.message : String(err)));
      break;
    }
    steps.push(step);
    if (!step.held) break;
    await env.settle();
  }
  return { steps, command };
}
