// The counters the request path bumps. Nothing here allocates, formats or looks anything up
// by name per request: a request is an index into a Float64Array (method × status class) and
// four walks over a short bucket table. Everything a reader wants — Prometheus text, /stats
// JSON, the dashboard's percentiles — is computed from these arrays when it is asked for
// (src/admin/prometheus.ts, src/admin/sampler.ts), never on the request path.
//
// Why not a Prometheus client library: prom-client's `counter.inc({method, code})` hashes its
// label object on every call (a string join and a Map lookup), and its histograms do the same
// per observation. Measured here that is several hundred nanoseconds per request, about 1% of
// a hello-world request on its own; these arrays cost a few tens (docs/performance.md).
//
//   time:  handle()        dispatch()          final frame          completed()
//            │── queue wait ──│──── app time ──────│──── send time ─────│
//            └───────────────────────── request duration ─────────────┘

/**
 * Bucket upper bounds, in seconds: fine at the short end, where a Python app's requests are,
 * so the dashboard's percentiles (interpolated inside a bucket) stay close.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  30, 60,
];

/** A Prometheus histogram with fixed buckets: per-bucket counts (not cumulative), a sum. */
export class Histogram {
  /** One count per bound, plus one for +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = LATENCY_BUCKETS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    const n = bounds.length;
    let i = 0;
    while (i < n && seconds > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
    this.count++;
  }
}

/** The methods counted by name; any other is counted as `other`. */
export const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'other',
] as const;
/** Status classes; `none` is an exchange that ended before any status went out (client gone). */
export const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'PATCH':
      return 5;
    case 'OPTIONS':
      return 6;
    default:
      return 7;
  }
}

/** The timestamps one request collects (performance.now() ms); -1 where it never got there. */
export interface RequestTimes {
  readonly startedAt: number;
  readonly dispatchedAt: number;
  readonly doneAt: number;
}

export class RequestMetrics {
  /** Requests finished, by [method × status class]: METHODS.length × STATUS_CLASSES.length. */
  readonly requests = new Float64Array(METHODS.length * STATUS_CLASSES.length);
  readonly queueWait: Histogram;
  readonly appTime: Histogram;
  readonly sendTime: Histogram;
  readonly duration: Histogram;
  /** Requests a transport refused before any app saw them, by error code. */
  readonly refused: Map<string, number>;
  /**
   * Requests by exact status code (index = code), kept only while StatsD sends them
   * (gunicorn's `request.status.<code>`): /metrics has status classes and needs no more.
   */
  private statusCodes: Float64Array | undefined;
  /** The app counters made by forApp(), whose requests the totals below include. */
  private readonly parts: RequestMetrics[] = [];

  /** The server's metrics, when this one counts one app's requests (forApp()). */
  private readonly shared: RequestMetrics | undefined;

  /**
   * @param server the server's metrics, when this one counts one app's requests: it then
   *   shares their histograms, refusals and status codes and keeps only its own `requests`
   */
  constructor(server?: RequestMetrics) {
    const shared = server?.shared ?? server;
    this.shared = shared;
    this.queueWait = shared?.queueWait ?? new Histogram();
    this.appTime = shared?.appTime ?? new Histogram();
    this.sendTime = shared?.sendTime ?? new Histogram();
    this.duration = shared?.duration ?? new Histogram();
    this.refused = shared?.refused ?? new Map<string, number>();
    this.statusCodes = shared?.statusCodes;
    shared?.parts.push(this);
  }

  /**
   * A counter of one app's requests, for that app's gateway. Every app's requests land in the
   * same histograms; only the method × status class table is the app's own, so that /metrics
   * can label requests by app without the request path looking anything up.
   */
  forApp(): RequestMetrics {
    return new RequestMetrics(this);
  }

  /** Start counting exact status codes; returns the array the request path bumps. */
  countStatusCodes(): Float64Array {
    if (this.shared !== undefined) return this.shared.countStatusCodes();
    const codes = (this.statusCodes ??= new Float64Array(600));
    for (const part of this.parts) part.statusCodes = codes;
    return codes;
  }

  /** One exchange is over (its response was sent, or it was abandoned). `now` in ms. */
  completed(method: string, status: number, times: RequestTimes | undefined, now: number): void {
    const cls = status >= 100 && status < 600 ? Math.floor(status / 100) : 0;
    const at = methodIndex(method) * STATUS_CLASSES.length + cls;
    this.requests[at] = (this.requests[at] as number) + 1;
    const codes = this.statusCodes;
    if (codes !== undefined && cls !== 0) codes[status] = (codes[status] as number) + 1;
    if (times === undefined) return;
    const { startedAt, dispatchedAt, doneAt } = times;
    if (dispatchedAt >= 0) {
      this.queueWait.observe((dispatchedAt - startedAt) / 1000);
      if (doneAt >= 0) {
        this.appTime.observe((doneAt - dispatchedAt) / 1000);
        this.sendTime.observe((now - doneAt) / 1000);
      }
    }
    this.duration.observe((now - startedAt) / 1000);
  }

  refusedWith(code: string): void {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
  }

  /** Requests by [method × status class], this one's and those of every app counter. */
  allRequests(): Float64Array {
    const sum = Float64Array.from(this.requests);
    for (const part of this.parts)
      for (let i = 0; i < sum.length; i++)
        sum[i] = (sum[i] as number) + (part.requests[i] as number);
    return sum;
  }

  get total(): number {
    let sum = 0;
    for (const n of this.allRequests()) sum += n;
    return sum;
  }
}
