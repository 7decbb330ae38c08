// Several apps in one server (`--mount`, `--vhost`, docs/apps.md). Each app gets its own pool
// of workers and its own gateway; the AppSwitch below is the router's last stop, and picks the
// app's handler for each exchange by Host and path (table.ts). With a single app there is no
// switch: the router hands every exchange to that app's gateway, as it always did.

import { ConfigError } from '../errors.js';
import { PACKAGE_ROOT, SETTINGS, type Config } from '../config/index.js';
import type { Exchange, RequestHandler } from '../exchange.js';
import type { CaskError } from '../errors.js';
import { AppTable, MISDIRECTED, type MountRow, type VhostRow } from './table.js';

export { AppTable, hostName, targetPathInfo, MISDIRECTED, NOT_FOUND } from './table.js';

export type AppRoute =
  | { readonly kind: 'mount'; readonly prefix: string }
  | { readonly kind: 'vhost'; readonly host: string }
  | { readonly kind: 'all' };

export interface ServedApp {
  /** How the logs and /readyz name it: `/api`, `example.org`, or `app` when it is the only one. */
  readonly name: string;
  readonly route: AppRoute;
  /** The server's settings with this app's own on top (`app`, `workers`, `timeout`, …). */
  readonly config: Config;
}

/**
 * The apps the settings ask for: the one APP, or one per `--mount` and `--vhost`. Throws
 * ConfigError (exit 2) for settings that contradict each other.
 */
export function resolveApps(config: Config): readonly ServedApp[] {
  const { mount, vhost } = config;
  if (mount.length === 0 && vhost.length === 0) {
    return [{ name: 'app', route: { kind: 'all' }, config }];
  }
  const bundled = SETTINGS.app.defaultValue({ env: {}, cwd: '/', packageRoot: PACKAGE_ROOT });
  if (config.app !== bundled) {
    throw new ConfigError(
      `Conflicting values for APP: "${config.app}" and --mount/--vhost (mount it too, --mount /=${config.app}, or make it the default host, --vhost '*=${config.app}')`,
    );
  }
  if (mount.length > 0 && config.rootPath !== '') {
    throw new ConfigError(
      `Conflicting values for --root-path: "${config.rootPath}" and --mount (a mount's prefix is its SCRIPT_NAME)`,
    );
  }
  if (mount.length > 0 && vhost.some((v) => v.key === '*')) {
    throw new ConfigError(
      "Conflicting values for --vhost: '*' and --mount (the mounts take every host no vhost names)",
    );
  }
  const apps: ServedApp[] = [];
  for (const entry of vhost) {
    apps.push({
      name: entry.key,
      route: { kind: 'vhost', host: entry.key },
      config: { ...config, ...entry.settings, app: entry.app } as Config,
    });
  }
  for (const entry of mount) {
    apps.push({
      name: entry.key,
      route: { kind: 'mount', prefix: entry.key },
      config: {
        ...config,
        ...entry.settings,
        app: entry.app,
        rootPath: entry.key === '/' ? '' : entry.key,
      } as Config,
    });
  }
  return apps;
}

/** One line per app for the start-up log: `/api: api.wsgi:app, 2 worker(s) x 4 thread(s)`. */
export function describeApp(app: ServedApp): string {
  const c = app.config;
  return `${app.name}: ${c.app}, ${c.workers} worker(s) x ${c.threads} thread(s)`;
}

const ANSWERS = {
  404: {
    status: '404 Not Found',
    body: Buffer.from('404 Not Found: no app is mounted at this path\n'),
  },
  421: {
    status: '421 Misdirected Request',
    body: Buffer.from('421 Misdirected Request: this server has no app for this host\n'),
  },
} as const;
const TEXT = ['Content-Type', 'text/plain; charset=utf-8'];

/**
 * The router's last stop with several apps: the handler of the app the exchange is for (its
 * gateway, compressing or reloading as that app is set up), or a 404/421 answered here. What
 * the transport reports back about an exchange (completed, responseError) goes to the handler
 * that took it; about exchanges no app took, to the first app's handler, whose access log and
 * counters are the server's.
 */
export class AppSwitch implements RequestHandler {
  private readonly table: AppTable<RequestHandler>;
  private readonly taken = new WeakMap<Exchange, RequestHandler>();

  constructor(
    apps: ReadonlyArray<{ readonly route: AppRoute; readonly handler: RequestHandler }>,
    private readonly fallback: RequestHandler,
  ) {
    const mounts: MountRow<RequestHandler>[] = [];
    const vhosts: VhostRow<RequestHandler>[] = [];
    for (const { route, handler } of apps) {
      if (route.kind === 'mount') mounts.push({ prefix: route.prefix, value: handler });
      else if (route.kind === 'vhost') vhosts.push({ host: route.host, value: handler });
      else vhosts.push({ host: '*', value: handler });
    }
    this.table = new AppTable(mounts, vhosts);
  }

  handle(exchange: Exchange): void {
    const { host, target } = exchange.request;
    const picked = this.table.pick(host, target);
    if (typeof picked !== 'number') {
      this.taken.set(exchange, picked);
      picked.handle(exchange);
      return;
    }
    const answer = ANSWERS[picked === MISDIRECTED ? 421 : 404];
    exchange.response.head(answer.status, TEXT, answer.body, true);
  }

  refused(status: number, error: CaskError | undefined, remoteAddr: string): void {
    this.fallback.refused(status, error, remoteAddr);
  }

  completed(exchange: Exchange): void {
    (this.taken.get(exchange) ?? this.fallback).completed(exchange);
  }

  responseError(exchange: Exchange, message: string): void {
    (this.taken.get(exchange) ?? this.fallback).responseError(exchange, message);
  }
}
