// `/healthz` and `/readyz`, answered by the front itself without touching Python: on the
// admin listener (`--admin-bind`), and on the main listeners at `--healthz-path` and
// `--readyz-path` when those are set.
//
// /healthz  200 while the front's event loop runs: a liveness probe. It stays 200 during a
//           graceful shutdown, so an orchestrator does not kill a server that is draining.
// /readyz   200 when workers are ready and the server is not shutting down; 503 otherwise
//           (starting, shutting down, no worker ready). SIGTERM turns it 503 first of all.
//
// Both answer JSON (`{"ready": true, "status": "ready", "workers": 2, …}`) and `HEAD`, and
// are never cached.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatBind, type BindAddress } from '../config/index.js';
import { bindListener } from '../net/handover.js';
import type { Exchange } from '../exchange.js';
import { targetPath, type Route } from '../router.js';
import type { AdminRoutes } from './routes.js';

export type Probe = 'healthz' | 'readyz';

export interface Readiness {
  readonly ready: boolean;
  /** `ready`, `starting`, `shutting down` or `no worker ready`. */
  readonly status: string;
  readonly workers: number;
  readonly generation: number;
  readonly reloading: boolean;
  /** With several apps (`--mount`, `--vhost`): each one's readiness, by its name. */
  readonly apps?: Readonly<Record<string, Readiness>>;
}

export interface HealthSource {
  readiness(): Readiness;
}

export interface ProbeAnswer {
  readonly status: number;
  readonly body: string;
}

const started = Date.now();

export function probeAnswer(probe: Probe, source: HealthSource): ProbeAnswer {
  if (probe === 'healthz') {
    const uptime = Math.round((Date.now() - started) / 1000);
    return { status: 200, body: `${JSON.stringify({ alive: true, pid: process.pid, uptime })}\n` };
  }
  const readiness = source.readiness();
  return { status: readiness.ready ? 200 : 503, body: `${JSON.stringify(readiness)}\n` };
}

function probeOf(url: string | undefined): Probe | undefined {
  const path = (url ?? '').split('?', 1)[0];
  return path === '/healthz' ? 'healthz' : path === '/readyz' ? 'readyz' : undefined;
}

export interface AdminListener {
  readonly server: Server;
  readonly url: string;
}

/**
 * Binds one admin listener (node:http: it is off the hot path). `routes` answers what is not
 * a probe: /metrics, /stats, /dashboard (src/admin/routes.ts).
 */
export function listenAdmin(
  bind: BindAddress,
  source: HealthSource,
  routes?: AdminRoutes,
): Promise<AdminListener> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const probe = probeOf(request.url);
    if (probe === undefined && routes?.handle(request, response) === true) return;
    const answer: ProbeAnswer =
      probe === undefined
        ? {
            status: 404,
            body: `{"error": "not found: the admin listener answers /healthz, /readyz${routes === undefined ? '' : ', /metrics, /stats and /dashboard'}"}\n`,
          }
        : request.method !== 'GET' && request.method !== 'HEAD'
          ? { status: 405, body: '{"error": "use GET or HEAD"}\n' }
          : probeAnswer(probe, source);
    response.writeHead(answer.status, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      'Content-Length': Buffer.byteLength(answer.body),
    });
    response.end(request.method === 'HEAD' ? undefined : answer.body);
  });
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'the address is already in use' : error.message;
      reject(new Error(`Cannot listen on ${formatBind(bind)} (admin): ${reason}`));
    });
    const ready = (): void => {
      const address = server.address();
      const url =
        bind.kind === 'unix'
          ? `unix:${bind.path}`
          : `http://${formatBind({ ...bind, port: typeof address === 'object' && address !== null ? address.port : bind.port })}`;
      resolve({ server, url });
    };
    // On the socket the process this one replaces passed (SIGUSR2), or a new one; 511 is
    // Node's own default backlog.
    bindListener(server, 'admin', bind, 511, ready);
  });
}

/**
 * The route that answers `--healthz-path` and `--readyz-path` on the main listeners, so such a
 * request never reaches a worker; undefined when neither is set.
 */
export function probeRoute(
  paths: { readonly healthz: string; readonly readyz: string },
  source: HealthSource,
): Route | undefined {
  const probes = new Map<string, Probe>();
  if (paths.healthz !== '') probes.set(paths.healthz, 'healthz');
  if (paths.readyz !== '') probes.set(paths.readyz, 'readyz');
  if (probes.size === 0) return undefined;
  return {
    take(exchange: Exchange): boolean {
      const probe = probes.get(targetPath(exchange.request.target));
      if (probe === undefined) return false;
      const answer = probeAnswer(probe, source);
      const reason = answer.status === 200 ? 'OK' : 'Service Unavailable';
      exchange.response.head(
        `${answer.status} ${reason}`,
        ['Content-Type', 'application/json', 'Cache-Control', 'no-store'],
        Buffer.from(answer.body),
        true,
      );
      return true;
    },
  };
}
