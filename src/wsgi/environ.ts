// Builds the CGI part of a WSGI environ (PEP 3333) from a request, whatever transport it came by. Pure: the
// result is the flat [KEY, VALUE, …] list the REQUEST frame carries; every value is a
// "native string" (bytes decoded as latin-1), which is what the parser already produces.

import { ProtocolError } from '../errors.js';
import type { RequestInfo, TlsInfo } from '../exchange.js';
import { resolveForwarded } from './forwarded.js';

export interface EnvironContext {
  scheme: 'http' | 'https';
  /** The listener's own address, used when the request has no Host. */
  serverName: string;
  serverPort: string;
  remoteAddr: string;
  remotePort: string;
  rootPath: string;
  /**
   * The peer is in `forwarded-allow-ips`: its X-Forwarded-* and Forwarded headers say who the
   * client is. Otherwise those headers are dropped, so the app cannot be fooled by them either.
   */
  trustForwarded: boolean;
  /** Whether an address named in those headers is itself a trusted proxy (see forwarded.ts). */
  isTrustedProxy: (address: string) => boolean;
  /** The connection is TLS: `HTTPS=on` and mod_ssl's `SSL_*` variables. */
  tls?: TlsInfo;
}

/** A native string (PEP 3333): the UTF-8 bytes of `text`, one latin-1 char per byte. */
function native(text: string): string {
  return /[\u0080-\uffff]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/**
 * The variables mod_ssl and mod_wsgi give a TLS request (CGI's `HTTPS`, `SSL_*`). The client's
 * names are there only for a certificate that verified, so an app that reads
 * `SSL_CLIENT_S_DN` alone can never be handed one that did not.
 */
function pushTls(env: string[], tls: TlsInfo): void {
  env.push('HTTPS', 'on', 'SSL_PROTOCOL', tls.protocol, 'SSL_CIPHER', tls.cipher);
  env.push('SSL_CLIENT_VERIFY', tls.clientVerify);
  if (tls.clientVerify === 'SUCCESS') {
    env.push('SSL_CLIENT_S_DN', native(tls.clientSubject));
    env.push('SSL_CLIENT_I_DN', native(tls.clientIssuer));
  }
}

// Positions of the values that proxy headers may replace in the list buildEnviron() returns.
const SERVER_NAME_AT = 13;
const SERVER_PORT_AT = 15;
const REMOTE_ADDR_AT = 19;
const REMOTE_PORT_AT = 21;
const SCHEME_AT = 23;

const envKeyCache = new Map<string, string>();
const ENV_KEY_CACHE_MAX = 2048;

/** `X-Forwarded-For` -> `HTTP_X_FORWARDED_FOR`; undefined for names the app must not see. */
export function headerEnvKey(name: string): string | undefined {
  let key = envKeyCache.get(name);
  if (key !== undefined) return key || undefined;
  // A name with `_` would map to the same key as its `-` twin and could spoof it (a proxy
  // that checks `X-Auth-User` passes `X_Auth_User`), so such headers are dropped.
  key = name.includes('_') ? '' : `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
  if (envKeyCache.size < ENV_KEY_CACHE_MAX) envKeyCache.set(name, key);
  return key || undefined;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** Percent-decode to a latin-1 string (one char per byte); a bad escape stays as written. */
export function percentDecode(path: string): string {
  if (!path.includes('%')) return path;
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i !== -1 && i + 2 < path.length; i = path.indexOf('%', i + 1)) {
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) continue;
    out += path.slice(from, i) + String.fromCharCode(hi * 16 + lo);
    from = i + 3;
    i += 2;
  }
  return out + path.slice(from);
}

interface SplitTarget {
  path: string;
  query: string;
  host: string | undefined;
}

function splitTarget(method: string, target: string): SplitTarget {
  let rest = target;
  let host: string | undefined;
  if (target.charCodeAt(0) !== 47 /* / */) {
    // asterisk-form (RFC 9112 §3.2.4) names the server, not a path: PATH_INFO stays empty, as
    // PEP 3333 wants it empty or starting with "/" (wsgiref.validate refuses "*"), and the app
    // sees the "*" in RAW_URI and REQUEST_URI.
    if (target === '*' && method === 'OPTIONS') return { path: '', query: '', host };
    // absolute-form (RFC 9112 §3.2.2): the authority in the target replaces Host.
    const match = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(target);
    if (match === null)
      throw new ProtocolError('CASK_HTTP_BAD_REQUEST', `Invalid request target: ${target}`);
    host = match[2];
    rest = match[3] || '/';
    if (rest.charCodeAt(0) !== 47) rest = `/${rest}`;
  }
  const q = rest.indexOf('?');
  if (q === -1) return { path: rest, query: '', host };
  return { path: rest.slice(0, q), query: rest.slice(q + 1), host };
}

function splitHost(host: string, fallbackPort: string): [string, string] {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    const port = host.slice(close + 2);
    return [host.slice(0, close + 1), port || fallbackPort];
  }
  const colon = host.lastIndexOf(':');
  if (colon === -1) return [host, fallbackPort];
  return [host.slice(0, colon), host.slice(colon + 1) || fallbackPort];
}

/**
 * The CGI variables of one request. `bodyLength` is the body as the app will read it: the
 * de-chunked size for chunked requests, -1 when no body was read (none was framed, or
 * `Content-Length: 0`).
 */
export function buildEnviron(head: RequestInfo, bodyLength: number, ctx: EnvironContext): string[] {
  const { path, query, host: targetHost } = splitTarget(head.method, head.target);
  const given = head.cgi === undefined ? undefined : byName(head.cgi);
  // A web server's PATH_INFO is its own view of the path (nginx's, after its rewrites): as is.
  let pathInfo = given?.get('PATH_INFO') ?? percentDecode(path);
  if (pathInfo.includes('\0')) {
    throw new ProtocolError(
      'CASK_HTTP_BAD_REQUEST',
      'Invalid request target: the path decodes to a NUL byte',
    );
  }
  // The web server's SCRIPT_NAME takes the place of --root-path. nginx passes the whole path as
  // PATH_INFO whatever SCRIPT_NAME it is given, so the prefix is taken off PATH_INFO here, as
  // uWSGI does with `manage-script-name`; a PATH_INFO already split from it stays as it is.
  const rootPath = given?.get('SCRIPT_NAME')?.replace(/\/+$/, '') || ctx.rootPath;
  let scriptName = '';
  if (rootPath !== '' && (pathInfo === rootPath || pathInfo.startsWith(`${rootPath}/`))) {
    scriptName = rootPath;
    pathInfo = pathInfo.slice(rootPath.length);
  } else if (rootPath !== '') {
    scriptName = rootPath;
  }

  const env: string[] = [
    'REQUEST_METHOD', head.method,
    'SCRIPT_NAME', scriptName,
    'PATH_INFO', pathInfo,
    'QUERY_STRING', given?.get('QUERY_STRING') ?? query,
    'RAW_URI', head.target,
    'REQUEST_URI', head.target,
    'SERVER_NAME', '', // SERVER_NAME_AT, set below
    'SERVER_PORT', '', // SERVER_PORT_AT
    'SERVER_PROTOCOL', head.protocol,
    'REMOTE_ADDR', ctx.remoteAddr, // REMOTE_ADDR_AT
    'REMOTE_PORT', ctx.remotePort, // REMOTE_PORT_AT
    'wsgi.url_scheme', given !== undefined && isOn(given.get('HTTPS')) ? 'https' : ctx.scheme, // SCHEME_AT
  ]; // prettier-ignore
  // CONTENT_LENGTH is there whenever the client framed a body, even an empty one: with a
  // Content-Length (0 included) or chunked. It is absent only for a request with neither, so
  // `Content-Length: 0` and an empty chunked body look the same to the app.
  if (bodyLength >= 0) env.push('CONTENT_LENGTH', String(bodyLength));
  else if (head.contentLength >= 0 || head.chunked) env.push('CONTENT_LENGTH', '0');
  if (ctx.tls !== undefined) pushTls(env, ctx.tls);

  const headers = head.headers;
  const seen = new Map<string, number>();
  let proxied = false;
  for (let i = 0; i < headers.length; i += 2) {
    let key = headerEnvKey(headers[i] as string);
    if (key === undefined) continue;
    const value = headers[i + 1] as string;
    if (key === 'HTTP_CONTENT_TYPE') key = 'CONTENT_TYPE';
    // The body reaches the app de-chunked with its real length in CONTENT_LENGTH.
    else if (key === 'HTTP_CONTENT_LENGTH' || key === 'HTTP_TRANSFER_ENCODING') continue;
    else if (key === 'HTTP_HOST' && targetHost !== undefined) continue;
    else if (
      key.charCodeAt(5) === 88 /* X */
        ? key.startsWith('HTTP_X_FORWARDED_')
        : key.charCodeAt(5) === 70 /* F */ && key === 'HTTP_FORWARDED'
    ) {
      if (!ctx.trustForwarded) continue;
      proxied = true;
    }
    const at = seen.get(key);
    if (at !== undefined) {
      // RFC 9110 §5.3 joins repeated fields with commas; cookies use `; ` (RFC 6265 §5.4).
      env[at + 1] += key === 'HTTP_COOKIE' ? `; ${value}` : `, ${value}`;
      continue;
    }
    seen.set(key, env.length);
    env.push(key, value);
  }
  if (targetHost !== undefined) {
    seen.set('HTTP_HOST', env.length);
    env.push('HTTP_HOST', targetHost);
  }

  let host = targetHost ?? head.host;
  let forwardedHost = false;
  let forwardedPort: string | undefined;
  let forgetPort = false;
  if (proxied) {
    const value = (key: string): string | undefined => {
      const at = seen.get(key);
      return at === undefined ? undefined : env[at + 1];
    };
    const view = resolveForwarded(
      {
        forwarded: value('HTTP_FORWARDED'),
        xForwardedFor: value('HTTP_X_FORWARDED_FOR'),
        xForwardedProto: value('HTTP_X_FORWARDED_PROTO'),
        xForwardedHost: value('HTTP_X_FORWARDED_HOST'),
        xForwardedPort: value('HTTP_X_FORWARDED_PORT'),
      },
      ctx.isTrustedProxy,
    );
    if (view.scheme !== undefined) env[SCHEME_AT] = view.scheme;
    if (view.remoteAddr !== undefined) {
      env[REMOTE_ADDR_AT] = view.remoteAddr;
      // The socket's port belongs to the proxy's connection, not to the client's.
      if (view.remotePort !== undefined) env[REMOTE_PORT_AT] = view.remotePort;
      else forgetPort = true;
    }
    if (view.host !== undefined) {
      forwardedHost = true;
      host = view.host;
      const at = seen.get('HTTP_HOST');
      if (at === undefined) env.push('HTTP_HOST', host);
      else env[at + 1] = host;
    }
    forwardedPort = view.port;
  }
  const defaultPort = env[SCHEME_AT] === 'https' ? '443' : '80';
  let [serverName, serverPort] = host
    ? splitHost(host, defaultPort)
    : [ctx.serverName, ctx.serverPort];
  // The web server's own name and port, unless a trusted proxy behind it named the host.
  const givenName = given?.get('SERVER_NAME');
  if (givenName !== undefined && !forwardedHost) {
    serverName = givenName;
    serverPort = given?.get('SERVER_PORT') ?? serverPort;
  }
  env[SERVER_NAME_AT] = serverName;
  env[SERVER_PORT_AT] = forwardedPort ?? serverPort;
  if (forgetPort) env.splice(REMOTE_PORT_AT - 1, 2);
  if (given !== undefined) addGiven(env, given);
  return env;
}

/** A web server's variables by name (the last of a repeated name wins). */
function byName(cgi: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < cgi.length; i += 2) map.set(cgi[i] as string, cgi[i + 1] as string);
  return map;
}

/** CGI's HTTPS variable: `on` (what nginx and Apache send), `1` or `yes`, in any case. */
function isOn(value: string | undefined): boolean {
  return value !== undefined && /^(on|1|yes)$/i.test(value);
}

/** The web server's other variables (DOCUMENT_ROOT, HTTPS, …), as they are, after ours. */
function addGiven(env: string[], given: Map<string, string>): void {
  const present = new Set<string>();
  for (let i = 0; i < env.length; i += 2) present.add(env[i] as string);
  for (const [name, value] of given) if (!present.has(name)) env.push(name, value);
}
