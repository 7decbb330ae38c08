// Pure value parsers for the settings table. Each returns the value or throws InvalidValue
// whose reason completes the sentence `"<value>" <reason>`; load.ts adds which option it was.

import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { WEB_SERVER_PROTOCOLS, type BindAddress, type WebServerProtocol } from '../net/bind.js';
import { InvalidValue } from './types.js';

/** Node clamps longer timers to 1 ms with a warning, so a longer timeout would fire at once. */
export const MAX_TIMER_SECONDS = 2_147_483;

export function parseInteger(raw: string): number {
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) throw new InvalidValue('is not an integer');
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new InvalidValue('is too large');
  return n;
}

export function parseNumber(raw: string): number {
  const text = raw.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(text)) {
    throw new InvalidValue('is not a number');
  }
  const n = Number(text);
  if (!Number.isFinite(n)) throw new InvalidValue('is too large');
  return n;
}

export function checkRange(n: number, min: number | undefined, max: number | undefined): number {
  if (min !== undefined && n < min) throw new InvalidValue(`is below the minimum of ${min}`);
  if (max !== undefined && n > max) throw new InvalidValue(`is above the maximum of ${max}`);
  return n;
}

const SECOND_UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** `30`, `30s`, `1.5s`, `500ms`, `2m`, `1h` -> seconds. A bare number means seconds. */
export function parseSeconds(raw: string): number {
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?$/i.exec(raw.trim());
  if (!match) throw new InvalidValue('is not a duration (write 30, 30s, 500ms or 2m)');
  const unit = SECOND_UNITS[(match[2] ?? 's').toLowerCase()] ?? 1;
  return checkSeconds(Number(match[1]) * unit);
}

export function checkSeconds(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidValue('is not a duration (write 30, 30s, 500ms or 2m)');
  }
  if (seconds > MAX_TIMER_SECONDS) {
    throw new InvalidValue(`is longer than the longest timer Node allows, ${MAX_TIMER_SECONDS}s`);
  }
  // 0.1 * 3 style noise would otherwise leak into the frozen config and the logs.
  return Math.round(seconds * 1e6) / 1e6;
}

// Binary multiples, as nginx's client_max_body_size counts them: 1k = 1024 bytes.
const BYTE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** `1024`, `64k`, `10m`, `1g`, `1.5MB` (any case) -> bytes, rounded down to a whole byte. */
export function parseBytes(raw: string): number {
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)?$/i.exec(raw.trim());
  const unit = BYTE_UNITS[(match?.[2] ?? 'b').toLowerCase()];
  if (!match || unit === undefined) {
    throw new InvalidValue('is not a size (write 1024, 64k, 10m or 1g)');
  }
  return checkBytes(Number(match[1]) * unit);
}

export function checkBytes(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new InvalidValue('is not a size (write 1024, 64k, 10m or 1g)');
  }
  const whole = Math.floor(bytes);
  if (!Number.isSafeInteger(whole)) throw new InvalidValue('is too large');
  return whole;
}

const BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  false: false,
  yes: true,
  no: false,
  '1': true,
  '0': false,
};

export function parseBool(raw: string): boolean {
  const value = BOOLEANS[raw.trim().toLowerCase()];
  if (value === undefined) {
    throw new InvalidValue('is not a boolean (write true, false, yes, no, 1 or 0)');
  }
  return value;
}

export function parseChoice<C extends string>(raw: string, choices: readonly C[]): C {
  const found = choices.find((c) => c === raw.trim().toLowerCase());
  if (found === undefined) throw new InvalidValue(`is not one of ${choices.join(', ')}`);
  return found;
}

/** Resolves a relative path against where the value came from; empty is an error. */
export function parsePath(raw: string, baseDir: string): string {
  if (raw === '') throw new InvalidValue('is not a path');
  if (raw.includes('\0')) throw new InvalidValue('contains a NUL byte');
  return isAbsolute(raw) ? raw : resolve(baseDir, raw);
}

// A listening address is parsed once here, so listeners never see a string.
export { formatBind, type BindAddress, type WebServerProtocol } from '../net/bind.js';

const BIND_FORMS = 'write HOST:PORT, [IPv6]:PORT or unix:PATH';
const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i;
/** `uwsgi:`, `scgi:` or `fastcgi:` at the start of a `--bind` value, in any case. */
const PROTOCOL_PREFIX = new RegExp(`^(${WEB_SERVER_PROTOCOLS.join('|')}):`, 'i');

/**
 * Parses one `--bind` value: `127.0.0.1:8000`, `localhost:8000`, `[::1]:8000`,
 * `unix:/run/cask.sock`, and for a web server in front `uwsgi://127.0.0.1:8001`,
 * `scgi://[::1]:4000`, `fastcgi:unix:/run/cask.sock` (src/cgi/).
 * A bare `:8000` is refused: gunicorn reads it as every interface, other tools as localhost, so
 * the user writes `0.0.0.0:8000` or `127.0.0.1:8000` and means it. A relative socket path is
 * resolved against `baseDir` when one is given.
 */
export function parseBind(text: string, baseDir?: string): BindAddress {
  const raw = text.trim();
  const prefix = PROTOCOL_PREFIX.exec(raw);
  if (prefix !== null) {
    const protocol = (prefix[1] as string).toLowerCase() as WebServerProtocol;
    return { ...parseProtocolAddress(protocol, raw.slice(prefix[0].length), baseDir), protocol };
  }
  if (raw.startsWith('unix:')) return parseUnix(raw.slice('unix:'.length), BIND_FORMS, baseDir);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw);
  if (scheme !== null) {
    const name = (scheme[1] as string).toLowerCase();
    if (name === 'http' || name === 'https') {
      throw new InvalidValue(`is a URL, not an address (${BIND_FORMS})`);
    }
    throw new InvalidValue(
      `names an unknown protocol "${scheme[1]}" (write uwsgi://, scgi:// or fastcgi://, or HOST:PORT for HTTP)`,
    );
  }
  return parseHostPort(raw, BIND_FORMS);
}

/**
 * The same forms as parseBind(), for a listener that speaks HTTP and nothing else (the admin
 * listener): a web server's protocol is refused rather than answered in HTTP.
 */
export function parseHttpBind(text: string, baseDir?: string): BindAddress {
  const address = parseBind(text, baseDir);
  if (address.protocol !== undefined) {
    throw new InvalidValue(
      `is a ${address.protocol} address, and this listener speaks HTTP (${BIND_FORMS})`,
    );
  }
  return address;
}

/** What follows `uwsgi:` (or `scgi:`, `fastcgi:`): `//HOST:PORT` or `unix:PATH`. */
function parseProtocolAddress(
  protocol: WebServerProtocol,
  rest: string,
  baseDir: string | undefined,
): BindAddress {
  const forms = `write ${protocol}://HOST:PORT or ${protocol}:unix:PATH`;
  if (rest.startsWith('unix:')) return parseUnix(rest.slice('unix:'.length), forms, baseDir);
  if (!rest.startsWith('//')) throw new InvalidValue(`is not an address (${forms})`);
  const address = rest.slice(2);
  if (address.startsWith('unix:')) {
    throw new InvalidValue(`writes a Unix socket as a URL (write ${protocol}:unix:PATH)`);
  }
  if (address.includes('/')) {
    throw new InvalidValue(`has a path after the address (write ${protocol}://HOST:PORT)`);
  }
  return parseHostPort(address, forms);
}

function parseUnix(path: string, forms: string, baseDir: string | undefined): BindAddress {
  if (path === '') throw new InvalidValue(`has no socket path (${forms})`);
  if (path.includes('\0')) throw new InvalidValue('contains a NUL byte');
  return { kind: 'unix', path: baseDir === undefined ? path : resolve(baseDir, path) };
}

function parseHostPort(raw: string, forms: string): BindAddress {
  let host: string;
  let portText: string | undefined;
  if (raw.startsWith('[')) {
    const end = raw.indexOf(']');
    if (end === -1) throw new InvalidValue(`has no closing bracket (${forms})`);
    host = raw.slice(1, end);
    if (!isIPv6(host)) throw new InvalidValue('is not a valid IPv6 address');
    const rest = raw.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':'))
      throw new InvalidValue(`is not an address (${forms})`);
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = raw.lastIndexOf(':');
    if (colon !== -1 && raw.indexOf(':') !== colon) {
      throw new InvalidValue('is an IPv6 address without brackets (write [::1]:8000)');
    }
    host = colon === -1 ? raw : raw.slice(0, colon);
    portText = colon === -1 ? undefined : raw.slice(colon + 1);
    if (host === '') {
      throw new InvalidValue(
        'has no host (write 0.0.0.0:PORT for every interface or 127.0.0.1:PORT for this machine)',
      );
    }
    const looksNumeric = /^[\d.]+$/.test(host);
    if (looksNumeric ? !isIPv4(host) : !HOSTNAME.test(host)) {
      throw new InvalidValue(`has an invalid host (${forms})`);
    }
  }

  if (portText === undefined || portText === '') {
    throw new InvalidValue(`has no port (${forms})`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new InvalidValue('has an invalid port (use 0 to 65535)');
  }
  return { kind: 'tcp', host, port: Number(portText) };
}
