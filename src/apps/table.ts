// Private to src/apps: which app a request goes to, from its Host and its path. Pure (no
// sockets, no settings), so every rule below is a unit test.
//
//   1. `--vhost`: the Host, without its port, lower-cased, without a trailing dot, is looked up:
//      an exact name first, then `*.` wildcards, the longest suffix first (`*.example.org`
//      takes `a.example.org` and `a.b.example.org`, never `example.org` itself, as nginx's
//      server_name does);
//   2. `--mount`: the path, percent-decoded as PATH_INFO is, goes to the longest prefix it is
//      under on a segment boundary (`/api` takes `/api` and `/api/x`, never `/apix`); `/` takes
//      every path. A path under no prefix: 404;
//   3. the `*` vhost, the default;
//   4. none of these: 421 Misdirected Request (RFC 9110 §15.5.20), "this server does not
//      serve that authority".
//
// The path is matched after percent-decoding because the environ is split after it
// (src/wsgi/environ.ts): `/%61pi/x` must reach the app that `/api/x` reaches, with the same
// SCRIPT_NAME, rather than the app at `/` with PATH_INFO `/api/x`.

import { percentDecode } from '../wsgi/environ.js';

export const NOT_FOUND = 404;
export const MISDIRECTED = 421;

export type Pick<T> = T | typeof NOT_FOUND | typeof MISDIRECTED;

export interface MountRow<T> {
  /** `/api` (no trailing slash) or `/`. */
  readonly prefix: string;
  readonly value: T;
}

export interface VhostRow<T> {
  /** `example.org`, `*.example.org`, or `*` for the default. */
  readonly host: string;
  readonly value: T;
}

/** `Example.ORG.:8080` -> `example.org`; `[::1]:8000` -> `[::1]`. */
export function hostName(host: string): string {
  let name: string;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    name = close === -1 ? host : host.slice(0, close + 1);
  } else {
    const colon = host.lastIndexOf(':');
    name = colon === -1 ? host : host.slice(0, colon);
  }
  name = name.toLowerCase();
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * The path of a request-target as PATH_INFO sees it, before any SCRIPT_NAME split: origin-form
 * without its query, the path of an absolute-form target (RFC 9112 §3.2.2), '' for `*`.
 */
export function targetPathInfo(target: string): string {
  let path = target;
  if (target.charCodeAt(0) !== 0x2f /* / */) {
    const match = /^https?:\/\/[^/?#]*(.*)$/i.exec(target);
    if (match === null) return '';
    path = match[1] as string;
    if (path.charCodeAt(0) !== 0x2f) path = `/${path}`;
  }
  const query = path.indexOf('?');
  return percentDecode(query === -1 ? path : path.slice(0, query));
}

export class AppTable<T> {
  private readonly exact = new Map<string, T>();
  /** `[".example.org", value]`, the longest suffix first. */
  private readonly wildcards: Array<readonly [string, T]> = [];
  private readonly fallback: T | undefined;
  /** The longest prefix first; `/` last. */
  private readonly mounts: Array<MountRow<T>>;

  constructor(mounts: readonly MountRow<T>[], vhosts: readonly VhostRow<T>[]) {
    let fallback: T | undefined;
    for (const { host, value } of vhosts) {
      if (host === '*') fallback = value;
      else if (host.startsWith('*.')) this.wildcards.push([host.slice(1), value]);
      else this.exact.set(host, value);
    }
    this.fallback = fallback;
    this.wildcards.sort((a, b) => b[0].length - a[0].length);
    this.mounts = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The app for a request with this Host (as sent, port included) and request-target. */
  pick(host: string, target: string): Pick<T> {
    if (this.exact.size > 0 || this.wildcards.length > 0) {
      const name = hostName(host);
      const exact = this.exact.get(name);
      if (exact !== undefined) return exact;
      for (const [suffix, value] of this.wildcards) {
        if (name.length > suffix.length && name.endsWith(suffix)) return value;
      }
    }
    if (this.mounts.length > 0) {
      const path = targetPathInfo(target);
      for (const { prefix, value } of this.mounts) {
        if (prefix === '/' || path === prefix || path.startsWith(`${prefix}/`)) return value;
      }
      return NOT_FOUND;
    }
    return this.fallback ?? MISDIRECTED;
  }
}
