// Private to src/admin: a Snapshot in the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Every family has its HELP
// and TYPE lines; counters end in `_total`; histograms have cumulative `_bucket` lines up to
// `le="+Inf"`, then `_sum` and `_count`. docs/observability.md lists each metric, and a test
// runs the output through `promtool check metrics`.

import { VERSION } from '../version.js';
import { type Histogram, METHODS, STATUS_CLASSES } from './instruments.js';
import type { AppPart, Snapshot } from './snapshot.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label values seeded at 0, so a rate() over them works before the first event. */
export const START_REASONS = ['start', 'reload', 'crash', 'recycled', 'timeout', 'scaling'];
export const EXIT_REASONS = ['recycled', 'timeout', 'crash', 'reload', 'scaling', 'shutdown'];
export const CONNECTION_STATES = ['idle', 'reading', 'in-app', 'flushing', 'closing', 'proxy'];

type Labels = Readonly<Record<string, string | number>>;

function escape(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function labelText(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(String(v))}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  return String(value);
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    this.lines.push(`# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, value: number, labels?: Labels): this {
    this.lines.push(`${name}${labelText(labels)} ${num(value)}`);
    return this;
  }

  one(name: string, type: 'counter' | 'gauge', help: string, value: number): this {
    return this.family(name, type, help).sample(name, value);
  }

  byReason(
    name: string,
    help: string,
    seeds: readonly string[],
    counts: Readonly<Record<string, number>>,
  ): this {
    this.family(name, 'counter', help);
    return this.reasons(name, seeds, counts, {});
  }

  /** The samples of a by-reason counter, with `labels` (the app's) before the reason. */
  reasons(
    name: string,
    seeds: readonly string[],
    counts: Readonly<Record<string, number>>,
    labels: Labels,
  ): this {
    const keys = new Set([...seeds, ...Object.keys(counts)]);
    for (const reason of keys) this.sample(name, counts[reason] ?? 0, { ...labels, reason });
    return this;
  }

  histogram(name: string, help: string, h: Histogram): this {
    this.family(name, 'histogram', help);
    let cumulative = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      cumulative += h.counts[i] as number;
      this.sample(`${name}_bucket`, cumulative, { le: num(h.bounds[i] as number) });
    }
    cumulative += h.counts[h.bounds.length] as number;
    this.sample(`${name}_bucket`, cumulative, { le: '+Inf' });
    this.sample(`${name}_sum`, h.sum);
    this.sample(`${name}_count`, cumulative);
    return this;
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/**
 * @param utilization busy over available thread-seconds over the sampler's recent window, or
 *   undefined to use the whole life of the server
 */
export function renderMetrics(snap: Snapshot, utilization?: number): string {
  const out = new Exposition();
  const m = snap.metrics;
  // With several apps every per-app series has an `app` label (worker numbers repeat from app
  // to app); with one the series keep the labels they always had.
  const several = snap.apps.length > 1;
  const of = (a: AppPart): Labels => (several ? { app: a.name } : {});
  const perApp = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    value: (a: AppPart) => number,
  ): void => {
    out.family(name, type, help);
    for (const a of snap.apps) out.sample(name, value(a), of(a));
  };

  out.family('cask_info', 'gauge', 'Always 1; the labels say which Cask serves which app.');
  for (const a of snap.apps)
    out.sample(
      'cask_info',
      1,
      several
        ? { version: VERSION, app: a.name, callable: a.app }
        : { version: VERSION, app: a.app },
    );
  out.one(
    'cask_start_time_seconds',
    'gauge',
    'When the server started, in seconds since the epoch.',
    snap.startedAt / 1000,
  );

  out.family(
    'cask_requests_total',
    'counter',
    'Requests answered (or abandoned by their client), by method and status class; "none" when no status went out.',
  );
  for (const a of snap.apps) {
    for (let mi = 0; mi < METHODS.length; mi++) {
      for (let si = 0; si < STATUS_CLASSES.length; si++) {
        const n = a.requests[mi * STATUS_CLASSES.length + si] as number;
        if (n > 0 || (mi === 0 && si === 2)) {
          out.sample('cask_requests_total', n, {
            app: a.name,
            method: METHODS[mi] as string,
            status_class: STATUS_CLASSES[si] as string,
          });
        }
      }
    }
  }
  out.histogram(
    'cask_queue_wait_seconds',
    "Time from the request being complete to its dispatch to a worker (waiting in the front's queue).",
    m.queueWait,
  );
  out.histogram(
    'cask_app_seconds',
    "Time from dispatch to the worker's last frame: the app running, plus any wait for a thread inside the worker (prefetch).",
    m.appTime,
  );
  out.histogram(
    'cask_send_seconds',
    "Time from the worker's last frame to the response being handed to the client's connection.",
    m.sendTime,
  );
  out.histogram(
    'cask_request_duration_seconds',
    'Time from the request being complete to its response being sent: queue wait + app + send.',
    m.duration,
  );

  perApp(
    'cask_queue_depth',
    'gauge',
    "Requests waiting in the front's queue for a free worker.",
    (a) => a.queue.depth,
  );
  perApp('cask_queue_limit', 'gauge', 'max-queue: past it, requests get 503.', (a) => a.queue.max);

  const perWorker = (
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    value: (w: Snapshot['workers'][number]) => number | null,
  ): void => {
    out.family(name, type, help);
    for (const w of snap.workers) {
      const v = value(w);
      if (v !== null)
        out.sample(name, v, several ? { app: w.app, worker: w.worker } : { worker: w.worker });
    }
  };
  out.family(
    'cask_worker_info',
    'gauge',
    'Always 1, one per worker process: its pid, generation and state.',
  );
  for (const w of snap.workers) {
    out.sample('cask_worker_info', 1, {
      ...(several ? { app: w.app } : {}),
      worker: w.worker,
      pid: w.pid ?? '',
      generation: w.generation,
      state: w.state,
    });
  }
  perWorker('cask_worker_threads', 'gauge', 'Threads of the worker.', (w) => w.threads);
  perWorker(
    'cask_worker_busy_threads',
    'gauge',
    'Threads of the worker running a request now.',
    (w) => w.busy,
  );
  perWorker(
    'cask_worker_idle_threads',
    'gauge',
    'Threads of a ready worker with nothing to run now.',
    (w) => w.idle,
  );
  perWorker(
    'cask_worker_prefetched_requests',
    'gauge',
    'Requests the worker holds beyond its threads, waiting inside it (prefetch).',
    (w) => w.queued,
  );
  perWorker(
    'cask_worker_requests_total',
    'counter',
    'Requests dispatched to the worker over its life; one given back unstarted and sent again counts for each worker it was sent to.',
    (w) => w.served,
  );
  perWorker(
    'cask_worker_cpu_seconds_total',
    'counter',
    'User and system CPU time of the worker process (/proc/PID/stat).',
    (w) => w.cpuSeconds,
  );
  perWorker(
    'cask_worker_resident_memory_bytes',
    'gauge',
    'Resident memory of the worker process (VmRSS in /proc/PID/status).',
    (w) => w.rssBytes,
  );
  perWorker(
    'cask_worker_busy_thread_seconds_total',
    'counter',
    'Busy thread-seconds of the worker: threads running a request, integrated over time.',
    (w) => w.busySeconds,
  );
  perWorker(
    'cask_worker_uptime_seconds',
    'gauge',
    'Seconds since the worker was started.',
    (w) => w.uptime,
  );

  out.family(
    'cask_workers',
    'gauge',
    'Worker processes, by state (starting, ready, retiring, draining, stopping).',
  );
  for (const a of snap.apps) {
    const states: Record<string, number> = {};
    for (const w of a.workers) states[w.state] = (states[w.state] ?? 0) + 1;
    for (const state of new Set(['starting', 'ready', ...Object.keys(states)]))
      out.sample('cask_workers', states[state] ?? 0, { ...of(a), state });
  }
  perApp(
    'cask_workers_target',
    'gauge',
    'Worker processes wanted (workers, changed by SIGTTIN/SIGTTOU and autoscaling).',
    (a) => a.target,
  );
  perApp(
    'cask_generation',
    'gauge',
    'The generation of workers serving; each reload adds one.',
    (a) => a.generation,
  );
  out.family(
    'cask_worker_starts_total',
    'counter',
    'Worker processes started, by reason: start, reload, crash (replacing one), recycled (max-requests, max-lifetime, max-rss), timeout (replacing one with a stuck request), scaling.',
  );
  for (const a of snap.apps)
    out.reasons('cask_worker_starts_total', START_REASONS, a.starts, of(a));
  out.family(
    'cask_worker_exits_total',
    'counter',
    'Worker processes that exited, by reason: recycled, timeout (stuck request), crash (unexpected), reload (old generation, or a failed new one), scaling, shutdown.',
  );
  for (const a of snap.apps) out.reasons('cask_worker_exits_total', EXIT_REASONS, a.exits, of(a));

  perApp(
    'cask_busy_thread_seconds_total',
    'counter',
    'Busy thread-seconds of every worker, those gone included.',
    (a) => a.busySeconds,
  );
  perApp(
    'cask_capacity_thread_seconds_total',
    'counter',
    'Available thread-seconds (threads of ready workers, over time), those gone included.',
    (a) => a.capacitySeconds,
  );
  out.one(
    'cask_capacity_utilization',
    'gauge',
    'Capacity utilisation as mod_wsgi defines it: busy thread-seconds over available thread-seconds, over the last 10 seconds (0 to 1).',
    utilization ?? (snap.capacitySeconds > 0 ? snap.busySeconds / snap.capacitySeconds : 0),
  );

  perApp(
    'cask_request_timeouts_total',
    'counter',
    'Requests past timeout: 504 sent, RequestTimeout raised in their thread.',
    (a) => a.counters.timeouts,
  );
  perApp(
    'cask_requests_stuck_total',
    'counter',
    'Timed-out requests still running timeout-grace later (their worker was taken out of service).',
    (a) => a.counters.stuck,
  );
  perApp(
    'cask_slow_requests_total',
    'counter',
    "Requests that ran past slow-request (each logged once with its thread's Python stack).",
    (a) => a.counters.slow,
  );
  // The queue is an app's, the connection limit the server's: only the first has the label.
  out.family(
    'cask_shed_total',
    'counter',
    'Requests and connections turned away with 503: queue_full (max-queue), queue_timeout (max-queue-wait), connection_limit (max-connections).',
  );
  for (const a of snap.apps) {
    out.reasons(
      'cask_shed_total',
      [],
      { queue_full: a.counters.queueFull, queue_timeout: a.counters.queueTimeouts },
      of(a),
    );
  }
  out.sample('cask_shed_total', snap.counters.overLimit, { reason: 'connection_limit' });
  out.byReason(
    'cask_refused_total',
    'Requests refused by the front before any app saw them, by error code (docs/errors.md).',
    [],
    snap.refused,
  );
  perApp(
    'cask_app_errors_total',
    'counter',
    'Requests whose app raised (500, or a cut response).',
    (a) => a.counters.appErrors,
  );
  perApp(
    'cask_reclaimed_total',
    'counter',
    'Prefetched requests taken back from a stalled, draining or dead worker before they started, and sent elsewhere.',
    (a) => a.counters.reclaimed,
  );

  out.family(
    'cask_connections',
    'gauge',
    'Open client connections, by protocol (http/1.1, h2, websocket, uwsgi, scgi, fastcgi, sniffing) and state (idle, reading, in-app, flushing, closing, proxy; active for h2 and websocket).',
  );
  const byProtocol = snap.connectionsByProtocol;
  for (const protocol of new Set(['http/1.1', ...Object.keys(byProtocol)])) {
    const phases = byProtocol[protocol] ?? {};
    const seeded = protocol === 'http/1.1' ? CONNECTION_STATES : [];
    for (const state of new Set([...seeded, ...Object.keys(phases)]))
      out.sample('cask_connections', phases[state] ?? 0, { protocol, state });
  }
  out.one(
    'cask_http2_streams',
    'gauge',
    'Streams open on every HTTP/2 connection together.',
    snap.http2Streams,
  );
  out.one(
    'cask_connections_accepted_total',
    'counter',
    'Client connections accepted.',
    snap.counters.accepted,
  );
  out.one(
    'cask_received_bytes_total',
    'counter',
    'Bytes read from client connections.',
    snap.bytesIn,
  );
  out.one(
    'cask_sent_bytes_total',
    'counter',
    'Bytes written to client connections.',
    snap.bytesOut,
  );
  out.one(
    'cask_response_spool_bytes',
    'gauge',
    'Response bytes waiting in temporary files for slow clients.',
    snap.spool.bytes,
  );
  out.one(
    'cask_response_spool_files',
    'gauge',
    "Temporary files open for slow clients' responses.",
    snap.spool.files,
  );
  out.one(
    'cask_response_spool_peak_bytes',
    'gauge',
    'The most response bytes ever waiting on file at once.',
    snap.spool.peakBytes,
  );
  out.one(
    'cask_response_spool_memory_bytes',
    'gauge',
    'Memory claimed for responses waiting for slow clients (256 KiB a response, or a piece of a file being sent, within response-spool-memory).',
    snap.spool.memoryBytes,
  );
  out.one(
    'cask_response_spool_memory_peak_bytes',
    'gauge',
    'The most memory ever claimed at once for responses waiting for slow clients.',
    snap.spool.memoryPeakBytes,
  );

  out.one(
    'cask_front_cpu_seconds_total',
    'counter',
    'User and system CPU time of the front (the Node process).',
    snap.front.cpuSeconds,
  );
  out.one(
    'cask_front_resident_memory_bytes',
    'gauge',
    'Resident memory of the front.',
    snap.front.rssBytes,
  );
  out.one(
    'cask_front_heap_used_bytes',
    'gauge',
    'V8 heap in use in the front.',
    snap.front.heapBytes,
  );
  return out.text();
}
