// What `cask serve` does once its listeners are bound: start the hooks, the pid file, the
// admin listener and the workers, then run the control loop until the server stops.
//
// The loop takes one event at a time from the signal queue (src/pool/signals.ts); signal
// handlers never act themselves. The shutdown on SIGTERM, step by step (docs/operations.md):
//
//   1. /readyz turns 503 at once;
//   2. `shutdown-delay`: everything keeps serving while load balancers notice;
//   3. the listeners close (new connections are refused) and idle keep-alive connections
//      close; busy ones close after their response;
//   4. in-flight requests get up to `graceful-timeout`; then the workers are stopped
//      (the ones still busy after it are aborted);
//   5. `on_exit`, the pid file is removed, exit 0.
//
// A second SIGTERM or SIGINT, or SIGQUIT, at any point: exit at once with 128 + signal.

import type { Server } from 'node:net';
import { formatBind, type Config } from './config/index.js';
import { CaskError } from './errors.js';
import {
  listenAdmin,
  type AdminListener,
  type HealthSource,
  type Readiness,
} from './admin/health.js';
import type { AdminRoutes } from './admin/routes.js';
import type { Sampler } from './admin/sampler.js';
import type { AccessLog, Logger } from './log.js';
import type { BoundListener } from './net/listener.js';
import { removePidFile, writePidFile } from './pidfile.js';
import { dropPrivileges } from './process/privileges.js';
import { tellPrimaryReady } from './fronts/child.js';
import { HookHost, type HookServer, type MasterHook } from './pool/hooks.js';
import type { Pool } from './pool/pool.js';
import type { PoolGroup } from './pool/group.js';
import { SIGNAL_NUMBERS, SignalQueue, type ControlEvent } from './pool/signals.js';
import { EXIT_LOAD_ERROR } from './pool/worker.js';
import { closeUnclaimedInherited, handoverKey, keepSocketFiles } from './net/handover.js';
import { processOrigin, tellParentReady } from './process/origin.js';
import { npmParents, watchParents } from './process/parents.js';
import { startSuccessor } from './process/upgrade.js';

export interface ControlContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly accessLog: AccessLog | undefined;
  /** Every app's pool (one unless --mount or --vhost serve several apps). */
  readonly pool: PoolGroup;
  readonly listeners: readonly BoundListener[];
  readonly connections: ReadonlySet<{ shutdown(): void }>;
  /** Why the pool could not start, once it failed. */
  readonly fatal: () => { reason: string; kind: 'load' | 'start' } | undefined;
  /** Closes the front's own timers (called once every connection is gone). */
  readonly closeFront?: () => void;
  /** Reads the TLS certificates again (SIGHUP); logs, and keeps the old ones, on failure. */
  readonly reloadTls?: () => void;
  readonly health: Health;
  /** /metrics, /stats and /dashboard on the admin listeners, and the sampler behind them. */
  readonly admin?: { readonly routes: AdminRoutes; readonly sampler: Sampler };
}

/**
 * The server's readiness as /readyz reports it; `draining` is set by the first SIGTERM. With
 * several apps the server is ready when every app is (a load balancer cannot send one app's
 * requests elsewhere and keep the other's), and `apps` reports each.
 */
export class Health implements HealthSource {
  draining = false;

  constructor(private readonly pools: PoolGroup) {}

  readiness(): Readiness {
    const each = this.pools.apps.map(({ pool }) => this.one(pool));
    if (each.length === 1) return each[0] as Readiness;
    const order = ['shutting down', 'starting', 'no worker ready', 'ready'];
    const worst = Math.min(...each.map((r) => order.indexOf(r.status)));
    return {
      ready: each.every((r) => r.ready),
      status: order[worst] as string,
      workers: each.reduce((sum, r) => sum + r.workers, 0),
      generation: Math.min(...each.map((r) => r.generation)),
      reloading: each.some((r) => r.reloading),
      apps: Object.fromEntries(this.pools.apps.map(({ name }, i) => [name, each[i] as Readiness])),
    };
  }

  private one(pool: Pool): Readiness {
    const supervisor = pool.supervisor;
    const workers = supervisor.acceptingWorkers;
    const status = this.draining
      ? 'shutting down'
      : supervisor.serving === 0
        ? 'starting'
        : workers === 0
          ? 'no worker ready'
          : 'ready';
    return {
      ready: status === 'ready' && pool.ready,
      status,
      workers,
      generation: supervisor.serving,
      reloading: supervisor.serving > 0 && supervisor.pending !== undefined,
    };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function closeServers(servers: readonly Server[]): Promise<void> {
  return Promise.all(
    servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  ).then(() => {});
}

/** gunicorn's `server.cfg` names: snake_case, binds as strings. */
function hookConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const name = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    out[name] =
      key === 'bind' || key === 'adminBind'
        ? (value as Parameters<typeof formatBind>[0][]).map(formatBind)
        : value;
  }
  return out;
}

export class Control {
  private readonly health: Health;
  private readonly signals = new SignalQueue();
  private hooks: HookHost | undefined;
  private admin: AdminListener[] = [];
  private pidWritten = false;
  private stopping: Promise<number> | undefined;
  /** A new process is starting to take over (SIGUSR2). */
  private upgrading = false;
  /** Processes whose end stops this server (npm that started it), passed on to a successor. */
  private watched: readonly number[] = [];
  private stopWatching: () => void = () => {};

  constructor(private readonly ctx: ControlContext) {
    this.health = ctx.health;
  }

  /** Runs the server to its end; resolves with the exit code. */
  async run(): Promise<number> {
    const { logger, pool } = this.ctx;
    this.signals.install();
    // Started by npm, whose SIGTERM never reaches this process: stop when npm is gone.
    this.watched = processOrigin().watch ?? npmParents(process.env);
    this.stopWatching = watchParents(this.watched, (pid) => {
      logger.warn(`Process ${pid}, which started this server, is gone: stopping as on SIGTERM`);
      this.signals.push({ signal: 'SIGTERM', action: 'stop' });
    });
    try {
      const failed = await this.prepare();
      if (failed !== undefined) return await this.abortStart(failed);
      const dropped = closeUnclaimedInherited();
      if (dropped.length > 0)
        logger.info(`Closed listeners the new settings no longer name: ${dropped.join(', ')}`);

      pool.events = {
        // The group keeps what serve() subscribed to (the file watcher's reloads).
        onWorkerExit: (exit) =>
          void this.hook('child_exit', [
            {
              pid: exit.pid,
              ppid: process.pid,
              age: exit.age,
              generation: exit.generation,
              exitcode: exit.code,
            },
          ]),
        onTargetChanged: (now, before) => void this.hook('nworkers_changed', [now, before]),
      };
      const started = pool.start().then(
        () => 'ready' as const,
        () => 'failed' as const,
      );
      let event: ControlEvent | 'ready' | 'failed';
      for (;;) {
        event = await Promise.race([started, this.signals.next()]);
        if (typeof event === 'string' || event.action === 'stop' || event.action === 'quit') break;
        logger.info(`${event.signal} ignored: the workers are still starting`);
      }
      if (event === 'failed') {
        const fatal = this.ctx.fatal();
        if (fatal?.kind === 'start') logger.error(`The workers could not start: ${fatal.reason}`);
        else {
          const error = new CaskError(
            'CASK_APP_LOAD',
            (fatal?.reason ?? 'unknown error').trimEnd(),
          );
          logger.error(`The application could not be loaded (${error.code}):\n${error.message}`);
        }
        return await this.abortStart(fatal?.kind === 'start' ? 1 : EXIT_LOAD_ERROR);
      }
      if (event === 'ready') {
        logger.info(`Ready: ${pool.readyWorkers} worker(s)`);
        // The process that started this one (SIGUSR2, --daemon) waits for this.
        tellParentReady();
        tellPrimaryReady();
        void this.hook('when_ready');
      } else if (event.action === 'quit') {
        this.now(`${event.signal}: stopping now`, event.signal);
      } else {
        this.stopping = this.shutdown(event.signal);
      }
      return await this.loop();
    } finally {
      this.stopWatching();
      this.signals.uninstall();
    }
  }

  /** Hooks, pid file, admin listeners; returns an exit code if the start must stop. */
  private async prepare(): Promise<number | undefined> {
    const { config, logger } = this.ctx;
    if (config.hooks !== null) {
      try {
        this.hooks = await HookHost.start(
          {
            python: config.python,
            hooks: config.hooks,
            pythonpath: config.pythonpath,
            chdir: config.chdir,
          },
          logger,
        );
      } catch (error) {
        logger.error(
          `The hooks could not be loaded, not starting (${(error as CaskError).code}):\n${(error as Error).message}`,
        );
        return 1;
      }
      const starting = await this.hook('on_starting');
      if (!starting.ok) {
        logger.error('The on_starting hook failed, not starting (CASK_HOOK_FAILED)');
        return 1;
      }
      if (starting.env !== undefined) this.ctx.pool.workerEnv = starting.env;
    }
    if (config.pid !== null) {
      try {
        writePidFile(config.pid, process.pid, processOrigin().replaces);
        this.pidWritten = true;
      } catch (error) {
        logger.error((error as Error).message);
        return 1;
      }
    }
    try {
      const extra = this.ctx.admin;
      for (const bind of config.adminBind) {
        const admin = await listenAdmin(bind, this.health, extra?.routes);
        this.admin.push(admin);
        logger.info(
          `Admin listener on ${admin.url} (/healthz, /readyz${extra === undefined ? '' : ', /metrics, /stats, /dashboard'})`,
        );
      }
      if (this.admin.length > 0) extra?.sampler.start();
      // Every listener is bound: `--user`/`--group` as root switch now, before any worker.
      dropPrivileges(config, logger);
    } catch (error) {
      logger.error((error as Error).message);
      return 1;
    }
    return undefined;
  }

  private async loop(): Promise<number> {
    const { logger, pool, accessLog } = this.ctx;
    for (;;) {
      const stopped = this.stopping;
      const event =
        stopped === undefined
          ? await this.signals.next()
          : await Promise.race([stopped, this.signals.next()]);
      if (typeof event === 'number') return event;
      switch (event.action) {
        case 'stop':
          if (this.stopping === undefined) this.stopping = this.shutdown(event.signal);
          else this.now(`Second ${event.signal}: stopping now`, event.signal);
          break;
        case 'quit':
          this.now(`${event.signal}: stopping now`, event.signal);
          break;
        case 'reload':
          if (this.stopping !== undefined) break;
          logger.info(`${event.signal}: reloading`);
          // Renewed certificates (certbot, cert-manager) take effect without a restart.
          this.ctx.reloadTls?.();
          void this.hook('on_reload').then(() => {
            if (this.stopping === undefined && !pool.reload())
              logger.warn('Reload ignored: the workers are still starting');
          });
          break;
        case 'more':
        case 'fewer':
          if (this.stopping === undefined)
            pool.scale(event.action === 'more' ? 1 : -1, event.signal);
          break;
        case 'reopen':
          await Promise.all([logger.reopen(), accessLog?.reopen()]);
          logger.info(`${event.signal}: log files reopened`);
          break;
        case 'upgrade':
          if (this.stopping !== undefined) break;
          if (this.upgrading)
            logger.warn(`${event.signal} ignored: a new process is already starting`);
          else void this.upgrade(event.signal);
          break;
      }
    }
  }

  /**
   * SIGUSR2: starts a new process on the same listeners; once it is ready, this one drains and
   * exits (the handover itself: src/net/handover.ts). If it fails, this one serves on.
   */
  private async upgrade(signal: NodeJS.Signals): Promise<void> {
    const { config, logger, listeners } = this.ctx;
    const handed = [
      ...listeners.flatMap((l) =>
        l.bind === undefined ? [] : [{ key: handoverKey('main', l.bind), server: l.server }],
      ),
      ...this.admin.map((a, i) => ({
        key: handoverKey('admin', config.adminBind[i] as (typeof config.adminBind)[number]),
        server: a.server,
      })),
    ];
    if (handed.length < listeners.length + this.admin.length) {
      logger.warn(
        `${signal} ignored: the listeners came from systemd, which keeps them across a restart (systemctl restart)`,
      );
      return;
    }
    this.upgrading = true;
    logger.info(`${signal}: starting a new Cask process to take over the listeners`);
    await this.hook('pre_exec');
    const { child, result } = startSuccessor(handed, this.watched);
    logger.info(`New process ${child.pid ?? '?'} is starting; this one serves until it is ready`);
    const outcome = await result;
    this.upgrading = false;
    if (!outcome.ok) {
      logger.error(`${signal}: the new process failed, this one serves on: ${outcome.why}`);
      return;
    }
    if (this.stopping !== undefined) return;
    // The socket files are the new process's now: closing here must not remove them.
    keepSocketFiles();
    logger.info(`Process ${outcome.pid} serves now; this one drains and exits`);
    this.stopping = this.shutdown(signal, true);
  }

  /** `handover`: a new process already serves on the listeners (SIGUSR2). */
  private async shutdown(signal: NodeJS.Signals, handover = false): Promise<number> {
    const { config, logger, pool, listeners, connections, accessLog } = this.ctx;
    this.health.draining = true;
    // The new process answers /healthz and /readyz from now on.
    if (handover) void closeServers(this.admin.map((a) => a.server));
    // Load balancers need no warning when another process goes on accepting.
    if (config.shutdownDelay > 0 && !handover) {
      logger.info(
        `${signal}: not ready any more; serving ${config.shutdownDelay} s more before closing the listeners`,
      );
      await sleep(config.shutdownDelay * 1000);
    }
    const graceMs = config.gracefulTimeout * 1000;
    logger.info(
      `${signal}: shutting down, waiting up to ${config.gracefulTimeout} s for requests in progress`,
    );
    const closing = closeServers(listeners.map((l) => l.server));
    for (const connection of connections) connection.shutdown();
    pool.endStreams();
    const deadline = Date.now() + graceMs;
    while (connections.size > 0 && Date.now() < deadline) await sleep(25);
    if (connections.size > 0)
      logger.warn(`Graceful timeout: dropping ${connections.size} connection(s)`);
    await pool.stop(Math.max(1000, deadline - Date.now()));
    await Promise.race([closing, sleep(100)]);
    this.ctx.closeFront?.();
    await this.hook('on_exit');
    this.hooks?.close();
    this.closeAdminStreams();
    await closeServers(this.admin.map((a) => a.server));
    if (this.pidWritten && config.pid !== null) removePidFile(config.pid);
    await accessLog?.close();
    logger.info('Stopped');
    await logger.close();
    return 0;
  }

  /** The start cannot go on: close what was opened and return `code`. */
  private async abortStart(code: number): Promise<number> {
    const { config, pool, listeners } = this.ctx;
    await closeServers(listeners.map((l) => l.server));
    await pool.stop(1000);
    this.ctx.closeFront?.();
    this.hooks?.close();
    this.closeAdminStreams();
    await closeServers(this.admin.map((a) => a.server));
    if (this.pidWritten && config.pid !== null) removePidFile(config.pid);
    return code;
  }

  /** A dashboard's event stream never ends by itself: it would hold the admin server open. */
  private closeAdminStreams(): void {
    this.ctx.admin?.sampler.stop();
    this.ctx.admin?.routes.close();
    for (const admin of this.admin) admin.server.closeAllConnections();
  }

  private now(message: string, signal: NodeJS.Signals): never {
    this.ctx.logger.warn(message);
    if (this.pidWritten && this.ctx.config.pid !== null) removePidFile(this.ctx.config.pid);
    process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 15));
  }

  private hook(
    name: MasterHook,
    args: readonly unknown[] = [],
  ): Promise<{ ok: boolean; env?: Readonly<Record<string, string | null>> }> {
    if (this.hooks === undefined || !this.hooks.has(name)) return Promise.resolve({ ok: true });
    const { config, listeners, pool } = this.ctx;
    const server: HookServer = {
      pid: process.pid,
      address: listeners.map((l) => l.url),
      num_workers: pool.target,
      cfg: hookConfig(config),
    };
    return this.hooks.call(name, server, args);
  }
}
