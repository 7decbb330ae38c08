// What the generator is asked to do and what it answers, as plain serialisable data: jobs
// cross from the orchestrator to the pinned generator process over IPC, and results come
// back the same way (histograms as hdr's compressed base64).

/** One kind of request the load sends. */
export interface RequestTemplate {
  /** Results are split by tag (e.g. "short" and "slow" in the mixed scenario). */
  tag: string;
  method: string;
  path: string;
  headers: Array<[string, string]>;
  /** Size of a generated request body; 0 for none. */
  bodyBytes: number;
  /** Relative frequency when a load has several templates. */
  weight: number;
}

interface Target {
  host: string;
  port: number;
  requests: RequestTemplate[];
  /** A request with no complete response after this long counts as a timeout. */
  timeoutMs: number;
  /** Seed for choosing among weighted templates, so runs are repeatable. */
  seed: number;
}

/** Closed loop: each connection sends its next request when the previous one finished. */
export interface ClosedSpec extends Target {
  kind: 'closed';
  connections: number;
  /** false: every request on a new connection, with `Connection: close`. */
  keepAlive: boolean;
  /** Load that runs before the measured window on the same connections (queues fill). */
  warmupMs: number;
  durationMs: number;
}

/** Open loop: requests leave at a fixed rate whatever the server does; latency counts
 * from the intended send time, so a stalled server cannot hide its queue (coordinated
 * omission, as described by Gil Tene for wrk2/HdrHistogram). */
export interface OpenSpec extends Target {
  kind: 'open';
  /** Requests per second. */
  rate: number;
  /** Stop after this many requests (rate-sweep) … */
  count?: number;
  /** … or after this long (mixed). */
  durationMs?: number;
  /** false: one connection per request (httperf style); true: reuse idle connections. */
  keepAlive: boolean;
  /** Cap on open connections; requests beyond it wait (their wait counts in latency). */
  maxConnections: number;
  /** Offset of this generator's schedule, when several generators share one rate. */
  phaseMs: number;
}

/** Slow clients: many connections that send their request and read the response slowly
 * (or never), alongside a closed loop of fast clients that is measured. */
export interface SlowSpec extends Target {
  kind: 'slow';
  fast: ClosedSpec;
  clients: number;
  /** Pause between two bytes of the request head; 0 sends the head in one write. */
  byteIntervalMs: number;
  /** Path the slow clients request (a body larger than the socket buffers). */
  slowPath: string;
  /** Read pacing: every readIntervalMs, each reading client takes up to readBytes. */
  readIntervalMs: number;
  readBytes: number;
  /** How many of the clients never read their response at all. */
  idleClients: number;
  /** Slow clients start this long before the fast clients' measured window. */
  rampMs: number;
}

/** Idle connections: open `connections` keep-alive connections, each asking one request and
 * reading its response, then keep them all open, idle, for `holdMs` (the server's memory
 * while it holds them is what is measured). */
export interface IdleSpec extends Target {
  kind: 'idle';
  connections: number;
  /** Connections being opened or waiting for their response at once: paces the ramp so
   * that a short listen backlog does not drop connections into SYN retries. */
  concurrency: number;
  /** Stop opening connections after this long (a server that cannot take them all). */
  rampLimitMs: number;
  holdMs: number;
}

/** What the idle connections of one run did. */
export interface IdleTally {
  /** Connections asked for. */
  target: number;
  opened: number;
  /** Connections whose request was answered. */
  answered: number;
  /** Answered connections still open at the end of the hold. */
  held: number;
  /** Answered connections the server closed before the hold ended. */
  closedByServer: number;
  /** How long opening and answering them took (ms). */
  rampMs: number;
  errors: Record<string, number>;
}

/** What the slow clients of one run got done. */
export interface SlowTally {
  /** Slow clients kept connected at once (the spec's count). */
  clients: number;
  /** Responses read to the end. */
  completed: number;
  /** Connections opened (a slow client comes back as soon as its connection closed). */
  connected: number;
  /** Connections still open when the run ended (and were destroyed). */
  open: number;
  /** Bytes taken off their sockets, over all their connections. */
  bytesIn: number;
  errors: Record<string, number>;
}

/** WebSocket broadcast (ws.ts): `clients` WebSockets at `path` join one room, and rounds of
 * `batch` messages to every member follow one another through the warm-up and the window. */
export interface WsSpec extends Target {
  kind: 'ws';
  path: string;
  clients: number;
  batch: number;
  /** WebSockets opened at once while the clients join. */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export type LoadSpec = ClosedSpec | OpenSpec | SlowSpec | IdleSpec | WsSpec;

/** Counters and histograms of one load run (one generator process). */
export interface LoadResult {
  kind: LoadSpec['kind'];
  /** Measured window on CLOCK_MONOTONIC, ns, as decimal strings (bigint over JSON). */
  windowStartNs: string;
  windowEndNs: string;
  /** Successful (status < 400) responses completed inside the window. */
  ok: number;
  /** Requests started inside the window. */
  sent: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Failures by kind: connect-refused, connect-timeout, reset, closed, timeout, parse,
   * status-NNN (status >= 400), other-CODE. */
  errors: Record<string, number>;
  /** Requests resent once because a reused keep-alive connection was closed by the
   * server before any byte of the response (what browsers and wrk do as well). */
  retries: number;
  /** Whole run (warm-up included): reused connections the server had closed after a
   * response without `Connection: close`. From 20 on, the closed loop stops reusing
   * connections (see closed.ts). */
  closesWithoutNotice?: number;
  /** New TCP connections opened inside the window. */
  connections: number;
  bytesIn: number;
  /** Encoded latency histograms (µs) by request tag. */
  latency: Record<string, string>;
  /** Open loop only: connect time and connection lifetime histograms (µs). */
  connectTime?: string;
  connectionTime?: string;
  /** Open loop: the worst lag of the generator behind its schedule (ms); large values
   * mean the generator, not the server, was the bottleneck. */
  maxLagMs?: number;
  /** Open loop: replies per second in each whole second of the run. */
  replyRates?: number[];
  /** Open loop: time from the first intended send to the last reply (ms). */
  spanMs?: number;
  /** Open loop: time from the first intended send until 99% of the replies had arrived,
   * so that a few stragglers (a 1 s SYN retry) do not read as a server falling behind. */
  span99Ms?: number;
  /** Slow scenarios: what the slow clients got done. */
  slow?: SlowTally;
  /** Idle scenarios: what the idle connections did; the window is the hold. */
  idle?: IdleTally;
}
