// THE settings table. Flags, env vars, config-file keys, validation, `cask serve --help` and
// docs/config.md all come from these rows; nothing else lists the options (gunicorn's
// config.py habit, without waitress's "update these other files too" comment).
//
// Rules for a row:
// - the key is camelCase; the flag is `--` + kebab-case of the key, the env var `CASK_` +
//   UPPER_SNAKE, the config-file key the flag without `--`. CheckedTable makes a mismatch a
//   type error, and the Config type below is derived from the rows, so a key cannot exist
//   without a flag and an env var.
// - spell it as gunicorn does where gunicorn has the option;
// - write the default as a user would, with its unit (`'30s'`, `'1g'`); it is parsed by the
//   same code as user input when this module loads.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bool, bytes, choice, int, list, path, seconds, string } from './define.js';
import { apps } from './apps.js';
import { parseBind, parseHttpBind, parsePath } from './parse.js';
import { InvalidValue, type AnySetting, type CheckedTable, type ValueOf } from './types.js';
import { parseAllowEntry } from '../net/allow-ips.js';
import { compileAccessFormat } from '../log-format.js';
import { checkDirectory, parseMount, type MountSpec } from '../static/mount.js';
import { DEFAULT_COMPRESS_TYPES, checkTypePattern } from '../static/types.js';
import { parseStatsdHost } from '../admin/statsd.js';

/**
 * The installed package's root. This module compiles to `dist/config/schema.js` (and runs from
 * `src/config/schema.ts` under tsx), so the root is two levels up in both cases.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

function table<const T extends Record<string, AnySetting>>(rows: T & CheckedTable<T>): T {
  return rows;
}

function validateApp(value: string): void {
  if (value.trim() === '') throw new InvalidValue('is not an app (write module:callable)');
  if (value.endsWith(':')) throw new InvalidValue('has no callable after ":"');
}

function validateRootPath(value: string): void {
  if (value === '') return;
  if (!value.startsWith('/')) throw new InvalidValue('does not start with "/"');
  if (value.endsWith('/')) throw new InvalidValue('ends with "/" (write "" to mount at the root)');
}

function checkAllowEntry(raw: string): string {
  try {
    parseAllowEntry(raw);
  } catch {
    throw new InvalidValue('is not an IP address, a CIDR range (10.0.0.0/8) or *');
  }
  return raw.trim();
}

function validateProbePath(value: string): void {
  if (value === '') return;
  if (!value.startsWith('/')) throw new InvalidValue('does not start with "/"');
  if (/[?#\s]/.test(value)) throw new InvalidValue('has a query, a fragment or a space');
}

function checkMount(raw: string, ctx: { baseDir: string }): MountSpec {
  const mount = parseMount(raw, ctx.baseDir);
  if (typeof mount === 'string') throw new InvalidValue(mount);
  return mount;
}

function validateDirectory(value: string): void {
  const problem = checkDirectory(value);
  if (problem !== undefined) throw new InvalidValue(problem);
}

function checkCompressType(raw: string): string {
  const pattern = raw.trim().toLowerCase();
  if (!checkTypePattern(pattern)) {
    throw new InvalidValue('is not a media type (write text/html, text/* or application/*+json)');
  }
  return pattern;
}

function checkGlob(raw: string): string {
  const glob = raw.trim();
  if (glob === '' || glob.includes('\0')) throw new InvalidValue('is not a glob');
  return glob;
}

function checkHostName(raw: string): string {
  const host = raw.trim().toLowerCase();
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?)$/.test(host)) {
    throw new InvalidValue('is not a host name or address (write it without a port)');
  }
  return host;
}

function checkEnvAssignment(raw: string): string {
  const eq = raw.indexOf('=');
  if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(raw.slice(0, eq))) {
    throw new InvalidValue('is not NAME=VALUE');
  }
  if (raw.includes('\0')) throw new InvalidValue('contains a NUL byte');
  return raw;
}

function validateAccessFormat(value: string): void {
  if (value === 'dev') return;
  try {
    compileAccessFormat(value);
  } catch (error) {
    throw new InvalidValue(`is not an access log format: ${(error as Error).message}`);
  }
}

function validateUmask(value: string): void {
  if (value !== '' && !/^(0o?)?[0-7]{1,3}$/i.test(value))
    throw new InvalidValue('is not an octal umask (write 022, 027 or 0o007)');
}

function validateSocketMode(value: string): void {
  if (!/^(0o?)?[0-7]{1,3}$/i.test(value))
    throw new InvalidValue('is not an octal file mode (write 660, 0660 or 0o666)');
}

function validateFronts(value: string): void {
  if (!/^(auto|[1-9]\d{0,3})$/.test(value))
    throw new InvalidValue('is not a number of front processes (1, 2, …) or `auto`');
}

function validateAccount(value: string): void {
  // POSIX portable user names, and what NSS backends commonly allow; ids are numbers.
  if (value !== '' && !/^[a-z_][a-z0-9_.-]*\$?$|^\d+$/i.test(value))
    throw new InvalidValue('is not a user or group name, or a number');
}

function validateHeaderValue(value: string): void {
  // Anything else could split the header (CR/LF) or be mangled on the wire.
  if (/[^\x20-\x7e]/.test(value))
    throw new InvalidValue('has a character other than printable ASCII');
}

export const SETTINGS = table({
  // ── Application ──────────────────────────────────────────────────────────
  app: string({
    flag: '--app',
    env: 'CASK_APP',
    positional: 'APP',
    metavar: 'APP',
    section: 'Application',
    doc: 'The WSGI application: `package.module:callable` or `path/to/file.py:callable`. Usually given as the positional APP argument.',
    default: {
      doc: 'the bundled example, `examples/hello_app.py:application`',
      compute: (ctx) => `${join(ctx.packageRoot, 'examples', 'hello_app.py')}:application`,
    },
    validate: validateApp,
  }),
  chdir: path({
    flag: '--chdir',
    env: 'CASK_CHDIR',
    section: 'Application',
    doc: 'Directory the workers change to before loading the app.',
    default: { doc: 'the current directory', compute: (ctx) => ctx.cwd },
  }),
  pythonpath: list({
    flag: '--pythonpath',
    env: 'CASK_PYTHONPATH',
    metavar: 'PATH',
    section: 'Application',
    doc: 'Directory put at the front of `sys.path` in the workers. Repeat the flag for several, or separate them with commas (as gunicorn does).',
    default: [],
    item: (raw, ctx) => parsePath(raw, ctx.baseDir),
    commas: true,
  }),
  python: path({
    flag: '--python',
    env: 'CASK_PYTHON',
    section: 'Application',
    command: true,
    doc: 'Python interpreter that runs the workers (CPython 3.8+ or PyPy). A name without a slash is looked up on PATH.',
    default: {
      doc: '`$VIRTUAL_ENV/bin/python` when `VIRTUAL_ENV` is set, else `python3`',
      compute: (ctx) => {
        const venv = ctx.env['VIRTUAL_ENV'];
        if (venv === undefined || venv === '') return 'python3';
        return process.platform === 'win32'
          ? join(venv, 'Scripts', 'python.exe')
          : join(venv, 'bin', 'python');
      },
    },
  }),
  env: list({
    flag: '--env',
    short: 'e',
    env: 'CASK_ENV',
    metavar: 'NAME=VALUE',
    section: 'Application',
    doc: "An environment variable set for the app, its workers and the hooks, as gunicorn's `raw_env` and uWSGI's `env`: `-e DJANGO_SETTINGS_MODULE=site.settings`. Repeat for several (comma-separated in the env var, so a value with a comma needs the flag or the config file).",
    default: [],
    item: checkEnvAssignment,
  }),
  interface: choice({
    flag: '--interface',
    env: 'CASK_INTERFACE',
    section: 'Application',
    doc: "How the app is called: `wsgi` (PEP 3333, in threads), `asgi` (ASGI 3, as tasks of one asyncio loop per worker, uvloop when it imports; HTTP, WebSocket and lifespan: docs/asgi.md), or `auto`: ASGI when the callable is a coroutine function or an object whose `__call__` is one (Starlette, FastAPI, Django's `ASGIHandler`), else WSGI.",
    choices: ['auto', 'asgi', 'wsgi'],
    default: 'auto',
  }),
  rootPath: string({
    flag: '--root-path',
    env: 'CASK_ROOT_PATH',
    section: 'Application',
    doc: 'Path prefix the app is mounted at, passed to it as `SCRIPT_NAME`. Empty, or starts with `/` and does not end with one.',
    default: '',
    validate: validateRootPath,
  }),
  mount: apps({
    kind: 'mount',
    flag: '--mount',
    env: 'CASK_MOUNT',
    doc: 'Serve several apps in one server, each at a path prefix: `--mount /api=api.wsgi:app --mount /=site.wsgi:application`. The longest prefix that a request\'s path is under (on a `/` boundary) takes it; the prefix becomes the app\'s `SCRIPT_NAME` and the rest its `PATH_INFO`; a path under no prefix gets 404. Each app has its own workers; in the config file, a table per app sets them (`[mount."/api"]` with `app`, `workers`, `threads`, `timeout`, …: docs/apps.md). Replaces APP.',
    rows: (): Readonly<Record<string, AnySetting>> => SETTINGS,
  }),
  vhost: apps({
    kind: 'vhost',
    flag: '--vhost',
    env: 'CASK_VHOST',
    doc: "Serve several apps in one server by the request's `Host`: `--vhost example.org=site.wsgi:app --vhost '*.example.org=tenants:app'`. An exact name wins over a `*.` wildcard (any depth of subdomain, not the name itself), the longest wildcard over a shorter one; `*` alone is the default. A Host no vhost matches goes to the `--mount` apps if there are any, else gets 421. Each app has its own workers, set per app in the config file as for `--mount` (docs/apps.md). Replaces APP.",
    rows: (): Readonly<Record<string, AnySetting>> => SETTINGS,
  }),

  // ── Server socket ────────────────────────────────────────────────────────
  bind: list({
    flag: '--bind',
    short: 'b',
    env: 'CASK_BIND',
    metavar: 'ADDRESS',
    section: 'Server socket',
    doc: 'Address to listen on: `HOST:PORT`, `[IPv6]:PORT` or `unix:PATH` for HTTP. Behind a web server, `uwsgi://HOST:PORT`, `scgi://HOST:PORT` or `fastcgi://HOST:PORT` (or `uwsgi:unix:PATH`, …) speaks its `uwsgi_pass`, `scgi_pass` or `fastcgi_pass` protocol instead, takes connections only from `forwarded-allow-ips` (and Unix sockets), and uses the variables it sends (`REMOTE_ADDR`, `HTTPS`, `SCRIPT_NAME`, …) as they are (docs/deploy.md). Repeat to listen on several. Port 0 picks a free port.',
    default: ['127.0.0.1:8000'],
    item: (raw, ctx) => parseBind(raw, ctx.baseDir),
    minItems: 1,
  }),
  serverName: string({
    flag: '--server-name',
    env: 'CASK_SERVER_NAME',
    section: 'Server socket',
    doc: 'Value of the `Server` response header; empty to send none.',
    default: 'Cask',
    validate: validateHeaderValue,
  }),

  clientSockets: choice({
    flag: '--client-sockets',
    env: 'CASK_CLIENT_SOCKETS',
    section: 'Server socket',
    doc: "How the front holds the connections of a plain TCP listener (HTTP, or a web server's uwsgi, SCGI or FastCGI): `bare` on the TCP handles libuv gives Node, without a `net.Socket` per connection, which takes about a third off the front's CPU per new connection (docs/performance.md, \"A front on bare handles\"); or `node`, a `net.Socket` each, as Node's own servers do. `bare` rests on Node internals that Node does not document: where a Node lacks them, Cask uses `node` by itself and warns so at start; `node` is there to rule them out when a problem is suspected. TLS and Unix sockets always use `net.Socket`; a connection that turns to HTTP/2 or WebSocket is handed to one.",
    choices: ['bare', 'node'],
    default: 'bare',
  }),
  maxConnections: int({
    flag: '--max-connections',
    env: 'CASK_MAX_CONNECTIONS',
    section: 'Server socket',
    doc: 'Most client connections open at once, idle keep-alive ones included; a connection past it gets 503 with `Retry-After` and is closed, and refusals are counted in a warning. Each takes a file descriptor: keep `ulimit -n` above it. 0 means no limit.',
    default: 10000,
    min: 0,
  }),
  backlog: int({
    flag: '--backlog',
    env: 'CASK_BACKLOG',
    section: 'Server socket',
    doc: 'How many connections the kernel may hold for each listener before Cask accepts them (the `listen()` backlog; Linux caps it at `net.core.somaxconn`). Cask accepts as fast as connections come, so this only matters in a burst.',
    default: 2048,
    min: 1,
  }),
  forwardedAllowIps: list({
    flag: '--forwarded-allow-ips',
    env: 'CASK_FORWARDED_ALLOW_IPS',
    fallbackEnv: 'FORWARDED_ALLOW_IPS',
    metavar: 'ADDRESS',
    section: 'Server socket',
    doc: 'Proxies trusted to say who the client is: IP addresses and CIDR ranges (`10.0.0.0/8`), or `*` for any peer. Only from these are `X-Forwarded-For`/`-Proto`/`-Host`/`-Port` and `Forwarded` honoured (as `REMOTE_ADDR`, `wsgi.url_scheme`, `HTTP_HOST`, `SERVER_NAME`, `SERVER_PORT`) and a PROXY protocol header accepted; from any other peer those headers are removed. Unix socket peers are always trusted. Repeat the flag or separate them with commas (`FORWARDED_ALLOW_IPS` is read too, as in gunicorn).',
    default: ['127.0.0.1', '::1'],
    item: checkAllowEntry,
    commas: true,
  }),
  proxyProtocol: bool({
    flag: '--proxy-protocol',
    env: 'CASK_PROXY_PROTOCOL',
    section: 'Server socket',
    doc: 'Every connection must start with a PROXY protocol header (v1 or v2, as HAProxy and cloud load balancers send), from a peer in `forwarded-allow-ips`; its client address becomes `REMOTE_ADDR`. Without this option such a header is a bad request.',
    default: false,
  }),
  http: choice({
    flag: '--http',
    env: 'CASK_HTTP',
    section: 'Server socket',
    doc: 'HTTP versions served on every listener. `auto`: HTTP/1.1, and HTTP/2 for clients that choose it (ALPN `h2` over TLS; in cleartext, a connection that starts with the HTTP/2 preface, "prior knowledge"). `1`: HTTP/1.x only (HTTP/2 is not offered). `2`: HTTP/2 only; an HTTP/1.x request gets 505 (docs/tls-http2.md).',
    choices: ['auto', '1', '2'],
    default: 'auto',
  }),
  http2MaxStreams: int({
    flag: '--http2-max-streams',
    env: 'CASK_HTTP2_MAX_STREAMS',
    section: 'Server socket',
    doc: 'Most requests one HTTP/2 connection may have in progress at once (SETTINGS_MAX_CONCURRENT_STREAMS); the client waits before opening more. Each takes a body buffer and up to 256 KiB of response memory.',
    default: 100,
    min: 1,
  }),

  umask: string({
    flag: '--umask',
    env: 'CASK_UMASK',
    metavar: 'OCTAL',
    section: 'Server socket',
    doc: 'The file mode creation mask, in octal (`027`, `0o007`), set as Cask starts: it applies to the files the server and its workers create (log, pid and spool files). The Unix sockets Cask binds get `--socket-mode` instead. Empty: the mask Cask was started with.',
    default: '',
    defaultDoc: 'none (the inherited umask)',
    validate: validateUmask,
  }),
  socketMode: string({
    flag: '--socket-mode',
    env: 'CASK_SOCKET_MODE',
    metavar: 'OCTAL',
    section: 'Server socket',
    doc: "Mode, in octal, of the Unix sockets Cask binds itself (`-b unix:PATH`), set once bound whatever the umask: `660` lets the socket's owner and group connect (nginx in the socket's `--group`), `666` anyone on the host. Sockets systemd binds keep the mode its SocketMode= gave them.",
    default: '0660',
    validate: validateSocketMode,
  }),
  user: string({
    flag: '--user',
    env: 'CASK_USER',
    metavar: 'USER',
    section: 'Server socket',
    doc: "The user (a name or id) to run as, as gunicorn's `--user`: started as root, Cask binds its listeners (port 80, Unix sockets it then gives this owner), then switches the front to this user, with its groups, and the workers run as it. Started as another user, it must name that user. Alone, the group becomes the user's own group (docs/operations.md).",
    default: '',
    defaultDoc: 'none (the user running Cask)',
    validate: validateAccount,
  }),
  group: string({
    flag: '--group',
    env: 'CASK_GROUP',
    metavar: 'GROUP',
    section: 'Server socket',
    doc: "The group (a name or id) to run as, switched to with `--user` once the listeners are bound; the Unix sockets Cask binds get it too, so the web server in that group (`www-data`) connects under `--socket-mode 660`. Started as another user than root, it must name that user's group.",
    default: '',
    defaultDoc: 'none (the group running Cask)',
    validate: validateAccount,
  }),

  // ── TLS ──────────────────────────────────────────────────────────────────
  certfile: path({
    flag: '--certfile',
    env: 'CASK_CERTFILE',
    section: 'TLS',
    doc: "PEM certificate (the server's first, then any intermediates) for TLS. With `--keyfile`, every TCP listener serves HTTPS; Unix socket listeners stay plain. Read again on SIGHUP (`cask reload`), so a renewed certificate needs no restart (docs/tls-http2.md).",
    default: null,
  }),
  keyfile: path({
    flag: '--keyfile',
    env: 'CASK_KEYFILE',
    section: 'TLS',
    doc: 'PEM private key of `--certfile`; an encrypted one needs `--keyfile-password-file`.',
    default: null,
  }),
  keyfilePasswordFile: path({
    flag: '--keyfile-password-file',
    env: 'CASK_KEYFILE_PASSWORD_FILE',
    section: 'TLS',
    doc: 'File holding the password of an encrypted `--keyfile` (its first line; a file, so the password never shows in `ps` or the environment).',
    default: null,
  }),
  caCerts: path({
    flag: '--ca-certs',
    env: 'CASK_CA_CERTS',
    section: 'TLS',
    doc: 'PEM file of the CA certificates that client certificates must be signed by (with `--cert-reqs`).',
    default: null,
  }),
  certReqs: choice({
    flag: '--cert-reqs',
    env: 'CASK_CERT_REQS',
    section: 'TLS',
    doc: "Client certificates: `none` asks for none; `optional` asks, admits a client without one and refuses one whose certificate does not verify against `--ca-certs`; `required` refuses every client without a valid one. gunicorn's 0, 1, 2. The app sees `SSL_CLIENT_VERIFY` and `SSL_CLIENT_S_DN`.",
    choices: ['none', 'optional', 'required'],
    aliases: { '0': 'none', '1': 'optional', '2': 'required' },
    default: 'none',
    defaultDoc: '`none` (no client certificates)',
  }),
  ciphers: string({
    flag: '--ciphers',
    env: 'CASK_CIPHERS',
    section: 'TLS',
    doc: 'OpenSSL cipher list for TLS 1.2 (`ECDHE+AESGCM:ECDHE+CHACHA20`). TLS 1.3 suites keep their defaults unless the list names some (`TLS_AES_256_GCM_SHA384`).',
    default: null,
    defaultDoc: "Node's default list",
  }),
  tlsMinVersion: choice({
    flag: '--tls-min-version',
    env: 'CASK_TLS_MIN_VERSION',
    section: 'TLS',
    doc: 'Oldest TLS version accepted: `1.2` or `1.3`. A client that cannot speak it fails the handshake.',
    choices: ['1.2', '1.3'],
    default: '1.2',
  }),

  // ── Workers ──────────────────────────────────────────────────────────────
  workers: int({
    flag: '--workers',
    short: 'w',
    env: 'CASK_WORKERS',
    fallbackEnv: 'WEB_CONCURRENCY',
    section: 'Workers',
    doc: 'Number of Python worker processes. Without this option, `WEB_CONCURRENCY` sets it, as in gunicorn.',
    default: 1,
    min: 1,
  }),
  fronts: string({
    flag: '--fronts',
    env: 'CASK_FRONTS',
    metavar: 'N',
    section: 'Workers',
    doc: 'Front processes (the Node side: connections, HTTP, TLS, buffering) sharing the listening sockets, each with its share of the workers, under one primary process that binds the sockets, passes on signals, restarts a front that dies and answers the admin listener for all of them. `auto`: one front per four CPUs, at most one per worker. One front uses at most one core; more help when the front, not Python, is the limit (docs/performance.md).',
    default: '1',
    validate: validateFronts,
  }),
  threads: int({
    flag: '--threads',
    env: 'CASK_THREADS',
    section: 'Workers',
    doc: 'Threads per worker: how many requests one worker runs at once.',
    default: 1,
    min: 1,
  }),
  preload: bool({
    flag: '--preload',
    env: 'CASK_PRELOAD',
    section: 'Workers',
    doc: "Import the app once, in a zygote process, and fork the workers from it, so that they share its memory copy-on-write (gunicorn's `--preload`, uWSGI's default): with a Django site and 4 workers, about a third less memory (docs/operations.md). A reload (SIGHUP) starts a new zygote, which imports the new code; a recycled worker is forked again from its generation's zygote, which never served a request. Without it, each worker imports the app itself.",
    default: false,
  }),
  workerClass: choice({
    flag: '--worker-class',
    env: 'CASK_WORKER_CLASS',
    section: 'Workers',
    doc: "How a WSGI worker runs its requests: `gthread` (`sync` is the same) in `--threads` threads; `gevent` in `--worker-connections` greenlets, with the standard library monkey-patched by gevent before the app is imported, for apps that spend their time waiting on the network. The worker's Python needs gevent (`apt-get install python3-gevent`, `pip install gevent`). An ASGI app always runs on its asyncio loop and refuses `gevent`.",
    choices: ['gthread', 'sync', 'gevent'],
    default: 'gthread',
  }),
  workerScheduling: choice({
    flag: '--worker-scheduling',
    env: 'CASK_WORKER_SCHEDULING',
    section: 'Workers',
    doc: 'How Linux schedules the Python workers: `batch` (the kernel\'s `SCHED_BATCH` policy, at the same priority) or `inherit` (the front\'s own policy, usually the normal one). Under `batch`, a worker woken by a request does not preempt the front where they share a CPU: the front goes on accepting and parsing, and the worker takes the requests that arrived meanwhile in one read, with fewer context switches. Where a CPU is free nothing changes. On one shared CPU with a new connection per request: about a sixth more requests a second, and 10–15% less CPU per request in the worker (docs/performance.md, "Workers that do not preempt the front"). Other systems ignore it.',
    choices: ['batch', 'inherit'],
    default: 'batch',
  }),
  workerConnections: int({
    flag: '--worker-connections',
    env: 'CASK_WORKER_CONNECTIONS',
    section: 'Workers',
    doc: "Requests and WebSockets one ASGI worker runs at once, each a task of its loop, and requests one gevent worker runs at once, each a greenlet (`--threads` applies to neither). Past it, requests wait in the front's queue as they wait for a thread.",
    default: 1000,
    min: 1,
  }),
  prefetch: int({
    flag: '--prefetch',
    env: 'CASK_PREFETCH',
    section: 'Workers',
    doc: 'Requests a worker may hold queued beyond its threads, so it never idles for a round trip between requests; a worker whose requests are short holds more, as many as it runs in about 10 ms (at most 128). Requests a stalled worker has not started are taken back and sent elsewhere; 0 turns prefetching off (see docs/performance.md).',
    default: 8,
    min: 0,
  }),
  maxQueue: int({
    flag: '--max-queue',
    env: 'CASK_MAX_QUEUE',
    section: 'Workers',
    doc: 'Requests that may wait for a free worker; past that, clients get 503 with `Retry-After`.',
    default: 1024,
    min: 0,
  }),
  workersMin: int({
    flag: '--workers-min',
    env: 'CASK_WORKERS_MIN',
    section: 'Workers',
    doc: 'Autoscaling: the fewest workers to keep. 0 means the value of `--workers`.',
    default: 0,
    min: 0,
  }),
  workersMax: int({
    flag: '--workers-max',
    env: 'CASK_WORKERS_MAX',
    section: 'Workers',
    doc: 'Autoscaling: the most workers to run. Above `workers-min`, it turns autoscaling on: a worker is added while requests wait for a thread, and one idle for `idle-timeout` is retired (docs/operations.md). 0 means the value of `--workers` (no autoscaling).',
    default: 0,
    min: 0,
  }),
  idleTimeout: seconds({
    flag: '--idle-timeout',
    env: 'CASK_IDLE_TIMEOUT',
    section: 'Workers',
    doc: 'Autoscaling: how long a worker may have nothing to do before it is retired, down to `workers-min`.',
    default: '60s',
  }),

  // ── Recycling ────────────────────────────────────────────────────────────
  maxRequests: int({
    flag: '--max-requests',
    env: 'CASK_MAX_REQUESTS',
    section: 'Recycling',
    doc: 'Replace a worker after it has been given this many requests (as gunicorn). Its replacement is started and ready first, and no request fails. 0 means never.',
    default: 0,
    min: 0,
  }),
  maxRequestsJitter: int({
    flag: '--max-requests-jitter',
    env: 'CASK_MAX_REQUESTS_JITTER',
    section: 'Recycling',
    doc: "Add a random 0 to N to each worker's `max-requests`, so that workers started together are not replaced together.",
    default: 0,
    min: 0,
  }),
  maxLifetime: seconds({
    flag: '--max-lifetime',
    env: 'CASK_MAX_LIFETIME',
    section: 'Recycling',
    doc: "Replace a worker after it has run this long (uWSGI's `max-worker-lifetime`), the same way as `max-requests`. 0 means never.",
    default: '0s',
  }),
  maxLifetimeJitter: seconds({
    flag: '--max-lifetime-jitter',
    env: 'CASK_MAX_LIFETIME_JITTER',
    section: 'Recycling',
    doc: "Add a random 0 to this many seconds to each worker's `max-lifetime`.",
    default: '0s',
  }),
  maxRss: bytes({
    flag: '--max-rss',
    env: 'CASK_MAX_RSS',
    section: 'Recycling',
    doc: "Replace a worker whose resident memory is above this (uWSGI's `reload-on-rss`), sampled once a second from `/proc` (Linux only), the same way as `max-requests`. 0 means no limit.",
    default: '0',
  }),

  // ── Timeouts ─────────────────────────────────────────────────────────────
  timeout: seconds({
    flag: '--timeout',
    short: 't',
    env: 'CASK_TIMEOUT',
    section: 'Timeouts',
    doc: "How long a request may run in a worker. Past it the client gets 504 and the app is stopped inside its thread (a `RequestTimeout` exception); the worker's other requests go on. What a WSGI app still runs after its whole response (the rest of its iterable, `close()`) gets as long again, and is stopped the same way. 0 means no limit.",
    default: '30s',
  }),
  timeoutGrace: seconds({
    flag: '--timeout-grace',
    env: 'CASK_TIMEOUT_GRACE',
    section: 'Timeouts',
    doc: "After `timeout`, how long the app's thread has to unwind. A request still running then (blocked in a C call) has its worker replaced: it takes no new requests, its other requests finish, then it is aborted.",
    default: '10s',
  }),
  maxQueueWait: seconds({
    flag: '--max-queue-wait',
    env: 'CASK_MAX_QUEUE_WAIT',
    section: 'Timeouts',
    doc: 'How long a request may wait for a free worker; past that it gets 503 with `Retry-After`. 0 means no limit.',
    default: '30s',
  }),
  gracefulTimeout: seconds({
    flag: '--graceful-timeout',
    env: 'CASK_GRACEFUL_TIMEOUT',
    section: 'Timeouts',
    doc: 'On shutdown or reload, how long in-flight requests may run before their workers are killed.',
    default: '30s',
  }),
  shutdownDelay: seconds({
    flag: '--shutdown-delay',
    env: 'CASK_SHUTDOWN_DELAY',
    section: 'Timeouts',
    doc: 'On SIGTERM, how long to go on serving after `/readyz` turns unready, before the listeners close, so that load balancers stop sending requests first (Kubernetes: a few seconds).',
    default: '0s',
  }),
  keepAlive: seconds({
    flag: '--keep-alive',
    env: 'CASK_KEEP_ALIVE',
    section: 'Timeouts',
    doc: 'How long an idle keep-alive connection waits for its next request. 0 closes the connection after each response.',
    default: '5s',
  }),
  headerTimeout: seconds({
    flag: '--header-timeout',
    env: 'CASK_HEADER_TIMEOUT',
    section: 'Timeouts',
    doc: "How long a client has to send a whole request head, counted from the connection's start for its first request and from the first byte for the next ones; a slower one gets 408 (slowloris). Also the allowance before `body-min-rate` applies. 0 means no limit.",
    default: '10s',
  }),
  bodyMinRate: bytes({
    flag: '--body-min-rate',
    env: 'CASK_BODY_MIN_RATE',
    section: 'Timeouts',
    doc: 'Least average speed of a request body, in bytes per second: after an allowance of `header-timeout`, a body that has taken longer than its bytes so far divided by this rate gets 408 (slow POST). 0 means no minimum.',
    default: '1k',
  }),
  sendTimeout: seconds({
    flag: '--send-timeout',
    env: 'CASK_SEND_TIMEOUT',
    section: 'Timeouts',
    doc: "How long a client may take none of the response it is sent before the connection is dropped and the app's request cancelled (slow read). 0 means no limit.",
    default: '30s',
  }),

  // ── Request limits ───────────────────────────────────────────────────────
  maxBodySize: bytes({
    flag: '--max-body-size',
    env: 'CASK_MAX_BODY_SIZE',
    section: 'Request limits',
    doc: 'Largest request body accepted; a larger one gets 413. 0 means no limit.',
    default: '1g',
  }),
  bodyMemoryLimit: bytes({
    flag: '--body-memory-limit',
    env: 'CASK_BODY_MEMORY_LIMIT',
    section: 'Request limits',
    doc: 'Request bodies larger than this are spooled to a temporary file (in `TMPDIR`, else /tmp) before a worker is taken; smaller ones stay in memory. A body whose announced length (`Content-Length`, or a web server\'s `CONTENT_LENGTH`) is past it goes to the file from its first byte; one without (chunked) moves there when it passes it.',
    default: '1m',
  }),
  bodyMemoryTotal: bytes({
    flag: '--body-memory-total',
    env: 'CASK_BODY_MEMORY_TOTAL',
    section: 'Request limits',
    doc: 'How much all request bodies being received together may keep in memory. Past it, a body that would add to it goes to its temporary file instead, however small: clients that send many bodies slowly cannot make the front hold `max-connections` times `body-memory-limit`. 0 means no limit but `body-memory-limit` per body.',
    default: '256m',
  }),
  responseSpoolLimit: bytes({
    flag: '--response-spool-limit',
    env: 'CASK_RESPONSE_SPOOL_LIMIT',
    section: 'Request limits',
    doc: "How much of one response the front takes off the app for a client slower than the app, so the app's thread is free as soon as the app is done (as nginx buffers for gunicorn): up to 256 KiB in memory (see `response-spool-memory`), the rest in a temporary file sent on as the client reads. Past it, the app waits for the client. Files sent with `wsgi.file_wrapper` never need it. 0 means the app always waits for the client.",
    default: '64m',
  }),
  responseSpoolTotal: bytes({
    flag: '--response-spool-total',
    env: 'CASK_RESPONSE_SPOOL_TOTAL',
    section: 'Request limits',
    doc: 'How much all responses together may keep in temporary files for slow clients. Past it, the bytes an app sends still wait on file, but the app is not credited for them until its client takes them: each response then adds at most 1 MiB before its app waits for the client (as nginx past `proxy_max_temp_file_size`).',
    default: '2g',
  }),
  responseSpoolMemory: bytes({
    flag: '--response-spool-memory',
    env: 'CASK_RESPONSE_SPOOL_MEMORY',
    section: 'Request limits',
    doc: 'How much all responses together may keep in memory for slow clients, in claims of 256 KiB per response (HTTP/2 stream). Past it, a response keeps at most 16 KiB in memory and the rest of what its client has not taken goes straight to its temporary file: nothing is refused or lost, and no app waits for it. 0 means no response keeps more than 16 KiB in memory.',
    default: '64m',
  }),
  limitRequestLine: int({
    flag: '--limit-request-line',
    env: 'CASK_LIMIT_REQUEST_LINE',
    section: 'Request limits',
    doc: 'Longest request line (method, target, version) in bytes; a longer one gets 414. 0 means no limit; at most 8190 (as gunicorn).',
    default: 4094,
    min: 0,
    max: 8190,
  }),
  limitRequestFields: int({
    flag: '--limit-request-fields',
    env: 'CASK_LIMIT_REQUEST_FIELDS',
    section: 'Request limits',
    doc: 'Most header fields a request may have; more gets 431. At most 32768 (as gunicorn).',
    default: 100,
    min: 1,
    max: 32768,
  }),
  limitRequestFieldSize: int({
    flag: '--limit-request-field-size',
    env: 'CASK_LIMIT_REQUEST_FIELD_SIZE',
    section: 'Request limits',
    doc: 'Largest header field (name and value) in bytes; a larger one gets 431. 0 means no limit (as gunicorn).',
    default: 8190,
    min: 0,
  }),
  // ── WebSocket ────────────────────────────────────────────────────────────
  wsPingInterval: seconds({
    flag: '--ws-ping-interval',
    env: 'CASK_WS_PING_INTERVAL',
    section: 'WebSocket',
    doc: 'How often the front pings each WebSocket (RFC 6455 §5.5.2), so that a client gone without a word is noticed and intermediaries see traffic. 0 never pings.',
    default: '20s',
  }),
  wsPingTimeout: seconds({
    flag: '--ws-ping-timeout',
    env: 'CASK_WS_PING_TIMEOUT',
    section: 'WebSocket',
    doc: 'How long the answer to a ping may take; past it the connection is dropped and the app gets `websocket.disconnect` with 1006.',
    default: '20s',
  }),
  wsIdleTimeout: seconds({
    flag: '--ws-idle-timeout',
    env: 'CASK_WS_IDLE_TIMEOUT',
    section: 'WebSocket',
    doc: 'A WebSocket with no message either way for this long is closed with 1001; pings do not count. The request `timeout` never applies to a WebSocket. 0 means no limit.',
    default: '0s',
  }),
  wsMaxMessageSize: bytes({
    flag: '--ws-max-message-size',
    env: 'CASK_WS_MAX_MESSAGE_SIZE',
    section: 'WebSocket',
    doc: 'Largest message a client may send, after decompression; a larger one closes the WebSocket with 1009. At most 16m, which a larger value means: a message crosses the worker link in one frame.',
    default: '16m',
  }),
  wsPerMessageDeflate: bool({
    flag: '--ws-per-message-deflate',
    env: 'CASK_WS_PER_MESSAGE_DEFLATE',
    section: 'WebSocket',
    doc: 'Agree to permessage-deflate (RFC 7692) with clients that offer it; messages of 1 KiB or more are then compressed. `--no-ws-per-message-deflate` saves the front the CPU and the zlib memory of each compressing connection.',
    default: true,
  }),

  // ── Server mechanics ─────────────────────────────────────────────────────
  pid: path({
    flag: '--pid',
    short: 'p',
    env: 'CASK_PID',
    section: 'Server mechanics',
    doc: "Write the front's process id to this file, removed at exit (as gunicorn). `cask reload` reads it to find the server.",
    default: null,
  }),
  daemon: bool({
    flag: '--daemon',
    short: 'D',
    env: 'CASK_DAEMON',
    section: 'Server mechanics',
    doc: "Run in the background, detached from the terminal, as gunicorn `-D` does: `cask` returns 0 once the server is ready, or the server's exit code if it stopped first. Its stdout and stderr are dropped unless they are files, so give `--error-log FILE`, and `--pid FILE` to find it (`cask reload`, `kill`).",
    default: false,
  }),
  hooks: string({
    flag: '--hooks',
    env: 'CASK_HOOKS',
    metavar: 'MODULE',
    section: 'Server mechanics',
    doc: "A Python module (`myproject.hooks`) or file (`gunicorn.conf.py`) whose functions named as gunicorn's server hooks run at the matching moment: `on_starting`, `when_ready`, `post_fork`, `post_worker_init`, `pre_request`, `post_request`, `worker_exit`, `worker_abort`, `child_exit`, `nworkers_changed`, `on_reload`, `on_exit` (docs/operations.md).",
    default: null,
  }),

  // ── Health ───────────────────────────────────────────────────────────────
  adminBind: list({
    flag: '--admin-bind',
    env: 'CASK_ADMIN_BIND',
    metavar: 'ADDRESS',
    section: 'Health',
    doc: 'Address of the admin listener, which answers `/healthz` (the front is alive) and `/readyz` (workers ready, not shutting down) itself, without touching Python. Same HTTP forms as `--bind`; repeat for several.',
    default: [],
    item: (raw, ctx) => parseHttpBind(raw, ctx.baseDir),
  }),
  adminToken: string({
    flag: '--admin-token',
    env: 'CASK_ADMIN_TOKEN',
    section: 'Health',
    doc: 'Bearer token for `/metrics`, `/stats` and `/dashboard` on the admin listener: every peer must send `Authorization: Bearer TOKEN` (or `?access_token=TOKEN`). Without one, only loopback and Unix socket peers may read them; `/healthz` and `/readyz` answer anyone either way. Prefer the env var: a flag shows in `ps`.',
    default: '',
    defaultDoc: 'none (loopback peers only)',
    validate: validateHeaderValue,
  }),
  healthzPath: string({
    flag: '--healthz-path',
    env: 'CASK_HEALTHZ_PATH',
    section: 'Health',
    doc: 'A path on the main listeners that the front answers as the admin listener answers `/healthz`, e.g. `/healthz`. Empty: none (the app gets it).',
    default: '',
    validate: validateProbePath,
  }),
  readyzPath: string({
    flag: '--readyz-path',
    env: 'CASK_READYZ_PATH',
    section: 'Health',
    doc: 'A path on the main listeners that the front answers as the admin listener answers `/readyz`, e.g. `/readyz`. Empty: none (the app gets it).',
    default: '',
    validate: validateProbePath,
  }),

  // ── Static files and compression ─────────────────────────────────────────
  static: list({
    flag: '--static',
    env: 'CASK_STATIC',
    metavar: 'PREFIX=DIR',
    section: 'Static files and compression',
    doc: 'Serve the files under DIR at the URL path PREFIX from the front, without Python: `--static /static=./staticfiles`. Repeat for several. In the config file, a table (`[static]` with `"/static" = "staticfiles"`) or an array of `PREFIX=DIR` strings. Under a PREFIX the front answers every GET and HEAD itself (404 for a missing file); a mount at `/` serves the files that exist and passes the rest to the app (docs/static.md).',
    default: [],
    item: checkMount,
    tableItem: (key, value) =>
      `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`,
  }),
  staticFollowSymlinks: bool({
    flag: '--static-follow-symlinks',
    env: 'CASK_STATIC_FOLLOW_SYMLINKS',
    section: 'Static files and compression',
    doc: 'Serve a file whose real path leaves its `--static` directory through a symlink. Without it such a file is a 404; symlinks that stay inside are always followed.',
    default: false,
  }),
  staticDotfiles: bool({
    flag: '--static-dotfiles',
    env: 'CASK_STATIC_DOTFILES',
    section: 'Static files and compression',
    doc: 'Serve files and directories whose name starts with `.` (`.well-known/`). Without it they are a 404, so a stray `.git/` or `.env` never leaks.',
    default: false,
  }),
  staticMaxAge: seconds({
    flag: '--static-max-age',
    env: 'CASK_STATIC_MAX_AGE',
    section: 'Static files and compression',
    doc: 'How long browsers and caches may keep a static file without asking again: `Cache-Control: public, max-age=N`. 0 sends `no-cache`: every use is revalidated, which costs a 304 thanks to the ETag.',
    default: '0s',
  }),
  staticCacheValid: seconds({
    flag: '--static-cache-valid',
    env: 'CASK_STATIC_CACHE_VALID',
    section: 'Static files and compression',
    doc: "How long the front trusts what it knows of a static file it holds open (up to 256 files: its descriptor, its validators, for a small file its bytes, which precompressed siblings exist) before it `stat`s the path again. A file edited, replaced or deleted is seen within this time, as with nginx's `open_file_cache_valid`. 0 checks on every request (one `stat` each).",
    default: '1s',
  }),
  staticImmutable: bool({
    flag: '--static-immutable',
    env: 'CASK_STATIC_IMMUTABLE',
    section: 'Static files and compression',
    doc: "Files whose name holds a content hash (`app.3f9a2c7e.js`, Django's `ManifestStaticFilesStorage`, bundlers' `[contenthash]`) get `Cache-Control: public, max-age=31536000, immutable`, whatever `static-max-age` says.",
    default: false,
  }),
  sendfileRoot: path({
    flag: '--sendfile-root',
    env: 'CASK_SENDFILE_ROOT',
    section: 'Static files and compression',
    doc: 'Let the app hand a file to the front with an `X-Sendfile: /path` or `X-Accel-Redirect: /uri` response header; the front sends the file (with conditional and Range requests) and the header never reaches the client. Only files inside this directory: any other path is a 500 and an error in the log. Without it those headers pass through untouched (for a proxy in front that handles them).',
    default: null,
    defaultDoc: 'none (the headers pass through)',
    validate: validateDirectory,
  }),
  compress: bool({
    flag: '--compress',
    env: 'CASK_COMPRESS',
    section: 'Static files and compression',
    doc: "Compress app responses with brotli or gzip, as the client's `Accept-Encoding` prefers, when their type is in `compress-types` and they are at least `compress-min-size`; streamed as they come, with `Vary: Accept-Encoding`. Never a range, a HEAD, a 204/206/304, an HTTP/1.0 client, a response with a `Content-Encoding` or with `Cache-Control: no-transform`, or an already compressed type.",
    default: false,
  }),
  compressMinSize: bytes({
    flag: '--compress-min-size',
    env: 'CASK_COMPRESS_MIN_SIZE',
    section: 'Static files and compression',
    doc: 'Smallest response `--compress` compresses, by its Content-Length (or its whole body when the app gives it at once); a streamed response of unknown length is compressed.',
    default: '1k',
  }),
  compressTypes: list({
    flag: '--compress-types',
    env: 'CASK_COMPRESS_TYPES',
    metavar: 'TYPE',
    section: 'Static files and compression',
    doc: 'Media types `--compress` compresses: `text/html`, a whole top-level type `text/*`, or a suffix `application/*+json`. Repeat for several. Images (but SVG), audio, video, fonts, archives and `text/event-stream` are never compressed.',
    default: DEFAULT_COMPRESS_TYPES,
    item: checkCompressType,
  }),

  // ── Logging ──────────────────────────────────────────────────────────────
  accessLog: path({
    flag: '--access-log',
    env: 'CASK_ACCESS_LOG',
    section: 'Logging',
    dash: true,
    doc: 'Where to write the access log: a file, or `-` for stdout.',
    default: null,
    defaultDoc: 'none (no access log)',
  }),
  accessLogFormat: string({
    flag: '--access-log-format',
    env: 'CASK_ACCESS_LOG_FORMAT',
    section: 'Logging',
    doc: 'Access log line format: Apache `combined` (with referer and user agent) or `common`; `dev`: a short line (time, status, method, target, size), colored when the output is a terminal and `NO_COLOR` is unset; `json`: one object per line; or a gunicorn format of `%(atom)s` atoms, e.g. `\'%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s\'` (docs/observability.md lists them; `%({x-request-id}i)s` is the request\'s id).',
    default: 'combined',
    validate: validateAccessFormat,
  }),
  logJson: bool({
    flag: '--log-json',
    env: 'CASK_LOG_JSON',
    section: 'Logging',
    doc: 'Write both logs as one JSON object per line: the error log as `{time, level, tag, message}`, the access log as with `--access-log-format json` (unless another format is given).',
    default: false,
  }),
  errorLog: path({
    flag: '--error-log',
    env: 'CASK_ERROR_LOG',
    section: 'Logging',
    dash: true,
    doc: 'Where to write the error log: a file, or `-` for stderr.',
    default: '-',
    defaultDoc: '`-` (stderr)',
  }),
  logLevel: choice({
    flag: '--log-level',
    env: 'CASK_LOG_LEVEL',
    section: 'Logging',
    doc: 'Least severe message the error log records.',
    choices: ['debug', 'info', 'warning', 'error', 'critical'],
    default: 'info',
  }),
  statsdHost: string({
    flag: '--statsd-host',
    env: 'CASK_STATSD_HOST',
    metavar: 'HOST:PORT',
    section: 'Logging',
    doc: "Send gunicorn's StatsD metrics (`gunicorn.requests`, `gunicorn.request.duration`, `gunicorn.request.status.<code>`, `gunicorn.workers`, `gunicorn.log.*`) to this UDP address, aggregated and sent once a second from the front (docs/observability.md#statsd). Empty: none.",
    default: '',
    defaultDoc: 'none',
    validate: (value) => {
      if (value !== '') parseStatsdHost(value);
    },
  }),
  statsdPrefix: string({
    flag: '--statsd-prefix',
    env: 'CASK_STATSD_PREFIX',
    section: 'Logging',
    doc: 'Put before every StatsD metric name, followed by a dot as gunicorn adds one: `--statsd-prefix myapp` sends `myapp.gunicorn.requests`.',
    default: '',
  }),

  // ── Development ──────────────────────────────────────────────────────────
  reload: bool({
    flag: '--reload',
    env: 'CASK_RELOAD',
    section: 'Development',
    doc: "Watch the app's source files and reload the workers when one changes: a new generation imports the new code and takes over once ready, so no request fails; code that does not import leaves the old workers serving (with `cask dev`, requests get an error page naming the error instead). The files are those of every module the app loaded from outside the standard library and the installed packages, plus `reload-include`, less `reload-exclude` (docs/development.md).",
    default: false,
  }),
  reloadInclude: list({
    flag: '--reload-include',
    env: 'CASK_RELOAD_INCLUDE',
    metavar: 'GLOB',
    section: 'Development',
    doc: 'More files whose changes reload the app, as globs relative to `chdir`: `*.html` (any folder), `templates/**`, `config/*.toml`. Repeat for several.',
    default: [],
    item: checkGlob,
  }),
  reloadExclude: list({
    flag: '--reload-exclude',
    env: 'CASK_RELOAD_EXCLUDE',
    metavar: 'GLOB',
    section: 'Development',
    doc: 'Files whose changes never reload the app, as globs relative to `chdir` (`migrations/**`, `*_test.py`); wins over `reload-include`. `.git`, `.venv`, `venv`, `node_modules`, `__pycache__`, `log` and `logs` folders are never watched.',
    default: [],
    item: checkGlob,
  }),
  reloadDelay: seconds({
    flag: '--reload-delay',
    env: 'CASK_RELOAD_DELAY',
    section: 'Development',
    doc: 'How long the files must stay unchanged before the reload starts, so that a save touching several files (a formatter, `git checkout`) reloads once.',
    default: '100ms',
  }),
  reloadBrowser: bool({
    flag: '--reload-browser',
    env: 'CASK_RELOAD_BROWSER',
    section: 'Development',
    doc: 'With `reload`: HTML pages get a small script that reloads the browser tab once the app has reloaded (Server-Sent Events from the front, at `/__cask__/events`), and again when broken code loads again. Not for pages whose Content-Security-Policy forbids same-origin scripts.',
    default: false,
  }),
  tls: choice({
    flag: '--tls',
    env: 'CASK_TLS',
    section: 'Development',
    doc: '`self-signed`: serve HTTPS on every TCP listener with a certificate for `localhost`, `127.0.0.1` and `::1`, made once with `openssl` and kept in `$XDG_CACHE_HOME/cask/tls-localhost/` (`~/.cache` by default) so that a browser told to trust it keeps trusting it (docs/development.md says how). Not with `--certfile`.',
    choices: ['off', 'self-signed'],
    default: 'off',
  }),
  open: bool({
    flag: '--open',
    env: 'CASK_OPEN',
    section: 'Development',
    doc: "Open the server's first address in a browser once it listens: `$BROWSER` when set, else `xdg-open` (Linux), `open` (macOS) or `start` (Windows).",
    default: false,
  }),
  devAllowedHosts: list({
    flag: '--dev-allowed-hosts',
    env: 'CASK_DEV_ALLOWED_HOSTS',
    metavar: 'HOST',
    section: 'Development',
    doc: '`cask dev` only: more `Host` names (without port) whose requests, from any client, are shown the error page with source and local variables. Without it, only requests for `localhost`, `127.0.0.1` or `[::1]` from a loopback address see it; every other request gets a plain 500.',
    default: [],
    item: checkHostName,
  }),

  slowRequest: seconds({
    flag: '--slow-request',
    env: 'CASK_SLOW_REQUEST',
    section: 'Logging',
    doc: 'A request still running after this long is logged once, as a warning, with the Python stack of the thread running it (taken inside the worker); it is not stopped. 0 means never.',
    default: '0s',
  }),

  // ── Config file ──────────────────────────────────────────────────────────
  config: path({
    flag: '--config',
    short: 'c',
    env: 'CASK_CONFIG',
    inFile: false,
    section: 'Config file',
    doc: 'The one config file to read instead of looking for them: a `cask.toml`, a `pyproject.toml` (read from its `[tool.cask]` table), or a gunicorn config file (`gunicorn.conf.py`, any `.py` file, `python:MODULE` or `file:PATH`), which is run with `python` as gunicorn runs it and whose settings and hooks are taken as docs/compat.md says.',
    default: null,
    defaultDoc:
      '`./gunicorn.conf.py` if present, and `./cask.toml` if present, else `./pyproject.toml` if it has `[tool.cask]`',
  }),
  uwsgiIni: path({
    flag: '--uwsgi-ini',
    env: 'CASK_UWSGI_INI',
    inFile: false,
    section: 'Config file',
    doc: "A uWSGI ini file to read settings from (`uwsgi.ini`, or `uwsgi.ini:SECTION` for another section than `[uwsgi]`): its common options (`module`, `http-socket`, `processes`, `threads`, `harakiri`, `static-map`, …) map to Cask's as docs/compat.md says, and the options Cask does not read are named in a warning at start. Between the environment and `cask.toml`, in place of `./gunicorn.conf.py`.",
    default: null,
  }),
  printConfig: bool({
    flag: '--print-config',
    env: 'CASK_PRINT_CONFIG',
    inFile: false,
    section: 'Config file',
    doc: 'Print the resolved settings as a cask.toml and exit (as gunicorn does).',
    default: false,
  }),
});

export type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings & string;

/**
 * The validated, deeply frozen settings. Units: `seconds` options are numbers of seconds
 * (fractions allowed; 0 = no limit where the doc says so), `bytes` options whole bytes; paths are
 * absolute except `python` given as a bare command name and `-` for the logs. `config` is the
 * file that was read (absolute), or null when there was none.
 */
export type Config = { readonly [K in SettingKey]: ValueOf<Settings[K]> };

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/**
 * Earlier or gunicorn spellings, so `--access-logfile` gets "did you mean --access-log?". Keyed
 * by the kebab-case name without dashes in front.
 */
export const RENAMED: Readonly<Record<string, SettingKey>> = {
  'access-logfile': 'accessLog',
  'access-logformat': 'accessLogFormat',
  'error-logfile': 'errorLog',
  'log-file': 'errorLog',
  keepalive: 'keepAlive',
  pidfile: 'pid',
  harakiri: 'timeout',
  'max-worker-lifetime': 'maxLifetime',
  'reload-on-rss': 'maxRss',
};

/**
 * `CASK_*` variables that are not options and must not trip the unknown-variable check. Both are
 * namespaces of our own tooling that reach a `cask serve` process through its environment:
 * - `CASK_TEST_` — the test harness (`CASK_TEST_VERBOSE`, `CASK_TEST_PYTHON`); test/helpers
 *   starts servers with the runner's environment.
 * - `CASK_BENCH_` — the benchmark lab's app wrapper (`CASK_BENCH_APP`, `CASK_BENCH_APP_DIR`,
 *   `CASK_BENCH_INSIDE_DIR`, read by bench/apps/_entry.py inside the workers).
 * - `CASK_PROCESS_` — what a Cask process tells the one it starts: on SIGUSR2 its listeners and
 *   pid, for `--daemon` that it must report when ready (src/process/origin.ts), to a front of
 *   `--fronts N` which one it is (src/fronts/child.ts).
 * No option's env var may start with one of these (a test checks it).
 */
export const INTERNAL_ENV_PREFIXES: readonly string[] = [
  'CASK_TEST_',
  'CASK_BENCH_',
  'CASK_PROCESS_',
];

/**
 * Where `cask dev` starts from other defaults than `cask serve`: one worker with threads (a
 * debugger-friendly single process that still serves a page and its assets at once), the
 * short access log on stdout, reloading on changes, and a short drain so that an old worker
 * holding a stream does not linger for the production 30 s after a reload or Ctrl-C.
 * Written as in the table and parsed by the same code when this module loads. Anything the
 * user sets (flag, env, file) wins over these, as over the table's defaults.
 */
export const DEV_DEFAULTS = profile({
  workers: 1,
  threads: 8,
  accessLog: '-',
  accessLogFormat: 'dev',
  reload: true,
  gracefulTimeout: '3s',
  // An edited stylesheet is served fresh at the next request, not up to a second later.
  staticCacheValid: '0s',
});

export interface ProfileDefault {
  /** The default as written above, for the docs. */
  readonly doc: string;
  readonly value: unknown;
}

function profile(
  written: Partial<Record<SettingKey, string | number | boolean>>,
): ReadonlyMap<SettingKey, ProfileDefault> {
  const out = new Map<SettingKey, ProfileDefault>();
  for (const [key, raw] of Object.entries(written) as [SettingKey, string | number | boolean][]) {
    const setting: AnySetting = SETTINGS[key];
    out.set(key, { doc: String(raw), value: setting.fromToml(raw, { baseDir: '/' }) });
  }
  return out;
}
