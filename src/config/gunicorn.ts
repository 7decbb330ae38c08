// Private to src/config: every gunicorn setting (gunicorn/config.py, versions 20 to 23), and
// what Cask does with it when a gunicorn config file (`-c gunicorn.conf.py`), a gunicorn flag
// or GUNICORN_CMD_ARGS gives it. The rules are in foreign.ts; docs/compat.md is rendered from
// these rows.

import { basename } from 'node:path';
import {
  NOTHING,
  commaList,
  truthy,
  type Assignments,
  type ForeignSetting,
  type Outcome,
  type Status,
  type TranslateContext,
} from './foreign.js';
import { SETTING_KEYS, type SettingKey } from './schema.js';

/** The worker-side and master-side hooks Cask runs (python/cask_worker/hooks.py). */
export const GUNICORN_HOOKS = [
  'on_starting',
  'on_reload',
  'when_ready',
  'post_fork',
  'post_worker_init',
  'pre_request',
  'post_request',
  'child_exit',
  'worker_exit',
  'worker_abort',
  'nworkers_changed',
  'on_exit',
] as const;

interface Spec {
  readonly flags?: readonly string[];
  /** A switch: the flag takes no value. */
  readonly switch?: boolean;
  readonly switchValue?: unknown;
}

function row(
  name: string,
  status: Status,
  doc: string,
  translate: (value: unknown, ctx: TranslateContext) => Outcome,
  spec: Spec = {},
): ForeignSetting {
  return {
    name,
    flags: spec.flags ?? [],
    takesValue: spec.switch !== true,
    ...(spec.switchValue === undefined ? {} : { switchValue: spec.switchValue }),
    section: '',
    status,
    doc,
    translate,
  };
}

const isNone = (value: unknown): boolean => value === null || value === undefined;

/** Honoured as it is: the value goes to the Cask setting `key`, whose parser checks it. */
function same(name: string, key: SettingKey, doc: string, spec: Spec = {}): ForeignSetting {
  return row(
    name,
    'honoured',
    doc,
    (value) => (isNone(value) ? NOTHING : { set: { [key]: value } }),
    spec,
  );
}

/** Given its default (or nothing), a row that Cask ignores or refuses is nothing at all. */
function unless(
  name: string,
  status: 'ignored' | 'refused',
  isDefault: (value: unknown) => boolean,
  why: string,
  spec: Spec = {},
): ForeignSetting {
  return row(
    name,
    status,
    `${status === 'refused' ? 'Refused' : 'Ignored, with a warning'}: ${why}.`,
    (value) =>
      isNone(value) || isDefault(value)
        ? NOTHING
        : status === 'refused'
          ? { refuse: why }
          : { ignore: why },
    spec,
  );
}

const isFalse = (value: unknown): boolean => !truthy(value);

/**
 * A umask as Cask writes it (`0o007`), from gunicorn's forms: a number from a config file (Python
 * reads `0o007` as 7), or text as gunicorn's `auto_int` reads it (`007` octal, `0o7`, `0x7`, `7`).
 */
function octal(value: unknown): string {
  const text = String(value).trim();
  const n =
    typeof value === 'number'
      ? value
      : /^0\d/.test(text)
        ? parseInt(text, 8)
        : /^0[ox]/i.test(text)
          ? parseInt(text.slice(2), text[1]?.toLowerCase() === 'o' ? 8 : 16)
          : Number(text);
  return Number.isInteger(n) && n >= 0 ? `0o${n.toString(8).padStart(3, '0')}` : text;
}
const equals =
  (...defaults: unknown[]) =>
  (value: unknown): boolean =>
    defaults.some((d) => String(d).toLowerCase() === String(value).toLowerCase());

/** gunicorn's address forms that Cask writes otherwise: `:8000` and a host without a port. */
function bindOf(raw: string): string | { refuse: string } {
  const text = raw.trim();
  if (text.startsWith('fd://')) {
    return {
      refuse:
        'Cask cannot listen on an inherited file descriptor yet: give the address itself (-b HOST:PORT or unix:PATH)',
    };
  }
  if (text.startsWith('unix:') || text.startsWith('tcp://')) return text.replace(/^tcp:\/\//, '');
  // gunicorn reads `:8000` as every interface, and a host alone as port 8000.
  if (text.startsWith(':')) return `0.0.0.0${text}`;
  if (text.startsWith('[')) return text.includes(']:') ? text : `${text}:8000`;
  return text.includes(':') ? text : `${text}:8000`;
}

function bind(value: unknown): Outcome {
  if (isNone(value)) return NOTHING;
  const out: string[] = [];
  for (const item of Array.isArray(value) ? value : [value]) {
    const address = bindOf(String(item));
    if (typeof address !== 'string') return address;
    out.push(address);
  }
  return { set: { bind: out } };
}

const WORKER_CLASSES: Readonly<Record<string, string>> = {
  gevent:
    'Cask has no gevent worker yet: its front holds slow and idle connections itself, so a Python thread is busy only while the app runs; for an I/O-bound app, use more threads (--threads 32)',
  eventlet: 'Cask has no eventlet worker: for an I/O-bound app, use more threads (--threads 32)',
  tornado:
    'Cask has no tornado worker: it runs WSGI apps with threads (--threads N) and ASGI apps on an asyncio loop (--interface asgi)',
};

/**
 * Cask's own `worker-class`, when this build has it (the row that brings Cask's gevent
 * worker); until then gthread is the only kind of WSGI worker, and gevent is refused.
 */
const WORKER_CLASS = SETTING_KEYS.find((key) => (key as string) === 'workerClass');

function workerClass(value: unknown): Outcome {
  if (isNone(value)) return NOTHING;
  const raw =
    typeof value === 'object' && value !== null && '$callable' in value
      ? String((value as { $callable: unknown }).$callable)
      : String(value);
  const name = raw.replace(/^egg:gunicorn#/, '').trim();
  // gunicorn's sync worker with threads > 1 is gthread; Cask's threaded workers are that.
  if (
    /^(sync|gthread)$/i.test(name) ||
    /^gunicorn\.workers\.(sync\.SyncWorker|gthread\.ThreadWorker)$/.test(name)
  ) {
    return WORKER_CLASS === undefined ? NOTHING : { set: { [WORKER_CLASS]: 'gthread' } };
  }
  if (/^(gevent|gevent_wsgi|gevent_pywsgi)$/i.test(name) || /ggevent/.test(name)) {
    return WORKER_CLASS === undefined
      ? { refuse: WORKER_CLASSES['gevent'] as string }
      : { set: { [WORKER_CLASS]: 'gevent' } };
  }
  if (/^eventlet$/i.test(name) || /geventlet/.test(name))
    return { refuse: WORKER_CLASSES['eventlet'] as string };
  if (/^tornado$/i.test(name) || /gtornado/.test(name))
    return { refuse: WORKER_CLASSES['tornado'] as string };
  // uvicorn's gunicorn workers run an ASGI app; so do Cask's with --interface asgi.
  if (
    /^uvicorn(_worker)?\.workers?\.Uvicorn(H11)?Worker$|^uvicorn_worker\.Uvicorn(H11)?Worker$/.test(
      name,
    )
  ) {
    return { set: { interface: 'asgi' } };
  }
  return {
    refuse:
      'a custom worker class cannot run in Cask: its workers run a WSGI app with threads (--threads N) or an ASGI app on an asyncio loop (--interface asgi)',
  };
}

const CERT_REQS = ['none', 'optional', 'required'];

const GUNICORN_SECURE_SCHEME_HEADERS = {
  'X-FORWARDED-PROTOCOL': 'ssl',
  'X-FORWARDED-PROTO': 'https',
  'X-FORWARDED-SSL': 'on',
};

function secureSchemeHeaders(value: unknown): Outcome {
  if (isNone(value)) return NOTHING;
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { refuse: 'it is not a dictionary of header names and values' };
  }
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([k, v]) => [k.toUpperCase(), String(v)] as const,
  );
  const isDefault =
    entries.length === 3 &&
    entries.every(
      ([k, v]) =>
        GUNICORN_SECURE_SCHEME_HEADERS[k as keyof typeof GUNICORN_SECURE_SCHEME_HEADERS] === v,
    );
  const protoOnly =
    entries.length === 1 && entries[0]?.[0] === 'X-FORWARDED-PROTO' && entries[0][1] === 'https';
  if (isDefault || protoOnly) return NOTHING;
  return {
    refuse:
      'Cask takes the scheme from X-Forwarded-Proto (http or https) or Forwarded proto=, and only from forwarded-allow-ips peers; set your proxy to send X-Forwarded-Proto',
  };
}

function proxyAllowIps(value: unknown, ctx: TranslateContext): Outcome {
  if (isNone(value) || !truthy(ctx.other('proxy_protocol'))) return NOTHING;
  const trusted = ctx.other('forwarded_allow_ips');
  const list = trusted === undefined ? ['127.0.0.1', '::1'] : commaList(trusted);
  const missing = commaList(value).filter((ip) => !list.includes(ip) && !list.includes('*'));
  if (missing.length === 0) return NOTHING;
  return {
    refuse: `Cask trusts one list of proxies, forwarded-allow-ips, for the PROXY header and for X-Forwarded-*: add ${missing.join(', ')} there`,
  };
}

function reloadExtraFiles(value: unknown, ctx: TranslateContext): Outcome {
  if (isNone(value)) return NOTHING;
  const base = `${ctx.baseDir.replace(/\/$/, '')}/`;
  const globs: string[] = [];
  for (const item of Array.isArray(value) ? value.map(String) : [String(value)]) {
    if (item.startsWith('/') && !item.startsWith(base)) {
      return {
        refuse: `Cask watches files under chdir (${ctx.baseDir}) only; ${item} is outside it`,
      };
    }
    globs.push(item.startsWith(base) ? item.slice(base.length) : item);
  }
  return { set: { reloadInclude: globs } };
}

/** The Cask settings a hook makes Cask run the file as a hooks module with. */
function hook(value: unknown, ctx: TranslateContext): Outcome {
  if (isNone(value)) return NOTHING;
  const spec = ctx.other('$hooks');
  return typeof spec === 'string' ? { set: { hooks: spec } } : NOTHING;
}

/** Rows under one of gunicorn's headings. */
function inSection(name: string, rows: readonly ForeignSetting[]): ForeignSetting[] {
  return rows.map((setting) => ({ ...setting, section: name }));
}

function assign(key: SettingKey, convert: (value: unknown) => unknown) {
  return (value: unknown): Outcome =>
    isNone(value) ? NOTHING : { set: { [key]: convert(value) } as Assignments };
}

const CONFIG_FILE = inSection('Config File', [
  row(
    'config',
    'honoured',
    '`-c FILE.py`, `-c python:MODULE` or `-c file:PATH` reads a gunicorn config file; without `-c`, `./gunicorn.conf.py` is read when present. In a config file it does nothing (as in gunicorn), with a warning.',
    () => ({ ignore: 'it only has an effect on the command line' }),
    { flags: ['-c', '--config'] },
  ),
  same('wsgi_app', 'app', 'The app, as `app`.'),
]);

const SERVER_SOCKET = inSection('Server Socket', [
  row(
    'bind',
    'honoured',
    'As `bind`; `:8000` means every interface and a host alone means port 8000, as in gunicorn. `fd://N` is refused. `$PORT` is not read: write `-b 0.0.0.0:$PORT`.',
    bind,
    { flags: ['-b', '--bind'] },
  ),
  same('backlog', 'backlog', 'As `backlog`.', { flags: ['--backlog'] }),
]);

const WORKER_PROCESSES = inSection('Worker Processes', [
  same('workers', 'workers', 'As `workers`.', { flags: ['-w', '--workers'] }),
  row(
    'worker_class',
    'mapped',
    "`sync` and `gthread` (and their class paths) are Cask's threaded workers: `threads` says how many threads, 1 by default (gunicorn's sync worker with `threads` above 1 is gthread too). uvicorn's `UvicornWorker` is `interface = asgi`. `gevent` is Cask's gevent worker (`worker-class`) in a build that has one, and refused in one that has not. `eventlet`, `tornado` and custom classes are refused, saying what to use instead.",
    workerClass,
    { flags: ['-k', '--worker-class'] },
  ),
  same('threads', 'threads', 'As `threads`.', { flags: ['--threads'] }),
  same(
    'worker_connections',
    'workerConnections',
    "As `worker-connections`: how many requests one ASGI worker runs at once. A WSGI worker runs `threads` at once, as gunicorn's gthread does; the front holds every idle connection itself, up to `max-connections`.",
    { flags: ['--worker-connections'] },
  ),
  same(
    'max_requests',
    'maxRequests',
    'As `max-requests`; the replacement is ready before the old worker stops.',
    {
      flags: ['--max-requests'],
    },
  ),
  same('max_requests_jitter', 'maxRequestsJitter', 'As `max-requests-jitter`.', {
    flags: ['--max-requests-jitter'],
  }),
  same(
    'timeout',
    'timeout',
    'As `timeout`, for each request rather than each worker: a slow request gets 504 and is stopped in its thread, its worker serves on.',
    { flags: ['-t', '--timeout'] },
  ),
  same('graceful_timeout', 'gracefulTimeout', 'As `graceful-timeout`.', {
    flags: ['--graceful-timeout'],
  }),
  same('keepalive', 'keepAlive', "As `keep-alive` (gunicorn's default is 2 s, Cask's 5 s).", {
    flags: ['--keep-alive'],
  }),
]);

const SECURITY = inSection('Security', [
  same('limit_request_line', 'limitRequestLine', 'As `limit-request-line`.', {
    flags: ['--limit-request-line'],
  }),
  same('limit_request_fields', 'limitRequestFields', 'As `limit-request-fields`.', {
    flags: ['--limit-request-fields'],
  }),
  same('limit_request_field_size', 'limitRequestFieldSize', 'As `limit-request-field-size`.', {
    flags: ['--limit-request-field_size', '--limit-request-field-size'],
  }),
]);

const DEBUGGING = inSection('Debugging', [
  same('reload', 'reload', 'As `reload`: a new generation of workers takes over once it imports.', {
    flags: ['--reload'],
    switch: true,
  }),
  unless(
    'reload_engine',
    'ignored',
    equals('auto'),
    "Cask watches files with the operating system's file events (inotify on Linux) and chooses no engine",
    { flags: ['--reload-engine'] },
  ),
  row(
    'reload_extra_files',
    'mapped',
    'To `reload-include`, as paths relative to `chdir`; a file outside `chdir` is refused.',
    reloadExtraFiles,
    { flags: ['--reload-extra-file'] },
  ),
  unless(
    'spew',
    'ignored',
    isFalse,
    'Cask does not trace every line; use a debugger, or `python -X importtime` for slow imports',
    { flags: ['--spew'], switch: true },
  ),
  row(
    'check_config',
    'mapped',
    'To `print-config`: the settings are checked, printed, and `cask` exits 0 (2 when one is invalid).',
    (value) => (truthy(value) ? { set: { printConfig: true } } : NOTHING),
    { flags: ['--check-config'], switch: true },
  ),
  row(
    'print_config',
    'honoured',
    'As `print-config`.',
    (value) => (truthy(value) ? { set: { printConfig: true } } : NOTHING),
    { flags: ['--print-config'], switch: true },
  ),
]);

const SERVER_MECHANICS = inSection('Server Mechanics', [
  same('preload_app', 'preload', 'As `preload`.', { flags: ['--preload'], switch: true }),
  unless(
    'sendfile',
    'ignored',
    (value) => value !== false && value !== 'false',
    'the front sends files itself, without sendfile(2)',
    { flags: ['--no-sendfile'], switch: true, switchValue: false },
  ),
  unless(
    'reuse_port',
    'ignored',
    isFalse,
    'Node 20 cannot set SO_REUSEPORT; Cask hands its listening sockets to the new server on SIGUSR2 instead',
    { flags: ['--reuse-port'], switch: true },
  ),
  same('chdir', 'chdir', 'As `chdir`.', { flags: ['--chdir'] }),
  same(
    'daemon',
    'daemon',
    'As `daemon`: `cask` returns once the server in the background is ready.',
    {
      flags: ['-D', '--daemon'],
      switch: true,
    },
  ),
  row(
    'raw_env',
    'honoured',
    'As `env`: each `NAME=VALUE` is set for the workers and the hooks.',
    assign('env', (value) => (Array.isArray(value) ? value : [value])),
    { flags: ['-e', '--env'] },
  ),
  same('pidfile', 'pid', 'As `pid`.', { flags: ['-p', '--pid'] }),
  unless(
    'worker_tmp_dir',
    'ignored',
    () => false,
    "Cask's workers have no heartbeat file: the front watches them over their link",
    { flags: ['--worker-tmp-dir'] },
  ),
  row(
    'user',
    'honoured',
    'As `user`: started as root, Cask binds, gives its Unix sockets this owner, then the front and its workers run as this user (a name or uid).',
    (value) => (isNone(value) ? NOTHING : { set: { user: String(value) } }),
    { flags: ['-u', '--user'] },
  ),
  row(
    'group',
    'honoured',
    "As `group` (a name or gid); without it, Cask takes the user's own group where gunicorn keeps root's.",
    (value) => (isNone(value) ? NOTHING : { set: { group: String(value) } }),
    { flags: ['-g', '--group'] },
  ),
  row(
    'umask',
    'honoured',
    "As `umask` (an octal number; gunicorn's `0o007`, `007` and `7` all mean 007).",
    (value) => (isNone(value) ? NOTHING : { set: { umask: octal(value) } }),
    { flags: ['-m', '--umask'] },
  ),
  row(
    'initgroups',
    'honoured',
    "Always on: switching to `user`, Cask gives the processes that user's groups (initgroups(3)) and never keeps root's.",
    () => NOTHING,
    { flags: ['--initgroups'], switch: true },
  ),
  unless(
    'tmp_upload_dir',
    'ignored',
    () => false,
    'request bodies above body-memory-limit are spooled by the front to $TMPDIR: set TMPDIR to move them',
  ),
  row(
    'secure_scheme_headers',
    'honoured',
    'Honoured when it is gunicorn\'s default or `{"X-FORWARDED-PROTO": "https"}`: Cask takes the scheme from `X-Forwarded-Proto` or `Forwarded` sent by a `forwarded-allow-ips` peer (gunicorn\'s default also trusts `X-Forwarded-Protocol: ssl` and `X-Forwarded-Ssl: on`, which Cask does not). Any other value is refused.',
    secureSchemeHeaders,
  ),
  row(
    'forwarded_allow_ips',
    'honoured',
    'As `forwarded-allow-ips` (a list, or a comma-separated string).',
    assign('forwardedAllowIps', commaList),
    { flags: ['--forwarded-allow-ips'] },
  ),
  row(
    'pythonpath',
    'honoured',
    'As `pythonpath` (a comma-separated string).',
    assign('pythonpath', commaList),
    { flags: ['--pythonpath'] },
  ),
  unless(
    'paste',
    'refused',
    () => false,
    'Cask loads a WSGI callable: write a module that calls paste.deploy.loadapp("config:/path/production.ini") and serve it as module:application',
    { flags: ['--paste', '--paster'] },
  ),
  same('proxy_protocol', 'proxyProtocol', 'As `proxy-protocol`.', {
    flags: ['--proxy-protocol'],
    switch: true,
  }),
  row(
    'proxy_allow_ips',
    'mapped',
    'Cask trusts one list, `forwarded-allow-ips`, for the PROXY header too: with `proxy_protocol`, an address here that is not in it is refused, saying so.',
    proxyAllowIps,
    { flags: ['--proxy-allow-from'] },
  ),
  unless(
    'raw_paste_global_conf',
    'refused',
    (value) => Array.isArray(value) && value.length === 0,
    'Cask does not load PasteDeploy files: pass the values to paste.deploy.loadapp in your own module',
    { flags: ['--paste-global'] },
  ),
  unless(
    'strip_header_spaces',
    'refused',
    isFalse,
    'Cask refuses a header with whitespace before its colon (400), as RFC 9112 section 5.1 requires; stripping it is a request-smuggling shape',
    { flags: ['--strip-header-spaces'], switch: true },
  ),
  row(
    'permit_unconventional_http_method',
    'honoured',
    'Cask accepts any method that is an RFC 9110 token, as this setting asks.',
    () => NOTHING,
    { flags: ['--permit-unconventional-http-method'], switch: true },
  ),
  unless(
    'permit_unconventional_http_version',
    'refused',
    isFalse,
    'Cask answers HTTP/1.0 and HTTP/1.1 only (505 for other versions)',
    { flags: ['--permit-unconventional-http-version'], switch: true },
  ),
  unless(
    'casefold_http_method',
    'refused',
    isFalse,
    'Cask passes the method as the client sent it: methods are case-sensitive (RFC 9110 section 9.1)',
    { flags: ['--casefold-http-method'], switch: true },
  ),
  unless(
    'header_map',
    'refused',
    equals('drop'),
    'Cask drops a header whose name has an underscore (gunicorn\'s "drop"): X_User cannot pose as X-User',
    { flags: ['--header-map'] },
  ),
  unless(
    'forwarder_headers',
    'refused',
    (value) => commaList(value).join(',').toUpperCase() === 'SCRIPT_NAME,PATH_INFO',
    'Cask takes SCRIPT_NAME from --root-path (or from a uwsgi, SCGI or FastCGI web server), never from a request header',
    { flags: ['--forwarder-headers'] },
  ),
  unless(
    'permit_obsolete_folding',
    'refused',
    isFalse,
    'Cask refuses obsolete line folding (400), as RFC 9112 section 5.2 allows: a proxy that does not unfold would see other headers',
    { flags: ['--permit-obsolete-folding'], switch: true },
  ),
  unless(
    'tolerate_dangerous_framing',
    'refused',
    isFalse,
    'Cask refuses ambiguous framing (Content-Length with Transfer-Encoding, and the like) with 400: docs/security.md',
    { flags: ['--tolerate-dangerous-framing'], switch: true },
  ),
]);

const LOGGING = inSection('Logging', [
  same('accesslog', 'accessLog', 'As `access-log`.', { flags: ['--access-logfile'] }),
  unless('disable_redirect_access_to_syslog', 'ignored', isFalse, 'Cask has no syslog output', {
    flags: ['--disable-redirect-access-to-syslog'],
    switch: true,
  }),
  same('access_log_format', 'accessLogFormat', "As `access-log-format`, with gunicorn's atoms.", {
    flags: ['--access-logformat'],
  }),
  same('errorlog', 'errorLog', 'As `error-log`.', { flags: ['--error-logfile', '--log-file'] }),
  row(
    'loglevel',
    'honoured',
    'As `log-level`.',
    assign('logLevel', (value) => String(value).toLowerCase()),
    { flags: ['--log-level'] },
  ),
  row(
    'capture_output',
    'honoured',
    'Always on: whatever the app prints lands in the error log, tagged with its worker.',
    () => NOTHING,
    { flags: ['--capture-output'], switch: true },
  ),
  unless(
    'logger_class',
    'ignored',
    equals('gunicorn.glogging.Logger', 'simple'),
    "Cask's logs are written by its front: --log-json gives JSON lines, --access-log-format the access line",
    { flags: ['--logger-class'] },
  ),
  unless(
    'logconfig',
    'ignored',
    () => false,
    "Cask's own logs are set by --error-log, --log-level and --log-json; configure the app's logging in the app",
    { flags: ['--log-config'] },
  ),
  unless(
    'logconfig_dict',
    'ignored',
    (value) => typeof value === 'object' && value !== null && Object.keys(value).length === 0,
    "Cask's own logs are set by --error-log, --log-level and --log-json; configure the app's logging in the app (logging.config.dictConfig in its module)",
  ),
  unless(
    'logconfig_json',
    'ignored',
    () => false,
    "Cask's own logs are set by --error-log, --log-level and --log-json; configure the app's logging in the app",
    { flags: ['--log-config-json'] },
  ),
  row('syslog_addr', 'ignored', 'Used only with `syslog`, which is refused.', () => NOTHING, {
    flags: ['--log-syslog-to'],
  }),
  unless(
    'syslog',
    'refused',
    isFalse,
    'Cask has no syslog output: its error log goes to stderr (the journal, under systemd) or --error-log FILE',
    { flags: ['--log-syslog'], switch: true },
  ),
  row('syslog_prefix', 'ignored', 'Used only with `syslog`, which is refused.', () => NOTHING, {
    flags: ['--log-syslog-prefix'],
  }),
  row('syslog_facility', 'ignored', 'Used only with `syslog`, which is refused.', () => NOTHING, {
    flags: ['--log-syslog-facility'],
  }),
  unless(
    'enable_stdio_inheritance',
    'ignored',
    isFalse,
    'with --daemon, Cask keeps stdout and stderr when they are files (2>>cask.log) and drops a terminal or a pipe',
    { flags: ['-R', '--enable-stdio-inheritance'], switch: true },
  ),
  row(
    'statsd_host',
    'honoured',
    "As `statsd-host`, with gunicorn's metric names; a `unix:` socket is refused (Node has no Unix datagram sockets).",
    (value) =>
      isNone(value)
        ? NOTHING
        : String(value).startsWith('unix:')
          ? {
              refuse:
                'Cask sends StatsD over UDP only (Node has no Unix datagram sockets): give HOST:PORT',
            }
          : { set: { statsdHost: value } },
    { flags: ['--statsd-host'] },
  ),
  unless(
    'dogstatsd_tags',
    'ignored',
    equals(''),
    'Cask sends plain StatsD without DogStatsD tags',
    { flags: ['--dogstatsd-tags'] },
  ),
  same('statsd_prefix', 'statsdPrefix', 'As `statsd-prefix`.', { flags: ['--statsd-prefix'] }),
]);

const PROCESS_NAMING = inSection('Process Naming', [
  unless(
    'proc_name',
    'ignored',
    () => false,
    'Cask does not rename its processes: ps shows the front as node … cask serve and the workers as python -m cask_worker',
    { flags: ['-n', '--name'] },
  ),
  unless('default_proc_name', 'ignored', equals('gunicorn'), 'an internal gunicorn setting'),
]);

const SERVER_HOOKS = inSection('Server Hooks', [
  ...GUNICORN_HOOKS.map((name) =>
    row(
      name,
      'honoured',
      'Run at the same moment, with the same arguments (docs/operations.md#hooks).',
      hook,
    ),
  ),
  unless(
    'pre_fork',
    'ignored',
    () => false,
    "Cask's workers are not forked from the front (with --preload, from a zygote that imported the app); post_fork runs in each worker as it starts",
  ),
  unless(
    'worker_int',
    'ignored',
    () => false,
    "Cask's workers ignore SIGINT (the front decides); worker_exit runs as they stop",
  ),
  unless(
    'ssl_context',
    'refused',
    () => false,
    "Cask's TLS is set by --certfile, --keyfile, --ca-certs, --cert-reqs, --ciphers and --tls-min-version (docs/tls-http2.md)",
  ),
]);

const SSL = inSection('SSL', [
  same('keyfile', 'keyfile', 'As `keyfile`.', { flags: ['--keyfile'] }),
  same('certfile', 'certfile', 'As `certfile`.', { flags: ['--certfile'] }),
  unless(
    'ssl_version',
    'ignored',
    equals(2, 'TLS', 'SSLv23', 'TLS_SERVER', 17),
    'gunicorn 21 and later ignore it too; the oldest TLS version accepted is --tls-min-version',
    { flags: ['--ssl-version'] },
  ),
  row(
    'cert_reqs',
    'mapped',
    'To `cert-reqs`: 0 is `none`, 1 `optional`, 2 `required`.',
    (value) => {
      if (isNone(value)) return NOTHING;
      const word = CERT_REQS[Number(value)];
      return { set: { certReqs: word ?? value } };
    },
    { flags: ['--cert-reqs'] },
  ),
  same('ca_certs', 'caCerts', 'As `ca-certs`.', { flags: ['--ca-certs'] }),
  unless(
    'suppress_ragged_eofs',
    'ignored',
    truthy,
    "a TLS client that closes without close_notify is treated as gone, as with gunicorn's default",
    { flags: ['--suppress-ragged-eofs'], switch: true },
  ),
  unless(
    'do_handshake_on_connect',
    'ignored',
    isFalse,
    'the TLS handshake always completes before the first request is read',
    { flags: ['--do-handshake-on-connect'], switch: true },
  ),
  same('ciphers', 'ciphers', 'As `ciphers`.', { flags: ['--ciphers'] }),
]);

/** Every gunicorn setting, in gunicorn's order, by name. */
export const GUNICORN_SETTINGS: ReadonlyMap<string, ForeignSetting> = new Map(
  [
    ...CONFIG_FILE,
    ...SERVER_SOCKET,
    ...WORKER_PROCESSES,
    ...SECURITY,
    ...DEBUGGING,
    ...SERVER_MECHANICS,
    ...LOGGING,
    ...PROCESS_NAMING,
    ...SERVER_HOOKS,
    ...SSL,
  ].map((setting) => [setting.name, setting]),
);

/** How messages name a gunicorn config file: `gunicorn.conf.py`, `python:deploy.conf`. */
export function gunicornLabel(file: string | null, module: string | null): string {
  return file !== null ? basename(file) : `python:${module ?? ''}`;
}
