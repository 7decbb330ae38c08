// The table of servers `cask bench` knows: how to start each one on a port with the bench
// entry app and a given budget of processes and threads. Every row is run the same way
// (launch.ts): its own process group, pinned to the server CPUs, polled until it answers,
// killed as a group. Adding a server means adding a row here.
import { join } from 'node:path';
import { nginxConfig } from './static-site.js';

export interface ServerContext {
  port: number;
  workers: number;
  threads: number;
  /** Interpreter for Python-launched servers and Cask's workers. */
  python: string;
  repoRoot: string;
  /** bench/apps: holds _entry.py, the module every server loads. */
  appsDir: string;
  launchersDir: string;
  /** Scratch directory of this server run (generated configs go here). */
  tmpDir: string;
  /** CASKBENCH_* variables telling _entry.py which app to load and where to record. */
  env: Record<string, string>;
  /** Extra `cask serve` arguments of the scenario (autoscaling); other servers ignore it. */
  caskArgs?: string[];
  /** The static scenarios' site (static-site.ts), served at `/static/`; else undefined. */
  staticDir?: string | undefined;
  /** `uwsgi`: listen on a uwsgi socket, not HTTP (the behind-nginx scenario puts nginx in
   *  front, behind-nginx.ts); only servers with `uwsgiSocket` are asked to. */
  protocol?: 'uwsgi';
}

export interface Launch {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Signal for a quick stop (gunicorn treats TERM as a graceful stop of up to 30 s). */
  stopSignal: NodeJS.Signals;
  /** Files to write before starting (Apache's config). */
  files: Array<{ path: string; content: string; mode?: number }>;
}

export type Need = { module: string; dist: string } | { file: string; what: string };

export interface ServerDef {
  name: string;
  title: string;
  /** How it runs requests, in a few words (shown in the report). */
  model: string;
  needs: Need[];
  /** How many requests can be in the app at once, or null when unbounded or not fixed. */
  slots(workers: number, threads: number): number | null;
  /** The budget as this server can take it, e.g. "1 process × 4 threads". */
  budget(workers: number, threads: number): string;
  launch(ctx: ServerContext): Launch;
  notes?: string;
  /** Readiness timeout: Cask and Apache start more than one process. */
  startTimeoutMs?: number;
  /** What it serves: a WSGI app (the default), static files only (run by the static
   *  scenarios alone), one fixed response to any request (the raw-net ceiling, run by the
   *  scenarios that measure connections and nothing of an app), or an ASGI app only (run by
   *  the ASGI scenarios alone). */
  serves?: 'app' | 'files' | 'fixed' | 'asgi';
  /** Serves ASGI apps as well as WSGI ones (Cask): it runs the ASGI scenarios too. */
  asgi?: boolean;
  /** Speaks WebSocket to an ASGI app: it runs the WebSocket scenarios. */
  websocket?: boolean;
  /** Why it cannot hold the idle-10k scenario's 10,000 idle keep-alive connections (a limit
   *  of its own, or it closes each connection after one response); unset when it can try. */
  holdsIdle?: string;
  /** Arguments that serve the static scenarios' site at `/static/`; a server without them
   *  (and not serving files only) skips those scenarios. */
  staticArgs?(dir: string): string[];
  /** Speaks HTTP/2 (h2c with prior knowledge, h2 by ALPN): the `h2` scenario runs it, with
   * these extra arguments to serve TLS with a certificate and key (PEM files). */
  http2?: { tlsArgs(cert: string, key: string): string[] };
  /** Listens on a uwsgi socket when the context asks (ServerContext.protocol): the
   *  behind-nginx scenario runs it behind nginx's `uwsgi_pass`. */
  uwsgiSocket?: boolean;
  /** Measures its own inside view and exposes it as Prometheus text (Cask's /metrics): the
   *  lab starts it with these arguments for a loopback admin listener on `port` and scrapes
   *  that, instead of wrapping the app in bench/apps/_inside.py. */
  metrics?: { args(port: number): string[] };
  /** Run only when named in --servers (a variant of another row, e.g. Cask with 2 fronts). */
  optIn?: boolean;
}

const ENTRY = '_entry:application';
/** Node flags the `cask` command runs with: the first line of bin/cask.js, so the lab measures
 *  the front as users run it (test/unit/bench-servers-flags.test.ts keeps the two in step). */
export const CASK_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=2',
  '--heap-growing-percent=100',
];
const HOST = '127.0.0.1';

/** `cask serve` from this checkout, as users run it, with the bench entry app. */
function caskLaunch(ctx: ServerContext, extra: string[] = []): Launch {
  return {
    argv: [
      process.execPath,
      ...CASK_NODE_FLAGS,
      join(ctx.repoRoot, 'bin', 'cask.js'),
      'serve',
      ENTRY,
      '--chdir',
      ctx.appsDir,
      '-b',
      ctx.protocol === 'uwsgi' ? `uwsgi://${HOST}:${ctx.port}` : `${HOST}:${ctx.port}`,
      '-w',
      String(ctx.workers),
      '--threads',
      String(ctx.threads),
      '--python',
      ctx.python,
      ...extra,
      ...(ctx.caskArgs ?? []),
    ],
    env: { ...ctx.env },
    cwd: ctx.appsDir,
    stopSignal: 'SIGTERM',
    files: [],
  };
}

function pyEnv(ctx: ServerContext): Record<string, string> {
  return { ...ctx.env, PYTHONPATH: ctx.appsDir, PYTHONUNBUFFERED: '1' };
}

function procs(n: number): string {
  return n === 1 ? '1 process' : `${n} processes`;
}

function threads(n: number): string {
  return n === 1 ? '1 thread' : `${n} threads`;
}

function python(ctx: ServerContext, args: string[], extra: Partial<Launch> = {}): Launch {
  return {
    argv: [ctx.python, ...args],
    env: pyEnv(ctx),
    cwd: ctx.appsDir,
    stopSignal: 'SIGTERM',
    files: [],
    ...extra,
  };
}

/** Apache + mod_wsgi: a complete config of our own (no /etc/apache2), daemon mode with
 * the same processes × threads budget, its own pid file, port and runtime directory. */
function apacheConfig(ctx: ServerContext): { conf: string; wsgi: string } {
  const mods = '/usr/lib/apache2/modules';
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const conf = [
    '# generated by cask bench',
    `ServerRoot ${ctx.tmpDir}`,
    `DefaultRuntimeDir ${ctx.tmpDir}`,
    `PidFile ${join(ctx.tmpDir, 'apache.pid')}`,
    `ErrorLog ${join(ctx.tmpDir, 'apache-error.log')}`,
    'LogLevel warn',
    `Listen ${HOST}:${ctx.port}`,
    `ServerName ${HOST}`,
    `LoadModule mpm_event_module ${mods}/mod_mpm_event.so`,
    `LoadModule authz_core_module ${mods}/mod_authz_core.so`,
    `LoadModule wsgi_module ${mods}/mod_wsgi.so`,
    // Apache refuses to serve as root; its children switch to an unprivileged user.
    ...(asRoot ? ['User www-data', 'Group www-data'] : []),
    'KeepAlive On',
    `WSGIDaemonProcess bench processes=${ctx.workers} threads=${ctx.threads} python-path=${ctx.appsDir}`,
    'WSGIProcessGroup bench',
    'WSGIApplicationGroup %{GLOBAL}',
    `WSGIScriptAlias / ${join(ctx.tmpDir, 'entry.wsgi')}`,
    `<Directory ${ctx.tmpDir}>`,
    '  Require all granted',
    '</Directory>',
    '',
  ].join('\n');
  // mod_wsgi daemons do not see the environment Apache was started with in every setup,
  // so the entry script sets the bench variables itself before loading the app.
  const wsgi = [
    '# generated by cask bench',
    'import os, sys',
    ...Object.entries(ctx.env).map(
      ([k, v]) => `os.environ[${JSON.stringify(k)}] = ${JSON.stringify(v)}`,
    ),
    `sys.path.insert(0, ${JSON.stringify(ctx.appsDir)})`,
    'from _entry import application',
    '',
  ].join('\n');
  return { conf, wsgi };
}

export const SERVERS: readonly ServerDef[] = [
  {
    name: 'nginx',
    title: 'nginx (static files)',
    model: "event-driven C server, sendfile(2); serves the static scenarios' files, no app",
    needs: [{ file: '/usr/sbin/nginx', what: 'nginx-light' }],
    serves: 'files',
    slots: () => null,
    budget: (w) => `${procs(w)} (nginx workers)`,
    notes:
      'runs only the static scenarios; generated config in a temp dir, own port, pid file and logs',
    launch: (ctx) => {
      const confPath = join(ctx.tmpDir, 'nginx.conf');
      const staticDir = ctx.staticDir ?? ctx.tmpDir;
      return {
        argv: ['/usr/sbin/nginx', '-c', confPath, '-e', join(ctx.tmpDir, 'nginx-error.log')],
        env: {},
        cwd: ctx.tmpDir,
        stopSignal: 'SIGTERM',
        files: [
          {
            path: confPath,
            content: nginxConfig({
              port: ctx.port,
              workers: ctx.workers,
              tmpDir: ctx.tmpDir,
              staticDir,
            }),
          },
        ],
      };
    },
  },
  {
    name: 'cask',
    title: 'Cask',
    model: 'Node front (event loop) + pre-forked Python workers × threads',
    needs: [{ file: 'dist/cli.js', what: 'Cask build (run `npm run build`)' }],
    slots: (w, t) => w * t,
    budget: (w, t) => `${procs(w)} × ${threads(t)} + Node front`,
    staticArgs: (dir) => ['--static', `/static=${dir}`],
    startTimeoutMs: 20_000,
    asgi: true,
    websocket: true,
    http2: { tlsArgs: (cert, key) => ['--certfile', cert, '--keyfile', key] },
    uwsgiSocket: true,
    metrics: { args: (port) => ['--admin-bind', `${HOST}:${port}`] },
    launch: (ctx) => caskLaunch(ctx),
  },
  {
    name: 'cask-2-fronts',
    title: 'Cask, 2 fronts',
    model: 'two Node fronts accepting from one socket, each with half the workers × threads',
    needs: [{ file: 'dist/cli.js', what: 'Cask build (run `npm run build`)' }],
    optIn: true,
    slots: (w, t) => w * t,
    budget: (w, t) => `${procs(w)} × ${threads(t)} + 2 Node fronts`,
    notes: 'opt-in (name it in --servers); needs -w 2 or more, one worker per front',
    staticArgs: (dir) => ['--static', `/static=${dir}`],
    startTimeoutMs: 20_000,
    asgi: true,
    websocket: true,
    http2: { tlsArgs: (cert, key) => ['--certfile', cert, '--keyfile', key] },
    uwsgiSocket: true,
    metrics: { args: (port) => ['--admin-bind', `${HOST}:${port}`] },
    launch: (ctx) => caskLaunch(ctx, ['--fronts', '2']),
  },
  {
    name: 'raw-net',
    title: 'raw node:net (ceiling)',
    model:
      'one Node process, node:net without an HTTP parser or Python: a fixed 13-byte response to every request head',
    needs: [{ file: 'bench/launchers/raw-net.mjs', what: 'bench/launchers/raw-net.mjs' }],
    serves: 'fixed',
    slots: () => null,
    budget: () => '1 Node process (no workers, no app)',
    notes:
      'the ceiling: what Node itself costs for accept, read, write and close; runs only the connection scenarios',
    launch: (ctx) => ({
      argv: [process.execPath, join(ctx.launchersDir, 'raw-net.mjs'), String(ctx.port)],
      env: {},
      cwd: ctx.launchersDir,
      stopSignal: 'SIGTERM',
      files: [],
    }),
  },
  {
    name: 'net-hop',
    title: 'node:net + a Python hop (floor)',
    model:
      'raw-net plus one round trip per request to a Python process over a socket (no HTTP parser, no WSGI): the shape of Cask with nothing of its work',
    needs: [
      { file: 'bench/launchers/net-hop.mjs', what: 'bench/launchers/net-hop.mjs' },
      { file: 'bench/launchers/net_hop.py', what: 'bench/launchers/net_hop.py' },
    ],
    serves: 'fixed',
    slots: () => null,
    budget: () => '1 Node process + 1 Python process (no app)',
    notes:
      "the design's floor: what a Node front and a Python process on the same CPU cost with nothing but the hop between them; runs only the connection scenarios",
    launch: (ctx) => ({
      argv: [process.execPath, join(ctx.launchersDir, 'net-hop.mjs'), String(ctx.port), ctx.python],
      env: {},
      cwd: ctx.launchersDir,
      stopSignal: 'SIGTERM',
      files: [],
    }),
  },
  {
    name: 'gunicorn-sync',
    title: 'gunicorn (sync)',
    model: 'pre-fork, one request per process, closes every connection',
    needs: [{ module: 'gunicorn', dist: 'gunicorn' }],
    slots: (w) => w,
    budget: (w) => `${procs(w)} × 1 thread (sync worker)`,
    notes: 'threads do not apply to the sync worker',
    holdsIdle: 'the sync worker closes every connection after its response',
    launch: (ctx) =>
      python(
        ctx,
        [
          '-m',
          'gunicorn',
          '-w',
          String(ctx.workers),
          '-k',
          'sync',
          '-b',
          `${HOST}:${ctx.port}`,
          ENTRY,
        ],
        { stopSignal: 'SIGINT' },
      ),
  },
  {
    name: 'gunicorn-gthread',
    title: 'gunicorn (gthread)',
    model: 'pre-fork, thread pool per process, keep-alive 2 s',
    needs: [{ module: 'gunicorn', dist: 'gunicorn' }],
    slots: (w, t) => w * t,
    budget: (w, t) => `${procs(w)} × ${threads(t)}`,
    holdsIdle:
      'at most --worker-connections (1,000 by default) connections per worker, and it closes idle ones after 2 s',
    launch: (ctx) =>
      python(
        ctx,
        [
          '-m',
          'gunicorn',
          '-w',
          String(ctx.workers),
          '-k',
          'gthread',
          '--threads',
          String(ctx.threads),
          '-b',
          `${HOST}:${ctx.port}`,
          ENTRY,
        ],
        { stopSignal: 'SIGINT' },
      ),
  },
  {
    name: 'gunicorn-gevent',
    title: 'gunicorn (gevent)',
    model: 'pre-fork, greenlets (monkey-patched I/O)',
    needs: [
      { module: 'gunicorn', dist: 'gunicorn' },
      { module: 'gevent', dist: 'gevent' },
    ],
    slots: () => null,
    budget: (w) => `${procs(w)} × up to 1000 greenlets`,
    notes: 'threads do not apply; --worker-connections 1000',
    holdsIdle: 'at most --worker-connections (1,000 here) connections per worker',
    launch: (ctx) =>
      python(
        ctx,
        [
          '-m',
          'gunicorn',
          '-w',
          String(ctx.workers),
          '-k',
          'gevent',
          '--worker-connections',
          '1000',
          '-b',
          `${HOST}:${ctx.port}`,
          ENTRY,
        ],
        { stopSignal: 'SIGINT' },
      ),
  },
  {
    name: 'uwsgi',
    title: 'uWSGI (--http-socket)',
    model: 'pre-fork C server, processes × threads, HTTP/1.0-style (closes each connection)',
    needs: [
      { file: '/usr/bin/uwsgi', what: 'uwsgi' },
      { file: '/usr/lib/uwsgi/plugins/python3_plugin.so', what: 'uwsgi-plugin-python3' },
    ],
    slots: (w, t) => w * t,
    budget: (w, t) => `${procs(w)} × ${threads(t)}`,
    notes: 'embedded Debian python3, whatever --python says; behind nginx, --socket instead',
    holdsIdle: '--http-socket closes every connection after its response',
    uwsgiSocket: true,
    launch: (ctx) => ({
      argv: [
        '/usr/bin/uwsgi',
        '--plugin',
        'python3',
        '--chdir',
        ctx.appsDir,
        '--module',
        ENTRY,
        '--need-app',
        '--master',
        '--processes',
        String(ctx.workers),
        ...(ctx.threads > 1 ? ['--threads', String(ctx.threads)] : []),
        '--disable-logging',
        '--die-on-term',
        ctx.protocol === 'uwsgi' ? '--socket' : '--http-socket',
        `${HOST}:${ctx.port}`,
      ],
      env: pyEnv(ctx),
      cwd: ctx.appsDir,
      stopSignal: 'SIGTERM',
      files: [],
    }),
  },
  {
    name: 'waitress',
    title: 'waitress',
    model: 'one process, asyncore I/O thread + worker thread pool',
    needs: [{ module: 'waitress', dist: 'waitress' }],
    slots: (w, t) => w * t,
    budget: (w, t) => `1 process × ${threads(w * t)}`,
    notes: 'single process: the budget is given as workers × threads threads',
    holdsIdle: 'it stops accepting past connection_limit, 100 connections by default',
    launch: (ctx) =>
      python(ctx, [
        '-m',
        'waitress',
        `--host=${HOST}`,
        `--port=${ctx.port}`,
        `--threads=${ctx.workers * ctx.threads}`,
        ENTRY,
      ]),
  },
  {
    name: 'cheroot',
    title: 'cheroot (CherryPy)',
    model: 'one process, thread pool, one connection per thread while it is active',
    needs: [{ module: 'cheroot', dist: 'cheroot' }],
    slots: (w, t) => w * t,
    budget: (w, t) => `1 process × ${threads(w * t)}`,
    notes:
      'single process: workers × threads threads; --request-queue-size 1024 (the default backlog of 5 drops connections)',
    launch: (ctx) => {
      const n = String(ctx.workers * ctx.threads);
      return python(ctx, [
        '-m',
        'cheroot',
        '--bind',
        `${HOST}:${ctx.port}`,
        '--threads',
        n,
        '--max-threads',
        n,
        '--request-queue-size',
        '1024',
        ENTRY,
      ]);
    },
  },
  {
    name: 'twisted',
    title: 'Twisted web --wsgi',
    model: 'one process, reactor + thread pool (5 to 20 threads)',
    needs: [{ module: 'twisted', dist: 'twisted' }],
    slots: () => 20,
    budget: () => '1 process × up to 20 threads (Twisted default pool)',
    notes:
      'the command-line server does not expose the pool size; started as `python3 -m twisted web`, the same as `twist web`',
    launch: (ctx) =>
      python(ctx, [
        '-m',
        'twisted',
        '--log-level=warn',
        'web',
        '--wsgi',
        ENTRY.replace(':', '.'),
        '--listen',
        `tcp:${ctx.port}:interface=${HOST}`,
      ]),
  },
  {
    name: 'tornado',
    title: 'Tornado WSGIContainer',
    model: 'IOLoop per process; the app runs on the loop thread, one request at a time',
    needs: [{ module: 'tornado', dist: 'tornado' }],
    slots: (w) => w,
    budget: (w) => `${procs(w)} × 1 loop thread`,
    launch: (ctx) =>
      python(ctx, [
        join(ctx.launchersDir, 'tornado_wsgi.py'),
        String(ctx.port),
        String(ctx.workers),
        ENTRY,
      ]),
  },
  {
    name: 'werkzeug',
    title: 'werkzeug run_simple',
    model: 'one process, a new thread per connection',
    needs: [{ module: 'werkzeug', dist: 'werkzeug' }],
    slots: () => null,
    budget: () => '1 process × a thread per connection',
    notes: 'development server; request log turned down to errors',
    holdsIdle:
      'a thread per connection: 10,000 threads, more than a bounded run on a shared machine should start',
    launch: (ctx) =>
      python(ctx, [join(ctx.launchersDir, 'werkzeug_simple.py'), String(ctx.port), ENTRY]),
  },
  {
    name: 'wsgiref',
    title: 'wsgiref (stdlib)',
    model: 'one process, one thread, HTTP/1.0, listen backlog 5',
    needs: [],
    slots: () => 1,
    budget: () => '1 process × 1 thread',
    notes: 'reference implementation, not a production server',
    holdsIdle: 'HTTP/1.0 with one thread: it closes every connection after its response',
    launch: (ctx) =>
      python(ctx, [join(ctx.launchersDir, 'wsgiref_simple.py'), String(ctx.port), ENTRY]),
  },
  {
    name: 'uvicorn',
    title: 'uvicorn',
    model: 'pre-fork, one asyncio loop per process (uvloop and httptools when installed)',
    needs: [{ module: 'uvicorn', dist: 'uvicorn' }],
    serves: 'asgi',
    websocket: true,
    slots: () => null,
    budget: (w) => `${procs(w)} × 1 event loop`,
    notes:
      'ASGI scenarios only; --loop auto and --http auto pick uvloop and httptools when they import (Debian: python3-uvloop, python3-httptools), --ws auto the websockets library; no access log',
    launch: (ctx) =>
      python(ctx, [
        '-m',
        'uvicorn',
        ENTRY,
        '--host',
        HOST,
        '--port',
        String(ctx.port),
        '--workers',
        String(ctx.workers),
        '--log-level',
        'warning',
        '--no-access-log',
      ]),
  },
  {
    name: 'hypercorn',
    title: 'Hypercorn',
    model: 'pre-fork, one event loop per process (uvloop here)',
    needs: [
      { module: 'hypercorn', dist: 'hypercorn' },
      { module: 'uvloop', dist: 'uvloop' },
    ],
    serves: 'asgi',
    slots: () => null,
    budget: (w) => `${procs(w)} × 1 event loop`,
    notes: 'ASGI scenarios only; -k uvloop (its default is asyncio); no access log',
    launch: (ctx) =>
      python(ctx, [
        '-m',
        'hypercorn',
        ENTRY,
        '--bind',
        `${HOST}:${ctx.port}`,
        '--workers',
        String(ctx.workers),
        '-k',
        'uvloop',
      ]),
  },
  {
    name: 'mod_wsgi',
    title: 'Apache + mod_wsgi',
    model: 'Apache event MPM front + mod_wsgi daemon processes × threads',
    needs: [
      { file: '/usr/sbin/apache2', what: 'apache2' },
      { file: '/usr/lib/apache2/modules/mod_wsgi.so', what: 'libapache2-mod-wsgi-py3' },
    ],
    slots: (w, t) => w * t,
    budget: (w, t) => `${procs(w)} × ${threads(t)} (daemon mode) + Apache`,
    notes: 'embedded Debian python3; generated config in a temp dir, own port and pid file',
    holdsIdle:
      "the generated config keeps Apache's defaults, with which the event MPM takes about ThreadsPerChild × (AsyncRequestWorkerFactor + 1) = 75 connections per child, some 1,200 in all, and closes idle ones after KeepAliveTimeout (5 s)",

    startTimeoutMs: 20_000,
    launch: (ctx) => {
      const { conf, wsgi } = apacheConfig(ctx);
      const confPath = join(ctx.tmpDir, 'httpd.conf');
      return {
        argv: ['/usr/sbin/apache2', '-f', confPath, '-DFOREGROUND'],
        env: { ...ctx.env, APACHE_RUN_DIR: ctx.tmpDir, APACHE_LOCK_DIR: ctx.tmpDir },
        cwd: ctx.tmpDir,
        stopSignal: 'SIGTERM',
        files: [
          { path: confPath, content: conf },
          { path: join(ctx.tmpDir, 'entry.wsgi'), content: wsgi },
        ],
      };
    },
  },
];

/** Whether `def` takes part in `scenario`: static scenarios run the servers that can serve
 *  the site, behind-nginx those with a uwsgi socket, the raw-net ceiling only the scenarios
 *  that measure connections (`ceiling`), every other scenario the servers that run an app. */
export function runsScenario(
  def: ServerDef,
  scenario: {
    staticSite?: boolean;
    front?: 'nginx';
    ceiling?: boolean;
    interface?: 'asgi';
    websocket?: boolean;
  },
): boolean {
  if (scenario.front === 'nginx') return def.uwsgiSocket === true;
  // ASGI scenarios run the servers that serve ASGI apps, and only they; WebSocket ones,
  // those of them that speak WebSocket.
  if (scenario.websocket === true) return def.websocket === true;
  if (scenario.interface === 'asgi') return def.serves === 'asgi' || def.asgi === true;
  if (def.serves === 'asgi') return false;
  if (scenario.staticSite === true) return def.serves === 'files' || def.staticArgs !== undefined;
  if (def.serves === 'fixed') return scenario.ceiling === true;
  return def.serves !== 'files';
}

export function findServer(name: string): ServerDef | undefined {
  return SERVERS.find((s) => s.name === name);
}
