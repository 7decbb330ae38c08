// The conformance corpus (test/conformance/requests) and the ways of cutting it, shared by the
// parser test (test/unit/http-conformance.test.ts) and the replay against a real server
// (test/integration/conformance-*.test.ts): requests as data, replayed at every chunking.

import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { APPS, startCask, type RunningCask } from './cask.js';
import { parseResponses, type ParsedResponse } from './http.js';

export const CORPUS = new URL('../conformance/', import.meta.url);

/** The limits of test/conformance/limits.json, as `cask serve` options. */
export const CORPUS_LIMITS = [
  '--limit-request-line', '1024', '--limit-request-fields', '32',
  '--limit-request-field-size', '1024', '--max-body-size', '4096',
]; // prettier-ignore

/** The echo app under the corpus limits, as every corpus replay runs it; `extra` adds options. */
export function startCorpusServer(extra: string[] = []): Promise<RunningCask> {
  return startCask([
    'echo:application',
    '--chdir',
    APPS,
    '-w',
    '2',
    '--threads',
    '4',
    ...extra,
    ...CORPUS_LIMITS,
  ]);
}

/** What the parser must make of one request of a valid file (the .json beside it). */
export interface ExpectedRequest {
  method: string;
  target: string;
  versionMinor: 0 | 1;
  headers: [string, string][];
  host: string;
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  expectContinue: boolean;
  upgrade: boolean;
  body: string;
}

export interface ValidExpectation {
  requests: ExpectedRequest[];
}

export interface InvalidExpectation {
  status: number;
  completeBefore: number;
  why: string;
}

export interface CorpusFile<E> {
  name: string;
  bytes: Buffer;
  expected: E;
}

export function corpus(kind: 'valid'): CorpusFile<ValidExpectation>[];
export function corpus(kind: 'invalid'): CorpusFile<InvalidExpectation>[];
export function corpus(kind: 'valid' | 'invalid'): CorpusFile<unknown>[] {
  const dir = new URL(`requests/${kind}/`, CORPUS);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.http'))
    .sort()
    .map((f) => ({
      name: `${kind}/${f}`,
      bytes: readFileSync(new URL(f, dir)),
      expected: JSON.parse(
        readFileSync(new URL(f.replace(/\.http$/, '.json'), dir), 'utf8'),
      ) as unknown,
    }));
}

/** mulberry32: a tiny seeded PRNG, so a failing split can be replayed. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a name: the seed of its random splits. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface Way {
  label: string;
  chunks: Buffer[];
}

function cutAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from) chunks.push(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  return chunks;
}

/** `count` seeded sets of 1 to 8 random cuts of `bytes`, seeded by `name`. */
export function randomWays(name: string, bytes: Buffer, count: number): Way[] {
  const next = random(hash(name));
  const out: Way[] = [];
  for (let k = 0; k < count; k++) {
    const cuts = Array.from({ length: 1 + Math.floor(next() * 8) }, () =>
      Math.floor(next() * bytes.length),
    ).sort((a, b) => a - b);
    out.push({ label: `cut at ${cuts.join(',')}`, chunks: cutAt(bytes, cuts) });
  }
  return out;
}

export interface WayOptions {
  /** Seeded random cuttings besides the fixed ones. */
  random: number;
  /**
   * Longest file sent one byte at a time throughout; of a longer one only the first and last
   * `bytewiseEdge` bytes go one by one (the middle goes whole), to bound the test's time.
   */
  bytewiseMax: number;
  bytewiseEdge: number;
}

/** Whole, one byte at a time (bounded), line by line (after each LF), and at random cuts. */
export function ways(name: string, bytes: Buffer, options: WayOptions): Way[] {
  const out: Way[] = [{ label: 'whole', chunks: [bytes] }];
  const ones = (from: number, to: number): number[] =>
    Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i + 1);
  if (bytes.length <= options.bytewiseMax) {
    out.push({ label: 'byte by byte', chunks: cutAt(bytes, ones(0, bytes.length - 1)) });
  } else {
    const edge = options.bytewiseEdge;
    const cuts = [...ones(0, edge), ...ones(bytes.length - edge - 1, bytes.length - 1)];
    out.push({ label: `byte by byte (first and last ${edge} bytes)`, chunks: cutAt(bytes, cuts) });
  }
  const lines: number[] = [];
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) lines.push(i + 1);
  out.push({ label: 'line by line', chunks: cutAt(bytes, lines) });
  out.push(...randomWays(name, bytes, options.random));
  return out;
}

export interface Replay {
  /** Every response in order, 1xx included. */
  responses: ParsedResponse[];
  raw: Buffer;
  /** The server closed the connection (or reset it). */
  closed: boolean;
  /** Milliseconds from connect to the end of the replay. */
  elapsed: number;
}

export interface ReplayOptions {
  host?: string;
  /** Shut our sending side after the last chunk (the server sees EOF). */
  halfClose?: boolean;
  /** Stop reading once this holds; else read until the server closes. */
  until?: (responses: ParsedResponse[], closed: boolean) => boolean;
  /** Give up after this long; the replay then resolves with what came. */
  ms?: number;
  /** Pause between chunks, so that the server reads them separately. */
  pauseMs?: number;
  /** Which of the final responses answer HEAD (they have no body). */
  headRequests?: boolean[];
}

/** Sends `chunks` over one raw connection and collects what the server answers. */
export function replay(port: number, chunks: Buffer[], opts: ReplayOptions = {}): Promise<Replay> {
  const started = Date.now();
  const parse = (raw: Buffer): ParsedResponse[] => parseResponses(raw, opts.headRequests).responses;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: opts.host ?? '127.0.0.1' });
    socket.setNoDelay(true);
    const received: Buffer[] = [];
    let closed = false;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(received);
      resolve({ responses: parse(raw), raw, closed, elapsed: Date.now() - started });
    };
    const check = (): void => {
      if (opts.until === undefined) {
        if (closed) finish();
        return;
      }
      if (opts.until(parse(Buffer.concat(received)), closed) || closed) finish();
    };
    const timer = setTimeout(finish, opts.ms ?? 10_000);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      check();
    });
    socket.on('end', () => {
      closed = true;
      check();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
        closed = true;
        finish();
      } else if (!done) {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('connect', async () => {
      for (let i = 0; i < chunks.length; i++) {
        if (socket.destroyed || done) return;
        await new Promise<void>((written) => socket.write(chunks[i] as Buffer, () => written()));
        if (i < chunks.length - 1) await new Promise((r) => setTimeout(r, opts.pauseMs ?? 1));
      }
      if (opts.halfClose && !socket.destroyed) socket.end();
    });
  });
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function inParallel<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function percentDecode(text: string): string {
  return text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) =>
    String.fromCharCode(parseInt(hex, 16)),
  );
}

/**
 * The CGI variables a WSGI app must see for `r`, written from PEP 3333 and RFC 3875 rather than
 * from src/wsgi/environ.ts: REQUEST_METHOD, PATH_INFO (percent-decoded; empty for "*"),
 * QUERY_STRING, RAW_URI and REQUEST_URI, SERVER_*, CONTENT_*, and one HTTP_* per header name
 * without "_" (repeats joined), with Host taken from an absolute-form target when there is one.
 * `listenerPort` is SERVER_PORT for a request without Host.
 */
export function expectedEnviron(r: ExpectedRequest, listenerPort: string): Record<string, string> {
  let rest = r.target;
  if (r.target !== '*' && !r.target.startsWith('/')) {
    rest = /^https?:\/\/[^/?#]*(.*)$/i.exec(r.target)?.[1] || '/';
  }
  const q = rest.indexOf('?');
  const env: Record<string, string> = {
    REQUEST_METHOD: r.method,
    SCRIPT_NAME: '',
    // PEP 3333: PATH_INFO is empty or starts with "/"; the asterisk form has no path.
    PATH_INFO: r.target === '*' ? '' : percentDecode(q === -1 ? rest : rest.slice(0, q)),
    QUERY_STRING: q === -1 ? '' : rest.slice(q + 1),
    RAW_URI: r.target,
    REQUEST_URI: r.target,
    SERVER_PROTOCOL: `HTTP/1.${r.versionMinor}`,
    REMOTE_ADDR: '127.0.0.1',
    'wsgi.url_scheme': 'http',
  };
  if (r.host === '') {
    env.SERVER_NAME = '127.0.0.1';
    env.SERVER_PORT = listenerPort;
  } else {
    const close = r.host.startsWith('[') ? r.host.indexOf(']') + 1 : 0;
    const colon = r.host.indexOf(':', close);
    env.SERVER_NAME = colon === -1 ? r.host : r.host.slice(0, colon);
    env.SERVER_PORT = colon === -1 || colon === r.host.length - 1 ? '80' : r.host.slice(colon + 1);
  }
  const absolute = r.target !== '*' && !r.target.startsWith('/');
  for (const [name, value] of r.headers) {
    if (name.includes('_')) continue;
    let key = `HTTP_${name.toUpperCase().replaceAll('-', '_')}`;
    if (key === 'HTTP_CONTENT_LENGTH' || key === 'HTTP_TRANSFER_ENCODING') continue;
    if (key === 'HTTP_HOST' && absolute) continue;
    if (key === 'HTTP_CONTENT_TYPE') key = 'CONTENT_TYPE';
    const before = env[key];
    env[key] =
      before === undefined ? value : `${before}${key === 'HTTP_COOKIE' ? '; ' : ', '}${value}`;
  }
  if (absolute) env.HTTP_HOST = r.host;
  // Present whenever the client framed a body, even an empty one; absent without framing.
  if (r.contentLength >= 0 || r.chunked)
    env.CONTENT_LENGTH = String(Buffer.byteLength(r.body, 'latin1'));
  return env;
}
