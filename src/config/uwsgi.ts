// Private to src/config: a uWSGI ini file (`--uwsgi-ini uwsgi.ini`) as a source of settings.
// The common options of its [uwsgi] section map to Cask's as the rows below say; every option
// Cask does not read is named in one warning at start, so nothing is skipped in silence.
// uWSGI's ini syntax, as far as it is read here (uWSGI docs, "Configuration"):
//
//   [uwsgi]                       the section read (`FILE:other` reads [other])
//   key = value                   repeated keys add values (env, static-map, http-socket …)
//   ; or # at a line's start      a comment
//   %(key)  %d %p %s %n %e %c     an option read so far; the file's dir (with a trailing /),
//   %k %h %%  $(VAR)              path, name, name without extension, extension, dir name;
//                                 CPU count; host name; %; an environment variable

import { readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { basename, dirname, extname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import {
  NOTHING,
  apply,
  type ForeignSetting,
  type Note,
  type Outcome,
  type Status,
  type Translated,
} from './foreign.js';
import type { SettingKey } from './schema.js';

const SECTION = 'uWSGI options';

function row(
  name: string,
  status: Status,
  doc: string,
  translate: (values: readonly string[], all: ReadonlyMap<string, readonly string[]>) => Outcome,
): ForeignSetting {
  return {
    name,
    flags: [],
    takesValue: true,
    section: SECTION,
    status,
    doc,
    translate: (value, ctx) =>
      translate(value as string[], ctx.other('$all') as ReadonlyMap<string, readonly string[]>),
  };
}

const last = (values: readonly string[]): string => values.at(-1) ?? '';

/** An option that sets one Cask setting to its last value. */
function same(
  name: string,
  key: SettingKey,
  doc = `As \`${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}\`.`,
): ForeignSetting {
  return row(name, 'honoured', doc, (values) => ({ set: { [key]: last(values) } }));
}

/** An option Cask does already (`master`, `vacuum`, `enable-threads`, …). */
function builtIn(name: string, doc: string): ForeignSetting {
  return row(name, 'honoured', doc, () => NOTHING);
}

/** An option Cask skips: named in the start-up warning, with why in the docs. */
function skipped(name: string, why: string): ForeignSetting {
  return row(name, 'ignored', `Skipped: ${why}.`, () => ({ ignore: why }));
}

/**
 * A uWSGI address as `--bind` writes it: `:8000` is every interface, a path is a Unix socket;
 * `protocol` is the web server's protocol of `socket` and its kin.
 */
function address(
  raw: string,
  protocol?: 'uwsgi' | 'fastcgi' | 'scgi',
): string | { refuse: string } {
  const text = raw.split(',')[0]?.trim() ?? '';
  if (text.startsWith('@')) {
    return {
      refuse: `${text} is an abstract socket, which Cask cannot bind: give a path or HOST:PORT`,
    };
  }
  if (text.startsWith('='))
    return { refuse: `${text} is a uWSGI shared socket: give the address itself` };
  const isPath = text.includes('/') || !text.includes(':');
  if (isPath) return protocol === undefined ? `unix:${text}` : `${protocol}:unix:${text}`;
  const hostPort = text.startsWith(':') ? `0.0.0.0${text}` : text;
  return protocol === undefined ? hostPort : `${protocol}://${hostPort}`;
}

function binds(values: readonly string[], protocol?: 'uwsgi' | 'fastcgi' | 'scgi'): Outcome {
  const out: string[] = [];
  for (const value of values) {
    const bound = address(value, protocol);
    if (typeof bound !== 'string') return bound;
    out.push(bound);
  }
  return { set: { bind: out } };
}

/** Several options add to `bind`; the translation below gathers them. */
const BIND_OPTIONS: Readonly<Record<string, 'http' | 'uwsgi' | 'fastcgi' | 'scgi'>> = {
  http: 'http',
  'http-socket': 'http',
  'http11-socket': 'http',
  socket: 'uwsgi',
  'uwsgi-socket': 'uwsgi',
  'fastcgi-socket': 'fastcgi',
  'scgi-socket': 'scgi',
};

/** The app from module/wsgi/wsgi-file/callable, as APP is written (`module:callable`). */
function app(values: readonly string[], all: ReadonlyMap<string, readonly string[]>): Outcome {
  const spec = last(values);
  const callable = all.get('callable');
  if (spec.includes(':') || callable === undefined) return { set: { app: spec } };
  return { set: { app: `${spec}:${last(callable)}` } };
}

const ROWS: ForeignSetting[] = [
  row('module', 'honoured', 'As `app` (`module:callable`, or `module` with `callable`).', app),
  row('wsgi', 'honoured', 'As `module`.', app),
  row(
    'wsgi-file',
    'honoured',
    'As `app`: `path/to/file.py`, with `callable` (`application` by default).',
    app,
  ),
  row('file', 'honoured', 'As `wsgi-file`.', app),
  row('callable', 'honoured', 'The callable of `module` or `wsgi-file`.', () => NOTHING),
  same('chdir', 'chdir'),
  ...['home', 'virtualenv', 'venv', 'pyhome'].map((name) =>
    row(name, 'mapped', "To `python`: the virtualenv's `bin/python`.", (values) => ({
      set: { python: `${last(values).replace(/\/+$/, '')}/bin/python` },
    })),
  ),
  ...['pythonpath', 'python-path', 'pp'].map((name) =>
    row(name, 'honoured', 'As `pythonpath` (each value).', (values) => ({
      set: { pythonpath: [...values] },
    })),
  ),
  row(
    'http',
    'mapped',
    "To `bind`: Cask's front speaks HTTP itself, as uWSGI's HTTP router would in front of its workers. `:8000` is every interface.",
    () => NOTHING,
  ),
  row(
    'http-socket',
    'honoured',
    'To `bind` (HTTP). `:8000` is every interface; a path is a Unix socket.',
    () => NOTHING,
  ),
  row(
    'http11-socket',
    'honoured',
    'As `http-socket`; Cask speaks HTTP/1.1 with keep-alive on every listener.',
    () => NOTHING,
  ),
  row(
    'socket',
    'honoured',
    "To `bind` as `uwsgi://HOST:PORT` (or `uwsgi:unix:PATH`): the uwsgi protocol, for nginx's `uwsgi_pass`.",
    () => NOTHING,
  ),
  row('uwsgi-socket', 'honoured', 'As `socket`.', () => NOTHING),
  row('fastcgi-socket', 'honoured', 'To `bind` as `fastcgi://`.', () => NOTHING),
  row('scgi-socket', 'honoured', 'To `bind` as `scgi://`.', () => NOTHING),
  row(
    'https',
    'mapped',
    'To `bind`, `certfile` and `keyfile` (`ADDRESS,CERT,KEY[,CIPHERS]`). Cask serves TLS on every TCP listener once a certificate is set, so plain `http` or `http-socket` TCP listeners beside it are refused.',
    (values, all) => {
      const [where = '', cert, key, ciphers] = last(values)
        .split(',')
        .map((s) => s.trim());
      if (cert === undefined || key === undefined)
        return { refuse: 'write https = ADDRESS,CERT,KEY' };
      const plain = ['http', 'http-socket', 'http11-socket']
        .flatMap((k) => all.get(k) ?? [])
        .some((v) => !v.includes('/') && v.includes(':'));
      if (plain) {
        return {
          refuse:
            'Cask serves TLS on every TCP listener once a certificate is set, so it cannot serve plain HTTP beside https: put the plain listener on a Unix socket, or use a separate Cask',
        };
      }
      const bound = address(where);
      if (typeof bound !== 'string') return bound;
      return {
        set: {
          bind: [bound],
          certfile: cert,
          keyfile: key,
          ...(ciphers === undefined || ciphers === '' ? {} : { ciphers }),
        },
      };
    },
  ),
  row(
    'processes',
    'honoured',
    'As `workers`; with `cheaper`, the most workers (`workers-max`).',
    (values, all) =>
      all.has('cheaper')
        ? { set: { workersMax: last(values) } }
        : { set: { workers: last(values) } },
  ),
  row('workers', 'honoured', 'As `processes`.', (values, all) =>
    all.has('cheaper') ? { set: { workersMax: last(values) } } : { set: { workers: last(values) } },
  ),
  same('threads', 'threads'),
  row(
    'cheaper',
    'mapped',
    "To `workers-min`, with `processes` as `workers-max`: Cask's autoscaling adds a worker while requests wait and retires one idle for `idle-timeout` (docs/operations.md).",
    (values, all) => ({
      set: {
        workersMin: last(values),
        ...(all.has('cheaper-initial') ? {} : { workers: last(values) }),
      },
    }),
  ),
  same('cheaper-initial', 'workers', 'As `workers`: how many start.'),
  ...[
    'cheaper-algo',
    'cheaper-step',
    'cheaper-overload',
    'cheaper-busyness-max',
    'cheaper-busyness-min',
    'cheaper-busyness-multiplier',
  ].map((name) =>
    skipped(
      name,
      "Cask's autoscaling has one rule: a worker more while requests wait, one fewer when one is idle",
    ),
  ),
  same(
    'harakiri',
    'timeout',
    'As `timeout`, for each request: it gets 504 and is stopped in its thread, the worker serves on.',
  ),
  skipped(
    'harakiri-verbose',
    'a stuck request is always logged with its stack (--slow-request for earlier)',
  ),
  same('max-requests', 'maxRequests'),
  same('max-requests-delta', 'maxRequestsJitter'),
  row('reload-on-rss', 'honoured', 'As `max-rss` (uWSGI counts megabytes).', (values) => ({
    set: { maxRss: `${last(values)}m` },
  })),
  same('max-worker-lifetime', 'maxLifetime'),
  same('max-worker-lifetime-delta', 'maxLifetimeJitter'),
  row('static-map', 'honoured', 'As `static` (`PREFIX=DIR`, each value).', (values) => ({
    set: { static: [...values] },
  })),
  row('mount', 'honoured', 'As `mount` (`PREFIX=APP`, each value).', (values) => ({
    set: { mount: [...values] },
  })),
  builtIn('manage-script-name', 'Always: a `mount` prefix becomes `SCRIPT_NAME`.'),
  row('env', 'honoured', 'As `env` (`NAME=VALUE`, each value).', (values) => ({
    set: { env: [...values] },
  })),
  row(
    'buffer-size',
    'mapped',
    'To `limit-request-field-size`, and `limit-request-line` up to 8190: Cask limits each header field and the request line rather than the whole head.',
    (values) => ({
      set: {
        limitRequestFieldSize: last(values),
        limitRequestLine: Math.min(Number(last(values)), 8190),
      },
    }),
  ),
  same('limit-post', 'maxBodySize'),
  same('listen', 'backlog'),
  skipped(
    'post-buffering',
    'Cask always takes the whole body before the app runs (spooled to a file past body-memory-limit)',
  ),
  ...['pidfile', 'pidfile2', 'safe-pidfile'].map((name) => same(name, 'pid')),
  ...['daemonize', 'daemonize2'].map((name) =>
    row(name, 'honoured', 'As `daemon`, with the file as `error-log`.', (values) => ({
      set: { daemon: true, errorLog: last(values) },
    })),
  ),
  ...['logto', 'logto2'].map((name) => same(name, 'errorLog')),
  builtIn('disable-logging', 'Cask logs no requests unless `access-log` is set.'),
  skipped('log-format', "uWSGI's log variables differ: set --access-log-format"),
  builtIn('master', 'Always: the front supervises the workers.'),
  builtIn('vacuum', 'Always: Cask removes its Unix socket files and its pid file at exit.'),
  builtIn('die-on-term', 'Always: SIGTERM stops the server, gracefully.'),
  builtIn('enable-threads', 'Always: threads run in every worker.'),
  row(
    'lazy-apps',
    'mapped',
    "Without it (uWSGI's default), `preload`: the app is imported once and the workers forked from it. With it, each worker imports the app itself.",
    () => NOTHING,
  ),
  row('lazy', 'mapped', 'As `lazy-apps`.', () => NOTHING),
  builtIn('single-interpreter', 'Always: one interpreter per worker.'),
  builtIn('need-app', 'Always: an app that does not import stops the server (exit 4).'),
  builtIn('strict', 'Always: an option Cask cannot read is named at start.'),
  builtIn('thunder-lock', 'Nothing to do: only the front accepts connections.'),
  builtIn('plugins', 'Nothing to load: Cask runs Python itself.'),
  builtIn('plugin', 'As `plugins`.'),
  row('py-autoreload', 'mapped', 'To `reload` when above 0.', (values) =>
    Number(last(values)) > 0 ? { set: { reload: true } } : NOTHING,
  ),
  skipped('touch-reload', 'send SIGHUP (cask reload) from the deploy script, or use --reload'),
  row('umask', 'honoured', 'As `umask`.', (values) => ({ set: { umask: last(values) } })),
  row(
    'chmod-socket',
    'honoured',
    'As `socket-mode`, set on the Unix sockets after bind (alone, `666` as in uWSGI).',
    (values) => {
      // A bare `chmod-socket` (read as "true") is uWSGI's 666.
      const given = last(values);
      const text = given === '' || given === 'true' ? '666' : given;
      if (!/^[0-7]{1,4}$/.test(text) || parseInt(text, 8) > 0o777)
        return { refuse: 'it is not an octal file mode (write 660)' };
      return { set: { socketMode: text } };
    },
  ),
  row(
    'chown-socket',
    'honoured',
    'As `user` and `group` (`USER[:GROUP]`): the owner of the Unix sockets.',
    (values) => {
      const [user = '', group] = last(values).split(':');
      return { set: { user, ...(group === undefined ? {} : { group }) } };
    },
  ),
  row(
    'uid',
    'honoured',
    'As `user`: started as root, Cask binds, then the front and its workers run as this user (a name or uid), as uWSGI does after binding.',
    (values) => ({ set: { user: last(values) } }),
  ),
  row(
    'gid',
    'honoured',
    "As `group` (a name or gid); without it, Cask takes the user's own group.",
    (values) => ({ set: { group: last(values) } }),
  ),
  skipped('stats', "Cask's statistics are JSON at /stats on --admin-bind (docs/observability.md)"),
  skipped(
    'memory-report',
    "Cask reports each worker's memory at /stats and /metrics on --admin-bind",
  ),
  skipped('max-fd', 'Cask uses the limit it was started with (ulimit -n)'),
  skipped(
    'socket-timeout',
    'Cask times clients by --header-timeout, --send-timeout and --keep-alive',
  ),
  skipped(
    'http-timeout',
    'Cask times requests by --timeout and clients by --header-timeout and --send-timeout',
  ),
  skipped('http-keepalive', 'Cask keeps connections alive on every listener (--keep-alive)'),
];

/** The uWSGI options Cask reads, by name. */
export const UWSGI_SETTINGS: ReadonlyMap<string, ForeignSetting> = new Map(
  ROWS.map((setting) => [setting.name, setting]),
);

/** Reads the [section] of an ini file, expanding uWSGI's placeholders as it goes. */
export function parseUwsgiIni(
  text: string,
  path: string,
  section: string,
  env: Readonly<Record<string, string | undefined>>,
): Map<string, string[]> {
  const options = new Map<string, string[]>();
  const dir = `${dirname(path)}/`;
  const placeholders = new Set<string>();
  const magic: Readonly<Record<string, string>> = {
    d: dir,
    p: path,
    s: basename(path),
    n: basename(path, extname(path)),
    e: extname(path).slice(1),
    c: basename(dirname(path)),
    k: String(cpus().length),
    h: hostname(),
    '%': '%',
  };
  const expand = (value: string): string =>
    value
      .replace(/%\(([^)]+)\)/g, (_, name: string) => {
        placeholders.add(name);
        return options.get(name)?.at(-1) ?? '';
      })
      .replace(/%([dpsnecakh%])/g, (whole, letter: string) => magic[letter] ?? whole)
      .replace(/\$\(([^)]+)\)/g, (_, name: string) => env[name] ?? '');
  let current: string | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      current = (header[1] as string).trim();
      continue;
    }
    if (current !== section) continue;
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).trim().replace(/_/g, '-');
    const value = eq === -1 ? 'true' : expand(line.slice(eq + 1).trim());
    const values = options.get(key) ?? [];
    values.push(value);
    options.set(key, values);
  }
  // An option used only as a placeholder (`project = mysite`, then `%(project)`) is no option.
  for (const name of placeholders) if (!UWSGI_SETTINGS.has(name)) options.delete(name);
  return options;
}

/**
 * Reads `--uwsgi-ini FILE` (or `FILE:section`) and translates it. Options Cask does not read
 * are named in one warning; one it refuses throws.
 */
export function readUwsgiIni(
  location: string,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
  notes: Note[],
): { label: string; values: Translated; baseDir: string } {
  const colon = location.lastIndexOf(':');
  const hasSection = colon > 0 && !location.slice(colon + 1).includes('/');
  const file = resolve(cwd, hasSection ? location.slice(0, colon) : location);
  const section = hasSection ? location.slice(colon + 1) : 'uwsgi';
  const label = basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `Cannot read the uWSGI ini file ${label}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(error))}`,
      'CASK_CONFIG_FILE',
    );
  }
  const options = parseUwsgiIni(text, file, section, env);
  if (options.size === 0) {
    throw new ConfigError(
      `Cannot read the uWSGI ini file ${label}: it has no [${section}] section`,
      'CASK_CONFIG_FILE',
    );
  }
  const values: Translated = new Map();
  const skippedNames: string[] = [];
  // uWSGI changes into `chdir` first, so its other relative paths are relative to that.
  const chdir = options.get('chdir')?.at(-1);
  const baseDir = chdir === undefined ? cwd : resolve(cwd, chdir);
  const ctx = { other: (name: string) => (name === '$all' ? options : undefined), baseDir };
  const bindValues: string[] = [];
  for (const [name, given] of options) {
    const setting = UWSGI_SETTINGS.get(name);
    if (setting === undefined) {
      skippedNames.push(name);
      continue;
    }
    const protocol = BIND_OPTIONS[name];
    const outcome =
      protocol === undefined
        ? setting.translate(given, ctx)
        : binds(given, protocol === 'http' ? undefined : protocol);
    if ('ignore' in outcome) {
      skippedNames.push(name);
      continue;
    }
    const what = `uWSGI option ${name} in ${label}`;
    const shown = given.length === 1 ? given[0] : given;
    const single: Translated = new Map();
    apply(outcome, what, shown, `${name} in ${label}`, single, notes);
    for (const [key, entry] of single) {
      // Every listener option adds to the one list of addresses.
      if (key === 'bind') bindValues.push(...(entry.raw as string[]));
      else values.set(key, entry);
    }
  }
  if (bindValues.length > 0)
    values.set('bind', { raw: bindValues, label: `the sockets in ${label}` });
  // uWSGI imports the app once and forks its workers, unless told lazy-apps: Cask's --preload.
  const lazy = ['lazy-apps', 'lazy'].some((name) => {
    const given = options.get(name)?.at(-1);
    return given !== undefined && /^(1|true|yes|on|)$/i.test(given);
  });
  if (!lazy) values.set('preload', { raw: true, label: `the absence of lazy-apps in ${label}` });
  if (skippedNames.length > 0) {
    notes.push({
      level: 'warn',
      text: `Skipped uWSGI options in ${label}, which Cask does not read: ${skippedNames.join(', ')} (docs/compat.md says why)`,
    });
  }
  notes.push({ level: 'info', text: `Read uWSGI settings from ${label} [${section}]` });
  return { label, values, baseDir };
}
