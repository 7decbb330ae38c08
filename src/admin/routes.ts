// What the admin listener answers besides the probes: /metrics (Prometheus text), /stats
// (JSON: the same and more, with what each worker runs now), /dashboard (a live page) and its
// stream. Everything is computed here, when asked; the request path only bumps counters.
//
// Who may ask. The probes (/healthz, /readyz) answer anyone: an orchestrator probes from the
// node's address. Everything else:
//   --admin-token unset   loopback peers (127.0.0.0/8, ::1) and Unix socket peers only;
//                         any other peer gets 403, so binding the admin listener to 0.0.0.0
//                         for the probes does not publish the metrics
//   --admin-token set     every peer must send it, as `Authorization: Bearer TOKEN`, or as
//                         `?access_token=TOKEN` (RFC 6750 §2.3; a browser's EventSource and
//                         a bookmark cannot send a header); otherwise 401

import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { VERSION } from '../version.js';
import { dashboardPage } from './dashboard.js';
import { CONTENT_TYPE, renderMetrics } from './prometheus.js';
import type { Sampler } from './sampler.js';
import { statsJson } from './stats.js';
import { takeSnapshot, type AdminSources } from './snapshot.js';

export interface AdminOptions {
  /** `--admin-token`; '' for none. */
  readonly token: string;
}

/** What the probes' listener asks of the rest of the admin: true when it answered. */
export interface AdminRoutes {
  handle(request: IncomingMessage, response: ServerResponse): boolean;
  close(): void;
}

/** 127.0.0.0/8, ::1, and their IPv4-mapped forms; undefined is a Unix socket peer. */
/**
 * The admin request's target as a URL, or undefined when it is none (`//host:99999`): such a
 * request is answered 404 with every other unknown path, before any token or peer check,
 * instead of a URL error escaping from the listener's handler and taking the process down.
 */
export function adminUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://admin');
  } catch {
    return undefined;
  }
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined || address === '') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

let chartScript: Buffer | undefined;

/** Chart.js as shipped in the package's own dependencies: the dashboard works offline. */
function chartJs(): Buffer {
  if (chartScript === undefined) {
    const main = createRequire(import.meta.url).resolve('chart.js');
    chartScript = readFileSync(join(dirname(main), 'chart.umd.min.js'));
  }
  return chartScript;
}

function send(
  response: ServerResponse,
  request: IncomingMessage,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

const JSON_TYPE = 'application/json';

/**
 * Who may read /metrics, /stats and the dashboard: loopback peers without a token, bearers of
 * the token with one. false when the peer may go on; true when a refusal was sent.
 */
export function refuseAdminPeer(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  token: string,
): boolean {
  if (token === '') {
    if (isLoopback(request.socket.remoteAddress)) return false;
    send(
      response,
      request,
      403,
      JSON_TYPE,
      '{"error": "forbidden: without --admin-token only loopback peers may read this"}\n',
    );
    return true;
  }
  const header = request.headers.authorization ?? '';
  const given = header.startsWith('Bearer ')
    ? header.slice(7).trim()
    : (url.searchParams.get('access_token') ?? '');
  if (given !== '' && sameToken(given, token)) return false;
  send(response, request, 401, JSON_TYPE, '{"error": "unauthorized: send the admin token"}\n', {
    'WWW-Authenticate': 'Bearer realm="cask"',
  });
  return true;
}

export function adminRoutes(
  sources: AdminSources,
  sampler: Sampler,
  options: AdminOptions,
): AdminRoutes {
  const streams = new Set<ServerResponse>();

  function refused(request: IncomingMessage, response: ServerResponse, url: URL): boolean {
    return refuseAdminPeer(request, response, url, options.token);
  }

  function stream(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    // History first, so a chart opened late is not empty; then one event per second.
    response.write(`retry: 1000\nevent: history\ndata: ${JSON.stringify(sampler.points)}\n\n`);
    const unsubscribe = sampler.subscribe((point) => {
      response.write(`data: ${JSON.stringify(point)}\n\n`);
    });
    streams.add(response);
    request.socket.setTimeout(0);
    const done = (): void => {
      unsubscribe();
      streams.delete(response);
    };
    response.on('close', done);
  }

  return {
    handle(request, response) {
      const url = adminUrl(request.url);
      if (url === undefined) return false;
      const path = url.pathname;
      const known =
        path === '/metrics' ||
        path === '/stats' ||
        path === '/dashboard' ||
        path === '/dashboard/stream' ||
        path === '/dashboard/chart.js';
      if (!known) return false;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        send(response, request, 405, JSON_TYPE, '{"error": "use GET or HEAD"}\n', {
          Allow: 'GET, HEAD',
        });
        return true;
      }
      // Chart.js is a public library and holds no data: a page opened with a token in its
      // address loads it without one.
      if (path !== '/dashboard/chart.js' && refused(request, response, url)) return true;
      switch (path) {
        case '/metrics': {
          const snap = takeSnapshot(sources);
          send(
            response,
            request,
            200,
            CONTENT_TYPE,
            renderMetrics(snap, sampler.utilization(snap)),
          );
          return true;
        }
        case '/stats': {
          const snap = takeSnapshot(sources);
          const body = `${JSON.stringify(statsJson(snap, sampler), null, url.searchParams.has('pretty') ? 2 : undefined)}\n`;
          send(response, request, 200, JSON_TYPE, body);
          return true;
        }
        case '/dashboard':
          send(
            response,
            request,
            200,
            'text/html; charset=utf-8',
            dashboardPage(VERSION, sources.apps.map((a) => a.app).join(', ')),
          );
          return true;
        case '/dashboard/chart.js':
          send(response, request, 200, 'text/javascript; charset=utf-8', chartJs());
          return true;
        default:
          stream(request, response);
          return true;
      }
    },
    close() {
      for (const response of streams) response.destroy();
      streams.clear();
    },
  };
}
