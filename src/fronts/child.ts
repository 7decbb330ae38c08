// A front process of `--fronts N`: started by the primary (src/fronts/primary.ts) as a
// cluster worker running the same command, told which front it is in one variable. It is a
// whole Cask server with its own share of the workers; it differs in three ways:
//
// - its listeners are the primary's sockets: Node's cluster module, with the primary
//   binding each address once and every front accepting from it (no round-robin through the
//   primary, see primary.ts);
// - its admin listener is a private Unix socket the primary reads, not `--admin-bind`;
// - the primary writes the pid file, watches the parent and removes the Unix socket files.

import cluster from 'node:cluster';
import type { Config } from '../config/index.js';
import { frontShare } from './plan.js';

/** The variable that makes a process front `index` of `count`: `{"index":0,"count":2,"admin":"/…"}`. */
export const FRONT_ENV = 'CASK_PROCESS_FRONT';

export interface FrontRole {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
  /** The private admin socket the primary reads /metrics, /stats and /readyz from. */
  readonly admin: string;
}

let role: FrontRole | null | undefined;

/** This process's role, when it is a front of `--fronts N`; read once, then out of the env. */
export function frontRole(): FrontRole | undefined {
  if (role === undefined) {
    const text = process.env[FRONT_ENV];
    delete process.env[FRONT_ENV];
    role = null;
    if (text !== undefined && cluster.isWorker) {
      const parsed = JSON.parse(text) as FrontRole;
      role = { index: parsed.index, count: parsed.count, admin: parsed.admin };
    }
  }
  return role ?? undefined;
}

/** The settings of this front: its share of what is divided, its own admin socket, and no
 * pid file or daemon (the primary's). */
export function frontConfig(config: Config, front: FrontRole): Config {
  return Object.freeze({
    ...config,
    ...frontShare(config, front.index, front.count),
    fronts: '1',
    adminBind: [{ kind: 'unix', path: front.admin }],
    adminToken: '',
    pid: null,
    daemon: false,
  } as Config);
}

/** Once the workers are ready: tell the primary. */
export function tellPrimaryReady(): void {
  if (frontRole() === undefined || typeof process.send !== 'function') return;
  process.send({ cask: 'front-ready', pid: process.pid });
}

/** The name both the primary and every front give a Unix socket bound under a temporary name
 * (src/net/handover.ts): the same for every front, so that they share one socket. */
export function sharedTemporaryTag(): number {
  return frontRole() === undefined ? process.pid : process.ppid;
}
