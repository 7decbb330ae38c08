// Private to src/config: waitress-serve's flags (waitress/adjustments.py, versions 2 and 3),
// and what Cask does with each when it is given on the command line. `--threads` and
// `--backlog` are Cask's own flags with the same meaning; the rest are rows here. The rules
// are in foreign.ts; docs/compat.md is rendered from these rows.

import {
  NOTHING,
  commaList,
  truthy,
  type ForeignSetting,
  type Outcome,
  type Status,
  type TranslateContext,
} from './foreign.js';
import type { SettingKey } from './schema.js';

const SECTION = 'waitress-serve';
/** waitress listens on every interface, port 8080, unless told otherwise. */
const DEFAULT_HOST = '0.0.0.0';
const DEFAULT_PORT = '8080';

function row(
  name: string,
  status: Status,
  doc: string,
  translate: (value: unknown, ctx: TranslateContext) => Outcome,
  options: { switch?: boolean; app?: (app: string) => string } = {},
): ForeignSetting {
  return {
    name: `--${name}`,
    flags: options.switch === true ? [`--${name}`, `--no-${name}`] : [`--${name}`],
    takesValue: options.switch !== true,
    section: SECTION,
    status,
    doc,
    translate,
    ...(options.app === undefined ? {} : { app: options.app }),
  };
}

function same(name: string, key: SettingKey, doc: string): ForeignSetting {
  return row(name, 'honoured', doc, (value) => ({ set: { [key]: value } }));
}

function ignored(name: string, why: string, options: { switch?: boolean } = {}): ForeignSetting {
  return row(name, 'ignored', `Ignored, with a warning: ${why}.`, () => ({ ignore: why }), options);
}

/** Refused unless it is waitress's default: off for a switch, `byDefault` for a value. */
function refused(
  name: string,
  why: string,
  options: { switch?: boolean; byDefault?: string } = {},
): ForeignSetting {
  const isDefault = (value: unknown): boolean =>
    options.switch === true ? !truthy(value) : String(value) === options.byDefault;
  return row(
    name,
    'refused',
    `Refused: ${why}.`,
    (value) => (isDefault(value) ? NOTHING : { refuse: why }),
    options,
  );
}

/** `[::1]` for an IPv6 host, as `--bind` writes it. */
function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** waitress's `*:8080` is every interface of both families, less one turned off (`--no-ipv6`). */
function listen(value: unknown, ctx: TranslateContext): Outcome {
  const binds: string[] = [];
  for (const item of String(value).split(/\s+/).filter(Boolean)) {
    const colon = item.lastIndexOf(':');
    const host = colon === -1 ? item : item.slice(0, colon);
    const port = colon === -1 ? DEFAULT_PORT : item.slice(colon + 1);
    if (host === '*' || host === '') {
      if (ctx.other('--ipv4') !== false) binds.push(`0.0.0.0:${port}`);
      if (ctx.other('--ipv6') !== false) binds.push(`[::]:${port}`);
    } else {
      binds.push(`${hostPart(host)}:${port}`);
    }
  }
  return { set: { bind: binds } };
}

const BOTH = 'give --listen, or --host and --port, not both (waitress refuses them together too)';

/** The proxy headers Cask believes from a trusted peer, all of them (docs/security.md). */
const CASK_PROXY_HEADERS = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'forwarded',
];

const ROWS: ForeignSetting[] = [
  row(
    'call',
    'mapped',
    'APP is a factory that returns the app: Cask calls it, as `module:factory()` would say.',
    () => NOTHING,
    { switch: true, app: (app) => (app.endsWith(')') ? app : `${app}()`) },
  ),
  row(
    'listen',
    'mapped',
    'To `bind`; `*:PORT` is every interface of both families, as in waitress (`0.0.0.0` and `[::]`).',
    (value, ctx) =>
      ctx.other('--host') !== undefined || ctx.other('--port') !== undefined
        ? { refuse: BOTH }
        : listen(value, ctx),
  ),
  row(
    'host',
    'mapped',
    'With `--port` (8080 by default, as in waitress), to `bind`.',
    (value, ctx) => {
      if (ctx.other('--listen') !== undefined) return { refuse: BOTH };
      const port = ctx.other('--port');
      return {
        set: {
          bind: [`${hostPart(String(value))}:${port === undefined ? DEFAULT_PORT : String(port)}`],
        },
      };
    },
  ),
  row(
    'port',
    'mapped',
    'With `--host` (every interface, `0.0.0.0`, by default, as in waitress), to `bind`.',
    (value, ctx) => {
      if (ctx.other('--listen') !== undefined) return { refuse: BOTH };
      return ctx.other('--host') === undefined
        ? { set: { bind: [`${DEFAULT_HOST}:${String(value)}`] } }
        : NOTHING;
    },
  ),
  row(
    'ipv4',
    'honoured',
    'With `--listen *:PORT`, `--no-ipv4` leaves out `0.0.0.0:PORT`; any other address is listened on as given.',
    () => NOTHING,
    { switch: true },
  ),
  row(
    'ipv6',
    'honoured',
    'With `--listen *:PORT`, `--no-ipv6` leaves out `[::]:PORT`; any other address is listened on as given.',
    () => NOTHING,
    { switch: true },
  ),
  row('unix-socket', 'mapped', 'To `bind` as `unix:PATH`.', (value) => ({
    set: { bind: [`unix:${String(value)}`] },
  })),
  row('unix-socket-perms', 'honoured', 'As `socket-mode`.', (value) => {
    const text = String(value);
    if (!/^[0-7]{1,4}$/.test(text) || parseInt(text, 8) > 0o777)
      return { refuse: 'it is not an octal file mode (write 660)' };
    return { set: { socketMode: text } };
  }),
  refused(
    'url-scheme',
    'Cask takes wsgi.url_scheme from the listener (https with --certfile) or from X-Forwarded-Proto sent by a forwarded-allow-ips peer',
    { byDefault: 'http' },
  ),
  row(
    'url-prefix',
    'honoured',
    'As `root-path`: `SCRIPT_NAME`, taken off the front of `PATH_INFO`.',
    (value) => {
      const trimmed = String(value).replace(/^\/+|\/+$/g, '');
      return { set: { rootPath: trimmed === '' ? '' : `/${trimmed}` } };
    },
  ),
  same('ident', 'serverName', 'As `server-name`, the `Server` header.'),
  ignored('recv-bytes', "it sizes waitress's socket reads; Cask's front reads what the kernel has"),
  ignored('send-bytes', "it sizes waitress's socket writes; Cask's front writes whole responses"),
  ignored('outbuf-overflow', 'Cask spools a response for a slow client by response-spool-limit'),
  ignored(
    'outbuf-high-watermark',
    'Cask spools a response for a slow client by response-spool-limit',
  ),
  ignored('inbuf-overflow', 'Cask spools a request body to a file past body-memory-limit'),
  same('connection-limit', 'maxConnections', 'As `max-connections`.'),
  ignored('cleanup-interval', 'Cask times each connection itself, with no sweep'),
  ignored(
    'channel-timeout',
    'Cask closes idle connections after --keep-alive and stalled ones after --header-timeout and --send-timeout',
  ),
  ignored(
    'log-socket-errors',
    'Cask logs what concerns the server, not each client that went away',
    {
      switch: true,
    },
  ),
  row(
    'max-request-header-size',
    'mapped',
    'To `limit-request-field-size`: Cask limits each header field, their number (`limit-request-fields`) and the request line, rather than the whole head.',
    (value) => ({ set: { limitRequestFieldSize: value } }),
  ),
  same('max-request-body-size', 'maxBodySize', 'As `max-body-size`.'),
  refused(
    'expose-tracebacks',
    'Cask never sends a traceback to a client of cask serve; cask dev shows one on its error page, to requests from this machine',
    { switch: true },
  ),
  ignored('asyncore-loop-timeout', 'Cask has no asyncore loop'),
  ignored('asyncore-use-poll', 'Cask has no asyncore loop', { switch: true }),
  ignored(
    'channel-request-lookahead',
    'Cask reads pipelined requests one at a time, and a body before the app sees it',
  ),
  row('trusted-proxy', 'mapped', 'To `forwarded-allow-ips` (`*` too).', (value) => ({
    set: { forwardedAllowIps: commaList(value) },
  })),
  row(
    'trusted-proxy-count',
    'mapped',
    'Cask walks `X-Forwarded-For` from the right past every address that is itself in `forwarded-allow-ips`, however many; 1 is what it does with one proxy. Any other count is ignored with a warning saying to list the proxies instead.',
    (value) =>
      Number(value) === 1
        ? NOTHING
        : {
            ignore:
              'Cask walks X-Forwarded-For past every address in forwarded-allow-ips, however many: list your proxies there',
          },
  ),
  row(
    'trusted-proxy-headers',
    'honoured',
    'Cask believes `X-Forwarded-For`, `-Proto`, `-Host`, `-Port` and `Forwarded` from a trusted proxy, all of them: a list naming them all is honoured (`x-forwarded-by` is not used); one naming fewer is refused.',
    (value) => {
      const given = new Set(
        String(value)
          .toLowerCase()
          .split(/[\s,]+/)
          .filter(Boolean),
      );
      const missing = CASK_PROXY_HEADERS.filter((h) => !given.has(h));
      return missing.length === 0
        ? NOTHING
        : {
            refuse: `Cask believes all of X-Forwarded-For, -Proto, -Host, -Port and Forwarded from a forwarded-allow-ips peer, and cannot leave out ${missing.join(', ')}: have the proxy set or remove them`,
          };
    },
  ),
  ignored(
    'log-untrusted-proxy-headers',
    'Cask removes proxy headers from untrusted peers without logging them',
    {
      switch: true,
    },
  ),
  row(
    'clear-untrusted-proxy-headers',
    'honoured',
    'Always on: proxy headers from a peer not in `forwarded-allow-ips` are removed before the app sees them.',
    () => NOTHING,
    { switch: true },
  ),
];

/** waitress-serve's flags, by flag. */
export const WAITRESS_SETTINGS: ReadonlyMap<string, ForeignSetting> = new Map(
  ROWS.map((setting) => [setting.name, setting]),
);
