// `cask serve`: bind the listeners first (a taken port fails before any Python starts), then
// hand over to the control loop (src/control.ts): hooks, workers, signals, graceful shutdown.

import { tmpdir } from 'node:os';
import type { Server } from 'node:net';
import type { Config, Note } from './config/index.js';
import { Gateway } from './gateway.js';
import { webServerTransports } from './cgi/index.js';
import { Front, frontOptionsOf } from './http/front.js';
import { AccessLog, Logger } from './log.js';
import { AllowList } from './net/allow-ips.js';
import { adopt, listen, type BoundListener } from './net/listener.js';
import { bareSocketsAvailable } from './net/bare-socket.js';
import { bodyFilesUnwritable } from './http/body.js';
import { activatedSockets, forgetActivation } from './net/activation.js';
import { ownSocket, runAs, socketModeValue, socketOwner, umaskValue } from './net/owner.js';
import { TlsTerminator, alpnProtocols, tlsEnabled } from './net/tls.js';
import { Pool, poolOptions } from './pool/pool.js';
import { PoolGroup } from './pool/group.js';
import { AppSwitch, describeApp, resolveApps } from './apps/index.js';
import { RequestMetrics } from './admin/instruments.js';
import { probeRoute } from './admin/health.js';
import { adminRoutes } from './admin/routes.js';
import { Sampler } from './admin/sampler.js';
import { StatsdSender, parseStatsdHost } from './admin/statsd.js';
import { Router, type Route } from './router.js';
import { compressing, sendfileOffload, staticRoute } from './static/index.js';
import { Control, Health } from './control.js';
import { VERSION } from './version.js';
import { errorPageAudience } from './dev/hosts.js';
import { Reloader } from './dev/reloader.js';
import { ConsoleGate, consoleRoute } from './dev/console.js';
import { openBrowser } from './dev/open.js';
import { selfSignedTls } from './dev/selfsigned.js';
import { frontConfig, frontRole } from './fronts/child.js';
import { FrontsPrimary } from './fronts/primary.js';
import { checkFronts, cpuCount, frontCount } from './fronts/plan.js';

/** Node's own handshake timeout, used when `header-timeout` is 0. */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 120_000;

/** How `cask serve` differs when run as `cask dev`. */
export interface ServeMode {
  /** Error pages, an app that cannot be loaded waits for a fix: never for `cask serve`. */
  readonly dev?: boolean;
  /** What loading the settings found to say (ignored gunicorn settings, files read). */
  readonly notes?: readonly Note[];
}

export async function serve(settings: Config, mode: ServeMode = {}): Promise<number> {
  if (frontRole() === undefined) return serveOne(settings, mode);
  // A front asks the primary for each listening socket over the cluster's IPC channel, which
  // the start let go of (src/process/origin.ts): hold it while serving, let go at the end.
  process.channel?.ref();
  try {
    return await serveOne(settings, mode);
  } finally {
    process.channel?.unref();
  }
}

async function serveOne(settings: Config, mode: ServeMode): Promise<number> {
  const dev = mode.dev === true;
  // A front of `--fronts N` serves its share of the workers on the primary's sockets.
  const role = frontRole();
  const given = role === undefined ? settings : frontConfig(settings, role);
  // Sockets systemd bound (socket activation) replace --bind. Read once and removed from the
  // environment the workers inherit; malformed variables throw ConfigError (exit 2).
  const activated = activatedSockets(process.env, process.pid);
  if (activated !== undefined) forgetActivation(process.env);
  // `--tls self-signed`: certfile and keyfile of a localhost certificate kept in the cache.
  const { config, made: selfSigned } = selfSignedTls(given);
  const audience = errorPageAudience(config.devAllowedHosts);
  // Before any file or socket is made: the log files, Unix sockets and the workers' files.
  const umask = umaskValue(config.umask);
  if (umask !== undefined) process.umask(umask);
  // TLS options that do not go together throw ConfigError (exit 2) before anything starts.
  const tlsOn = tlsEnabled(config);
  // So do unknown users and groups, and a switch of user only root may make (--user).
  const owner = socketOwner(config.user, config.group);
  runAs(config.user, config.group);
  const socketMode = socketModeValue(config.socketMode);
  const logger = new Logger(
    config.logLevel,
    config.errorLog,
    config.logJson,
    role === undefined ? 'cask' : `front ${role.index + 1}`,
  );
  // The primary said them already.
  for (const note of role === undefined ? (mode.notes ?? []) : []) {
    if (note.level === 'warn') logger.warn(note.text);
    else logger.info(note.text);
  }
  // `--env` (gunicorn's raw_env) is set in the front's own environment, as gunicorn's master
  // sets it in its own: the workers and the hook process inherit it from there.
  for (const assignment of config.env) {
    const eq = assignment.indexOf('=');
    process.env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  // Certificates are read and checked before any socket is bound or worker started: a bad one
  // throws ConfigError naming the file (exit 2). The handshake counts against `header-timeout`
  // as the request head does: a client that stalls in it is the same slowloris.
  const tls = tlsOn
    ? new TlsTerminator(
        config,
        alpnProtocols('http' in config ? String(config.http) : undefined),
        logger,
        config.headerTimeout > 0 ? config.headerTimeout * 1000 : DEFAULT_HANDSHAKE_TIMEOUT_MS,
      )
    : undefined;
  if (role === undefined) {
    // Several fronts: this process becomes their primary and serves no request itself.
    const count = frontCount(config.fronts, cpuCount(), config.workers);
    checkFronts(config, count, { dev, activated: activated !== undefined });
    if (count > 1) return new FrontsPrimary(config, count, logger).run();
  }
  const accessLog = config.accessLog
    ? new AccessLog(
        config.accessLog,
        config.logJson && config.accessLogFormat === 'combined' ? 'json' : config.accessLogFormat,
      )
    : undefined;
  const allow = new AllowList(config.forwardedAllowIps);
  const frontOptions = frontOptionsOf(config, allow);

  // Several apps (`--mount`, `--vhost`) or the one APP; contradicting settings throw
  // ConfigError (exit 2) before anything starts.
  const served = resolveApps(config);
  const several = served.length > 1;
  let fatal: string | undefined;
  let fatalKind: 'load' | 'start' = 'load';
  // Every app's requests count in the same histograms; each app counts its own requests.
  const metrics = new RequestMetrics();
  // X-Sendfile is a server-wide setting: one offload serves every app.
  const offload = await sendfileOffload(config, logger);
  const apps = served.map((app) => {
    const own = app.config;
    const pool = new Pool(
      {
        ...poolOptions(own),
        reportFiles: own.reload,
        debugPages: dev,
        waitForFix: dev,
        label: several ? app.name : undefined,
      },
      logger,
      (reason, kind) => {
        fatal ??= several ? `${app.name} (${own.app}): ${reason}` : reason;
        fatalKind = kind;
      },
    );
    const gateway = new Gateway(pool, logger, accessLog, {
      rootPath: own.rootPath,
      isTrustedProxy: (address) => allow.has(address),
      errorPages: dev ? audience : undefined,
      offload,
      // Its own request counter, sharing the server's histograms: /metrics labels by app.
      metrics: metrics.forApp(),
    });
    // Files changed: reload; `cask dev` answers every request itself while the app is broken.
    const reloader = own.reload
      ? new Reloader({ config: own, pool, logger, pages: dev, audience })
      : undefined;
    return {
      ...app,
      pool,
      gateway,
      reloader,
      handler: compressing(config, reloader?.inject(gateway) ?? gateway),
    };
  });
  const first = apps[0] as (typeof apps)[number];
  const pools = new PoolGroup(apps.map(({ name, pool }) => ({ name, pool })));
  const health = new Health(pools);
  const probes = probeRoute({ healthz: config.healthzPath, readyz: config.readyzPath }, health);
  const statics = await staticRoute(config, logger);
  // The error page's console (`cask dev` only; PIN on the terminal, loopback checks inside).
  const gate = dev ? new ConsoleGate() : undefined;
  if (gate !== undefined) logger.info(`Error page console PIN: ${gate.pin}`);
  const devConsole =
    gate === undefined
      ? undefined
      : consoleRoute({
          workers: () => apps.flatMap((app) => app.pool.supervisor.workers),
          logger,
          gate,
        });
  // One app: the router hands it every exchange the routes leave. Several: the switch picks
  // the app, and an app's broken-code page (`cask dev`) answers only that app's requests.
  const routes = [probes, statics, devConsole, several ? undefined : first.reloader].filter(
    (route): route is Route => route !== undefined,
  );
  const router = new Router(
    routes,
    several
      ? new AppSwitch(
          apps.map(({ route, handler, reloader }) => ({
            route,
            handler: reloader === undefined ? handler : new Router([reloader], handler),
          })),
          first.handler,
        )
      : first.handler,
  );
  const front = new Front(frontOptions, router, logger);
  const connections = front.connections;
  // Listeners for a web server in front (`-b uwsgi://…`, scgi, fastcgi) speak its protocol.
  const webServer = webServerTransports(front, frontOptions, router, logger);
  // The admin pages describe every app; the `app` label is the app itself when it is alone.
  const adminSources = {
    apps: apps.map((app) => ({
      name: several ? app.name : app.config.app,
      app: app.config.app,
      pool: app.pool,
      gateway: app.gateway,
    })),
    metrics,
    front,
  };
  const sampler = new Sampler(adminSources);
  const admin = {
    routes: adminRoutes(adminSources, sampler, { token: config.adminToken }),
    sampler,
  };

  const listeners: BoundListener[] = [];
  try {
    for (const bind of activated === undefined ? config.bind : []) {
      const transport = webServer(bind.protocol);
      listeners.push(
        await listen(
          bind,
          config.backlog,
          (socket, info) => front.accept(socket, info, transport),
          tls,
          config.clientSockets,
        ),
      );
      if (bind.kind === 'unix') ownSocket(bind.path, owner, socketMode);
    }
    for (const socket of activated ?? []) {
      const transport = webServer(socket.protocol);
      listeners.push(
        await adopt(
          socket,
          (s, info) => front.accept(s, info, transport),
          tls,
          config.clientSockets,
        ),
      );
    }
  } catch (error) {
    logger.error((error as Error).message);
    await closeServers(listeners.map((l) => l.server));
    return 1;
  }

  const urls = listeners.map((l) => l.url).join(', ');
  if (several) {
    logger.info(`Cask ${VERSION} serving ${apps.length} apps on ${urls} (${config.python})`);
    for (const app of apps) logger.info(`  ${describeApp(app)}`);
  } else {
    logger.info(
      `Cask ${VERSION} serving ${config.app} on ${urls} ` +
        `with ${config.workers} worker(s) x ${config.threads} thread(s) (${config.python})`,
    );
  }
  if (activated !== undefined) {
    logger.info(
      `Listening on the ${activated.length} socket(s) systemd passed (--bind is not used)`,
    );
  }
  if (config.clientSockets === 'bare' && !bareSocketsAvailable()) {
    logger.warn(
      `This Node (${process.version}) lacks the internals --client-sockets bare rests on; ` +
        'client connections use net.Socket (--client-sockets node), which costs the front ' +
        'more CPU per new connection',
    );
  }
  const unwritable = bodyFilesUnwritable();
  if (unwritable !== undefined) {
    logger.warn(
      `Request bodies past --body-memory-limit cannot be written to ${tmpdir()} (${unwritable}): ` +
        'such requests will get 500 (CASK_BODY_SPOOL); set TMPDIR to a writable directory',
    );
  }
  if (tls !== undefined) logger.info(`TLS certificate: ${tls.certificate}`);
  if (selfSigned !== undefined)
    logger.info(
      `Self-signed certificate for localhost ${selfSigned.made ? 'made' : 'reused'}: ${selfSigned.certfile}; to trust it, see docs/development.md`,
    );
  if (config.open) openBrowser(listeners, logger);

  // StatsD reads the same counters as /metrics, once a second, off the request path.
  const statsd =
    config.statsdHost === ''
      ? undefined
      : new StatsdSender(parseStatsdHost(config.statsdHost), config.statsdPrefix, {
          metrics,
          workers: () => apps.reduce((n, app) => n + app.pool.supervisor.workers.length, 0),
          logs: () => logger.counts,
          appErrors: () => apps.reduce((n, app) => n + app.gateway.counters.appErrors, 0),
        });
  if (statsd !== undefined) {
    statsd.start();
    logger.info(`Sending StatsD metrics to ${config.statsdHost} every second`);
  }

  const code = await new Control({
    config,
    logger,
    accessLog,
    pool: pools,
    listeners,
    connections,
    health,
    admin,
    fatal: () => (fatal === undefined ? undefined : { reason: fatal, kind: fatalKind }),
    closeFront: () => {
      front.close();
      for (const app of apps) void app.reloader?.close();
    },
    reloadTls: tls === undefined ? undefined : () => tls.reload(),
  }).run();
  await statsd?.stop();
  return code;
}

function closeServers(servers: Server[]): Promise<void> {
  return Promise.all(
    servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  ).then(() => {});
}
