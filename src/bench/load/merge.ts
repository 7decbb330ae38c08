// Splitting a job across several generator processes and merging what they return.
import { LatencyHistogram } from '../histogram.js';
import { addCounts } from '../stats.js';
import type { LoadResult, LoadSpec } from './spec.js';

function share(total: number, i: number, k: number): number {
  return Math.floor(total / k) + (i < total % k ? 1 : 0);
}

/** The part of `spec` generator i of k runs: connections and rates divided, open-loop
 * schedules interleaved by a phase offset so the sum is still evenly spaced. */
export function splitSpec(spec: LoadSpec, i: number, k: number): LoadSpec {
  if (k === 1) return spec;
  const seed = spec.seed + i * 7919;
  switch (spec.kind) {
    case 'closed':
      return { ...spec, seed, connections: share(spec.connections, i, k) };
    case 'open':
      return {
        ...spec,
        seed,
        rate: spec.rate / k,
        phaseMs: spec.phaseMs + (i * 1000) / spec.rate,
        maxConnections: Math.max(1, share(spec.maxConnections, i, k)),
        ...(spec.count === undefined ? {} : { count: share(spec.count, i, k) }),
      };
    case 'slow':
      return {
        ...spec,
        seed,
        clients: share(spec.clients, i, k),
        idleClients: share(spec.idleClients, i, k),
        fast: { ...spec.fast, seed, connections: share(spec.fast.connections, i, k) },
      };
    case 'idle':
      return {
        ...spec,
        seed,
        connections: share(spec.connections, i, k),
        concurrency: Math.max(1, share(spec.concurrency, i, k)),
      };
    case 'ws':
      return spec; // one room: usefulSplit() never splits it
  }
}

/** Whether a split gives every generator something to do. */
export function usefulSplit(spec: LoadSpec, k: number): number {
  if (spec.kind === 'ws') return 1;
  const units =
    spec.kind === 'closed' || spec.kind === 'idle'
      ? spec.connections
      : spec.kind === 'slow'
        ? spec.fast.connections
        : k;
  return Math.max(1, Math.min(k, units));
}

export function mergeResults(parts: readonly LoadResult[]): LoadResult {
  const first = parts[0];
  if (first === undefined) throw new RangeError('Cannot merge zero load results: 0');
  if (parts.length === 1) return first;
  const tags = new Set(parts.flatMap((p) => Object.keys(p.latency)));
  const latency: Record<string, string> = {};
  for (const tag of tags) {
    latency[tag] = LatencyHistogram.merge(
      parts.flatMap((p) => (p.latency[tag] === undefined ? [] : [p.latency[tag]])),
    ).encode();
  }
  const big = (f: (p: LoadResult) => string, pick: (a: bigint, b: bigint) => boolean): string =>
    parts
      .map((p) => BigInt(f(p)))
      .reduce((a, b) => (pick(a, b) ? a : b))
      .toString();
  const sum = (f: (p: LoadResult) => number): number => parts.reduce((s, p) => s + f(p), 0);
  const out: LoadResult = {
    kind: first.kind,
    windowStartNs: big(
      (p) => p.windowStartNs,
      (a, b) => a < b,
    ),
    windowEndNs: big(
      (p) => p.windowEndNs,
      (a, b) => a > b,
    ),
    ok: sum((p) => p.ok),
    sent: sum((p) => p.sent),
    statuses: parts.reduce((acc, p) => addCounts(acc, p.statuses), {} as Record<string, number>),
    errors: parts.reduce((acc, p) => addCounts(acc, p.errors), {} as Record<string, number>),
    retries: sum((p) => p.retries),
    connections: sum((p) => p.connections),
    bytesIn: sum((p) => p.bytesIn),
    latency,
  };
  const enc = (f: (p: LoadResult) => string | undefined): string[] =>
    parts.flatMap((p) => (f(p) === undefined ? [] : [f(p) as string]));
  if (first.connectTime !== undefined)
    out.connectTime = LatencyHistogram.merge(enc((p) => p.connectTime)).encode();
  if (first.connectionTime !== undefined)
    out.connectionTime = LatencyHistogram.merge(enc((p) => p.connectionTime)).encode();
  if (first.maxLagMs !== undefined) out.maxLagMs = Math.max(...parts.map((p) => p.maxLagMs ?? 0));
  if (first.spanMs !== undefined) out.spanMs = Math.max(...parts.map((p) => p.spanMs ?? 0));
  if (first.span99Ms !== undefined) out.span99Ms = Math.max(...parts.map((p) => p.span99Ms ?? 0));
  if (first.replyRates !== undefined) {
    const n = Math.max(...parts.map((p) => p.replyRates?.length ?? 0));
    out.replyRates = Array.from({ length: n }, (_, i) => sum((p) => p.replyRates?.[i] ?? 0));
  }
  if (parts.some((p) => p.closesWithoutNotice !== undefined))
    out.closesWithoutNotice = sum((p) => p.closesWithoutNotice ?? 0);
  if (first.idle !== undefined) {
    out.idle = {
      target: sum((p) => p.idle?.target ?? 0),
      opened: sum((p) => p.idle?.opened ?? 0),
      answered: sum((p) => p.idle?.answered ?? 0),
      held: sum((p) => p.idle?.held ?? 0),
      closedByServer: sum((p) => p.idle?.closedByServer ?? 0),
      rampMs: Math.max(...parts.map((p) => p.idle?.rampMs ?? 0)),
      errors: parts.reduce(
        (acc, p) => addCounts(acc, p.idle?.errors ?? {}),
        {} as Record<string, number>,
      ),
    };
  }
  if (first.slow !== undefined) {
    out.slow = {
      clients: sum((p) => p.slow?.clients ?? 0),
      completed: sum((p) => p.slow?.completed ?? 0),
      connected: sum((p) => p.slow?.connected ?? 0),
      open: sum((p) => p.slow?.open ?? 0),
      bytesIn: sum((p) => p.slow?.bytesIn ?? 0),
      errors: parts.reduce(
        (acc, p) => addCounts(acc, p.slow?.errors ?? {}),
        {} as Record<string, number>,
      ),
    };
  }
  return out;
}
