// The primary's admin answers for `--fronts N`: each front's /metrics and /stats, read over
// its private admin socket, made into one. Pure: the texts and documents in, one out, so the
// unit tests feed them by hand.
//
// What one front counts, the server counts N times: counters and most gauges are summed. What
// describes one process keeps a `front` label (every worker series, whose `worker` numbers
// repeat from front to front, and the front's own CPU and memory). The few figures that are
// not amounts are combined as what they mean: the earliest start, the newest generation, the
// mean utilisation (the fronts have equal shares of the workers), the slowest front's
// percentiles.

/** Series that belong to one process: they get the `front` label instead of being summed. */
function perProcess(name: string, labels: string): boolean {
  return name.startsWith('cask_front_') || /(^|,)(worker|pid)="/.test(labels);
}

interface Family {
  comments: string[];
  samples: Map<string, number>;
  /** How the family's samples combine across fronts. */
  combine: 'sum' | 'min' | 'max' | 'mean' | 'first';
  seen: Map<string, number>;
}

const COMBINE: Readonly<Record<string, Family['combine']>> = {
  cask_info: 'first',
  cask_start_time_seconds: 'min',
  cask_generation: 'max',
  cask_capacity_utilization: 'mean',
};

function sampleName(line: string): { name: string; labels: string; value: number } | undefined {
  const space = line.lastIndexOf(' ');
  if (space <= 0) return undefined;
  const key = line.slice(0, space);
  const value = Number(line.slice(space + 1));
  const brace = key.indexOf('{');
  if (brace === -1) return { name: key, labels: '', value };
  return { name: key.slice(0, brace), labels: key.slice(brace + 1, -1), value };
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** One Prometheus text exposition from each front's, in the order of the fronts (1, 2, …). */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  texts.forEach((text, index) => {
    let current: Family | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        // `# HELP name …` and `# TYPE name …` open a family; other comments are dropped.
        const name = /^# (?:HELP|TYPE) (\S+)/.exec(line)?.[1];
        if (name === undefined) continue;
        let family = families.get(name);
        if (family === undefined) {
          family = {
            comments: [],
            samples: new Map(),
            combine: COMBINE[name] ?? 'sum',
            seen: new Map(),
          };
          families.set(name, family);
        }
        if (!family.comments.includes(line)) family.comments.push(line);
        current = family;
        continue;
      }
      const sample = sampleName(line);
      if (sample === undefined || current === undefined) continue;
      const front = `front="${index + 1}"`;
      const key = perProcess(sample.name, sample.labels)
        ? `${sample.name}{${sample.labels === '' ? front : `${front},${sample.labels}`}}`
        : sample.labels === ''
          ? sample.name
          : `${sample.name}{${sample.labels}}`;
      const before = current.samples.get(key);
      current.seen.set(key, (current.seen.get(key) ?? 0) + 1);
      if (before === undefined) {
        current.samples.set(key, sample.value);
        continue;
      }
      switch (current.combine) {
        case 'first':
          break;
        case 'min':
          current.samples.set(key, Math.min(before, sample.value));
          break;
        case 'max':
          current.samples.set(key, Math.max(before, sample.value));
          break;
        default:
          current.samples.set(key, before + sample.value);
      }
    }
  });
  const out: string[] = [];
  for (const family of families.values()) {
    out.push(...family.comments);
    for (const [key, value] of family.samples) {
      const n = family.combine === 'mean' ? (family.seen.get(key) ?? 1) : 1;
      out.push(`${key} ${formatValue(value / n)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Fields of /stats combined otherwise than by summing (see the top of this file). */
const STATS_RULES: Readonly<Record<string, 'first' | 'min' | 'max' | 'mean'>> = {
  version: 'first',
  app: 'first',
  startedAt: 'min',
  uptime: 'max',
  generation: 'max',
  reloading: 'first',
  recent: 'mean',
  sinceStart: 'mean',
  p50Ms: 'max',
  p90Ms: 'max',
  p99Ms: 'max',
  p50: 'max',
  p90: 'max',
  p99: 'max',
  t: 'max',
};

function combine(values: Json[], rule: string | undefined, key: string): Json {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return null;
  const first = present[0] as Json;
  if (typeof first === 'number') {
    const numbers = present.filter((v): v is number => typeof v === 'number');
    switch (rule) {
      case 'first':
        return first;
      case 'min':
        return Math.min(...numbers);
      case 'max':
        return Math.max(...numbers);
      case 'mean':
        return numbers.reduce((a, b) => a + b, 0) / numbers.length;
      default:
        return numbers.reduce((a, b) => a + b, 0);
    }
  }
  if (typeof first === 'boolean') {
    // `reloading` and the like: true while any front is.
    return present.some((v) => v === true);
  }
  if (typeof first === 'string') return first;
  if (Array.isArray(first)) {
    // Lists of workers (or of apps): every front's, each item saying which front it is in.
    return values.flatMap((v, index) =>
      Array.isArray(v)
        ? v.map((item) =>
            item !== null && typeof item === 'object' && !Array.isArray(item)
              ? { front: index + 1, ...item }
              : item,
          )
        : [],
    );
  }
  const keys = new Set<string>();
  for (const v of present)
    if (typeof v === 'object' && !Array.isArray(v)) for (const k of Object.keys(v)) keys.add(k);
  const out: { [k: string]: Json } = {};
  for (const k of keys) {
    out[k] = combine(
      present.map((v) => (v as { [k: string]: Json })[k] ?? null),
      STATS_RULES[k],
      k,
    );
  }
  // A mean of means must be weighted by how many each one counted.
  if (key !== '' && 'meanMs' in out && 'count' in out) {
    let weighted = 0;
    let count = 0;
    for (const v of present) {
      const o = v as { meanMs?: Json; count?: Json };
      if (typeof o.meanMs === 'number' && typeof o.count === 'number') {
        weighted += o.meanMs * o.count;
        count += o.count;
      }
    }
    out.meanMs = count > 0 ? weighted / count : null;
  }
  return out;
}

/**
 * One /stats document from each front's: amounts summed, workers listed with their front,
 * `pid` the primary's, and `fronts` the number of fronts answering.
 */
export function mergeStats(docs: readonly Json[], primaryPid: number): Json {
  const merged = combine([...docs], undefined, '') as { [k: string]: Json };
  return { ...merged, pid: primaryPid, fronts: docs.length };
}
