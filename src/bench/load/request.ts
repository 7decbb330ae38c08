// Request bytes and request choice. Each template is serialised once into a Buffer (and a
// shared body Buffer) so the hot path only writes prebuilt bytes.
import type { RequestTemplate } from './spec.js';

export interface WireRequest {
  tag: string;
  head: Buffer;
  body: Buffer | null;
  isHead: boolean;
}

export function buildRequest(
  t: RequestTemplate,
  host: string,
  port: number,
  keepAlive: boolean,
): WireRequest {
  const lines = [`${t.method} ${t.path} HTTP/1.1`, `Host: ${host}:${port}`];
  const names = new Set(t.headers.map(([n]) => n.toLowerCase()));
  for (const [n, v] of t.headers) lines.push(`${n}: ${v}`);
  if (!names.has('connection'))
    lines.push(keepAlive ? 'Connection: keep-alive' : 'Connection: close');
  if (t.bodyBytes > 0 && !names.has('content-length')) lines.push(`Content-Length: ${t.bodyBytes}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  // One zero-filled body per size is enough: the server reads and counts it.
  const body = t.bodyBytes > 0 ? Buffer.alloc(t.bodyBytes, 0x61) : null;
  return { tag: t.tag, head, body, isHead: t.method === 'HEAD' };
}

/** mulberry32: a tiny seeded PRNG, so "5% slow requests" is the same sequence every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks a request by weight; with one template it is a constant. */
export function makePicker(
  requests: readonly WireRequest[],
  weights: readonly number[],
  seed: number,
): () => WireRequest {
  if (requests.length === 0) throw new RangeError('A load needs at least one request template: 0');
  const only = requests[0] as WireRequest;
  if (requests.length === 1) return () => only;
  const total = weights.reduce((s, w) => s + w, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) cumulative.push((acc += w / total));
  const rand = prng(seed);
  return () => {
    const r = rand();
    for (let i = 0; i < cumulative.length; i++)
      if (r < (cumulative[i] as number)) return requests[i] as WireRequest;
    return requests[requests.length - 1] as WireRequest;
  };
}
