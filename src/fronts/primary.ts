// The primary of `--fronts N`: it serves no request itself. It starts N front processes
// (src/fronts/child.ts), each a whole Cask server with its share of the workers, and stays
// between them and the world:
//
//   sockets   Node's cluster module with scheduling left to the kernel (SCHED_NONE): the
//             primary binds each address once when the first front asks, and every front
//             accepts from that one socket. (Round-robin would pass every connection through
//             the primary, which would then be the one-core limit again.)
//   signals   TERM, INT, QUIT, HUP, USR1 go to every front, which does what a single server
//             does (graceful stop, stop now, reload, reopen logs); TTIN and TTOU to one front
//             at a time, in turn, so that each adds or retires one worker of the total. USR2
//             (a new binary) is refused with a warning: the fronts hold the sockets.
//   a front   that dies while the server runs is started again after a second; the others
//             keep serving the shared sockets meanwhile. One that fails before it was ready
//             stops the start, with its exit status (4 for an app that cannot be loaded).
//   admin     `--admin-bind` is the primary's: /healthz is the primary alive, /readyz every
//             front ready, /metrics and /stats every front's read from its private admin
//             socket and merged (merge.ts). The dashboard is one front's view: refused here.
//   files     the pid file is the primary's; Unix socket files are removed when it stops.

import cluster, { type Worker } from 'node:cluster';
import { mkdtempSync, rmSync, lstatSync, unlinkSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { listenAdmin, type AdminListener, type Readiness } from '../admin/health.js';
import { adminUrl, refuseAdminPeer } from '../admin/routes.js';
import { writePidFile, removePidFile } from '../pidfile.js';
import { processOrigin, tellParentReady } from '../process/origin.js';
import { npmParents, watchParents } from '../process/parents.js';
import { SIGNAL_ACTIONS, SIGNAL_NUMBERS } from '../pool/signals.js';
import { WATCH_ENV } from '../process/origin.js';
import { FRONT_ENV, type FrontRole } from './child.js';
import { mergeExpositions, mergeStats } from './merge.js';
import { frontShare } from './plan.js';

/** A front that exits this soon after its start, twice in a row, is not started again. */
const CRASH_LOOP_MS = 5000;
/** Delay before a dead front is started again. */
const RESTART_DELAY_MS = 1000;
/** How long the primary waits for one front's admin answer. */
const ADMIN_TIMEOUT_MS = 5000;

interface FrontSlot {
  readonly role: FrontRole;
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  /** Exits in a row soon after starting. */
  quickExits: number;
}

/** GET `path` from a front's private admin socket; undefined when it does not answer. */
function askFront(
  socketPath: string,
  path: string,
): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest({ socketPath, path, timeout: ADMIN_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

export class FrontsPrimary {
  private readonly slots: FrontSlot[];
  private readonly dir: string;
  private stopping: NodeJS.Signals | undefined;
  private admin: AdminListener[] = [];
  private turn = 0;
  private exitCode = 0;
  private finish: ((code: number) => void) | undefined;
  private readonly done: Promise<number>;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();
  private stopWatching: () => void = () => {};
  private allReady = false;

  constructor(
    private readonly config: Config,
    private readonly count: number,
    private readonly logger: Logger,
  ) {
    // The fronts' private admin sockets: a directory only this user may enter.
    this.dir = mkdtempSync(join(tmpdir(), 'cask-fronts-'));
    this.slots = Array.from({ length: count }, (_, index) => ({
      role: { index, count, admin: join(this.dir, `front-${index + 1}.sock`) },
      worker: undefined,
      ready: false,
      startedAt: 0,
      quickExits: 0,
    }));
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  async run(): Promise<number> {
    const { config, logger } = this;
    // Before the first fork: the kernel, not the primary, hands connections to the fronts.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ silent: false });
    this.installSignals();
    this.stopWatching = watchParents(processOrigin().watch ?? npmParents(process.env), (pid) => {
      logger.warn(`Process ${pid}, which started this server, is gone: stopping as on SIGTERM`);
      this.stop('SIGTERM');
    });
    try {
      if (config.pid !== null) writePidFile(config.pid, process.pid, processOrigin().replaces);
      for (const bind of config.adminBind) {
        const admin = await listenAdmin(bind, { readiness: () => this.readiness() }, this.routes());
        this.admin.push(admin);
        logger.info(
          `Admin listener on ${admin.url} (/healthz, /readyz, /metrics, /stats; every front)`,
        );
      }
    } catch (error) {
      logger.error((error as Error).message);
      this.cleanUp();
      return 1;
    }
    const shares = this.slots.map((s) => frontShare(config, s.role.index, this.count).workers);
    logger.info(
      `Starting ${this.count} fronts with ${shares.join(' + ')} worker(s) x ${config.threads} thread(s)`,
    );
    for (const slot of this.slots) this.start(slot);
    const code = await this.done;
    this.cleanUp();
    return code;
  }

  private start(slot: FrontSlot): void {
    slot.ready = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork({
      [FRONT_ENV]: JSON.stringify(slot.role),
      // A front stops by itself if the primary is killed outright (SIGKILL).
      [WATCH_ENV]: String(process.pid),
    });
    slot.worker = worker;
    worker.on('message', (message: { cask?: string }) => {
      if (message?.cask !== 'front-ready') return;
      slot.ready = true;
      slot.quickExits = 0;
      this.checkReady();
    });
    worker.on('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private checkReady(): void {
    if (this.allReady || this.stopping !== undefined) return;
    if (!this.slots.every((s) => s.ready)) return;
    this.allReady = true;
    this.logger.info(`Ready: ${this.count} fronts`);
    tellParentReady();
  }

  private onExit(
    slot: FrontSlot,
    worker: Worker,
    code: number | null,
    signal: string | null,
  ): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const status = code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 9);
    const name = `Front ${slot.role.index + 1} (pid ${worker.process.pid ?? '?'})`;
    if (this.stopping !== undefined) {
      if (status !== 0 && this.exitCode === 0) this.exitCode = status;
      if (this.slots.every((s) => s.worker === undefined)) this.finish?.(this.exitCode);
      return;
    }
    if (!this.allReady) {
      // The start fails as one server's would: every front stops, with this one's status.
      this.logger.error(
        `${name} stopped before it was ready (exit status ${status}): not starting`,
      );
      this.exitCode = status === 0 ? 1 : status;
      this.stop('SIGTERM');
      return;
    }
    const quick = Date.now() - slot.startedAt < CRASH_LOOP_MS;
    slot.quickExits = quick ? slot.quickExits + 1 : 0;
    if (slot.quickExits >= 2) {
      this.logger.error(
        `${name} exited twice within ${CRASH_LOOP_MS / 1000} s of starting: stopping the server`,
      );
      this.exitCode = 1;
      this.stop('SIGTERM');
      return;
    }
    this.logger.error(
      `${name} exited with status ${status}; starting another in ${RESTART_DELAY_MS / 1000} s`,
    );
    slot.ready = false;
    setTimeout(() => {
      if (this.stopping === undefined) this.start(slot);
    }, RESTART_DELAY_MS).unref();
  }

  private installSignals(): void {
    for (const signal of Object.keys(SIGNAL_ACTIONS) as NodeJS.Signals[]) {
      const handler = (): void => this.onSignal(signal);
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  private onSignal(signal: NodeJS.Signals): void {
    const action = SIGNAL_ACTIONS[signal];
    switch (action) {
      case 'stop':
      case 'quit':
        if (this.stopping === undefined) this.logger.info(`${signal}: stopping every front`);
        this.stop(signal);
        break;
      case 'reload':
      case 'reopen':
        if (this.stopping !== undefined) break;
        if (action === 'reopen') void this.logger.reopen();
        this.logger.info(`${signal}: passed on to every front`);
        for (const slot of this.slots) this.signal(slot, signal);
        break;
      case 'more':
      case 'fewer': {
        if (this.stopping !== undefined) break;
        // One front at a time, in turn: one worker more or fewer in all.
        const slot = this.slots[this.turn++ % this.slots.length] as FrontSlot;
        this.logger.info(`${signal}: passed on to front ${slot.role.index + 1}`);
        this.signal(slot, signal);
        break;
      }
      case 'upgrade':
        this.logger.warn(
          `${signal} ignored: a new binary cannot take over the sockets of several fronts; use SIGHUP to reload the workers, or restart`,
        );
        break;
      default:
        break;
    }
  }

  private signal(slot: FrontSlot, signal: NodeJS.Signals): void {
    const pid = slot.worker?.process.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone: its exit is on its way
    }
  }

  /** Passes a stop on to every front (a second one too: the fronts then stop at once). */
  private stop(signal: NodeJS.Signals): void {
    this.stopping = signal;
    for (const slot of this.slots) this.signal(slot, signal);
    if (this.slots.every((s) => s.worker === undefined)) this.finish?.(this.exitCode);
  }

  private readiness(): Readiness {
    const ready = this.slots.filter((s) => s.ready).length;
    const status =
      this.stopping !== undefined
        ? 'shutting down'
        : ready === this.count
          ? 'ready'
          : this.allReady
            ? 'front restarting'
            : 'starting';
    return {
      ready: status === 'ready',
      status,
      workers: this.config.workers,
      generation: 1,
      reloading: false,
    };
  }

  /** /metrics and /stats from every front, merged; the dashboard refused. */
  private routes(): { handle(req: IncomingMessage, res: ServerResponse): boolean; close(): void } {
    const token = this.config.adminToken;
    const send = (
      res: ServerResponse,
      req: IncomingMessage,
      status: number,
      type: string,
      body: string,
    ): void => {
      res.writeHead(status, {
        'Content-Type': type,
        'Cache-Control': 'no-store',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    return {
      handle: (req, res) => {
        const url = adminUrl(req.url);
        if (url === undefined) return false;
        const path = url.pathname;
        if (path !== '/metrics' && path !== '/stats' && !path.startsWith('/dashboard'))
          return false;
        if (refuseAdminPeer(req, res, url, token)) return true;
        if (path.startsWith('/dashboard')) {
          send(
            res,
            req,
            501,
            'application/json',
            '{"error": "the dashboard shows one front: with --fronts, read /metrics or /stats (every front), or cask top"}\n',
          );
          return true;
        }
        void Promise.all(this.slots.map((s) => askFront(s.role.admin, path)))
          .then((answers) => {
            const missing = answers.findIndex((a) => a === undefined || a.status !== 200);
            if (missing !== -1) {
              send(
                res,
                req,
                503,
                'application/json',
                `${JSON.stringify({ error: `front ${missing + 1} did not answer ${path} (starting, or restarting)` })}\n`,
              );
              return;
            }
            const bodies = answers.map((a) => (a as { body: string }).body);
            if (path === '/metrics') {
              send(
                res,
                req,
                200,
                'text/plain; version=0.0.4; charset=utf-8',
                mergeExpositions(bodies),
              );
            } else {
              const docs = bodies.map(
                (b) => JSON.parse(b) as Parameters<typeof mergeStats>[0][number],
              );
              const pretty = url.searchParams.has('pretty');
              send(
                res,
                req,
                200,
                'application/json',
                `${JSON.stringify(mergeStats(docs, process.pid), null, pretty ? 2 : undefined)}\n`,
              );
            }
          })
          .catch((error: unknown) => {
            // A front's answer that does not merge (not what a front writes) fails this request
            // only; a rejection left unhandled would end the primary and every front with it.
            this.logger.error(`Cannot merge the fronts' ${path}: ${(error as Error).message}`);
            if (!res.headersSent) {
              send(
                res,
                req,
                502,
                'application/json',
                `${JSON.stringify({ error: `the fronts' ${path} could not be merged` })}\n`,
              );
            }
          });
        return true;
      },
      close: () => {},
    };
  }

  private cleanUp(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    this.stopWatching();
    for (const admin of this.admin) {
      admin.server.close();
      admin.server.closeAllConnections();
    }
    if (this.config.pid !== null) removePidFile(this.config.pid, process.pid);
    // The fronts leave the shared Unix socket files to the primary.
    for (const bind of this.config.bind) {
      if (bind.kind !== 'unix') continue;
      try {
        if (lstatSync(bind.path).isSocket()) unlinkSync(bind.path);
      } catch {
        // gone already
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (this.stopping !== undefined) this.logger.info('Stopped');
  }
}
