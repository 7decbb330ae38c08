// What a trusted proxy says about the client: X-Forwarded-For/-Proto/-Host/-Port and RFC 7239
// Forwarded. Pure; buildEnviron() calls it only for a peer in `forwarded-allow-ips`, and drops
// these headers for anyone else (docs/security.md, "Proxies").
//
// Each proxy on the way appends what it saw, so the right end of the list is written by our
// peer, the one party we know we trust. The walk goes right to left over hops written by
// trusted proxies and stops at the first address that is not one: that is the client. Taking
// the left-most entry instead (what many frameworks do) lets any client name itself.
//
// When Forwarded is present it wins and X-Forwarded-* are ignored: it carries each hop's
// address, scheme and host together, so they cannot be mixed up between hops.

import { isIPv4, isIPv6 } from 'node:net';
import { isHost } from '../http/host.js';

/** The headers' values as the environ holds them (repeated fields already joined with ", "). */
export interface ForwardedHeaders {
  forwarded?: string;
  xForwardedFor?: string;
  xForwardedProto?: string;
  xForwardedHost?: string;
  xForwardedPort?: string;
}

/** What the request looked like at the client's end; only what the headers said validly. */
export interface ForwardedView {
  remoteAddr?: string;
  remotePort?: string;
  scheme?: 'http' | 'https';
  host?: string;
  port?: string;
}

export function resolveForwarded(
  headers: ForwardedHeaders,
  trusted: (address: string) => boolean,
): ForwardedView {
  if (headers.forwarded !== undefined) {
    const elements = parseForwarded(headers.forwarded);
    return elements === undefined ? {} : walkForwarded(elements, trusted);
  }
  const view: ForwardedView = {};
  if (headers.xForwardedFor !== undefined) {
    const client = walkForwardedFor(headers.xForwardedFor, trusted);
    if (client !== undefined) {
      view.remoteAddr = client.address;
      if (client.port !== undefined) view.remotePort = client.port;
    }
  }
  const proto = lastMember(headers.xForwardedProto)?.toLowerCase();
  if (proto === 'http' || proto === 'https') view.scheme = proto;
  const host = lastMember(headers.xForwardedHost);
  if (host !== undefined && host !== '' && isHost(host)) view.host = host;
  const port = lastMember(headers.xForwardedPort);
  if (port !== undefined && isPort(port)) view.port = port;
  return view;
}

/** The last member of a comma-separated list: the one our own peer wrote. */
function lastMember(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const comma = value.lastIndexOf(',');
  return (comma === -1 ? value : value.slice(comma + 1)).trim();
}

function isPort(text: string): boolean {
  if (text.length === 0 || text.length > 5) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return Number(text) <= 65535;
}

interface Node {
  address: string;
  port?: string;
}

/**
 * An address as proxies write it in X-Forwarded-For or Forwarded's for=: `192.0.2.1`,
 * `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`. Undefined for anything else,
 * including RFC 7239's `unknown` and obfuscated `_names`.
 */
function parseNode(text: string): Node | undefined {
  if (isIPv4(text) || isIPv6(text)) return { address: text };
  let address: string;
  let port: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    address = text.slice(1, close);
    if (close === -1 || !isIPv6(address)) return undefined;
    if (close === text.length - 1) return { address };
    if (text[close + 1] !== ':') return undefined;
    port = text.slice(close + 2);
  } else {
    const colon = text.indexOf(':');
    address = text.slice(0, colon);
    if (colon === -1 || !isIPv4(address)) return undefined;
    port = text.slice(colon + 1);
  }
  // RFC 7239 §6 also allows an obfuscated port (`_x`): the address still counts, the port not.
  return isPort(port) ? { address, port } : port.startsWith('_') ? { address } : undefined;
}

function walkForwardedFor(value: string, trusted: (address: string) => boolean): Node | undefined {
  const entries = value.split(',');
  for (let i = entries.length - 1; i >= 0; i--) {
    const node = parseNode((entries[i] as string).trim());
    // A hop we cannot read: we cannot know who is left of it, so the peer stays the client.
    if (node === undefined) return undefined;
    if (i === 0 || !trusted(node.address)) return node;
  }
  return undefined;
}

type Element = Map<string, string>;

function walkForwarded(elements: Element[], trusted: (address: string) => boolean): ForwardedView {
  let chosen: Element | undefined;
  for (let i = elements.length - 1; i >= 0; i--) {
    chosen = elements[i] as Element;
    const node = parseNode(chosen.get('for') ?? '');
    if (node === undefined || !trusted(node.address)) break;
  }
  const view: ForwardedView = {};
  if (chosen === undefined) return view;
  const node = parseNode(chosen.get('for') ?? '');
  if (node !== undefined) {
    view.remoteAddr = node.address;
    if (node.port !== undefined) view.remotePort = node.port;
  }
  const proto = chosen.get('proto')?.toLowerCase();
  if (proto === 'http' || proto === 'https') view.scheme = proto;
  const host = chosen.get('host');
  if (host !== undefined && host !== '' && isHost(host)) view.host = host;
  return view;
}

const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}

function isTchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/**
 * Parses a Forwarded value (RFC 7239 §4) into its elements, parameter names lower-cased; the
 * whole header is undefined (and ignored) if any of it is malformed, or an element repeats a
 * parameter (§4: "MUST NOT occur more than once per forwarded-element").
 *
 *   Forwarded         = 1#forwarded-element
 *   forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
 *   forwarded-pair    = token "=" value          value = token / quoted-string
 */
export function parseForwarded(value: string): Element[] | undefined {
  const elements: Element[] = [];
  let element: Element = new Map();
  const n = value.length;
  let i = 0;
  const skipOws = (): void => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  skipOws();
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c === 0x2c /* , */ || c === 0x3b /* ; */) {
      if (c === 0x2c) {
        if (element.size > 0) elements.push(element);
        element = new Map();
      }
      i++;
      skipOws();
      continue;
    }
    const nameStart = i;
    while (i < n && isTchar(value.charCodeAt(i))) i++;
    if (i === nameStart || value[i] !== '=') return undefined;
    const name = value.slice(nameStart, i).toLowerCase();
    i++;
    let text: string;
    if (value[i] === '"') {
      text = '';
      for (i++; ; i++) {
        if (i >= n) return undefined;
        const q = value[i];
        if (q === '"') break;
        if (q === '\\') {
          i++;
          if (i >= n) return undefined;
        }
        text += value[i];
      }
      i++;
    } else {
      const start = i;
      while (i < n && isTchar(value.charCodeAt(i))) i++;
      if (i === start) return undefined;
      text = value.slice(start, i);
    }
    if (element.has(name)) return undefined;
    element.set(name, text);
    skipOws();
    if (i < n && value[i] !== ',' && value[i] !== ';') return undefined;
  }
  if (element.size > 0) elements.push(element);
  return elements.length > 0 ? elements : undefined;
}
