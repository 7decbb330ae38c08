// The pools of a server, one per app (a single one unless `--mount` or `--vhost` ask for
// more), as the control loop drives them: started together, ready when every one is, and
// reloaded, scaled and stopped together. Each pool keeps its own workers, settings and
// supervisor: a reload, a recycled worker or an autoscaling step of one app never touches
// another's workers.

import type { Pool, PoolEvents } from './pool.js';

export interface NamedPool {
  /** `/api`, `example.org`, or `app` for the only one (src/apps). */
  readonly name: string;
  readonly pool: Pool;
}

export class PoolGroup {
  constructor(readonly apps: readonly NamedPool[]) {
    if (apps.length === 0) throw new RangeError('A pool group needs a pool: 0');
  }

  /** The first app's pool: the only one of a single-app server. */
  get first(): Pool {
    return (this.apps[0] as NamedPool).pool;
  }

  /** Adds to what each pool's subscribers already receive (the file watcher's reloads). */
  set events(events: PoolEvents) {
    for (const { pool } of this.apps) pool.events = { ...pool.supervisor.events, ...events };
  }

  /** Environment for every worker on top of the front's (set by the on_starting hook). */
  set workerEnv(env: Readonly<Record<string, string | null>>) {
    for (const { pool } of this.apps) pool.supervisor.workerEnv = env;
  }

  /** Resolves when every app's workers are ready; rejects as soon as one app cannot run. */
  async start(): Promise<void> {
    await Promise.all(this.apps.map(({ pool }) => pool.start()));
  }

  get readyWorkers(): number {
    return this.sum((pool) => pool.readyWorkers);
  }

  /** How many workers are wanted, all apps together (the hooks' `server.num_workers`). */
  get target(): number {
    return this.sum((pool) => pool.supervisor.target);
  }

  /** SIGHUP: a new generation for every app; false if one was still starting. */
  reload(): boolean {
    return this.apps.map(({ pool }) => pool.reload()).every(Boolean);
  }

  /** SIGTTIN/SIGTTOU: one worker more or fewer for every app. */
  scale(delta: number, why: string): number {
    return this.sum((pool) => pool.scale(delta, why));
  }

  /** Shutdown: every app's push streams end now (Pool.endStreams). */
  endStreams(): void {
    for (const { pool } of this.apps) pool.endStreams();
  }

  /** Stops every app's workers after the requests they hold. */
  async stop(graceMs: number): Promise<void> {
    await Promise.all(this.apps.map(({ pool }) => pool.stop(graceMs)));
  }

  private sum(of: (pool: Pool) => number): number {
    let total = 0;
    for (const { pool } of this.apps) total += of(pool);
    return total;
  }
}
