// Access log line formats: Apache's `combined` and `common`, gunicorn's `%(atom)s` formats, and
// one JSON object per line (`--log-json`). A format is compiled once, at start-up, into a list
// of small functions, so writing a line is a loop of concatenations: nothing is parsed per
// request.
//
// gunicorn's atoms (docs.gunicorn.org, "access_log_format"), all supported:
//   h remote address     l '-'                u user (Basic auth) or '-'   t [date]
//   r request line       m method             U path                       q query
//   H protocol           s status             B body bytes                 b body bytes or '-'
//   f referer            a user agent         T seconds (integer)          D microseconds
//   M milliseconds       L seconds (decimal)  p <pid>                      {name}i request header
//   {name}o response header ('-': not kept)   {name}e environment variable
// and Cask's own: `{x-request-id}i` is the request's id as the app saw it (passed through or
// generated), and `%(rid)s` the same.

export interface AccessRecord {
  remoteAddr: string;
  method: string;
  target: string;
  /** 'HTTP/1.1', 'HTTP/2', …: the request line's version. */
  protocol: string;
  status: number;
  bytes: number;
  referer: string;
  userAgent: string;
  /** The request's headers, flat [name, value, …], for `{name}i`. */
  headers?: readonly string[];
  /** X-Request-Id as the app saw it; '' when there was none. */
  requestId?: string;
  /** From the request being complete to the response sent, in microseconds; -1 unknown. */
  durationUs?: number;
}

export type AccessFormatter = (record: AccessRecord, now: Date) => string;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `[10/Oct/2000:13:55:36 +0000]`, always in UTC so lines sort and compare across hosts. */
export function clfTime(date: Date): string {
  return `[${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(
    date.getUTCHours(),
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000]`;
}

/** Request data is attacker-controlled: quotes, backslashes and controls are escaped, so one
 *  request cannot forge extra log lines or fields. */
export function quoted(value: string): string {
  return value.replace(
    // eslint-disable-next-line no-control-regex
    /[\\"\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function header(record: AccessRecord, name: string): string {
  if (name === 'x-request-id' && record.requestId) return record.requestId;
  const headers = record.headers ?? [];
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === name) return headers[i + 1] as string;
  }
  return '';
}

function basicUser(record: AccessRecord): string {
  const auth = header(record, 'authorization');
  if (!/^basic /i.test(auth)) return '-';
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  return colon > 0 ? quoted(decoded.slice(0, colon)) : '-';
}

function split(target: string): [string, string] {
  const q = target.indexOf('?');
  return q === -1 ? [target, ''] : [target.slice(0, q), target.slice(q + 1)];
}

const dash = (s: string): string => (s === '' ? '-' : s);
const micros = (r: AccessRecord): number =>
  r.durationUs === undefined || r.durationUs < 0 ? 0 : r.durationUs;

type Atom = (record: AccessRecord, now: Date) => string;

const ATOMS: Record<string, Atom> = {
  h: (r) => r.remoteAddr || '-',
  l: () => '-',
  u: basicUser,
  t: (_r, now) => clfTime(now),
  r: (r) => `${quoted(r.method)} ${quoted(r.target)} ${r.protocol}`,
  m: (r) => quoted(r.method),
  U: (r) => quoted(split(r.target)[0]),
  q: (r) => quoted(split(r.target)[1]),
  H: (r) => r.protocol,
  s: (r) => String(r.status),
  B: (r) => String(r.bytes),
  b: (r) => (r.bytes > 0 ? String(r.bytes) : '-'),
  f: (r) => quoted(dash(r.referer)),
  a: (r) => quoted(dash(r.userAgent)),
  T: (r) => String(Math.floor(micros(r) / 1e6)),
  D: (r) => String(Math.round(micros(r))),
  M: (r) => String(Math.round(micros(r) / 1000)),
  L: (r) => (micros(r) / 1e6).toFixed(6),
  p: () => `<${process.pid}>`,
  rid: (r) => quoted(dash(r.requestId ?? '')),
};

export const COMBINED = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"';
export const COMMON = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s';

/**
 * Compiles `combined`, `common`, `json` or a gunicorn format. Throws RangeError naming an atom
 * it does not know, so a typo fails at start-up rather than in every line.
 */
export function compileAccessFormat(format: string): AccessFormatter {
  if (format === 'json') return jsonLine;
  const source = format === 'combined' ? COMBINED : format === 'common' ? COMMON : format;
  const parts: Atom[] = [];
  const pattern = /%\((\{([^}]*)\}([ioe])|[A-Za-z]+)\)s/g;
  let at = 0;
  for (let match = pattern.exec(source); match !== null; match = pattern.exec(source)) {
    const literal = source.slice(at, match.index).replace(/%%/g, '%');
    if (literal !== '') parts.push(() => literal);
    at = match.index + match[0].length;
    if (match[2] !== undefined) {
      const name = match[2].toLowerCase();
      const kind = match[3];
      if (kind === 'i') parts.push((r) => quoted(dash(header(r, name))));
      else if (kind === 'e') parts.push(() => quoted(dash(process.env[match[2] as string] ?? '')));
      else parts.push(() => '-'); // response headers are not kept for the log
      continue;
    }
    const atom = ATOMS[match[1] as string];
    if (atom === undefined) throw new RangeError(`Unknown access log atom: %(${match[1]})s`);
    parts.push(atom);
  }
  const tail = source.slice(at).replace(/%%/g, '%');
  if (tail !== '') parts.push(() => tail);
  return (record, now) => {
    let line = '';
    for (const part of parts) line += part(record, now);
    return line;
  };
}

/** `--log-json`: one object per line, the combined format's fields plus the id and duration. */
function jsonLine(r: AccessRecord, now: Date): string {
  const [path, query] = split(r.target);
  return JSON.stringify({
    time: now.toISOString(),
    remote_addr: r.remoteAddr || null,
    method: r.method,
    path,
    query,
    protocol: r.protocol,
    status: r.status,
    bytes: r.bytes,
    referer: r.referer || null,
    user_agent: r.userAgent || null,
    request_id: r.requestId || null,
    duration_us: r.durationUs === undefined || r.durationUs < 0 ? null : Math.round(r.durationUs),
  });
}

/** `--log-json` for the error log: one object per line. */
export function jsonErrorLine(stamp: string, tag: string, level: string, message: string): string {
  return JSON.stringify({ time: stamp, level, tag, message });
}
