// The load generator as a set of child processes, one per load CPU, each pinned there with
// taskset so the generator and the server never share a core (a generator that steals
// the server's CPU makes every server look slower by a different amount).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mergeResults, splitSpec, usefulSplit } from './merge.js';
import type { LoadResult, LoadSpec } from './spec.js';

interface Reply {
  id: number;
  result?: LoadResult;
  error?: string;
  ready?: boolean;
}

/** Path of child.js next to this file, or child.ts when running from sources under tsx. */
function childEntry(): { path: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // tsx resolved from here, not from the working directory the bench runs in.
    return {
      path: fileURLToPath(new URL('./child.ts', here)),
      execArgv: ['--import', import.meta.resolve('tsx')],
    };
  }
  return { path: fileURLToPath(new URL('./child.js', here)), execArgv: [] };
}

class GeneratorProcess {
  private readonly waiting = new Map<
    number,
    { resolve: (r: LoadResult) => void; reject: (e: Error) => void }
  >();
  readonly ready: Promise<void>;
  private exited = false;

  constructor(readonly child: ChildProcess) {
    this.ready = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) =>
        reject(new Error(`Load generator exited before it was ready: ${code}`)),
      );
      child.on('message', (m: Reply) => {
        if (m.ready === true) {
          resolve();
          return;
        }
        const w = this.waiting.get(m.id);
        if (w === undefined) return;
        this.waiting.delete(m.id);
        if (m.result !== undefined) w.resolve(m.result);
        else w.reject(new Error(m.error ?? 'Load generator failed without a message'));
      });
    });
    child.on('exit', (code, sig) => {
      this.exited = true;
      for (const w of this.waiting.values())
        w.reject(new Error(`Load generator exited: ${code ?? sig}`));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  run(id: number, spec: LoadSpec): Promise<LoadResult> {
    if (this.exited) return Promise.reject(new Error('Load generator is not running: exited'));
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, spec });
    });
  }

  abort(id: number): void {
    if (!this.exited) this.child.send({ abort: id });
  }

  stop(): void {
    if (!this.exited && this.child.connected) this.child.disconnect();
  }
}

export class Generator {
  private nextId = 1;

  private constructor(private readonly procs: GeneratorProcess[]) {}

  /** Start one generator process per CPU in `cpus` (pinned), or one unpinned if empty. */
  static async start(cpus: readonly number[], taskset: string | null): Promise<Generator> {
    const entry = childEntry();
    const argv = [...entry.execArgv, entry.path];
    const targets = cpus.length > 0 && taskset !== null ? cpus.map((c) => String(c)) : [null];
    const procs = targets.map((cpu) => {
      const child =
        cpu === null
          ? spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
          : spawn(taskset as string, ['-c', cpu, process.execPath, ...argv], {
              stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            });
      return new GeneratorProcess(child);
    });
    try {
      await Promise.all(procs.map((p) => p.ready));
    } catch (err) {
      for (const p of procs) p.stop();
      throw err;
    }
    return new Generator(procs);
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid);
  }

  /** Run a job split across the generator processes and merge their results. */
  async run(spec: LoadSpec, signal?: AbortSignal): Promise<LoadResult> {
    const k = usefulSplit(spec, this.procs.length);
    const id = this.nextId++;
    const used = this.procs.slice(0, k);
    const onAbort = (): void => used.forEach((p) => p.abort(id));
    signal?.addEventListener('abort', onAbort);
    try {
      const parts = await Promise.all(used.map((p, i) => p.run(id, splitSpec(spec, i, k))));
      return mergeResults(parts);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  stop(): void {
    for (const p of this.procs) p.stop();
  }
}
