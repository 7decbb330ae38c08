// How `--fronts N` divides one server among N front processes. Pure: the primary and the
// tests call it with the settings, and each front applies its own share to its settings.
//
// Each front is a whole Cask server of its own (listeners on the shared sockets, its own pool
// of workers, queue, limits and admin routes), so whatever counts per process is divided, and
// whatever describes one request or one worker is kept as it is:
//
//   divided: workers, workers-min, workers-max, max-connections, response-spool-total,
//   response-spool-memory, body-memory-total
//   kept:    threads, timeouts, limits per request, max-queue (per front's queue), everything else
//
// A division hands the remainder to the first fronts, so the shares add up to the setting.

import { availableParallelism } from 'node:os';
import type { Config } from '../config/index.js';
import { ConfigError } from '../errors.js';

/** One front per this many CPUs with `--fronts auto`: the measured cost of a request in the
 * front (docs/performance.md) is one to three times what a hello-world app costs in Python,
 * and a real app costs several times more, so three workers' cores keep one front busy. */
export const CPUS_PER_AUTO_FRONT = 4;

/** How many fronts `--fronts` asks for, with `auto` resolved from the CPUs and workers. */
export function frontCount(setting: string, cpus: number, workers: number): number {
  if (setting === 'auto') {
    return Math.max(1, Math.min(Math.floor(cpus / CPUS_PER_AUTO_FRONT), workers));
  }
  return Number(setting);
}

/** `total` split into `count` shares, the remainder going to the first: share `index`. */
export function share(total: number, index: number, count: number): number {
  return Math.floor(total / count) + (index < total % count ? 1 : 0);
}

/** What differs in front `index` of `count`. */
export type FrontShare = Pick<
  Config,
  | 'workers'
  | 'workersMin'
  | 'workersMax'
  | 'maxConnections'
  | 'responseSpoolTotal'
  | 'responseSpoolMemory'
  | 'bodyMemoryTotal'
>;

export function frontShare(config: Config, index: number, count: number): FrontShare {
  // 0 means "unlimited" or "the value of --workers" for these settings: it stays 0.
  const part = (value: number): number =>
    value === 0 ? 0 : Math.max(1, share(value, index, count));
  return {
    workers: part(config.workers),
    workersMin: part(config.workersMin),
    workersMax: part(config.workersMax),
    maxConnections: part(config.maxConnections),
    responseSpoolTotal:
      config.responseSpoolTotal === 0 ? 0 : Math.ceil(config.responseSpoolTotal / count),
    responseSpoolMemory: Math.ceil(config.responseSpoolMemory / count),
    bodyMemoryTotal: config.bodyMemoryTotal === 0 ? 0 : Math.ceil(config.bodyMemoryTotal / count),
  };
}

/**
 * Settings that cannot go with several fronts throw ConfigError (exit 2) before anything
 * starts, naming the setting and what to do instead.
 */
export function checkFronts(
  config: Config,
  count: number,
  context: { dev: boolean; activated: boolean },
): void {
  if (count <= 1) return;
  const fronts = `--fronts ${config.fronts}`;
  if (context.dev || config.reload) {
    throw new ConfigError(
      `${fronts} cannot go with live reload (cask dev, --reload): a development server needs one front`,
    );
  }
  if (context.activated) {
    throw new ConfigError(
      `${fronts} cannot take the sockets systemd passed (LISTEN_FDS): run one front per socket-activated service, or let Cask bind with --bind`,
    );
  }
  // Each front needs a worker of its own: a front without one would queue its requests.
  const fewest = config.workersMin > 0 ? config.workersMin : config.workers;
  if (fewest < count) {
    throw new ConfigError(
      `${fronts} needs at least ${count} workers, one per front (${config.workersMin > 0 ? `--workers-min ${config.workersMin}` : `--workers ${config.workers}`})`,
    );
  }
}

/** The CPUs this process may run on, for `auto`. */
export function cpuCount(): number {
  return availableParallelism();
}
