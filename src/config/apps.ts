// Private to src/config: the rows of `--mount PREFIX=APP` and `--vhost HOST=APP`, several apps in
// one server. A value is a list of entries, from any of these spellings:
//
//   flag     --mount /api=api.wsgi:app --mount /=site.wsgi:application      (repeatable)
//   env      CASK_MOUNT="/api=api.wsgi:app,/=site.wsgi:application"        (comma-separated)
//   file     mount = ["/api=api.wsgi:app", "/=site.wsgi:application"]
//            [mount]                        [mount."/api"]
//            "/" = "site.wsgi:application"  app = "api.wsgi:app"
//                                           workers = 2                     (settings of one app)
//
// Only the config file's table form carries settings of one app: each is read by the row of the
// settings table that reads it for the whole server, so its units and checks are the same.
// Which requests an entry takes is src/apps/; this module only parses and checks the values.

import { closest } from './suggest.js';
import { InvalidValue, type AnySetting, type Setting, type ValueContext } from './types.js';

export type AppKind = 'mount' | 'vhost';

export interface AppEntry {
  /** A mount's path prefix (`/api`, `/` for the root) or a vhost's host pattern (`*.example.org`, `*`). */
  readonly key: string;
  /** `module:callable`, as APP takes it. */
  readonly app: string;
  /** Settings of this app alone, by setting key, each validated by its own row. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/**
 * The settings one app may set for itself: how its workers run and how its requests are timed.
 * Everything else (listeners, limits of the HTTP front, logs, hooks, graceful-timeout) belongs
 * to the whole server. `root-path` is a vhost's own; a mount's prefix is its `SCRIPT_NAME`.
 */
export const PER_APP_KEYS = [
  'python',
  'chdir',
  'pythonpath',
  'interface',
  'workers',
  'threads',
  'workerClass',
  'workerScheduling',
  'workerConnections',
  'prefetch',
  'maxQueue',
  'workersMin',
  'workersMax',
  'idleTimeout',
  'maxRequests',
  'maxRequestsJitter',
  'maxLifetime',
  'maxLifetimeJitter',
  'maxRss',
  'timeout',
  'timeoutGrace',
  'maxQueueWait',
  'rootPath',
] as const;

export type PerAppKey = (typeof PER_APP_KEYS)[number];

const PREFIX_FORM = 'write PREFIX=APP, e.g. /api=api.wsgi:app';
const HOST_FORM = 'write HOST=APP, e.g. example.org=site.wsgi:app';
// A host name, or `*.` and a host name (any subdomain), or `*` alone (the default), or an
// address: the host part of RFC 9110 §7.2 without the port, which routing does not look at.
const HOST_PATTERN =
  /^(\*|(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*|\[[0-9a-f:.]+\])$/;

/** `/api/` -> `/api`; why the prefix cannot be a mount point, as an InvalidValue reason. */
export function parsePrefix(text: string): string {
  if (!text.startsWith('/')) throw new InvalidValue('has a prefix that does not start with "/"');
  if (/[?#%\\\s=]/.test(text))
    throw new InvalidValue('has a prefix with a "?", "#", "%", "\\", "=" or a space');
  const prefix = text.length > 1 ? text.replace(/\/$/, '') : text;
  if (
    prefix !== '/' &&
    prefix
      .slice(1)
      .split('/')
      .some((s) => s === '' || s === '.' || s === '..')
  )
    throw new InvalidValue('has a prefix with an empty, "." or ".." segment');
  return prefix;
}

/** `Example.ORG.` -> `example.org`, as hosts are matched (RFC 9110 §4.2.3: case-insensitive). */
export function parseHostPattern(text: string): string {
  const host = text.trim().toLowerCase().replace(/\.$/, '');
  if (host.includes(':') && !host.startsWith('['))
    throw new InvalidValue('has a host with a port (a vhost matches the host alone)');
  if (!HOST_PATTERN.test(host))
    throw new InvalidValue(
      'has an invalid host (write example.org, *.example.org for its subdomains, or * for the default)',
    );
  return host;
}

function parseKey(kind: AppKind, text: string): string {
  return kind === 'mount' ? parsePrefix(text.trim()) : parseHostPattern(text);
}

function describe(kind: AppKind, key: string): string {
  return kind === 'mount' ? `the app at ${key}` : `the app of ${key}`;
}

export interface AppsSpec<F extends string, E extends string> {
  readonly kind: AppKind;
  readonly flag: F;
  readonly env: E;
  readonly doc: string;
  /** The settings table, read when a value is parsed (it holds this row, so not at import). */
  readonly rows: () => Readonly<Record<string, AnySetting>>;
}

/** The row of `--mount` or `--vhost`. */
export function apps<const F extends string, const E extends string>(
  spec: AppsSpec<F, E>,
): Setting<readonly AppEntry[], F, E> {
  const { kind } = spec;
  const form = kind === 'mount' ? PREFIX_FORM : HOST_FORM;

  const app = (raw: unknown, ctx: ValueContext): string => {
    const row = spec.rows()['app'];
    if (row === undefined) throw new Error('The settings table has no app row');
    return row.fromToml(raw, ctx) as string;
  };

  /** `PREFIX=APP`: the first `=` splits, since an app's factory call may hold more of them. */
  const entry = (raw: string, ctx: ValueContext): AppEntry => {
    const eq = raw.indexOf('=');
    if (eq === -1)
      throw new InvalidValue(`is not ${kind === 'mount' ? 'PREFIX' : 'HOST'}=APP (${form})`, raw);
    try {
      return {
        key: parseKey(kind, raw.slice(0, eq)),
        app: app(raw.slice(eq + 1).trim(), ctx),
        settings: {},
      };
    } catch (err) {
      if (err instanceof InvalidValue) throw new InvalidValue(err.reason, raw);
      throw err;
    }
  };

  const settingsOf = (key: string, table: Record<string, unknown>, ctx: ValueContext): AppEntry => {
    const rows = spec.rows();
    const where = `(in ${describe(kind, key)})`;
    if (!Object.hasOwn(table, 'app'))
      throw new InvalidValue(`has no app ${where}: write app = "module:callable"`, table);
    const settings: Record<string, unknown> = {};
    const allowed = PER_APP_KEYS.filter((k) => kind === 'vhost' || k !== 'rootPath');
    for (const [name, raw] of Object.entries(table)) {
      if (name === 'app') continue;
      const found = Object.entries(rows).find(([, row]) => row.flag === `--${name}`);
      const setting = found?.[0] as PerAppKey | undefined;
      if (found === undefined || setting === undefined) {
        const guess = closest(
          name,
          allowed.map((k) => (rows[k] as AnySetting).flag.slice(2)),
        );
        const hint = guess === undefined ? '' : ` (did you mean "${guess}"?)`;
        throw new InvalidValue(`has an unknown key "${name}" ${where}${hint}`, table);
      }
      if (!(allowed as readonly string[]).includes(setting)) {
        const why =
          setting === 'rootPath'
            ? "a mount's prefix is its SCRIPT_NAME"
            : 'it applies to the whole server, not to one app';
        throw new InvalidValue(`sets "${name}" ${where}: ${why}`, table);
      }
      try {
        settings[setting] = found[1].fromToml(raw, ctx);
      } catch (err) {
        if (!(err instanceof InvalidValue)) throw err;
        throw new InvalidValue(
          `${err.reason} (${name} of ${describe(kind, key)})`,
          err.value ?? raw,
        );
      }
    }
    return { key, app: app(table['app'], ctx), settings };
  };

  const checked = (entries: AppEntry[]): readonly AppEntry[] => {
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.key)) {
        throw new InvalidValue(
          kind === 'mount' ? `mounts two apps at ${e.key}` : `names the host ${e.key} twice`,
          entries.map((x) => `${x.key}=${x.app}`),
        );
      }
      seen.add(e.key);
    }
    return entries;
  };

  const fromStrings = (raws: readonly unknown[], ctx: ValueContext): readonly AppEntry[] =>
    checked(
      raws.map((raw) => {
        if (typeof raw !== 'string') throw new InvalidValue(`is not a string (${form})`, raw);
        return entry(raw, ctx);
      }),
    );

  return {
    type: 'list',
    flag: spec.flag,
    env: spec.env,
    inFile: true,
    section: 'Application',
    doc: spec.doc,
    metavar: kind === 'mount' ? 'PREFIX=APP' : 'HOST=APP',
    defaultDoc: 'none',
    multiple: true,
    defaultValue: () => [],
    fromArgv: fromStrings,
    fromEnv: (raw, ctx) =>
      fromStrings(
        raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
        ctx,
      ),
    fromToml: (raw, ctx) => {
      if (Array.isArray(raw)) return fromStrings(raw, ctx);
      if (typeof raw === 'string') return fromStrings([raw], ctx);
      if (typeof raw !== 'object' || raw === null || raw instanceof Date)
        throw new InvalidValue(`is not a table or an array (${form})`);
      return checked(
        Object.entries(raw as Record<string, unknown>).map(([key, value]) => {
          let parsed: string;
          try {
            parsed = parseKey(kind, key);
          } catch (err) {
            if (err instanceof InvalidValue) throw new InvalidValue(err.reason, key);
            throw err;
          }
          if (typeof value === 'string') return { key: parsed, app: app(value, ctx), settings: {} };
          if (typeof value === 'object' && value !== null && !Array.isArray(value))
            return settingsOf(parsed, value as Record<string, unknown>, ctx);
          throw new InvalidValue(`is not an app or a table of its settings (${form})`, value);
        }),
      );
    },
  };
}

/** `/api=api.wsgi:app`, as the flag takes it. */
export function formatAppEntry(entry: AppEntry): string {
  return `${entry.key}=${entry.app}`;
}

export function isAppEntry(value: unknown): value is AppEntry {
  return (
    typeof value === 'object' &&
    value !== null &&
    'key' in value &&
    'app' in value &&
    'settings' in value
  );
}
